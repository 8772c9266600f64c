//! Seeded faults for a chaos wave: what the SMS emulator, the local S3 and the local bus
//! inject, and what the driver itself does to invocations (duplicated and reordered
//! deliveries, overlapping runs where Lambda allows them, cut-offs like timeouts), and
//! what an operator does by hand mid-wave (app replication stopped).
//! Every fault stops at `faults_for`, after which the wave must still converge.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::rng::SplitMix64;
use crate::sms::protocol::AppLaunchStatus;
use crate::sms::{App, AppReplication};
use crate::{EmulatorHandle, Faults, LatencySpikes, Scenario, Throttle, ThrottleClock};

use crate::bus::LocalBus;

/// What to inject, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Chaos {
    pub seed: u64,
    /// Simulated time from the start during which faults are injected.
    pub faults_for: Duration,
    /// The SMS emulator's faults (500s, latency and its spikes, throttling).
    pub sms: Faults,
    /// Event bus: fraction of PutEvents entries answered as failed.
    pub bus_failure_rate: f64,
    /// S3: fraction of requests refused with 500 InternalError or 503 SlowDown.
    pub s3_failure_rate: f64,
    /// Every routed event is delivered twice.
    pub duplicate_deliveries: bool,
    /// Invocations due in one round run in a shuffled order.
    pub reorder: bool,
    /// Fraction of invocations run twice at once (only for functions whose reserved
    /// concurrency lets Lambda do that).
    pub concurrent_rate: f64,
    /// Fraction of invocations cut off after a random 0-20 ms, as a Lambda timeout would.
    pub cut_rate: f64,
    /// When an operator stops, by hand, the replication of every application SMS is
    /// replicating and has not launched (StopAppReplication deletes their jobs): the
    /// planner must start it again.
    pub stop_app_replication_after: Option<Duration>,
}

impl Chaos {
    /// Every fault at once, at rates a wave should survive.
    pub fn everything(seed: u64) -> Self {
        Self {
            seed,
            faults_for: Duration::from_secs(3 * 3600),
            sms: Faults {
                latency_ms: 1,
                error_rate: 0.05,
                latency_spikes: Some(LatencySpikes {
                    rate: 0.02,
                    extra_ms: 40,
                }),
                // Per simulated second: every call of a round shares one, so the busy
                // rounds (the first job-creator sweep, launch rounds) meet bursts of
                // throttling however fast this machine is. SMS announces few states, so
                // rounds are quieter than their event storms once made them: 25.
                throttle: Some(Throttle {
                    max_calls_per_second: 25,
                    per: ThrottleClock::Simulated,
                }),
                // EventBridge loses some: the watcher's schedule must catch what it misses.
                dropped_sms_events: 0.2,
                // Each app's first launches end LAUNCH_FAILED, from none to two: the
                // launcher's budget (two attempts) is spent on some apps and not others.
                launch_failures_up_to: 2,
            },
            bus_failure_rate: 0.1,
            s3_failure_rate: 0.05,
            duplicate_deliveries: true,
            reorder: true,
            concurrent_rate: 0.3,
            cut_rate: 0.05,
            // Between one and two and a half hours in: before, during or after the
            // runs of the applications replicated by app replication.
            stop_app_replication_after: Some(Duration::from_secs(
                3600 + SplitMix64::new(seed ^ 0x5709_a991).next_u64() % 5400,
            )),
        }
    }

    /// The scenario as this chaos plays it: launch failures drawn for the apps it
    /// brings, as the emulator draws them for the apps CreateApp makes (an app the
    /// scenario gives failures of its own keeps them).
    pub(super) fn stage(&self, scenario: &mut Scenario) {
        let mut draws = SplitMix64::new(self.seed ^ 0x1a0c_4fa1);
        let outcomes = u64::from(self.sms.launch_failures_up_to) + 1;
        for app in &mut scenario.apps {
            let drawn = (draws.next_u64() % outcomes) as u32;
            if app.launch_failures == 0 {
                app.launch_failures = drawn;
            }
        }
    }

