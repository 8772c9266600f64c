//! Whole waves of the default estate, played with the real handlers on the wiring of
//! `infra/template.yaml`, with its wave plan and with its applications made by hand:
//! each must converge, launch every launchable app exactly once and only after all its
//! members completed, hold the app whose launch configuration SMS refuses or lacks, and
//! alert each failure exactly once; under either reading of an unconfigured launch.

use crate::common;

use std::collections::BTreeMap;

use autopilot_local::wave::{LogEntry, Wave, WaveOptions};
use autopilot_local::Scenario;

/// Plays `scenario` to the end: it must converge without breaching an invariant (an app
/// launched again only after a failed launch, each failure alerted once, each hold
/// reported once), and every LaunchApp call must be announced; returns the report.
async fn converges(scenario: Scenario) -> autopilot_local::wave::WaveReport {
    converges_with(scenario, Vec::new()).await
}

async fn converges_with(
    scenario: Scenario,
    environment: Vec<(String, String)>,
) -> autopilot_local::wave::WaveReport {
    let wave = Wave::start(WaveOptions {
        scenario,
        environment,
        ..WaveOptions::default()
    })
    .await
    .expect("wave starts");
    let report = wave.play(|p| eprintln!("{p:?}")).await.expect("wave plays");
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(report.converged, "{}", report.verdict);
    let launches: usize = events_by_app(&report, "AppLaunched").values().sum();
    assert_eq!(
        report.sms_calls.get("LaunchApp").copied().unwrap_or(0) as usize,
        launches
    );
    assert!(
        report.invariant_breaches.is_empty(),
        "{:?}",
        report.invariant_breaches
    );
    report
}

/// How many events of `detail_type` each app (by name) got.
fn events_by_app(
    report: &autopilot_local::wave::WaveReport,
    detail_type: &str,
) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for entry in &report.log {
        if let LogEntry::Event { event, .. } = entry {
            if event["detail-type"] == detail_type {
                let name = event["detail"]["appName"].as_str().unwrap_or_default();
                *counts.entry(name.to_owned()).or_default() += 1;
            }
        }
    }
    counts
}

/// The details of every event of `detail_type`, in order.
fn details(
    report: &autopilot_local::wave::WaveReport,
    detail_type: &str,
) -> Vec<serde_json::Value> {
    report
        .log
        .iter()
        .filter_map(|entry| match entry {
            LogEntry::Event { event, .. } if event["detail-type"] == detail_type => {
                Some(event["detail"].clone())
            }
            _ => None,
        })
        .collect()
}

