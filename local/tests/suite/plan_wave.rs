//! Whole waves driven by a wave plan, on the emulator with the real handlers: the
//! planner creates and configures the applications, the job-creator and app
//! replication replicate their servers, the launcher launches them in dependency order
//! and leaves the manual one to a person; a plan version SMS's launch check refuses is
//! fixed by the next, and a version that is not a valid plan changes nothing.

use std::time::Duration;

use autopilot_local::wave::{LogEntry, PlanVersion, Wave, WaveOptions, WaveReport};
use autopilot_local::Scenario;
use serde_json::Value;

/// Five servers, no application: the plan brings them.
fn scenario() -> Scenario {
    Scenario::from_text(
        r#"
name: planned
seed: 7
timing: { catalog_import_secs: 120, default_replication_secs: 1200 }
connectors: [{ vm_manager_name: vcenter }]
network:
  vpcs: [vpc-1]
  subnets: [{ id: subnet-1, vpc: vpc-1 }]
  security_groups: [{ id: sg-1, vpc: vpc-1 }]
servers:
  - { vm_name: db-01 }
  - { vm_name: db-02, replication_secs: 2400 }
  - { vm_name: web-01 }
  - { vm_name: web-02 }
  - { vm_name: rep-01 }
"#,
    )
    .expect("valid scenario")
}

const PLAN: &str = "version: 1
defaults:
  launch: { instanceType: t3.medium, vpc: vpc-1, subnet: subnet-1, securityGroup: sg-1 }
  replication: { frequency: 12 }
