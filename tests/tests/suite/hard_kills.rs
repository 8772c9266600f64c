//! Hard kills of real processes: the default wave played with each function's real
//! binary running as a process behind a Lambda Runtime API
//! (`autopilot_local::harness::processes`), some invocations killed outright with
//! SIGKILL, at a random moment or as SMS answers a call that changes something (the
//! action done, the state write that records it never made). Lambda's retries and the
//! schedules then run as in any wave. The wave must converge with no breach of the wave
//! invariants: no server with two live jobs, no two applications for one planned one,
//! no second launch, each failure and failed launch alerted once (a repeat published
//! after a kill carries the key of the first), and the leases never held by two runs.
//!
//! The MGN wave is played the same way with the MGN functions' binaries, killed as MGN
//! answers a call that changes something; it must keep MGN's guards (no cutover without
//! a passed test, none before its dependencies or outside its window, none twice, no
//! test instance left running, no launch MGN refuses, one decision per key).
//!
//! CI plays `HARD_KILL_SEEDS` seeds (default 2) from `HARD_KILL_FIRST_SEED` (default 1),
//! and `MGN_HARD_KILL_SEEDS` (default 1) from `MGN_HARD_KILL_FIRST_SEED` on MGN;
//! `scripts/hard-kills.sh` plays many.

use crate::common;

use std::time::{Duration, Instant};

use autopilot_local::harness::processes::{KillDice, ProcessOptions};
use autopilot_local::wave::mgn::MgnWave;
use autopilot_local::wave::{Wave, WaveOptions, WaveReport};

/// Share of invocations killed at a random moment.
const KILL_RATE: f64 = 0.05;
/// Share of the service's calls that change something after which the caller is killed.
const ACTION_KILL_RATE: f64 = 0.25;
/// The deadline each invocation is given; a killed holder's lease lasts that long. Above
/// the planner's margin before its deadline (`app_planner::CHANGE_MARGIN` and the
/// outbox's), under which it makes no change at all.
const INVOCATION_LIMIT: Duration = Duration::from_secs(60);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Which wave a seed plays.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sms,
    Mgn,
}

/// The wave of `backend` played with its functions as processes killed by `seed`'s dice.
async fn played(backend: Backend, seed: u64) -> Result<WaveReport, String> {
    let binaries = tokio::task::spawn_blocking(common::binaries::all)
        .await
        .map_err(|e| format!("building the binaries: {e}"))?;
    let options = WaveOptions {
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
    };
    let not_started =
        |e: autopilot_local::wave::WaveError| format!("seed {seed}: the wave did not start: {e}");
    let played = match backend {
        Backend::Sms => {
            Wave::start(options)
                .await
                .map_err(not_started)?
                .play(|_| {})
                .await
        }
        Backend::Mgn => {
            MgnWave::start(options)
                .await
                .map_err(not_started)?
                .play(|_| {})
                .await
        }
    };
    played.map_err(|e| format!("seed {seed}: {e}"))
}

/// Plays one seed; the processes it killed.
async fn play(backend: Backend, seed: u64) -> Result<u64, String> {
    let report = played(backend, seed).await?;
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

/// Plays `count` seeds from `first`; fails on any seed that broke something, or if no
/// process was killed at all.
async fn play_seeds(backend: Backend, (first, count): (u64, u64)) {
    let started = Instant::now();
    let mut kills = 0;
    let mut failures = Vec::new();
    for seed in first..first + count {
        match play(backend, seed).await {
            Ok(made) => kills += made,
            Err(failure) => failures.push(failure),
        }
    }
    eprintln!(
        "hard kills ({backend:?}): seeds {first}..{}: {} failed, {kills} processes killed, {:.0} s",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_processes_leave_no_duplicate_and_lose_no_alert() {
    let first = env_number("HARD_KILL_FIRST_SEED", 1);
    let count = env_number("HARD_KILL_SEEDS", 2);
    play_seeds(Backend::Sms, (first, count)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mgn_processes_break_no_guard() {
    let first = env_number("MGN_HARD_KILL_FIRST_SEED", 1);
    let count = env_number("MGN_HARD_KILL_SEEDS", 1);
    play_seeds(Backend::Mgn, (first, count)).await;
}