/// The time of the first event of `detail_type` for app `name`.
fn first_time(report: &autopilot_local::wave::WaveReport, detail_type: &str, name: &str) -> String {
    report
        .log
        .iter()
        .find_map(|entry| match entry {
            LogEntry::Event { time, event, .. }
                if event["detail-type"] == detail_type && event["detail"]["appName"] == name =>
            {
                Some(time.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {detail_type} for {name}"))
}

/// The default wave: its plan brings the applications, the planner creates and
/// configures them, shop is replicated by app replication and launched only once
/// payments is, reporting is left to a person, and intranet's launch configuration,
/// refused by SMS, is held and reported once, then launched once the plan is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_plays_its_plan() {
    let report = converges(Scenario::default_scenario()).await;
    let mut created: Vec<&str> = report
        .plan
        .steps
        .iter()
        .filter(|s| s.detail_type == "AppPlanned" && s.what.starts_with("created"))
        .map(|s| s.app.as_str())
        .collect();
    // Sorted: the planner's events go out in batches of ten on concurrent PutEvents
    // calls, and a later batch can reach the bus first (EventBridge keeps no order).
    created.sort_unstable();
    assert_eq!(
        created,
        ["intranet", "office", "payments", "reporting", "shop"]
    );
    let launched = events_by_app(&report, "AppLaunched");
    assert_eq!(
        launched.keys().collect::<Vec<_>>(),
        ["intranet", "payments", "shop"]
    );
    assert_eq!(launched.values().max(), Some(&1), "{launched:?}");
    assert!(
        first_time(&report, "AppLaunched", "payments")
            <= first_time(&report, "AppLaunched", "shop"),
        "shop depends on payments"
    );
    // shop's servers are replicated by StartAppReplication, never by standalone jobs.
    assert_eq!(report.sms_calls.get("StartAppReplication"), Some(&1));
    assert!(details(&report, "ReplicationJobCreated")
        .iter()
        .all(|d| !d["vmName"].as_str().unwrap().starts_with("shop-")));
    let reporting = report.apps.iter().find(|a| a.name == "reporting").unwrap();
    assert_eq!(reporting.launch_status, "READY_FOR_LAUNCH");
    assert_eq!(
        events_by_app(&report, "AppReady").get("reporting"),
        Some(&1)
    );
    let held = details(&report, "AppLaunchHeld");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["appName"], "intranet");
    assert_eq!(held[0]["launchStatus"], "CONFIGURATION_INVALID");
    assert!(held[0]["reason"]
        .as_str()
        .unwrap()
        .contains("subnet-0d1b2c3d4e5f60718"));
    let fixed = &report.plan.versions[1].time;
    assert!(&first_time(&report, "AppLaunched", "intranet") > fixed);
    shop_launches_within_a_minute_of_payments_launched(&report);
}

/// SMS sends no event when payments' launch ends: the launcher's re-check rule, on
/// while shop waits for it, launches shop within a minute, then switches itself off.
fn shop_launches_within_a_minute_of_payments_launched(report: &autopilot_local::wave::WaveReport) {
    let id_of = |name: &str| &report.apps.iter().find(|a| a.name == name).unwrap().id;
    let payments_launched = report.first_launched[id_of("payments")];
    let shop_launch = first_time(report, "AppLaunched", "shop");
    let shop_launch = chrono::DateTime::parse_from_rfc3339(&shop_launch).unwrap();
    let latency = shop_launch.signed_duration_since(payments_launched);
    assert!(
        (0..=60).contains(&latency.num_seconds()),
        "shop launched {latency} after payments reached LAUNCHED"
    );
    let launcher_runs = report.log.iter().filter_map(|entry| match entry {
        LogEntry::Invocation {
            function, summary, ..
        } if function == "app-launcher" => Some(summary),
        _ => None,
    });
    let (mut rechecks, mut switches) = (0, Vec::new());
    for summary in launcher_runs {
        rechecks += usize::from(summary["trigger"] == "launch re-check");
        if let Some(switched) = summary["recheck"].as_str() {
            switches.push(switched.to_owned());
        }
    }
    assert_eq!(
        switches.last().map(String::as_str),
        Some("disabled"),
        "{switches:?}"
    );
    // payments' launch takes 11 simulated minutes: one re-check a minute, and the one
    // that finds nothing left to wait for.
    assert!((10..=13).contains(&rechecks), "{rechecks} re-checks");
}

/// A user who made the applications by hand before the wave: no plan, the launcher
/// works on the apps it finds, holds the one without a launch configuration and
/// announces the opted-out one ready without launching it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_of_hand_made_apps_converges() {
    let report = converges(Scenario::hand_made_apps()).await;
    assert!(report.plan.versions.is_empty());
    assert_eq!(report.sms_calls.get("CreateApp"), None);
    let intranet = report
        .apps
        .iter()
        .find(|a| a.name == "intranet")
        .expect("intranet");
    assert_eq!(intranet.launch_status, "READY_FOR_CONFIGURATION");
    assert!(
        intranet
            .held_by
            .as_deref()
            .unwrap_or_default()
            .contains("no launch configuration"),
        "{intranet:?}"
    );
    let held = details(&report, "AppLaunchHeld");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["appName"], "intranet");
    assert!(held[0]["reason"].as_str().unwrap().contains("3 servers"));
    let launched = events_by_app(&report, "AppLaunched");
    assert_eq!(launched.values().max(), Some(&1), "{launched:?}");
    assert_eq!(
        events_by_app(&report, "AppReady").get("reporting"),
        Some(&1)
    );
}

