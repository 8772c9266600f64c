//! A whole wave of the default scenario, played with the real handlers on the wiring of
//! `infra/template.yaml`: it must converge, launch every launchable app exactly once and
//! only after all its members completed, and alert each failure exactly once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use autopilot_local::wave::{LogEntry, Wave, WaveOptions};
use autopilot_local::Scenario;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_converges() {
    let wave = Wave::start(WaveOptions {
        scenario: Scenario::default_scenario(),
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
}
