//! The planner run twice at once from two execution environments, then again: the
//! applications of the plan exist once each (CreateApp's client token makes the second
//! creation a repeat), a run with nothing left to do announces nothing, and once the
//! applications were found as planned, a run reads no configuration again.

use crate::common;

use std::time::Duration;

use autopilot_core::config::AppPlannerConfig;
use autopilot_local::harness::payloads::rule_event;
use autopilot_local::Scenario;

const PLAN: &str = "version: 1
defaults: { launch: { instanceType: t3.small, subnet: subnet-1, securityGroup: sg-1 } }
applications:
  - { name: base, groups: [{ name: db, servers: [db-01] }] }
  - { name: front, replicatedBy: app, groups: [{ name: web, servers: [web-01, web-02] }] }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_and_repeated_planner_runs_make_each_application_once() {
    let scenario = Scenario::from_text(
        "name: planned
connectors: [{ vm_manager_name: vcenter }]
servers: [{ vm_name: db-01 }, { vm_name: web-01 }, { vm_name: web-02 }]
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
    clients
        .sms
        .import_server_catalog()
        .send()
        .await
        .expect("import");
    emulator.advance(Duration::from_secs(180));
    let planner: AppPlannerConfig = common::config(&wiring, "app-planner");
    clients
        .s3
        .put_object()
        .bucket(&wiring.artifacts_bucket)
        .key(&planner.plan_key)
        .body(PLAN.as_bytes().to_vec().into())
        .send()
        .await
        .expect("plan written");

    let (first, second) = (
        common::functions(&wiring, &clients, &clock),
        common::functions(&wiring, &clients, &clock),
    );
    let tick = || rule_event(emulator.now(), "sms-autopilot-planner-schedule");
    let (a, b) = tokio::join!(
        first.invoke("app-planner", tick()),
        second.invoke("app-planner", tick())
    );
    a.expect("first planner run");
    b.expect("second planner run");
    let apps = clients.sms.list_apps().send().await.expect("ListApps");
    let mut names: Vec<&str> = apps.apps().iter().filter_map(|a| a.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["base", "front"], "one application per planned name");

    emulator.advance(Duration::from_secs(120));
    let again = first
        .invoke("app-planner", tick())
        .await
        .expect("third run");
    assert_eq!(again["changes"], 0, "{again}");
    assert_eq!(again["inStep"], 2, "{again}");
    let apps = clients.sms.list_apps().send().await.expect("ListApps");
    assert_eq!(apps.apps().len(), 2);

    // Nothing changed since: the configurations are not read again.
    emulator.reset_call_counts();
    let steady = first
        .invoke("app-planner", tick())
        .await
        .expect("fourth run");
    assert_eq!(steady["inStep"], 2, "{steady}");
    let calls = emulator.call_counts();
    for read in [
        "GetAppLaunchConfiguration",
        "GetAppReplicationConfiguration",
        "GetApp",
    ] {
        assert_eq!(calls.get(read), None, "{read} in a steady run: {calls:?}");
    }
    assert_eq!(calls.get("ListApps"), Some(&1), "{calls:?}");
    bus.shutdown().await;
    emulator.shutdown().await;
}
