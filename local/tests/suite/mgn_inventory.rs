//! mgn-import's real handler against the MGN stand-in: the inventory sheet put in the
//! artifacts bucket is imported once per version (a second run, or a run after the same
//! sheet's notification, starts nothing), followed until MGN has read it, and reported
//! once with what it made and the rows it refused; a dry run imports nothing.

use std::time::Duration;

use autopilot_core::config::{MgnImportConfig, DEFAULT_INVENTORY_KEY};
use autopilot_local::harness::payloads::rule_event;
use serde_json::json;

use crate::common::mgn_world::{of_type, MgnWorld, BUCKET};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web-01}]
mgn:
  servers:
    web-01: {user_provided_id: web-01, agent_installed_at_secs: 5000}
"#;

const SHEET: &str = "mgn:wave:name,mgn:app:name,mgn:server:user-provided-id\n\
wave-1,shop,web-01\n\
wave-1,shop,web-02\n\
wave-1,ledger,web-01\n";

async fn put_sheet(world: &MgnWorld, text: &str) {
    world
        .clients()
        .s3
        .put_object()
        .bucket(BUCKET)
        .key(DEFAULT_INVENTORY_KEY)
        .body(text.as_bytes().to_vec().into())
        .send()
        .await
        .expect("sheet stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_sheet_is_imported_once_and_reported_once() {
    let world = MgnWorld::start(SCENARIO).await;
    let run = |extra: &'static [(&'static str, &'static str)]| {
        let context = world.context::<MgnImportConfig>(extra);
        let event = rule_event(world.mgn.now(), "mgn-import");
        async move { mgn_import::handle(event, context).await }
    };
    let nothing = run(&[]).await.expect("runs without a sheet");
    assert!(nothing.no_sheet && nothing.import_started.is_none());

    put_sheet(&world, SHEET).await;
    let dry = run(&[("DRY_RUN", "true")]).await.expect("a dry run");
    assert!(dry.would_import && dry.import_started.is_none());
    let started = run(&[]).await.expect("imports");
    let import_id = started.import_started.clone().expect("an import started");
    assert_eq!(
        started.imports_running, 1,
        "MGN reads it a few seconds later"
    );
    let again = run(&[]).await.expect("runs again");
    assert_eq!(
        again.import_started, None,
        "one import per version of the sheet"
    );
    assert!(
        world.published().is_empty(),
        "nothing to report while MGN reads"
    );

    world.mgn.advance(Duration::from_secs(30));
    let done = run(&[]).await.expect("follows");
    assert_eq!((done.imports_reported, done.imports_running), (1, 0));
    let events = world.published();
    let reports = of_type(&events, "InventoryImported");
    assert_eq!(reports.len(), 1, "{events:#?}");
    let report = reports[0];
    assert_eq!(report["importId"], json!(import_id));
    assert_eq!(report["succeeded"], true, "{report}");
    assert_eq!(
        report["source"],
        json!(format!("s3://{BUCKET}/{DEFAULT_INVENTORY_KEY}"))
    );
    assert_eq!(report["servers"]["created"], 2);
    assert!(
        report["applications"]["created"].as_i64() >= Some(1),
        "{report}"
    );
    assert_eq!(report["waves"]["created"], 1);
    assert_eq!(report["problemCount"], 1, "{report}");
    assert_eq!(
        report["problems"][0]["row"], 4,
        "web-01 placed in a second application"
    );
    let quiet = run(&[]).await.expect("runs once more");
    assert_eq!(quiet.imports_reported, 0);
    assert!(world.published().is_empty(), "reported once");

    let listed = world
        .mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let pending = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["lifeCycle"]["state"] == "PENDING_INSTALLATION")
        .count();
    assert_eq!(pending, 2, "both servers wait for their agents");

    put_sheet(&world, &SHEET.replace("web-02", "web-03")).await;
    let edited = run(&[]).await.expect("imports the new version");
    assert!(edited.import_started.is_some_and(|id| id != import_id));
    world.shutdown().await;
}
