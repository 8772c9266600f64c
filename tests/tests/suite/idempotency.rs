//! At-least-once delivery and overlapping schedules, played through the whole default
//! wave: against the SMS emulator and the local event bus, with the template's rules,
//! every bus event and every SMS event reaches each of its targets twice (the first
//! copies in reverse order, the second copies later in order; app-launcher gets its two
//! copies at the same moment), and every schedule fires two invocations at once from two
//! execution environments (two job-creator sweeps with `tokio::join!`, two app-launcher
//! sweeps, two job-watcher sweeps, two catalog imports), with the functions' leases left
//! out so that the runs do meet. The wave must still converge,
//! no server may ever hold two jobs that are not DELETED, and no app may be launched by a
//! second successful LaunchApp.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use autopilot_core::config::AppLauncherConfig;
use autopilot_core::AutopilotError;
use autopilot_local::bus::LocalBus;
use autopilot_local::harness::async_invocations::{InvocationQueue, Pending};
use autopilot_local::harness::wiring::{BusRef, Wiring};
use autopilot_local::{EmulatorHandle, Faults, Scenario, SmsEvent};
use chrono::{DateTime, Utc};
use common::{Functions, LaunchWatch};
use serde_json::Value;

const STEP: Duration = Duration::from_secs(60);
const SIMULATED_LIMIT: chrono::TimeDelta = chrono::TimeDelta::days(2);
const WALL_LIMIT: Duration = Duration::from_secs(90);
const MAX_ROUNDS: usize = 100;
const LAUNCHER: &str = "app-launcher";
/// SMS latency while two app-launchers run at once.
const LOCKSTEP_LATENCY_MS: u64 = 10;

struct Harness {
    wiring: Wiring,
    emulator: EmulatorHandle,
    bus: LocalBus,
    /// Two execution environments of every function.
    first: Functions,
    second: Functions,
    sms_events: tokio::sync::mpsc::UnboundedReceiver<SmsEvent>,
    schedules: common::Schedules,
    /// Failed invocations, retried as Lambda retries them.
    retries: InvocationQueue<String>,
    /// Every event that crossed the bus (SMS's included), once each.
    seen: Vec<Value>,
    invocations: BTreeMap<String, usize>,
    failed_invocations: Vec<String>,
    two_live_jobs: Vec<String>,
    launches: LaunchWatch,
}

impl Harness {
    /// Checks the emulator's state after invocations.
    fn inspect(&mut self) {
        let state = self.emulator.state();
        for (server, jobs) in common::servers_with_two_live_jobs(&state) {
            self.two_live_jobs
                .push(format!("{}: server {server} holds {jobs:?}", state.now));
        }
        self.launches.observe(&state);
    }

    fn outcome(&mut self, binary: &str, payload: Value, result: Result<Value, AutopilotError>) {
        *self.invocations.entry(binary.to_owned()).or_default() += 1;
        let Err(error) = result else { return };
        let trigger = format!("{} {}", payload["source"], payload["detail-type"]);
        self.failed_invocations
            .push(format!("{binary} <- {trigger}: {error}"));
        let first = Pending {
            function: binary.to_owned(),
            payload,
            attempt: 0,
            due: self.emulator.now(),
        };
        self.retries
            .failed(first, binary, &error.to_string(), self.emulator.now());
    }

    /// One copy, one environment.
    async fn deliver(&mut self, second: bool, binary: &str, payload: Value) {
        let functions = if second { &self.second } else { &self.first };
        let result = functions.invoke(binary, payload.clone()).await;
        self.inspect();
        self.outcome(binary, payload, result);
    }

    /// Two copies at once, one per environment.
    /// Two copies at once, one per environment. For app-launcher every SMS answer is
    /// held back a few milliseconds meanwhile, so the two invocations move in step and
    /// both reach LaunchApp for an app that just became ready: the race is played, not
    /// left to the scheduler.
    async fn deliver_twice_at_once(&mut self, binary: &str, payload: Value) {
        let normal = self.emulator.faults();
        if binary == LAUNCHER {
            self.emulator.set_faults(Faults {
                latency_ms: LOCKSTEP_LATENCY_MS,
                ..normal.clone()
            });
        }
        let (a, b) = tokio::join!(
            self.first.invoke(binary, payload.clone()),
            self.second.invoke(binary, payload.clone())
        );
        self.emulator.set_faults(normal);
        self.inspect();
        self.outcome(binary, payload.clone(), a);
        self.outcome(binary, payload, b);
    }