    /// Each chaos seed meets its own sequence of 500s and failed entries, not the
    /// scenario's.
    pub(super) fn fault_seed(&self, scenario_seed: u64) -> u64 {
        scenario_seed ^ self.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// A chaos wave's faults while it plays: whether they are on, the driver's dice, and
/// what was injected by kind.
pub(super) struct ChaosState {
    chaos: Chaos,
    dice: SplitMix64,
    on: bool,
    /// Faults the driver itself injected (deliveries, overlaps, cut-offs), by kind.
    pub(super) injected: BTreeMap<String, u64>,
    /// The operator's stop of app replication was played.
    replication_stopped: bool,
}

impl ChaosState {
    pub(super) fn new(chaos: Chaos) -> Self {
        let dice = SplitMix64::new(chaos.seed);
        Self {
            chaos,
            dice,
            on: false,
            injected: BTreeMap::new(),
            replication_stopped: false,
        }
    }

    /// Once `stop_app_replication_after` has passed, stops the replication of every
    /// application replicating by app replication and not launched, as an operator
    /// would by hand (directly on the emulator: no fault meets the operator's calls).
    pub(super) fn stop_app_replication(&mut self, elapsed: Duration, emulator: &EmulatorHandle) {
        let Some(at) = self.chaos.stop_app_replication_after else {
            return;
        };
        if self.replication_stopped || elapsed < at {
            return;
        }
        self.replication_stopped = true;
        let state = emulator.state();
        for app in state.apps.iter().filter(|app| replicating_unlaunched(app)) {
            match emulator.call("StopAppReplication", &json!({ "appId": app.id })) {
                Ok(_) => self.count("app replications stopped by hand", 1),
                Err(error) => {
                    tracing::warn!(app = app.id, %error, "chaos: StopAppReplication refused");
                    self.count("app replication stops refused", 1);
                }
            }
        }
    }

    /// Whether faults are being injected.
    pub(super) fn on(&self) -> bool {
        self.on
    }

    /// Turns the faults on at the start and off once `faults_for` has passed.
    pub(super) fn switch(&mut self, elapsed: Duration, emulator: &EmulatorHandle, bus: &LocalBus) {
        let active = elapsed < self.chaos.faults_for;
        if active == self.on {
            return;
        }
        self.on = active;
        if active {
            emulator.set_faults(self.chaos.sms.clone());
            bus.set_failure_rate(self.chaos.bus_failure_rate);
            emulator.set_s3_failure_rate(self.chaos.s3_failure_rate, self.chaos.seed);
        } else {
            emulator.set_faults(Faults::default());
            bus.set_failure_rate(0.0);
            emulator.set_s3_failure_rate(0.0, self.chaos.seed);
        }
    }

    /// How many copies of each routed event to deliver.
    pub(super) fn copies(&self) -> usize {
        if self.on && self.chaos.duplicate_deliveries {
            2
        } else {
            1
        }
    }

    /// Shuffles the invocations due in one round, when reordering is on.
    pub(super) fn shuffle<T>(&mut self, due: &mut [T]) {
        if !(self.on && self.chaos.reorder) {
            return;
        }
        for i in (1..due.len()).rev() {
            due.swap(i, (self.dice.next_u64() % (i as u64 + 1)) as usize);
        }
    }

    /// Whether to run an invocation twice at once (only where `may_overlap`), and when
    /// to cut it off.
    pub(super) fn dice(&mut self, may_overlap: bool) -> (bool, Option<Duration>) {
        if !self.on {
            return (false, None);
        }
        let twice = may_overlap && self.dice.next_f64() < self.chaos.concurrent_rate;
        let cut = (self.dice.next_f64() < self.chaos.cut_rate)
            .then(|| Duration::from_millis(self.dice.next_u64() % 20));
        (twice, cut)
    }

    pub(super) fn count(&mut self, kind: &str, by: u64) {
        *self.injected.entry(kind.to_owned()).or_default() += by;
    }

    /// Every fault injected so far, the emulator's, the S3's and the bus's included.
    pub(super) fn tally(&self, emulator: &EmulatorHandle, bus: &LocalBus) -> BTreeMap<String, u64> {
        let mut faults = self.injected.clone();
        let sms = emulator.sms_faults_injected();
        faults.insert("SMS ThrottlingException".into(), sms.throttled);
        faults.insert("SMS 500 InternalError".into(), sms.internal_errors);
        faults.insert("SMS latency spikes".into(), sms.slowed);
        faults.insert("SMS events dropped".into(), sms.events_dropped);
        faults.insert("S3 500/503 refusals".into(), emulator.s3_faults_injected());
        faults.insert("PutEvents entries failed".into(), bus.counts().1);
        let apps = emulator.state().apps;
        let launches_failed = apps.iter().map(|a| u64::from(a.launches_failed)).sum();
        faults.insert("launches ended LAUNCH_FAILED".into(), launches_failed);
        faults
    }
}

/// An application whose replication was started with StartAppReplication (the route
/// the plan can restart; stopping one replicated by standalone jobs deletes jobs the
/// autopilot leaves to a person) and that is neither launched nor launching.
fn replicating_unlaunched(app: &App) -> bool {
    let launching = matches!(
        app.launch_status,
        AppLaunchStatus::LaunchPending
            | AppLaunchStatus::LaunchInProgress
            | AppLaunchStatus::Launched
    );
    app.replication == AppReplication::Started && !launching
}
