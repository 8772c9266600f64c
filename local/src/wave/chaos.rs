//! Seeded faults for a chaos wave: what the SMS emulator, the local S3 and the local bus
//! inject, and what the driver itself does to invocations (duplicated and reordered
//! deliveries, overlapping runs where Lambda allows them, cut-offs like timeouts), and
//! what an operator does by hand mid-wave (SMS: app replication stopped; MGN: a passed
//! test reverted).
//! Every fault stops at `faults_for`, after which the wave must still converge.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::faults::FaultCounts;
use crate::rng::SplitMix64;
use crate::sms::protocol::AppLaunchStatus;
use crate::sms::{App, AppReplication};
use crate::{EmulatorHandle, Faults, LatencySpikes, Scenario, Throttle, ThrottleClock};

use crate::bus::LocalBus;

/// The migration service a chaos wave strikes: the SMS emulator or the MGN stand-in
/// (with its EC2).
pub(super) trait FaultedService {
    /// Its name in the tally ("SMS", "MGN").
    fn name(&self) -> &'static str;
    fn set_faults(&self, faults: Faults);
    fn injected(&self) -> FaultCounts;
}

impl FaultedService for EmulatorHandle {
    fn name(&self) -> &'static str {
        "SMS"
    }

    fn set_faults(&self, faults: Faults) {
        EmulatorHandle::set_faults(self, faults);
    }

    fn injected(&self) -> FaultCounts {
        self.sms_faults_injected()
    }
}