    async fn fire_schedules(&mut self, now: DateTime<Utc>) {
        let bus = &self.bus;
        let due = self
            .schedules
            .due(&self.wiring, now, &|name| bus.rule_state(name));
        for (index, payload) in due {
            let binary = self.wiring.functions[index].binary.clone();
            self.deliver_twice_at_once(&binary, payload).await;
        }
    }

    async fn run_retries(&mut self, now: DateTime<Utc>) -> usize {
        let due = self.retries.take_due(now);
        let count = due.len();
        for retry in due {
            let result = self
                .first
                .invoke(&retry.function, retry.payload.clone())
                .await;
            self.inspect();
            *self.invocations.entry(retry.function.clone()).or_default() += 1;
            if let Err(error) = result {
                let binary = retry.function.clone();
                self.retries.failed(retry, &binary, &error.to_string(), now);
            }
        }
        count
    }

    /// Every event on the bus, each to each of its targets twice.
    async fn route(&mut self) -> usize {
        while let Ok(event) = self.sms_events.try_recv() {
            let envelope = serde_json::to_value(&event).expect("SMS events serialize");
            self.bus.inject("default", envelope);
        }
        let events = self.bus.drain();
        let mut deliveries = Vec::new();
        for event in &events {
            let bus = if event.bus == "default" {
                BusRef::Default
            } else {
                BusRef::Named(event.bus.clone())
            };
            for target in self.wiring.targets(&bus, &event.envelope) {
                deliveries.push((target.binary.clone(), event.envelope.clone()));
            }
            self.seen.push(event.envelope.clone());
        }
        // First copies in reverse order; app-launcher gets both copies at once.
        for (binary, payload) in deliveries.iter().rev() {
            if binary == LAUNCHER {
                self.deliver_twice_at_once(binary, payload.clone()).await;
            } else {
                self.deliver(false, binary, payload.clone()).await;
            }
        }
        // Second copies, later, in order, from the other environment.
        for (binary, payload) in deliveries.iter().filter(|(b, _)| b != LAUNCHER) {
            self.deliver(true, binary, payload.clone()).await;
        }
        events.len()
    }

    async fn step(&mut self) {
        let now = self.emulator.now();
        self.fire_schedules(now).await;
        for round in 0.. {
            assert!(
                round < MAX_ROUNDS,
                "events keep triggering each other at {now}"
            );
            let moved = self.route().await + self.run_retries(now).await;
            if moved == 0 {
                break;
            }
        }
    }