/// A launch that fails is alerted once and made again; one that keeps failing is
/// given up when the launch budget (the template's default of two) is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_launches_are_alerted_once_and_retried_within_the_budget() {
    let mut scenario = Scenario::hand_made_apps();
    for app in &mut scenario.apps {
        app.launch_failures = match app.name.as_str() {
            "shop" => 1,
            "payments" => 2,
            _ => 0,
        };
    }
    let report = converges(scenario).await;
    let status = |name: &str| {
        let app = report.apps.iter().find(|a| a.name == name).expect(name);
        (app.launch_status.clone(), app.held_by.clone())
    };
    assert_eq!(status("shop").0, "LAUNCHED");
    let (payments, held_by) = status("payments");
    assert_eq!(payments, "LAUNCH_FAILED");
    assert!(held_by.unwrap_or_default().contains("left to an operator"));
    let failed = details(&report, "AppLaunchFailed");
    let of = |name: &str| -> Vec<(bool, u64)> {
        failed
            .iter()
            .filter(|d| d["appName"] == name)
            .map(|d| {
                (
                    d["retrying"].as_bool().unwrap(),
                    d["attempts"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(of("shop"), [(true, 1)]);
    assert_eq!(of("payments"), [(true, 1), (false, 2)]);
    assert!(failed.iter().all(|d| d["errorCode"] == "LAUNCH_FAILED"));
    let launched = events_by_app(&report, "AppLaunched");
    assert_eq!(launched.get("shop"), Some(&2));
    assert_eq!(launched.get("payments"), Some(&2));
}

/// Where the sources are silent on LaunchApp for an unconfigured app, the emulator
/// refuses it; under the other reading (accepted, then LAUNCH_FAILED) the functions
/// must do just as well: they never try, so nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_converges_under_the_other_launch_reading() {
    let mut scenario = Scenario::hand_made_apps();
    scenario.readings.unconfigured_launch =
        autopilot_local::scenario::UnconfiguredLaunch::FailsLater;
    let report = converges(scenario).await;
    let failed_launches = report
        .log
        .iter()
        .filter(|e| matches!(e, LogEntry::Event { event, .. } if event["detail-type"] == "AppLaunchFailed"))
        .count();
    assert_eq!(failed_launches, 0);
    let intranet = report
        .apps
        .iter()
        .find(|a| a.name == "intranet")
        .expect("intranet");
    assert_eq!(intranet.launch_status, "READY_FOR_CONFIGURATION");
}

/// With REMEDIATION_RECREATE_FAILED, the watcher deletes legacy-fax-01's FAILED job and
/// creates a new one once the deletion is over, under either answer SMS may give to a
/// job asked for while the old one is DELETING; every failure alerted once (the
/// invariants), nothing dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_recreated_after_their_deletion_under_either_reading() {
    use autopilot_local::scenario::CreateWhileDeleting;
    for reading in [
        CreateWhileDeleting::AlreadyExists,
        CreateWhileDeleting::NotPermitted,
    ] {
        let mut scenario = Scenario::default_scenario();
        scenario.readings.create_while_deleting = reading;
        let environment = vec![("REMEDIATION_RECREATE_FAILED".to_owned(), "true".to_owned())];
        let report = converges_with(scenario, environment).await;
        assert!(
            report.dead_lettered.is_empty(),
            "{reading:?}: {:?}",
            report.dead_lettered
        );
        let actions: Vec<&String> = report.failures.iter().flat_map(|f| &f.actions).collect();
        assert!(
            actions.iter().any(|a| a.contains("jobDeleted")),
            "{reading:?}: {actions:?}"
        );
        assert!(
            actions.iter().any(|a| a.contains("jobRecreated")),
            "{reading:?}: {actions:?}"
        );
        let calls = report
            .sms_calls
            .get("DeleteReplicationJob")
            .copied()
            .unwrap_or(0);
        assert!(calls >= 1, "{reading:?}");
    }
}

/// SMS announced FAILED only, and EventBridge loses some of what it announces: with a
/// fifth of SMS's events dropped the wave still converges, each failure alerted once
/// (the invariants) and within the watcher's schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_converges_when_sms_events_are_lost() {
    let mut scenario = Scenario::default_scenario();
    scenario.faults.dropped_sms_events = 0.2;
    let report = converges(scenario).await;
    let delay = &report.detection_delay;
    assert!(delay.alerted >= 2, "{delay:?}");
    // The watcher's backstop schedule (rate(30 minutes) in the template) bounds it.
    assert!(delay.max_minutes <= 30.0, "{delay:?}");
}

/// An edit of the plan that changes payments' replication settings mid-wave reaches
/// its live jobs: each is updated once (UpdateReplicationJob), announced once with the
/// change, and a later version that keeps the settings changes nothing more. The same
/// edit drops the key pair the first version gave reporting: its launch configuration
/// is put again, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_edit_reaches_live_jobs_and_launch_configurations_once() {
    let mut scenario = Scenario::default_scenario();
    let reporting =
        "settings: { launch: { instanceType: r5.xlarge, subnet: subnet-0c1b2c3d4e5f60718 } }";
    let first = scenario.plans[0].text.clone().expect("the default plan");
    assert!(first.contains(reporting), "reporting's settings moved");
    let with_key = reporting.replace("r5.xlarge,", "r5.xlarge, ec2KeyName: ops,");
    scenario.plans[0].text = Some(first.replace(reporting, &with_key));
    let change = |text: &str| {
        text.replace(
            "      launch: { instanceType: r5.large,",
            "      replication: { frequency: 6, numberOfRecentAmisToKeep: 5 }\n      launch: { instanceType: r5.large,",
        )
    };
    let original = first;
    let fixed = scenario.plans[1].text.clone().expect("the fixed plan");
    assert_ne!(change(&original), original, "the edit applies");
    let mut edit = scenario.plans[0].clone();
    edit.at_secs = 3600;
    edit.text = Some(change(&original));
    scenario.plans[1].text = Some(change(&fixed));
    scenario.plans.insert(1, edit);
    let report = converges(scenario).await;
    let reporting_puts: Vec<&str> = report
        .plan
        .steps
        .iter()
        .filter(|s| s.app == "reporting" && s.what.starts_with("launch configuration"))
        .map(|s| s.time.as_str())
        .collect();
    assert_eq!(
        reporting_puts.len(),
        2,
        "created, then put once without the key: {reporting_puts:?}"
    );
    assert!(
        reporting_puts[1] >= "2024-01-01T01:00:00Z",
        "{reporting_puts:?}"
    );
    let updated = details(&report, "ReplicationJobUpdated");
    assert!(!updated.is_empty(), "payments' live jobs are updated");
    let calls = report.sms_calls.get("UpdateReplicationJob").copied();
    assert_eq!(calls, Some(updated.len() as u64), "one call per job");
    let mut jobs: Vec<&str> = updated
        .iter()
        .map(|d| d["replicationJobId"].as_str().unwrap_or_default())
        .collect();
    jobs.sort_unstable();
    jobs.dedup();
    assert_eq!(
        jobs.len(),
        updated.len(),
        "each job announced once: {updated:?}"
    );
    for detail in &updated {
        assert_eq!(detail["appName"], "payments", "{detail}");
        let changes = detail["changes"].to_string();
        assert!(
            changes.contains("frequency 12 -> 6")
                && changes.contains("numberOfRecentAmisToKeep 3 -> 5"),
            "{changes}"
        );
    }
}