impl FaultedService for crate::mgn::MgnHandle {
    fn name(&self) -> &'static str {
        "MGN"
    }

    fn set_faults(&self, faults: Faults) {
        crate::mgn::MgnHandle::set_faults(self, faults);
    }

    fn injected(&self) -> FaultCounts {
        self.faults_injected()
    }
}

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
    /// MGN: from when an operator marks a server whose test passed back ready for
    /// testing, by hand (the first one found while faults last).
    pub revert_a_test_after: Option<Duration>,
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
            // Half an hour to 80 minutes in: while the first applications' tests pass.
            revert_a_test_after: Some(Duration::from_secs(
                1800 + SplitMix64::new(seed ^ 0x2e0b_7c13).next_u64() % 3000,
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

    /// The scenario as this chaos plays it on MGN: each server, drawn from the seed, may
    /// stall mid-sync (recovering by itself or only once retried), fall behind with a
    /// backlog, fail its first test launch or have its first test instance impaired; and
    /// EventBridge loses a share of MGN's events. What the scenario gives a server stays.
    /// Returns what it staged, by kind.
    pub(super) fn stage_mgn(&self, scenario: &mut Scenario) -> BTreeMap<String, u64> {
        let mut staged: BTreeMap<String, u64> = BTreeMap::new();
        let mut stage = |kind: &str| *staged.entry(kind.to_owned()).or_default() += 1;
        const ERRORS: [&str; 3] = ["UNSTABLE_NETWORK", "AGENT_NOT_SEEN", "SNAPSHOTS_FAILURE"];
        let mut draws = SplitMix64::new(self.seed ^ 0x3c6e_f372);
        let names: Vec<String> = scenario.servers.iter().map(|s| s.vm_name.clone()).collect();
        for name in names {
            let spec = scenario.mgn.servers.entry(name).or_default();
            if draws.next_f64() < 0.25 {
                let by_itself = draws.next_f64() < 0.5;
                spec.stalls.push(crate::scenario::StallSpec {
                    at_secs: 600 + draws.next_u64() % 6600,
                    for_secs: by_itself.then(|| 300 + draws.next_u64() % 1500),
                    error: ERRORS[(draws.next_u64() % 3) as usize].to_owned(),
                });
                spec.stalls.sort_by_key(|stall| stall.at_secs);
                stage(if by_itself {
                    "MGN stalls ending by themselves"
                } else {
                    "MGN stalls needing a retry"
                });
            }
            if draws.next_f64() < 0.1 {
                spec.backlogs.push(crate::scenario::CatchUpSpec {
                    at_secs: 3600 + draws.next_u64() % 5400,
                    for_secs: 600 + draws.next_u64() % 1200,
                    gib: 5,
                });
                stage("MGN backlogs");
            }
            if draws.next_f64() < 0.15 {
                spec.test_launch_failures += 1;
                stage("MGN test launches failed");
            }
            if draws.next_f64() < 0.1 {
                spec.impaired_test_instances += 1;
                stage("MGN test instances impaired");
            }
        }
        if scenario.mgn.dropped_events == 0.0 {
            scenario.mgn.dropped_events = self.sms.dropped_sms_events;
        }
        staged
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
    /// The operator's revert of a server's passed test was played (MGN).
    test_reverted: bool,
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
            test_reverted: false,
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

    /// From `revert_a_test_after` on, while faults last, an operator on MGN marks
    /// the first server found ready for cutover back ready for testing, by hand, as one
    /// who doubts its test would (ChangeServerLifeCycleState): its application must test
    /// again before any cutover. Played once, when such a server is found.
    pub(super) fn revert_a_test(&mut self, elapsed: Duration, mgn: &crate::mgn::MgnHandle) {
        let Some(at) = self.chaos.revert_a_test_after else {
            return;
        };
        if self.test_reverted || elapsed < at || !self.on {
            return;
        }
        let Ok(listed) = mgn.call("DescribeSourceServers", &json!({})) else {
            return;
        };
        let ready =
            listed["items"].as_array().into_iter().flatten().find(|s| {
                s["lifeCycle"]["state"] == "READY_FOR_CUTOVER" && s["isArchived"] != true
            });
        let Some(id) = ready.and_then(|s| s["sourceServerID"].as_str()) else {
            return;
        };
        self.test_reverted = true;
        let revert = json!({ "sourceServerID": id, "lifeCycle": { "state": "READY_FOR_TEST" } });
        match mgn.call("ChangeServerLifeCycleState", &revert) {
            Ok(_) => self.count("passed tests reverted by hand", 1),
            Err(error) => {
                tracing::warn!(server = id, ?error, "chaos: the revert was refused");
                self.count("test reverts refused", 1);
            }
        }
    }

    /// Whether faults are being injected.
    pub(super) fn on(&self) -> bool {
        self.on
    }

    /// Turns the faults on at the start and off once `faults_for` has passed: the
    /// migration service's, the local S3's (served by `storage`) and the bus's.
    pub(super) fn switch(
        &mut self,
        elapsed: Duration,
        (service, storage): (&dyn FaultedService, &EmulatorHandle),
        bus: &LocalBus,
    ) {
        let active = elapsed < self.chaos.faults_for;
        if active == self.on {
            return;
        }
        self.on = active;
        if active {
            service.set_faults(self.chaos.sms.clone());
            bus.set_failure_rate(self.chaos.bus_failure_rate);
            storage.set_s3_failure_rate(self.chaos.s3_failure_rate, self.chaos.seed);
        } else {
            service.set_faults(Faults::default());
            bus.set_failure_rate(0.0);
            storage.set_s3_failure_rate(0.0, self.chaos.seed);
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

    /// Every fault injected so far, the service's, the S3's and the bus's included.
    pub(super) fn tally(
        &self,
        (service, storage): (&dyn FaultedService, &EmulatorHandle),
        bus: &LocalBus,
    ) -> BTreeMap<String, u64> {
        let mut faults = self.injected.clone();
        let name = service.name();
        let counts = service.injected();
        faults.insert(format!("{name} ThrottlingException"), counts.throttled);
        faults.insert(format!("{name} 500 InternalError"), counts.internal_errors);
        faults.insert(format!("{name} latency spikes"), counts.slowed);
        faults.insert(format!("{name} events dropped"), counts.events_dropped);
        faults.insert("S3 500/503 refusals".into(), storage.s3_faults_injected());
        faults.insert("PutEvents entries failed".into(), bus.counts().1);
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
