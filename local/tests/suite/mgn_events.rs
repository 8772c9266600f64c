//! The MGN stand-in's `aws.mgn` events, shaped as the user guide's samples: a server's
//! first READY_FOR_TEST, its replication stalling and recovering, and each launch's
//! result with its job; and EventBridge's best effort, a scenario share of them lost.

use std::time::Duration;

use autopilot_local::mgn::events::{
    MgnEvent, LAUNCH_RESULT, LIFECYCLE_STATE_CHANGE, STALLED_CHANGE,
};
use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::{json, Value};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    web: {test_launch_failures: 1}
    db: {stalls: [{at_secs: 2000, for_secs: 300, error: UNSTABLE_NETWORK}]}
"#;

fn kinds(events: &[MgnEvent], server_arn: &str) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.resources == [server_arn])
        .map(|e| (e.detail_type.clone(), e.detail.state.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_announce_readiness_stalls_and_launch_results() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    let mut delivered = mgn.subscribe_events();
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(11 * 30 + 601));
    let servers = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let arn = |k: usize| {
        servers["items"][k]["arn"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let web = servers["items"][0]["sourceServerID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let job = mgn
        .call("StartTest", &json!({ "sourceServerIDs": [web] }))
        .expect("StartTest");
    mgn.advance(Duration::from_secs(630));
    mgn.call("StartTest", &json!({ "sourceServerIDs": [web] }))
        .expect("again");
    mgn.advance(Duration::from_secs(2000));

    let events = mgn.events();
    assert_eq!(
        kinds(&events, &arn(0)),
        vec![
            (
                LIFECYCLE_STATE_CHANGE.to_owned(),
                "READY_FOR_TEST".to_owned()
            ),
            (LAUNCH_RESULT.to_owned(), "TEST_LAUNCH_FAILED".to_owned()),
            (LAUNCH_RESULT.to_owned(), "TEST_LAUNCH_SUCCEEDED".to_owned()),
        ]
    );
    assert_eq!(
        kinds(&events, &arn(1)),
        vec![
            (
                LIFECYCLE_STATE_CHANGE.to_owned(),
                "READY_FOR_TEST".to_owned()
            ),
            (STALLED_CHANGE.to_owned(), "STALLED".to_owned()),
            (STALLED_CHANGE.to_owned(), "NOT_STALLED".to_owned()),
        ],
        "the stall's cause ended and replication initiated again"
    );
    let failed = events
        .iter()
        .find(|e| e.detail.state == "TEST_LAUNCH_FAILED")
        .expect("a failure");
    let sample: Value = serde_json::from_str(&failed.to_json()).expect("JSON");
    assert_eq!(sample["source"], "aws.mgn");
    assert_eq!(sample["version"], "0");
    assert_eq!(sample["detail"]["job-id"], job["job"]["jobID"]);
    assert!(sample["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    let mut received = 0;
    while delivered.try_recv().is_ok() {
        received += 1;
    }
    assert_eq!(
        received,
        events.len(),
        "every event delivered when none is lost"
    );
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_loses_the_scenarios_share_of_events() {
    let servers: Vec<_> = (0..40).map(|k| format!("{{vm_name: vm-{k}}}")).collect();
    let text = format!("connectors: [{{vm_manager_name: vc}}]\nservers: [{}]\nmgn: {{dropped_events: 0.5, timing: {{initial_sync_secs: 60}}}}\n", servers.join(", "));
    let mgn = MgnHandle::start(Scenario::from_text(&text).expect("scenario"), 0)
        .await
        .expect("starts");
    let mut delivered = mgn.subscribe_events();
    mgn.advance(Duration::from_secs(11 * 30 + 61));
    let mut received = 0;
    while delivered.try_recv().is_ok() {
        received += 1;
    }
    let announced = mgn.events().len();
    assert_eq!(announced, 40, "each server announced READY_FOR_TEST once");
    assert_eq!(received as u64 + mgn.events_dropped(), 40);
    assert!(
        (8..=32).contains(&received),
        "about half delivered: {received}"
    );
    mgn.shutdown().await;
}
