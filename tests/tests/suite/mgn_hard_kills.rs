//! Hard kills on MGN: the default wave on the MGN stand-in with each MGN function's real
//! binary running as a process behind a Lambda Runtime API, some invocations killed
//! outright with SIGKILL, at a random moment or as MGN answers a call that changes
//! something (the test launched, the server marked, the cutover finalized — and the
//! books that record it never written). Lambda's retries and the schedules then run as
//! in any wave. The wave must converge with every MGN guard held: no cutover without a
//! passed test, none before its dependencies or outside its window, none twice, no test
//! instance left running, no launch MGN refuses, one decision per key, and the leases
//! never held by two runs.
//!
//! CI plays `MGN_HARD_KILL_SEEDS` seeds (default 1) from `MGN_HARD_KILL_FIRST_SEED`
//! (default 1).

use crate::common;

use std::time::{Duration, Instant};

use autopilot_local::harness::processes::{KillDice, ProcessOptions};
use autopilot_local::wave::mgn::MgnWave;
use autopilot_local::wave::WaveOptions;

/// Share of invocations killed at a random moment.
const KILL_RATE: f64 = 0.05;
/// Share of MGN calls that change something after which the caller is killed.
const ACTION_KILL_RATE: f64 = 0.25;
/// The deadline each invocation is given; a killed holder's lease lasts that long.
const INVOCATION_LIMIT: Duration = Duration::from_secs(60);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn play(seed: u64) -> Result<u64, String> {
    let binaries = tokio::task::spawn_blocking(common::binaries::all)
        .await
        .map_err(|e| format!("building the binaries: {e}"))?;
    let wave = MgnWave::start(WaveOptions {
        processes: Some(ProcessOptions {
            binaries,
            limit: INVOCATION_LIMIT,
            kills: Some(KillDice {
                seed,
                rate: KILL_RATE,
                action_rate: ACTION_KILL_RATE,
            }),
        }),
        ..WaveOptions::default()
    })
    .await
    .map_err(|e| format!("seed {seed}: the wave did not start: {e}"))?;
    let report = wave
        .play(|_| {})
        .await
        .map_err(|e| format!("seed {seed}: {e}"))?;
    let kills: u64 = report
        .faults
        .iter()
        .filter(|(kind, _)| kind.starts_with("processes killed"))
        .map(|(_, count)| count)
        .sum();
    eprintln!(
        "seed {seed}: converged={} after {} min, {} invocations, {} dead-lettered, kills {:?}, breaches {:?}",
        report.converged,
        report.simulated_minutes,
        report.invocations.values().sum::<u64>(),
        report.dead_lettered.len(),
        report.faults,
        report.invariant_breaches
    );
    if !report.converged {
        return Err(format!(
            "seed {seed}: the wave did not converge: {}",
            report.verdict
        ));
    }
    if !report.invariant_breaches.is_empty() {
        return Err(format!(
            "seed {seed}: {}",
            report.invariant_breaches.join("; ")
        ));
    }
    Ok(kills)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mgn_processes_break_no_guard() {
    let first = env_number("MGN_HARD_KILL_FIRST_SEED", 1);
    let count = env_number("MGN_HARD_KILL_SEEDS", 1);
    let started = Instant::now();
    let mut kills = 0;
    let mut failures = Vec::new();
    for seed in first..first + count {
        match play(seed).await {
            Ok(made) => kills += made,
            Err(failure) => failures.push(failure),
        }
    }
    eprintln!(
        "MGN hard kills: seeds {first}..{}: {} failed, {kills} processes killed, {:.0} s",
        first + count,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        kills > 0,
        "no process was killed: the harness tested nothing"
    );
}
