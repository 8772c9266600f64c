//! The MGN launcher's real handler against the MGN stand-in, every simulated minute:
//! two applications (`shop` depends on `db`) tested, checked, cut over, finalized and
//! `db` archived; `db`'s first test launch fails (MGN's log names why) and `shop`'s
//! first test copy fails its status checks, each alerted once and launched again; no
//! test before the dependency's test passed, no cutover before the dependency's cutover
//! and never one without a passed test.

use std::sync::Arc;
use std::time::Duration;

use autopilot_core::config::MgnLauncherConfig;
use autopilot_core::plan::resolved::RESOLVED_KEY;
use autopilot_local::harness::payloads::rule_event;
use serde_json::{json, Value};

use crate::common::mgn_world::{MgnWorld, BUCKET};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: app}, {vm_name: db}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    db: {test_launch_failures: 1}
    web: {impaired_test_instances: 1}
"#;

/// The accepted plan as the planner would leave it: `db` archived once cut over,
/// `shop` after `db`.
async fn accept_plan(world: &MgnWorld) {
    let server = |vm: &str, app: &str| {
        (
            world.server_id(vm),
            json!({"app": app, "route": "jobs", "replication": {}}),
        )
    };
    let servers: serde_json::Map<String, Value> = [
        server("db", "db"),
        server("web", "shop"),
        server("app", "shop"),
    ]
    .into_iter()
    .collect();
    let plan = json!({
        "planVersion": "v1",
        "apps": {
            "db": {"launch": "automatic", "archive": true},
            "shop": {"launch": "automatic", "dependsOn": ["db"]}
        },
        "servers": servers
    });
    world
        .clients()
        .s3
        .put_object()
        .bucket(BUCKET)
        .key(RESOLVED_KEY)
        .body(plan.to_string().into_bytes().into())
        .send()
        .await
        .expect("plan stored");
}

/// Each launch event in order: (detail-type, app, kind, attempt).
fn trail(events: &[Value]) -> Vec<(String, String, String, u64)> {
    events
        .iter()
        .filter(|e| {
            e["detail-type"]
                .as_str()
                .is_some_and(|t| t.starts_with("App"))
        })
        .map(|e| {
            let d = &e["detail"];
            (
                e["detail-type"].as_str().unwrap_or_default().to_owned(),
                d["appName"].as_str().unwrap_or_default().to_owned(),
                d["kind"].as_str().unwrap_or("-").to_owned(),
                d["attempt"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_are_tested_cut_over_and_archived_in_dependency_order() {
    let world = MgnWorld::start(SCENARIO).await;
    world.mgn.advance(Duration::from_secs(60));
    accept_plan(&world).await;
    let context = world.context::<MgnLauncherConfig>(&[("STATUS_CHECKS_MINUTES", "20")]);
    let mut published = Vec::new();
    for _ in 0..600 {
        world.mgn.advance(Duration::from_secs(60));
        let summary = mgn_launcher::handle(
            rule_event(world.mgn.now(), "mgn-launcher"),
            Arc::clone(&context),
        )
        .await
        .expect("every run succeeds");
        assert_eq!(summary.applications, 2);
        published.extend(world.published());
        if summary.done == 2 {
            break;
        }
    }
    let steps = trail(&published);
    let step = |t: &str, app: &str, kind: &str, attempt: u64| {
        (t.to_owned(), app.to_owned(), kind.to_owned(), attempt)
    };
    let expected = [
        step("AppLaunchStarted", "db", "test", 1),
        step("AppLaunchCheckFailed", "db", "test", 1),
        step("AppLaunchStarted", "db", "test", 2),
        step("AppLaunchPassed", "db", "test", 2),
        step("AppLaunchStarted", "shop", "test", 1),
        step("AppLaunchStarted", "db", "cutover", 1),
    ];
    assert_eq!(&steps[..expected.len()], &expected, "{steps:#?}");
    let position = |wanted: &(String, String, String, u64)| {
        steps
            .iter()
            .position(|s| s == wanted)
            .unwrap_or_else(|| panic!("{wanted:?} in {steps:#?}"))
    };
    let shop_cutover = position(&step("AppLaunchStarted", "shop", "cutover", 1));
    assert!(
        position(&step("AppCutOver", "db", "-", 1)) < shop_cutover,
        "{steps:#?}"
    );
    assert!(
        position(&step("AppLaunchPassed", "shop", "test", 2)) < shop_cutover,
        "{steps:#?}"
    );
    assert!(
        position(&step("AppLaunchCheckFailed", "shop", "test", 1))
            < position(&step("AppLaunchStarted", "shop", "test", 2))
    );
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.0 == "AppLaunchCheckFailed")
            .count(),
        2,
        "each failure alerted once: {steps:#?}"
    );
    assert_eq!(
        steps.iter().filter(|s| s.0 == "AppCutOver").count(),
        2,
        "{steps:#?}"
    );
    assert_eq!(
        steps.iter().filter(|s| s.0 == "AppArchived").count(),
        1,
        "{steps:#?}"
    );

    let failures: Vec<&Value> = published
        .iter()
        .filter(|e| e["detail-type"] == "AppLaunchCheckFailed")
        .map(|e| &e["detail"])
        .collect();
    assert_eq!(failures[0]["vmName"], "db");
    assert!(
        failures[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("LAUNCH_FAILED"),
        "{:#?}",
        failures[0]
    );
    assert_eq!(failures[1]["vmName"], "web");
    assert!(
        failures[1]["reason"].as_str().unwrap().contains("impaired"),
        "{:#?}",
        failures[1]
    );

    let listed = world
        .mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    for server in listed["items"].as_array().unwrap() {
        let name = server["sourceProperties"]["identificationHints"]["hostname"]
            .as_str()
            .unwrap();
        assert_eq!(server["lifeCycle"]["state"], "CUTOVER", "{name}");
        assert_eq!(server["isArchived"], json!(name == "db"), "{name}");
    }
    let counts = world.mgn.call_counts();
    assert_eq!(
        counts.get("StartCutover"),
        Some(&2),
        "one cutover each: {counts:?}"
    );
    assert_eq!(counts.get("FinalizeCutover"), Some(&3), "{counts:?}");
    world.shutdown().await;
}
