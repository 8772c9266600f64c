//! Chaos on MGN: the default wave on the MGN stand-in under seeded faults — MGN's and
//! EC2's 500s, throttling bursts and latency spikes, S3 refusals, PutEvents failures,
//! lost `aws.mgn` events, every event delivered twice and out of order, overlapping and
//! cut-off invocations, a broken edit of the wave plan mid-wave, a passed test reverted by
//! hand (the first server found ready for cutover, half an hour to 80 minutes in) — and
//! MGN's own kinds drawn per server (stalls mid-sync that end by themselves or only once
//! retried, backlogs, failed test launches, impaired test instances) must keep every MGN
//! guard and converge once the faults stop. The guards: no cutover of a server without a
//! passed test or since it was reverted, no launch before its dependencies' or outside
//! its window (these three on MGN's own record), none cut over twice, no test instance
//! left running, no launch MGN refuses, one decision per key, no two leased runs at once.
//!
//! CI plays `MGN_CHAOS_SEEDS` seeds (default 1: a seed takes about a minute of CI's budget)
//! from `MGN_CHAOS_FIRST_SEED` (default 1);
//! `BACKEND=mgn bash scripts/soak.sh` splits 1,000 seeds over processes with them.

use std::collections::BTreeMap;

use autopilot_local::wave::mgn::MgnWave;
use autopilot_local::wave::{Chaos, WaveOptions};
use autopilot_local::Scenario;

use crate::common;

/// Plays the default wave on MGN under `Chaos::everything(seed)`; the faults injected.
async fn play(seed: u64) -> Result<BTreeMap<String, u64>, String> {
    let scenario = Scenario::default_scenario();
    let plans = common::plans_with_a_broken_edit(&scenario, seed);
    let wave = MgnWave::start(WaveOptions {
        scenario,
        chaos: Some(Chaos::everything(seed)),
        plans,
        ..WaveOptions::default()
    })
    .await
    .map_err(|e| format!("seed {seed}: wave did not start: {e}"))?;
    let report = wave
        .play(|_| {})
        .await
        .map_err(|e| format!("seed {seed}: {e}"))?;
    let statuses: Vec<String> = report
        .apps
        .iter()
        .map(|a| format!("{} {}", a.name, a.launch_status))
        .collect();
    eprintln!(
        "seed {seed}: converged={} after {} min, {} invocations, {} dead-lettered, apps {statuses:?}, breaches {:?}, faults {:?}",
        report.converged,
        report.simulated_minutes,
        report.invocations.values().sum::<u64>(),
        report.dead_lettered.len(),
        report.invariant_breaches,
        report.faults
    );
    for line in report.dead_lettered.iter().take(3) {
        eprintln!("  dead-lettered: {line}");
    }
    let refused = report
        .plan
        .versions
        .iter()
        .filter(|v| v.refused.is_some())
        .count();
    if refused != 1 {
        return Err(format!(
            "seed {seed}: {refused} plan versions refused, expected the broken edit alone"
        ));
    }
    common::judged(seed, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgn_waves_keep_their_guards_under_faults() {
    let seeds = common::env_number("MGN_CHAOS_SEEDS", 1);
    let first = common::env_number("MGN_CHAOS_FIRST_SEED", 1);
    let (failures, totals) = common::play_seeds((first, seeds), play).await;
    assert!(failures.is_empty(), "{failures:#?}");
    // A suite that injected nothing of some kind would prove nothing about it.
    for kind in [
        "MGN 500 InternalError",
        "MGN ThrottlingException",
        "S3 500/503 refusals",
        "PutEvents entries failed",
        "events delivered twice",
        "invocations cut off",
        "MGN stalls needing a retry",
        "MGN test launches failed",
    ] {
        assert!(
            seeds == 0 || totals.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} was injected in {seeds} seeds: {totals:?}"
        );
    }
}
