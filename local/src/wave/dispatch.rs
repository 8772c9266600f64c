//! What every backend's wave plays alike: the template's functions bound to their
//! handlers, the schedules firing on the simulated clock, events routed to the functions
//! by the template's rules, and Lambda's queue of asynchronous invocations (retries and
//! dead letters, in `invocations`), with the log of everything that happened.

use std::collections::BTreeMap;

use super::chaos::ChaosState;
use super::{LogEntry, WaveError, MAX_ROUNDS_PER_STEP};
use crate::bus::{BusEvent, LocalBus};
use crate::harness::async_invocations::InvocationQueue;
use crate::harness::functions::Functions;
use crate::harness::payloads::{stamp, Schedules};
use crate::harness::wiring::{BusRef, Wiring};
use chrono::{DateTime, Utc};

/// The functions as deployed, and what is due to run.
pub struct Dispatch {
    pub(super) wiring: Wiring,
    pub(super) functions: Functions,
    pub(super) queue: InvocationQueue<usize>,
    pub(super) schedules: Schedules,
    pub(super) log: Vec<LogEntry>,
    pub(super) invocations: BTreeMap<String, u64>,
    pub(super) chaos: Option<ChaosState>,
    /// Planner events seen so far that created, changed or configured an application.
    pub(super) plan_changes: usize,
}

impl Dispatch {
    pub(super) fn new(wiring: Wiring, functions: Functions, chaos: Option<ChaosState>) -> Self {
        Self {
            wiring,
            functions,
            queue: InvocationQueue::default(),
            schedules: Schedules::default(),
            log: Vec::new(),
            invocations: BTreeMap::new(),
            chaos,
            plan_changes: 0,
        }
    }

    /// Queues the invocations of the schedules due at `now` (the rules `bus` holds
    /// switched on or off).
    pub(super) fn fire_schedules(&mut self, bus: &LocalBus, now: DateTime<Utc>) {
        let rules = |name: &str| bus.rule_state(name);
        for (function, payload) in self.schedules.due(&self.wiring, now, &rules) {
            self.queue.push(function, payload, now);
        }
    }

    /// Routes events and runs the invocations they and the schedules made due, round
    /// after round, until nothing more is due at `now`; `inject` puts the service's own
    /// events on `bus` before each round.
    pub(super) async fn settle(
        &mut self,
        bus: &LocalBus,
        now: DateTime<Utc>,
        mut inject: impl FnMut(&LocalBus),
    ) -> Result<(), WaveError> {
        let mut rounds = 0;
        loop {
            inject(bus);
            let events = bus.drain();
            let due = self.queue.any_due(now);
            if events.is_empty() && !due {
                return Ok(());
            }
            rounds += 1;
            if rounds > MAX_ROUNDS_PER_STEP {
                return Err(WaveError::EventLoop { at: stamp(now) });
            }
            for event in events {
                self.route(event, now);
            }
            self.run_due(now).await;
        }
    }

    /// Logs `event` and queues an invocation of each function whose rule matches it
    /// (twice under chaos's duplicated deliveries).
    fn route(&mut self, event: BusEvent, now: DateTime<Utc>) {
        let bus = if event.bus == "default" {
            BusRef::Default
        } else {
            BusRef::Named(event.bus.clone())
        };
        // A dry run changes nothing, whatever its events decide.
        if matches!(
            event.envelope["detail-type"].as_str(),
            Some("AppPlanned" | "AppConfigured")
        ) && event.envelope["detail"]["dryRun"] != true
        {
            self.plan_changes += 1;
        }
        self.log.push(LogEntry::Event {
            time: stamp(now),
            bus: event.bus.clone(),
            event: event.envelope.clone(),
        });
        let targets = self.wiring.target_indices(&bus, &event.envelope);
        let copies = self.chaos.as_ref().map_or(1, ChaosState::copies);
        if copies > 1 {
            if let Some(chaos) = self.chaos.as_mut() {
                chaos.count("events delivered twice", targets.len() as u64);
            }
        }
        for function in targets {
            for _ in 0..copies {
                self.queue.push(function, event.envelope.clone(), now);
            }
        }
    }
}

/// The function that writes the deployed wave report.
const REPORTER: &str = "wave-reporter";

impl Dispatch {
    /// The wave report as the deployed stack shows it: the wave-reporter's scheduled
    /// run once more at the wave's end (as its next tick would), then the
    /// `reports/latest.html` it wrote under `s3_root`. None when the template has no
    /// reporter.
    pub(super) async fn closing_report(
        &self,
        now: DateTime<Utc>,
        s3_root: &std::path::Path,
    ) -> Option<Vec<u8>> {
        let reporter = crate::harness::functions::wiring_of(&self.wiring, REPORTER).ok()?;
        let schedule = reporter.schedules.first()?;
        let payload = crate::harness::payloads::scheduled_event(now, reporter, schedule);
        if let Err(error) = self.functions.invoke(REPORTER, payload).await {
            tracing::warn!(%error, "the closing wave report was not written");
        }
        let bucket = s3_root.join(&self.wiring.artifacts_bucket);
        std::fs::read(bucket.join(wave_reporter::LATEST_KEY)).ok()
    }
}
