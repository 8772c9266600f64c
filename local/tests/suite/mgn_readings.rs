//! The MGN stand-in's contested readings, each played both ways by its scenario switch:
//! whether a tested server becomes READY_FOR_CUTOVER by a call or by itself, whether
//! ChangeServerLifeCycleState takes CUTOVER, and which servers StartCutover takes.

use std::time::Duration;

use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::{json, Value};

/// A server replicating continuously under `readings` (YAML), with its id.
async fn ready_server(readings: &str) -> (MgnHandle, String) {
    let text = format!(
        "connectors: [{{vm_manager_name: vc}}]\nservers: [{{vm_name: web}}]\nmgn:\n  timing: {{initial_sync_secs: 60}}\n  readings: {readings}\n"
    );
    let mgn = MgnHandle::start(Scenario::from_text(&text).expect("scenario"), 0)
        .await
        .expect("starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(11 * 30 + 61));
    let listed = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let id = listed["items"][0]["sourceServerID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (mgn, id)
}

fn life_cycle(mgn: &MgnHandle, id: &str) -> Value {
    let listed = mgn
        .call(
            "DescribeSourceServers",
            &json!({ "filters": { "sourceServerIDs": [id] } }),
        )
        .expect("listed");
    listed["items"][0]["lifeCycle"]["state"].clone()
}

fn test_launched(mgn: &MgnHandle, id: &str) {
    mgn.call("StartTest", &json!({ "sourceServerIDs": [id] }))
        .expect("StartTest");
    mgn.advance(Duration::from_secs(630));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tested_server_is_marked_ready_for_cutover_by_a_call_or_by_itself() {
    let (by_call, id) = ready_server("{ready_for_cutover: by_call}").await;
    test_launched(&by_call, &id);
    assert_eq!(life_cycle(&by_call, &id), "TESTING", "until marked");
    by_call.shutdown().await;
    let (by_itself, id) = ready_server("{ready_for_cutover: by_itself}").await;
    test_launched(&by_itself, &id);
    assert_eq!(life_cycle(&by_itself, &id), "READY_FOR_CUTOVER");
    by_itself.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_to_cutover_is_refused_or_taken_from_cutting_over() {
    let cut_over = |mgn: &MgnHandle, id: &str| {
        mgn.call("StartCutover", &json!({ "sourceServerIDs": [id] }))
            .expect("StartCutover");
        mgn.advance(Duration::from_secs(630));
        mgn.call(
            "ChangeServerLifeCycleState",
            &json!({ "sourceServerID": id, "lifeCycle": { "state": "CUTOVER" } }),
        )
    };
    let (refused, id) = ready_server("{change_to_cutover: refused}").await;
    let error = cut_over(&refused, &id).expect_err("refused");
    assert_eq!(error.kind.name(), "ValidationException");
    assert_eq!(error.fields[0].0, "lifeCycle.state");
    refused.shutdown().await;
    let (accepted, id) = ready_server("{change_to_cutover: accepted}").await;
    cut_over(&accepted, &id).expect("taken");
    assert_eq!(life_cycle(&accepted, &id), "CUTOVER");
    accepted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_cutover_takes_a_server_ready_for_test_unless_the_strict_reading_is_played() {
    let (documented, id) = ready_server("{cutover_from: ready_for_test}").await;
    documented
        .call("StartCutover", &json!({ "sourceServerIDs": [id] }))
        .expect("from READY_FOR_TEST");
    assert_eq!(life_cycle(&documented, &id), "CUTTING_OVER");
    documented.shutdown().await;
    let (strict, id) = ready_server("{cutover_from: ready_for_cutover}").await;
    let error = strict
        .call("StartCutover", &json!({ "sourceServerIDs": [id] }))
        .expect_err("not yet tested");
    assert_eq!(error.kind.name(), "ConflictException");
    assert_eq!(error.errors[0].code, "INVALID_LIFE_CYCLE_STATE");
    strict.shutdown().await;
}
