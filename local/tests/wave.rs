//! A whole wave of the default scenario, played with the real handlers on the wiring of
//! `infra/template.yaml`: it must converge, launch every launchable app exactly once and
//! only after all its members completed, hold the app that has no launch configuration,
//! and alert each failure exactly once; under either reading of an unconfigured launch.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use autopilot_local::wave::{LogEntry, Wave, WaveOptions};
use autopilot_local::Scenario;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

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
        template: template(),
        until: Duration::from_secs(3 * 86_400),
        dry_run: false,
        chaos: None,
        environment,
        plans: Vec::new(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_converges() {
    let report = converges(Scenario::default_scenario()).await;
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
}

/// A launch that fails is alerted once and made again; one that keeps failing is
/// given up when the launch budget (the template's default of two) is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_launches_are_alerted_once_and_retried_within_the_budget() {
    let mut scenario = Scenario::default_scenario();
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
    let mut scenario = Scenario::default_scenario();
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
