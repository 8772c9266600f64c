//! The wave-reporter against the local S3 and SMS: decisions delivered twice are kept
//! once, a fold cut short before its deletes folds nothing twice, an object that is not
//! a decision is left in place and counted, and every scheduled run writes the latest
//! report and a dated copy.

use crate::common;

use std::time::Duration;

use autopilot_local::harness::payloads::{project_event, rule_event};
use autopilot_local::Scenario;
use serde_json::{json, Value};

const PENDING: &str = "state/wave-reporter/pending/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_are_folded_once_and_each_run_writes_the_report() {
    let scenario = Scenario::from_text(
        "name: reported
connectors: [{ vm_manager_name: vcenter }]
servers: [{ vm_name: db-01 }, { vm_name: web-01 }]
",
    )
    .expect("valid scenario");
    let common::LocalStack {
        wiring,
        emulator,
        bus,
        clock,
        clients,
    } = common::LocalStack::start(scenario).await;
    let bucket = wiring.artifacts_bucket.clone();
    clients
        .sms
        .import_server_catalog()
        .send()
        .await
        .expect("import");
    emulator.advance(Duration::from_secs(180));
    let functions = common::functions(&wiring, &clients, &clock);
    let deliver =
        |detail_type: &str, detail: Value| project_event(emulator.now(), detail_type, detail);
    let created = deliver(
        "ReplicationJobCreated",
        json!({"version": 1, "dryRun": false, "serverId": "s-1", "vmName": "db-01",
               "replicationJobId": "sms-job-1", "alreadyExisted": false}),
    );
    let failed = deliver(
        "ReplicationJobFailed",
        json!({"version": 1, "dryRun": false, "serverId": "s-1", "vmName": "db-01",
               "replicationJobId": "sms-job-1", "state": "FAILED", "statusMessage": null}),
    );
    for event in [&created, &failed, &created] {
        functions
            .invoke("wave-reporter", event.clone())
            .await
            .expect("delivery kept");
    }
    let stray = format!("{PENDING}not-a-decision.json");
    put(&clients.s3, &bucket, &stray, b"{\"half\":").await;
    assert_eq!(keys(&clients.s3, &bucket, PENDING).await.len(), 3);

    let tick = || rule_event(emulator.now(), "sms-autopilot-reporter-schedule");
    let first = functions
        .invoke("wave-reporter", tick())
        .await
        .expect("first report");
    assert_eq!(first["decisionsFolded"], 2, "{first}");
    assert_eq!(first["decisionsInTrail"], 2, "{first}");
    assert_eq!(first["unreadable"], 1, "{first}");
    assert_eq!(first["servers"], 2, "{first}");
    assert_eq!(
        keys(&clients.s3, &bucket, PENDING).await,
        std::slice::from_ref(&stray)
    );
    let history = keys(&clients.s3, &bucket, "reports/history/").await;
    assert_eq!(history.len(), 1, "{history:?}");
    let page = text(&clients.s3, &bucket, "reports/latest.html").await;
    assert!(
        page.contains("VM db-01 (server s-1)"),
        "the failure names its VM: {page}"
    );
    assert!(page.contains(">ReplicationJobFailed<"), "{page}");

    // A run cut short after storing the trail, before deleting: the same decision is
    // pending again. The next run folds nothing new and writes a second report.
    functions
        .invoke("wave-reporter", failed.clone())
        .await
        .expect("redelivery kept");
    emulator.advance(Duration::from_secs(1800));
    let second = functions
        .invoke("wave-reporter", tick())
        .await
        .expect("second report");
    assert_eq!(second["decisionsFolded"], 0, "{second}");
    assert_eq!(second["decisionsInTrail"], 2, "{second}");
    assert_eq!(keys(&clients.s3, &bucket, PENDING).await, [stray]);
    assert_eq!(
        keys(&clients.s3, &bucket, "reports/history/").await.len(),
        2
    );
    bus.shutdown().await;
    emulator.shutdown().await;
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .expect("put");
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get");
    let bytes = object.body.collect().await.expect("body").into_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}
