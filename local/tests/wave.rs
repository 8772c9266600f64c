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
    let wave = Wave::start(WaveOptions {
        scenario,
        template: template(),
        until: Duration::from_secs(3 * 86_400),
        dry_run: false,
        chaos: None,
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
