//! The MGN planner's real handler against the MGN stand-in: the plan's waves and
//! applications created, members associated by their hostnames, nothing changed by a
//! second run, a moved member joining its new application and leaving the old, a
//! conflicting plan refused once and changing nothing; then the launcher moves what the
//! planner resolved.

use std::sync::Arc;
use std::time::Duration;

use autopilot_core::config::{MgnLauncherConfig, MgnPlannerConfig, DEFAULT_PLAN_KEY};
use autopilot_local::harness::payloads::rule_event;
use serde_json::{json, Value};

use crate::common::mgn_world::{of_type, MgnWorld, BUCKET};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web-01}, {vm_name: web-02}, {vm_name: db-01}]
mgn:
  timing: {initial_sync_secs: 600}
"#;

const PLAN: &str = "version: 1
defaults:
  launch: { rightSizing: basic, copyPrivateIp: true, byol: true }
  replication: { stagingSubnet: subnet-0aaaaaaaaaaaaaaa1, bandwidthThrottling: 50 }
applications:
  - name: shop
    wave: wave-1
    dependsOn: [billing]
    groups: [{name: web, servers: [\"hostname:web-*\"]}]
  - name: billing
    wave: wave-1
    archive: true
    groups: [{name: db, servers: [db-01]}]
";

async fn put_plan(world: &MgnWorld, text: &str) {
    world
        .clients()
        .s3
        .put_object()
        .bucket(BUCKET)
        .key(DEFAULT_PLAN_KEY)
        .body(text.as_bytes().to_vec().into())
        .send()
        .await
        .expect("plan stored");
}

/// Each server's hostname with its application's name, as MGN holds them.
fn grouped(world: &MgnWorld) -> Vec<(String, String)> {
    let apps = world
        .mgn
        .call("ListApplications", &json!({}))
        .expect("listed");
    let name_of = |id: &Value| {
        apps["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| &a["applicationID"] == id)
            .map_or("-".to_owned(), |a| a["name"].as_str().unwrap().to_owned())
    };
    let servers = world
        .mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let mut grouped: Vec<(String, String)> = servers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let host = s["sourceProperties"]["identificationHints"]["hostname"]
                .as_str()
                .unwrap();
            (host.to_owned(), name_of(&s["applicationID"]))
        })
        .collect();
    grouped.sort();
    grouped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_is_made_true_in_mgn_and_then_moved() {
    let world = MgnWorld::start(SCENARIO).await;
    world.mgn.advance(Duration::from_secs(60));
    put_plan(&world, PLAN).await;
    let planner = world.context::<MgnPlannerConfig>(&[]);
    let plan_once = || {
        mgn_planner::handle(
            rule_event(world.mgn.now(), "mgn-planner"),
            Arc::clone(&planner),
        )
    };

    let summary = plan_once().await.expect("planned");
    assert_eq!(
        (
            summary.waves_created,
            summary.applications_created,
            summary.associations
        ),
        (1, 2, 3)
    );
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        grouped(&world),
        pairs(&[("db-01", "billing"), ("web-01", "shop"), ("web-02", "shop")])
    );
    let waves = world.mgn.call("ListWaves", &json!({})).expect("waves");
    assert_eq!(waves["items"][0]["name"], "wave-1");
    let apps = world
        .mgn
        .call("ListApplications", &json!({}))
        .expect("apps");
    assert!(apps["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["waveID"] == waves["items"][0]["waveID"]));
    let published = world.published();
    assert_eq!(
        of_type(&published, "AppPlanned").len(),
        4,
        "two created, two joined"
    );
    assert_eq!(
        (summary.launch_configured, summary.replication_configured),
        (3, 3)
    );
    assert_eq!(
        of_type(&published, "AppConfigured").len(),
        4,
        "one per application and configuration"
    );
    let id = world.server_id("db-01");
    let launch = world
        .mgn
        .call("GetLaunchConfiguration", &json!({ "sourceServerID": id }))
        .expect("launch configuration");
    assert_eq!(launch["targetInstanceTypeRightSizingMethod"], "BASIC");
    assert_eq!(launch["copyPrivateIp"], true);
    assert_eq!(launch["licensing"]["osByol"], true);
    let replication = world
        .mgn
        .call(
            "GetReplicationConfiguration",
            &json!({ "sourceServerID": id }),
        )
        .expect("replication configuration");
    assert_eq!(
        replication["stagingAreaSubnetId"],
        "subnet-0aaaaaaaaaaaaaaa1"
    );
    assert_eq!(replication["bandwidthThrottling"], 50);
    let reads = |world: &MgnWorld| {
        let counts = world.mgn.call_counts();
        let get = |op: &str| counts.get(op).copied().unwrap_or(0);
        get("GetLaunchConfiguration") + get("GetReplicationConfiguration")
    };

    let read_before = reads(&world);
    let again = plan_once().await.expect("planned again");
    assert_eq!(
        (
            again.waves_created,
            again.applications_created,
            again.associations,
            again.launch_configured,
            again.replication_configured
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(
        reads(&world),
        read_before,
        "settings put are not read again"
    );
    assert!(world.published().is_empty(), "nothing new to say");

    // web-02 moves to billing: it leaves shop first (MGN refuses it joining otherwise).
    put_plan(
        &world,
        &PLAN
            .replace("[\"hostname:web-*\"]", "[web-01]")
            .replace("[db-01]", "[db-01, web-02]"),
    )
    .await;
    let moved = plan_once().await.expect("planned the move");
    assert_eq!(moved.associations, 2, "left shop, joined billing");
    assert_eq!(
        grouped(&world),
        pairs(&[
            ("db-01", "billing"),
            ("web-01", "shop"),
            ("web-02", "billing")
        ])
    );

    // Two applications claiming one server: refused once, nothing changed.
    let conflicting = PLAN.replace("[db-01]", "[db-01, web-01]");
    put_plan(&world, &conflicting).await;
    let refused = plan_once().await.expect("a refusal is an answer");
    assert!(refused.rejected);
    let _ = plan_once().await.expect("refused again");
    let published = world.published();
    let rejections = of_type(&published, "PlanRejected");
    assert_eq!(rejections.len(), 1, "{rejections:#?}");
    assert!(
        rejections[0]["headline"]
            .as_str()
            .unwrap()
            .contains("web-01"),
        "{:#?}",
        rejections[0]
    );
    assert_eq!(
        grouped(&world),
        pairs(&[
            ("db-01", "billing"),
            ("web-01", "shop"),
            ("web-02", "billing")
        ])
    );

    // The launcher moves what the planner resolved, billing first.
    put_plan(&world, PLAN).await;
    plan_once().await.expect("planned back");
    let launcher = world.context::<MgnLauncherConfig>(&[]);
    let mut done = 0;
    for _ in 0..600 {
        world.mgn.advance(Duration::from_secs(60));
        let summary = mgn_launcher::handle(
            rule_event(world.mgn.now(), "mgn-launcher"),
            Arc::clone(&launcher),
        )
        .await
        .expect("launcher runs");
        done = summary.done;
        if done == 2 {
            break;
        }
    }
    assert_eq!(done, 2, "both applications moved");
    let events = world.published();
    let cut_over: Vec<&str> = of_type(&events, "AppCutOver")
        .iter()
        .map(|d| d["appName"].as_str().unwrap())
        .collect();
    assert_eq!(cut_over, ["billing", "shop"]);
    world.shutdown().await;
}
