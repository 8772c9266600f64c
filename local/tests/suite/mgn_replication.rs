//! Replication's detours on the MGN stand-in, and the removals: a backlog and a stall
//! grow the lag from the moment replication stopped being consistent; a pause keeps
//! what was copied; a stopped replication starts again from nothing; a server is deleted
//! only once disconnected, a job only once completed.

use std::time::Duration;

use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::{json, Value};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}, {vm_name: app}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    web: {backlogs: [{at_secs: 2000, for_secs: 900, gib: 3}]}
    db: {stalls: [{at_secs: 2000, error: AGENT_NOT_SEEN}]}
"#;

fn server(mgn: &MgnHandle, k: usize) -> Value {
    let listed = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    listed["items"][k].clone()
}

fn info(s: &Value) -> (&str, Option<&str>) {
    let r = &s["dataReplicationInfo"];
    (
        r["dataReplicationState"].as_str().unwrap_or_default(),
        r["lagDuration"].as_str(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_and_a_stall_grow_the_lag_from_when_replication_fell_behind() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(2000 + 600));
    let web = server(&mgn, 0);
    assert_eq!(
        info(&web),
        ("BACKLOG", Some("PT601S")),
        "1 s of healthy lag + 600 s behind"
    );
    assert_eq!(
        web["dataReplicationInfo"]["replicatedDisks"][0]["backloggedStorageBytes"],
        json!(3u64 << 30)
    );
    assert_eq!(info(&server(&mgn, 1)), ("STALLED", Some("PT601S")));
    mgn.advance(Duration::from_secs(300));
    assert_eq!(
        info(&server(&mgn, 0)),
        ("CONTINUOUS", Some("PT1S")),
        "caught up"
    );
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_keeps_what_was_copied_and_stop_forgets_it() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    let app = server(&mgn, 2)["sourceServerID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let replicated = |mgn: &MgnHandle| {
        server(mgn, 2)["dataReplicationInfo"]["replicatedDisks"][0]["replicatedStorageBytes"]
            .as_u64()
            .unwrap_or_default()
    };
    mgn.advance(Duration::from_secs(330 + 300));
    mgn.call("PauseReplication", &json!({ "sourceServerID": app }))
        .expect("paused");
    let half = replicated(&mgn);
    assert_eq!(half, 10 << 30, "half of the 20 GiB disk");
    mgn.advance(Duration::from_secs(3600));
    assert_eq!(replicated(&mgn), half, "a pause copies nothing");
    mgn.call("ResumeReplication", &json!({ "sourceServerID": app }))
        .expect("resumed");
    mgn.advance(Duration::from_secs(330 + 300));
    assert_eq!(info(&server(&mgn, 2)).0, "CONTINUOUS", "the rest copied");
    mgn.call("StopReplication", &json!({ "sourceServerID": app }))
        .expect("stopped");
    assert_eq!(server(&mgn, 2)["lifeCycle"]["state"], "STOPPED");
    mgn.call("StartReplication", &json!({ "sourceServerID": app }))
        .expect("started");
    assert_eq!(
        server(&mgn, 2)["lifeCycle"]["state"],
        "NOT_READY",
        "until it syncs again"
    );
    mgn.advance(Duration::from_secs(330 + 300));
    assert_eq!(replicated(&mgn), half, "from nothing again");
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_are_deleted_once_disconnected_and_jobs_once_completed() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(931));
    let web = server(&mgn, 0)["sourceServerID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refused = mgn
        .call("DeleteSourceServer", &json!({ "sourceServerID": web }))
        .expect_err("still replicating");
    assert_eq!(refused.kind.name(), "ConflictException");
    let job = mgn
        .call("StartTest", &json!({ "sourceServerIDs": [web] }))
        .expect("StartTest");
    let job_id = job["job"]["jobID"].as_str().unwrap_or_default().to_owned();
    let early = mgn
        .call("DeleteJob", &json!({ "jobID": job_id }))
        .expect_err("PENDING");
    assert_eq!(early.kind.name(), "ConflictException");
    mgn.advance(Duration::from_secs(630));
    mgn.call("DeleteJob", &json!({ "jobID": job_id }))
        .expect("COMPLETED");
    let jobs = mgn.call("DescribeJobs", &json!({})).expect("jobs");
    assert_eq!(jobs["items"], json!([]));
    let updated = mgn
        .call("UpdateSourceServer", &json!({ "sourceServerID": web, "connectorAction": { "credentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", "connectorArn": "arn:aws:mgn:us-east-1:123456789012:connector/connector-1" } }))
        .expect("updated");
    assert_eq!(
        updated["connectorAction"]["connectorArn"],
        "arn:aws:mgn:us-east-1:123456789012:connector/connector-1"
    );
    mgn.call(
        "ChangeServerLifeCycleState",
        &json!({ "sourceServerID": web, "lifeCycle": { "state": "READY_FOR_TEST" } }),
    )
    .expect("reverted");
    mgn.call("DisconnectFromService", &json!({ "sourceServerID": web }))
        .expect("disconnected");
    mgn.call("DeleteSourceServer", &json!({ "sourceServerID": web }))
        .expect("deleted");
    let gone = mgn
        .call(
            "DescribeSourceServers",
            &json!({ "filters": { "sourceServerIDs": [web] } }),
        )
        .expect("listed");
    assert_eq!(gone["items"], json!([]));
    let missing = mgn
        .call("FinalizeCutover", &json!({ "sourceServerID": web }))
        .expect_err("gone");
    assert_eq!(missing.kind.name(), "ResourceNotFoundException");
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_for_another_account_is_refused_and_changes_nothing() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(931));
    let web = server(&mgn, 0)["sourceServerID"].clone();
    let foreign = json!({ "sourceServerIDs": [web], "accountID": "999999999999" });
    let refused = mgn
        .call("StartTest", &foreign)
        .expect_err("not this account");
    assert_eq!(refused.kind.name(), "AccessDeniedException");
    assert_eq!(server(&mgn, 0)["lifeCycle"]["state"], "READY_FOR_TEST");
    let twice = json!({ "sourceServerIDs": [web, web] });
    let refused = mgn.call("StartTest", &twice).expect_err("a server twice");
    assert_eq!(refused.fields[0].0, "sourceServerIDs");
    let own = json!({ "sourceServerIDs": [web], "accountID": "123456789012" });
    mgn.call("StartTest", &own).expect("this account");
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_snapshot_and_a_rescan_hold_replication_before_it_is_continuous() {
    let text = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}]
