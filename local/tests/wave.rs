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

/// Plays `scenario` to the end: it must converge, every app launched at most once and
/// never tried more often than launched; returns the report.
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
    })
    .await
    .expect("wave starts");
    let report = wave.play(|p| eprintln!("{p:?}")).await.expect("wave plays");
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(report.converged, "{}", report.verdict);
    let mut launches: BTreeMap<String, usize> = BTreeMap::new();
    for entry in &report.log {
        if let LogEntry::Event { event, .. } = entry {
            if event["detail-type"] == "AppLaunched" {
                *launches
                    .entry(event["detail"]["appId"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    assert!(launches.values().all(|n| *n == 1), "{launches:?}");
    assert_eq!(
        report.sms_calls.get("LaunchApp").copied().unwrap_or(0) as usize,
        launches.len()
    );
    assert!(
        report.invariant_breaches.is_empty(),
        "{:?}",
        report.invariant_breaches
    );
    report
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
