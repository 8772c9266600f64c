//! Chaos waves: the default wave under seeded faults — SMS 500s, throttling and latency,
//! PutEvents failures, every event delivered twice and out of order, overlapping
//! invocations where Lambda allows them, invocations cut off half way — must keep every
//! invariant and converge once the faults stop.
//!
//! CI plays `CHAOS_SEEDS` seeds (default 4) from `CHAOS_FIRST_SEED` (default 1); a soak
//! is `CHAOS_SEEDS=1000 cargo test --profile soak -p autopilot-local --test chaos -- --nocapture`
//! (split it across processes with `CHAOS_FIRST_SEED`).

use std::path::PathBuf;
use std::time::Duration;

use autopilot_local::wave::{Chaos, Wave, WaveOptions};
use autopilot_local::Scenario;

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

async fn play(seed: u64) -> Result<(), String> {
    let wave = Wave::start(WaveOptions {
        scenario: Scenario::default_scenario(),
        template: template(),
        until: Duration::from_secs(3 * 86_400),
        dry_run: false,
        chaos: Some(Chaos::everything(seed)),
    })
    .await
    .map_err(|e| format!("seed {seed}: wave did not start: {e}"))?;
    let report = wave
        .play(|_| {})
        .await
        .map_err(|e| format!("seed {seed}: {e}"))?;
    let cut = report
        .log
        .iter()
        .filter(|e| matches!(e, autopilot_local::wave::LogEntry::Invocation { outcome, .. } if outcome.starts_with("cut off")))
        .count();
    eprintln!(
        "seed {seed}: converged={} after {} min, {} invocations ({cut} cut off), {} dead-lettered, breaches {:?}",
        report.converged,
        report.simulated_minutes,
        report.invocations.values().sum::<u64>(),
        report.dead_lettered.len(),
        report.invariant_breaches
    );
    for line in &report.dead_lettered {
        eprintln!("  dead-lettered: {line}");
    }
    if !report.invariant_breaches.is_empty() {
        return Err(format!("seed {seed}: {:?}", report.invariant_breaches));
    }
    if !report.converged {
        return Err(format!("seed {seed}: {}", report.verdict));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_keep_their_invariants_under_faults() {
    let seeds: u64 = std::env::var("CHAOS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let mut failures = Vec::new();
    for seed in 1..=seeds {
        if let Err(failure) = play(seed).await {
            failures.push(failure);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {seeds} chaos waves failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