applications:
  - name: base
    groups: [{ name: db, launchOrder: 1, servers: [db-01, db-02] }]
  - name: front
    dependsOn: [base]
    replicatedBy: app
    settings: { launch: { subnet: SUBNET } }
    groups: [{ name: web, servers: [\"vmName:web-*\"] }]
  - name: reports
    launch: manual
    groups: [{ name: all, servers: [rep-01] }]
";

async fn play(plans: Vec<PlanVersion>) -> WaveReport {
    play_scenario(scenario(), plans).await
}

async fn play_scenario(scenario: Scenario, plans: Vec<PlanVersion>) -> WaveReport {
    let wave = Wave::start(WaveOptions {
        scenario,
        until: Duration::from_secs(2 * 86_400),
        plans,
        ..WaveOptions::default()
    })
    .await
    .expect("wave starts");
    let report = wave.play(|p| eprintln!("{p:?}")).await.expect("wave plays");
    assert!(report.converged, "{}", report.verdict);
    assert!(
        report.invariant_breaches.is_empty(),
        "{:?}",
        report.invariant_breaches
    );
    report
}

/// (time, detail) of every project event of `detail_type`, in order.
fn events(report: &WaveReport, detail_type: &str) -> Vec<(String, Value)> {
    report
        .log
        .iter()
        .filter_map(|entry| match entry {
            LogEntry::Event { time, event, .. } if event["detail-type"] == detail_type => {
                Some((time.clone(), event["detail"].clone()))
            }
            _ => None,
        })
        .collect()
}

fn launched_at(report: &WaveReport, app: &str) -> Option<String> {
    events(report, "AppLaunched")
        .into_iter()
        .find(|(_, d)| d["appName"] == app)
        .map(|(time, _)| time)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_becomes_applications_launched_in_dependency_order() {
    // The plan comes with the scenario (`plans:`), as the default wave's does.
    let mut scenario = scenario();
    scenario
        .plans
        .push(autopilot_local::scenario::PlanVersionSpec {
            at_secs: 0,
            file: None,
            text: Some(PLAN.replace("SUBNET", "subnet-1")),
        });
    let report = play_scenario(scenario, Vec::new()).await;
    let created: Vec<String> = events(&report, "AppPlanned")
        .iter()
        .filter(|(_, d)| d["change"] == "created")
        .map(|(_, d)| d["appName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created, ["base", "front", "reports"]);
    let (base, front) = (launched_at(&report, "base"), launched_at(&report, "front"));
    assert!(base.is_some() && front.is_some(), "{base:?} {front:?}");
    assert!(base < front, "front waits for base: {base:?} {front:?}");
    assert_eq!(
        launched_at(&report, "reports"),
        None,
        "a person launches it"
    );
    assert!(events(&report, "AppReady")
        .iter()
        .any(|(_, d)| d["appName"] == "reports"));
    // App replication makes the web servers' jobs, not the job-creator.
    let by_creator: Vec<String> = events(&report, "ReplicationJobCreated")
        .iter()
        .filter_map(|(_, d)| d["vmName"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !by_creator.iter().any(|vm| vm.starts_with("web-")),
        "{by_creator:?}"
    );
    assert!(by_creator.contains(&"db-01".to_owned()), "{by_creator:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_launch_configuration_waits_for_the_plan_that_fixes_it() {
    let hour = Duration::from_secs(3600);
    let report = play(vec![
        PlanVersion {
            after: Duration::ZERO,
            text: PLAN.replace("SUBNET", "subnet-9"),
        },
        PlanVersion {
            after: hour,
            text: "version: 1\napplications: [{ name: broken, colour: red }]\n".to_owned(),
        },
        PlanVersion {
            after: 3 * hour,
            text: PLAN.replace("SUBNET", "subnet-1"),
        },
    ])
    .await;
    let held = events(&report, "AppLaunchHeld");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].1["appName"], "front");
    assert!(
        held[0].1["reason"].as_str().unwrap().contains("subnet-9"),
        "{held:?}"
    );
    let rejected = events(&report, "PlanRejected");
    assert_eq!(rejected.len(), 1, "reported once: {rejected:?}");
    let problems = rejected[0].1["problems"].to_string();
    assert!(problems.contains("unknown key `colour`"), "{problems}");
    let front = launched_at(&report, "front").expect("front launches once the plan is fixed");
    assert!(front.as_str() > "2024-01-01T03:00:00Z", "{front}");
    assert!(!events(&report, "AppPlanned")
        .iter()
        .any(|(_, d)| d["appName"] == "broken"));
}

#[test]
fn a_scenario_reads_its_plan_files_beside_it_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = "name: planned\nconnectors: [{ vm_manager_name: vcenter }]\nservers: [{ vm_name: db-01 }]\n";
    std::fs::write(dir.path().join("plan.yaml"), "version: 1\n").unwrap();
    let with = |plans: &str| {
        let path = dir.path().join("scenario.yaml");
        std::fs::write(&path, format!("{scenario}plans: {plans}\n")).unwrap();
        Scenario::load(&path)
    };
    let loaded = with("[{ file: plan.yaml }, { at_secs: 60, text: \"version: 2\" }]").unwrap();
    assert_eq!(
        loaded.plan_versions(),
        [
            (0, "version: 1\n".to_owned()),
            (60, "version: 2".to_owned())
        ]
    );
    let error = with("[{ file: missing.yaml }]").unwrap_err().to_string();
    assert!(
        error.contains("plans[0].file") && error.contains("missing.yaml"),
        "{error}"
    );
    let error = with("[{ at_secs: 5 }]").unwrap_err().to_string();
    assert!(
        error.contains("give the plan's `file` or its `text`"),
        "{error}"
    );
}

/// An application that depends on one a person launches is reported held once, naming
/// that application, and the wave counts it settled: nothing in it will launch either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_of_a_manual_application_is_reported_held() {
    let plan = "version: 1
defaults:
  launch: { instanceType: t3.medium, vpc: vpc-1, subnet: subnet-1, securityGroup: sg-1 }
applications:
  - name: reports
    launch: manual
    groups: [{ name: all, servers: [rep-01] }]
  - name: dash
    dependsOn: [reports]
    groups: [{ name: web, servers: [web-01] }]
";
    let report = play(vec![PlanVersion {
        after: Duration::ZERO,
        text: plan.to_owned(),
    }])
    .await;
    let held = events(&report, "AppLaunchHeld");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].1["appName"], "dash");
    let reason = held[0].1["reason"].as_str().unwrap();
    assert!(
        reason.contains("reports (a person launches it)"),
        "{reason}"
    );
    assert_eq!(launched_at(&report, "dash"), None);
    let dash = report.apps.iter().find(|a| a.name == "dash").unwrap();
    assert!(
        dash.held_by
            .as_deref()
            .unwrap_or_default()
            .contains("waits for reports"),
        "{dash:?}"
    );
}