mgn:
  timing: {initial_sync_secs: 600, first_snapshot_secs: 120}
  servers:
    web: {rescans: [{at_secs: 3000, for_secs: 400}]}
"#;
    let mgn = MgnHandle::start(Scenario::from_text(text).expect("scenario"), 0)
        .await
        .expect("starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(330 + 601));
    let web = server(&mgn, 0);
    assert_eq!(info(&web).0, "CREATING_SNAPSHOT");
    assert_eq!(
        web["lifeCycle"]["state"], "NOT_READY",
        "not before the snapshot"
    );
    mgn.advance(Duration::from_secs(120));
    let web = server(&mgn, 0);
    assert_eq!(info(&web), ("CONTINUOUS", Some("PT1S")));
    assert_eq!(web["lifeCycle"]["state"], "READY_FOR_TEST");
    mgn.advance(Duration::from_secs(3200 - 1051));
    let web = server(&mgn, 0);
    assert_eq!(info(&web), ("RESCAN", Some("PT201S")));
    let disk = &web["dataReplicationInfo"]["replicatedDisks"][0];
    assert_eq!(
        disk["rescannedStorageBytes"],
        json!(10u64 << 30),
        "half the 20 GiB"
    );
    mgn.advance(Duration::from_secs(200));
    assert_eq!(info(&server(&mgn, 0)).0, "CONTINUOUS");
    mgn.shutdown().await;
}