/// A way back: payments, launched, is set to `rollback` by an edit of the plan: its
/// stack is terminated once and it is held; the next edit fixes its instance type and
/// says `automatic`, and it is launched again with the fixed configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launched_application_is_rolled_back_and_launched_again_once_fixed() {
    let mut scenario = Scenario::default_scenario();
    common::with_payments_rolled_back(&mut scenario, 3 * 3600, 5 * 3600);
    let report = converges(scenario).await;
    assert_eq!(report.sms_calls.get("TerminateApp"), Some(&1));
    let rollbacks = details(&report, "AppRolledBack");
    assert_eq!(rollbacks.len(), 1, "{rollbacks:?}");
    assert_eq!(rollbacks[0]["appName"], "payments");
    assert_eq!(rollbacks[0]["launchStatus"], "LAUNCHED");
    let launches = events_by_app(&report, "AppLaunched");
    assert_eq!(launches.get("payments"), Some(&2), "{launches:?}");
    let relaunched_at = report
        .log
        .iter()
        .rev()
        .find_map(|entry| match entry {
            LogEntry::Event { time, event, .. }
                if event["detail-type"] == "AppLaunched"
                    && event["detail"]["appName"] == "payments" =>
            {
                Some(time.as_str())
            }
            _ => None,
        })
        .expect("payments launched again");
    assert!(
        relaunched_at >= "2024-01-01T05:00:00Z",
        "held until the plan said automatic: {relaunched_at}"
    );
    let payments = report.apps.iter().find(|a| a.name == "payments").unwrap();
    assert_eq!(payments.launch_status, "LAUNCHED");
}