    /// Events of one detail-type, counted per value of a detail field.
    fn counted(&self, detail_type: &str, key: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for event in self.seen.iter().filter(|e| e["detail-type"] == detail_type) {
            let id = event["detail"][key].as_str().unwrap_or_default().to_owned();
            *counts.entry(id).or_default() += 1;
        }
        counts
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_events_and_concurrent_sweeps_create_no_second_job_or_launch() {
    let wall = Instant::now();
    // The estate with its applications made by hand: this harness plays no wave plan
    // (the planner's own duplicates are in planner_idempotency.rs).
    let common::LocalStack {
        wiring,
        emulator,
        bus,
        clock,
        clients,
    } = common::LocalStack::start(Scenario::hand_made_apps()).await;
    // The leases keep two runs apart (tests/tests/suite/lease.rs, the chaos waves); here they
    // are left out, so that two runs do meet and what SMS and the handlers do then is
    // played: the defence behind the lease.
    let (first, second) = (
        common::functions_without_leases(&wiring, &clients, &clock),
        common::functions_without_leases(&wiring, &clients, &clock),
    );
    let launcher: AppLauncherConfig = common::config(&wiring, LAUNCHER);
    let sms_events = emulator.subscribe_events();
    let started = emulator.now();
    let mut harness = Harness {
        wiring,
        emulator,
        bus,
        first,
        second,
        sms_events,
        schedules: common::Schedules::default(),
        retries: InvocationQueue::default(),
        seen: Vec::new(),
        invocations: BTreeMap::new(),
        failed_invocations: Vec::new(),
        two_live_jobs: Vec::new(),
        launches: LaunchWatch::default(),
    };

    let converged = loop {
        harness.step().await;
        let state = harness.emulator.state();
        let held = common::GivenUp::from_events(&harness.seen);
        if harness.retries.is_empty() && common::every_app_settled(&state, &launcher.opt_out, &held)
        {
            break true;
        }
        if harness.emulator.now() - started >= SIMULATED_LIMIT || wall.elapsed() >= WALL_LIMIT {
            break false;
        }
        harness.emulator.advance(STEP);
    };
    let state = harness.emulator.state();
    let calls = harness.emulator.call_counts();
    let launched_events = harness.counted("AppLaunched", "appId");
    let refused_events = harness.counted("AppLaunchFailed", "appId");
    let alerts = harness.counted("ReplicationJobFailed", "replicationJobId");
    eprintln!(
        "idempotency: {} simulated minutes in {:?}; invocations {:?}; SMS calls {calls:?}",
        (harness.emulator.now() - started).num_minutes(),
        wall.elapsed(),
        harness.invocations
    );
    eprintln!(
        "idempotency: AppLaunched {launched_events:?}; AppLaunchFailed {refused_events:?}; \
         ReplicationJobFailed {alerts:?}; {} failed invocations (retried): {:#?}",
        harness.failed_invocations.len(),
        harness.failed_invocations
    );
    for event in harness
        .seen
        .iter()
        .filter(|e| e["detail-type"] == "AppLaunchFailed")
    {
        eprintln!("idempotency: AppLaunchFailed detail {}", event["detail"]);
    }

    assert!(
        converged,
        "the wave did not converge by {}: {:?}",
        state.now,
        common::live_apps(&state)
            .map(|a| (&a.name, a.launch_status.as_str()))
            .collect::<Vec<_>>()
    );
    assert!(
        harness.retries.dead_lettered().is_empty(),
        "{:#?}",
        harness.retries.dead_lettered()
    );

    // No duplicate job, at any moment of the wave.
    assert!(
        harness.two_live_jobs.is_empty(),
        "{:#?}",
        harness.two_live_jobs
    );
    for &index in &state.catalog.visible {
        let server = &state.servers[index];
        let jobs = state
            .jobs
            .iter()
            .filter(|j| j.server_id == server.id)
            .count();
        let expected = usize::from(!server.unreplicable);
        assert_eq!(jobs, expected, "{} has {jobs} jobs", server.vm_name);
    }

    // No second LaunchApp that succeeded. Each successful LaunchApp moves the app to
    // LAUNCH_PENDING and bumps its epoch (TerminateApp, the only other bump, is never
    // called). A launcher that loses the race sees the app launching and reports nothing.
    assert_eq!(calls.get("TerminateApp"), None);
    let launched: BTreeSet<&str> = common::live_apps(&state)
        .filter(|a| common::launch_started(a))
        .map(|a| a.id.as_str())
        .collect();
    for app in common::live_apps(&state) {
        let expected = usize::from(launched.contains(app.id.as_str()));
        assert_eq!(
            app.epoch as usize, expected,
            "successful LaunchApp calls for {} ({})",
            app.name, app.id
        );
        assert_eq!(
            launched_events.get(&app.id).copied().unwrap_or(0),
            expected,
            "AppLaunched events for {} ({})",
            app.name,
            app.id
        );
    }
    let launch_calls = calls.get("LaunchApp").copied().unwrap_or(0) as usize;
    let refused: usize = refused_events.values().sum();
    assert!(
        launch_calls > launched.len(),
        "the two app-launchers never both reached LaunchApp ({launch_calls} calls for {} \
         launches): the concurrent launch was not exercised",
        launched.len()
    );
    assert_eq!(
        refused, 0,
        "a lost launch race is not a failure to report ({launch_calls} LaunchApp calls, {refused} AppLaunchFailed)"
    );
    assert!(
        harness.launches.violations.is_empty(),
        "{:#?}",
        harness.launches.violations
    );
    let held = common::GivenUp::from_events(&harness.seen);
    for app in common::live_apps(&state) {
        // Not launched: opted out, held by a failure, or without a launch configuration.
        let expected =
            common::settled_without_launch(&state, app, &launcher.opt_out, &held).is_none();
        assert_eq!(
            launched.contains(app.id.as_str()),
            expected,
            "{} launched",
            app.name
        );
    }
    // Failures are still reported, however often their events arrived.
    for event in harness.seen.iter().filter(|e| {
        e["source"] == "aws.sms"
            && matches!(
                e["detail"]["state"].as_str(),
                Some("FAILED" | "PAUSED_ON_FAILURE")
            )
    }) {
        let job = event["detail"]["replication-job-id"]
            .as_str()
            .unwrap_or_default();
        assert!(alerts.contains_key(job), "failure of {job} never alerted");
    }

    harness.bus.shutdown().await;
    harness.emulator.shutdown().await;
}
