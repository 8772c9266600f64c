//! Plays a whole migration wave on one machine: the SMS emulator with its local S3, the
//! local event bus, and the five real handlers wired as `infra/template.yaml` deploys
//! them. Schedules fire on the simulated clock; SMS's job state events (default bus)
//! and the functions' own events (project bus) are routed by the template's rules; a
//! failed invocation is retried like Lambda retries asynchronous invocations (twice,
//! one and two minutes later) and then counted as dead-lettered.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use autopilot_core::config::{
    CatalogImportConfig, FunctionConfig, JobCreatorConfig, JobWatcherConfig,
};
use autopilot_core::runtime::{Clock, Context};
use autopilot_core::{AutopilotError, Clients};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::bus::{BusEvent, LocalBus};
use crate::wiring::{BusRef, FunctionWiring, Wiring, WiringError};
use crate::{Emulator, EmulatorError, EmulatorHandle, EmulatorOptions, Scenario};

/// How long a simulated step is: schedules are rates of minutes or more.
const STEP: Duration = Duration::from_secs(60);
/// Lambda retries a failed asynchronous invocation twice.
const RETRIES: u32 = 2;
/// Rounds of event routing within one step before the runner calls it a loop.
const MAX_ROUNDS_PER_STEP: usize = 100;

/// What to play.
#[derive(Debug, Clone)]
pub struct WaveOptions {
    pub scenario: Scenario,
    /// The deployed wiring to follow.
    pub template: PathBuf,
    /// Simulated time after which a wave that has not converged fails.
    pub until: Duration,
    /// Force every function into dry-run mode.
    pub dry_run: bool,
    /// Faults to inject while the wave plays.
    pub chaos: Option<Chaos>,
}

/// Seeded faults for a chaos wave. Every fault stops at `faults_for`, after which the
/// wave must still converge.
#[derive(Debug, Clone, PartialEq)]
pub struct Chaos {
    pub seed: u64,
    /// Simulated time from the start during which faults are injected.
    pub faults_for: Duration,
    /// SMS: fraction of calls answered with HTTP 500 InternalError.
    pub sms_error_rate: f64,
    /// SMS: real latency added to every answer.
    pub sms_latency_ms: u64,
    /// SMS: occasional slow answers on top of that.
    pub sms_latency_spikes: Option<crate::LatencySpikes>,
    /// SMS: a call budget per second answered with ThrottlingException beyond it.
    pub sms_throttle: Option<crate::Throttle>,
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
}

impl Chaos {
    /// Every fault at once, at rates a wave should survive.
    pub fn everything(seed: u64) -> Self {
        Self {
            seed,
            faults_for: Duration::from_secs(3 * 3600),
            sms_error_rate: 0.05,
            sms_latency_ms: 1,
            sms_latency_spikes: Some(crate::LatencySpikes {
                rate: 0.02,
                extra_ms: 40,
            }),
            // Per simulated second: every call of a round shares one, so the busy
            // rounds (the first job-creator sweep, launch rounds) meet bursts of
            // throttling however fast this machine is.
            sms_throttle: Some(crate::Throttle {
                max_calls_per_second: 40,
                per: crate::ThrottleClock::Simulated,
            }),
            bus_failure_rate: 0.1,
            s3_failure_rate: 0.05,
            duplicate_deliveries: true,
            reorder: true,
            concurrent_rate: 0.3,
            cut_rate: 0.05,
        }
    }
}

/// Why a wave could not be played.
#[derive(Debug, thiserror::Error)]
pub enum WaveError {
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error("local event bus: {0}")]
    Bus(std::io::Error),
    #[error("function {function}: {source}")]
    Config {
        function: String,
        source: autopilot_core::config::ConfigErrors,
    },
    #[error("function {0} in the template has no handler here")]
    UnknownFunction(String),
    #[error("events keep triggering each other at {at}: more than {MAX_ROUNDS_PER_STEP} rounds in one step")]
    EventLoop { at: String },
}

/// One of the five handlers with its context.
enum Handler {
    CatalogImport(Arc<Context<CatalogImportConfig>>),
    JobCreator(Arc<Context<JobCreatorConfig>>),
    JobWatcher(Arc<Context<JobWatcherConfig>>),
    TemplateGenerator(Arc<template_generator::GeneratorContext>),
    AppLauncher(Arc<app_launcher::LauncherContext>),
}

/// Builds a function's context from the template's environment, as Lambda would.
fn context<C: FunctionConfig, W: Default>(
    wiring: &FunctionWiring,
    dry_run: bool,
    clients: &Clients,
    clock: &Clock,
) -> Result<Arc<Context<C, W>>, WaveError> {
    let config = C::from_lookup(|name| {
        if name == "DRY_RUN" && dry_run {
            return Some("true".to_owned());
        }
        wiring.environment.get(name).cloned()
    })
    .map_err(|source| WaveError::Config {
        function: wiring.binary.clone(),
        source,
    })?;
    Ok(Arc::new(Context::new(
        config,
        clients.clone(),
        Arc::clone(clock),
    )))
}

impl Handler {
    fn build(
        wiring: &FunctionWiring,
        dry_run: bool,
        clients: &Clients,
        clock: &Clock,
    ) -> Result<Self, WaveError> {
        Ok(match wiring.binary.as_str() {
            "catalog-import" => Self::CatalogImport(context(wiring, dry_run, clients, clock)?),
            "job-creator" => Self::JobCreator(context(wiring, dry_run, clients, clock)?),
            "job-watcher" => Self::JobWatcher(context(wiring, dry_run, clients, clock)?),
            "template-generator" => {
                Self::TemplateGenerator(context(wiring, dry_run, clients, clock)?)
            }
            "app-launcher" => Self::AppLauncher(context(wiring, dry_run, clients, clock)?),
            other => return Err(WaveError::UnknownFunction(other.to_owned())),
        })
    }

    async fn invoke(&self, payload: Value) -> Result<Value, AutopilotError> {
        fn summary<S: Serialize>(summary: S) -> Value {
            serde_json::to_value(summary).unwrap_or(Value::Null)
        }
        Ok(match self {
            Self::CatalogImport(c) => {
                summary(catalog_import::handle(payload, Arc::clone(c)).await?)
            }
            Self::JobCreator(c) => summary(job_creator::handle(payload, Arc::clone(c)).await?),
            Self::JobWatcher(c) => summary(job_watcher::handle(payload, Arc::clone(c)).await?),
            Self::TemplateGenerator(c) => {
                summary(template_generator::handle(payload, Arc::clone(c)).await?)
            }
            Self::AppLauncher(c) => summary(app_launcher::handle(payload, Arc::clone(c)).await?),
        })
    }
}

/// An invocation waiting to run.
struct Pending {
    function: usize,
    payload: Value,
    attempt: u32,
    due: DateTime<Utc>,
}

/// One line of the event log: everything that crossed a bus, and every invocation.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LogEntry {
    #[serde(rename_all = "camelCase")]
    Event {
        time: String,
        bus: String,
        event: Value,
    },
    #[serde(rename_all = "camelCase")]
    Invocation {
        time: String,
        function: String,
        trigger: String,
        attempt: u32,
        outcome: String,
        summary: Value,
    },
}

/// Counts shown while the wave plays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub time: String,
    pub elapsed_minutes: u64,
    pub discovered: usize,
    pub replicating: usize,
    pub replicated: usize,
    pub failed: usize,
    pub apps: usize,
    pub launched: usize,
}

impl Progress {
    /// Whether anything but the time differs.
    pub fn same_counts(&self, other: &Progress) -> bool {
        let counts = |p: &Progress| {
            (
                p.discovered,
                p.replicating,
                p.replicated,
                p.failed,
                p.apps,
                p.launched,
            )
        };
        counts(self) == counts(other)
    }
}

/// Where one app ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppOutcome {
    pub id: String,
    pub name: String,
    pub members: usize,
    pub completed_runs: usize,
    pub launch_status: String,
    pub launched_at: Option<String>,
    /// Why it is not launched, when it is not.
    pub held_by: Option<String>,
}

/// A failure the watcher caught and what was done about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureOutcome {
    pub job_id: String,
    pub server_id: String,
    pub state: String,
    pub alerted_at: String,
    pub actions: Vec<String>,
    pub final_state: String,
}

/// The result of a wave.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveReport {
    pub scenario: String,
    pub converged: bool,
    pub verdict: String,
    pub started: String,
    pub ended: String,
    pub simulated_minutes: u64,
    pub apps: Vec<AppOutcome>,
    pub failures: Vec<FailureOutcome>,
    pub sms_calls: BTreeMap<String, u64>,
    pub invocations: BTreeMap<String, u64>,
    pub dead_lettered: Vec<String>,
    /// Invariants seen broken while playing (e.g. two live jobs for one server).
    pub invariant_breaches: Vec<String>,
    /// Faults injected, by kind (empty without chaos).
    pub faults: BTreeMap<String, u64>,
    pub timeline: Vec<Progress>,
    #[serde(skip)]
    pub log: Vec<LogEntry>,
    /// Templates and change sets archived in the artifacts bucket: (key, content).
    #[serde(skip)]
    pub archived_templates: Vec<(String, Vec<u8>)>,
}

/// A wave being played.
pub struct Wave {
    emulator: EmulatorHandle,
    bus: LocalBus,
    wiring: Wiring,
    handlers: Vec<Handler>,
    queue: VecDeque<Pending>,
    next_fire: Vec<Vec<DateTime<Utc>>>,
    log: Vec<LogEntry>,
    invocations: BTreeMap<String, u64>,
    dead_lettered: Vec<String>,
    started: DateTime<Utc>,
    scenario_name: String,
    until: Duration,
    chaos: Option<(Chaos, crate::rng::SplitMix64)>,
    faults_on: bool,
    /// Faults the wave itself injected (deliveries, overlaps, cut-offs), by kind.
    faults: BTreeMap<String, u64>,
    invariant_breaches: Vec<String>,
}

impl Wave {
    /// Starts the emulator and the bus and wires the handlers.
    pub async fn start(options: WaveOptions) -> Result<Self, WaveError> {
        let wiring = Wiring::load(&options.template)?;
        let scenario_name = options.scenario.name.clone();
        let seed = options.scenario.seed;
        let emulator = Emulator::start(options.scenario, EmulatorOptions::default()).await?;
        emulator.create_bucket(&wiring.artifacts_bucket)?;
        let emulator_clock = emulator.clock();
        let clock: Clock = Arc::new(move || emulator_clock.now());
        let bus_clock = Arc::clone(&clock);
        // Each chaos seed meets its own sequence of 500s and failed entries, not the
        // scenario's.
        let fault_seed = match &options.chaos {
            Some(chaos) => seed ^ chaos.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            None => seed,
        };
        emulator.reseed_faults(fault_seed);
        let bus = LocalBus::start(0, Arc::new(move || bus_clock()), fault_seed)
            .await
            .map_err(WaveError::Bus)?;
        let clients = local_clients(&emulator, &bus);
        let handlers = wiring
            .functions
            .iter()
            .map(|f| Handler::build(f, options.dry_run, &clients, &clock))
            .collect::<Result<Vec<_>, _>>()?;
        let started = emulator.now();
        // Every schedule fires once at the start, as a fresh deployment's would soon.
        let next_fire = wiring
            .functions
            .iter()
            .map(|f| f.schedules.iter().map(|_| started).collect())
            .collect();
        Ok(Self {
            emulator,
            bus,
            wiring,
            handlers,
            queue: VecDeque::new(),
            next_fire,
            log: Vec::new(),
            invocations: BTreeMap::new(),
            dead_lettered: Vec::new(),
            started,
            scenario_name,
            until: options.until,
            chaos: options.chaos.map(|c| {
                let rng = crate::rng::SplitMix64::new(c.seed);
                (c, rng)
            }),
            faults_on: false,
            invariant_breaches: Vec::new(),
            faults: BTreeMap::new(),
        })
    }

    pub fn emulator(&self) -> &EmulatorHandle {
        &self.emulator
    }

    pub fn bus(&self) -> &LocalBus {
        &self.bus
    }

    /// Plays until the wave converges or `until` passes; `on_progress` sees each step.
    pub async fn play(
        mut self,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<WaveReport, WaveError> {
        let mut sms_events = self.emulator.subscribe_events();
        let deadline = self.started
            + chrono::Duration::from_std(self.until).unwrap_or(chrono::Duration::days(365));
        let mut timeline = Vec::new();
        let mut last_progress = Progress::default();
        let converged = loop {
            let now = self.emulator.now();
            self.switch_faults(now);
            self.fire_schedules(now);
            let mut rounds = 0;
            loop {
                while let Ok(event) = sms_events.try_recv() {
                    let envelope = serde_json::to_value(&event).unwrap_or(Value::Null);
                    self.bus.inject("default", envelope);
                }
                let events = self.bus.drain();
                let due = self.queue.iter().any(|p| p.due <= now);
                if events.is_empty() && !due {
                    break;
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
            let progress = self.progress(now);
            if !progress.same_counts(&last_progress) {
                on_progress(&progress);
                timeline.push(progress.clone());
                last_progress = progress;
            }
            self.check_jobs_per_server(now);
            if self.queue.is_empty() && !self.faults_on && self.converged() {
                break true;
            }
            if now >= deadline {
                break false;
            }
            self.emulator.advance(STEP);
        };
        Ok(self.finish(converged, timeline).await)
    }

    fn fire_schedules(&mut self, now: DateTime<Utc>) {
        for (index, function) in self.wiring.functions.iter().enumerate() {
            for (slot, schedule) in function.schedules.iter().enumerate() {
                let next = &mut self.next_fire[index][slot];
                if *next <= now {
                    let every = chrono::Duration::from_std(schedule.every)
                        .unwrap_or(chrono::Duration::hours(1));
                    *next = now + every;
                    self.queue.push_back(Pending {
                        function: index,
                        payload: scheduled_event(now, &function.logical_id, &schedule.name),
                        attempt: 0,
                        due: now,
                    });
                }
            }
        }
    }

    fn route(&mut self, event: BusEvent, now: DateTime<Utc>) {
        let bus = if event.bus == "default" {
            BusRef::Default
        } else {
            BusRef::Named(event.bus.clone())
        };
        self.log.push(LogEntry::Event {
            time: stamp(now),
            bus: event.bus.clone(),
            event: event.envelope.clone(),
        });
        let targets: Vec<usize> = self
            .wiring
            .functions
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                self.wiring
                    .targets(&bus, &event.envelope)
                    .iter()
                    .any(|t| t.logical_id == f.logical_id)
            })
            .map(|(i, _)| i)
            .collect();
        let copies = match &self.chaos {
            Some((chaos, _)) if self.faults_on && chaos.duplicate_deliveries => 2,
            _ => 1,
        };
        if copies > 1 {
            self.count_fault("events delivered twice", targets.len() as u64);
        }
        for function in targets {
            for _ in 0..copies {
                self.queue.push_back(Pending {
                    function,
                    payload: event.envelope.clone(),
                    attempt: 0,
                    due: now,
                });
            }
        }
    }

    /// Turns the chaos faults on at the start and off once `faults_for` has passed.
    fn switch_faults(&mut self, now: DateTime<Utc>) {
        let Some((chaos, _)) = &self.chaos else {
            return;
        };
        let active =
            now - self.started < chrono::Duration::from_std(chaos.faults_for).unwrap_or_default();
        if active == self.faults_on {
            return;
        }
        self.faults_on = active;
        if active {
            self.emulator.set_faults(crate::Faults {
                latency_ms: chaos.sms_latency_ms,
                error_rate: chaos.sms_error_rate,
                throttle: chaos.sms_throttle.clone(),
                latency_spikes: chaos.sms_latency_spikes.clone(),
            });
            self.bus.set_failure_rate(chaos.bus_failure_rate);
            self.emulator
                .set_s3_failure_rate(chaos.s3_failure_rate, chaos.seed);
        } else {
            self.emulator.set_faults(crate::Faults::default());
            self.bus.set_failure_rate(0.0);
            self.emulator.set_s3_failure_rate(0.0, chaos.seed);
        }
    }

    /// Records a breach whenever a server has two jobs that are not deleted.
    fn check_jobs_per_server(&mut self, now: DateTime<Utc>) {
        let state = self.emulator.state();
        let mut per_server: BTreeMap<&str, usize> = BTreeMap::new();
        for job in state.jobs.iter().filter(|j| j.state.as_str() != "DELETED") {
            *per_server.entry(job.server_id.as_str()).or_default() += 1;
        }
        for (server, jobs) in per_server.into_iter().filter(|(_, n)| *n > 1) {
            self.invariant_breaches.push(format!(
                "{}: server {server} has {jobs} live replication jobs",
                stamp(now)
            ));
        }
    }

    async fn run_due(&mut self, now: DateTime<Utc>) {
        let (due, later): (VecDeque<_>, VecDeque<_>) =
            self.queue.drain(..).partition(|p| p.due <= now);
        self.queue = later;
        let mut due: Vec<Pending> = due.into();
        let faults_on = self.faults_on;
        if let Some((chaos, rng)) = self.chaos.as_mut().filter(|_| faults_on) {
            if chaos.reorder {
                for i in (1..due.len()).rev() {
                    due.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
            }
        }
        for pending in due {
            let function = self.wiring.functions[pending.function].binary.clone();
            let trigger = format!(
                "{} {}",
                pending.payload["source"].as_str().unwrap_or_default(),
                pending.payload["detail-type"].as_str().unwrap_or_default()
            );
            let (twice, cut_after) = self.dice(pending.function);
            if twice {
                self.count_fault("invocations run twice at once", 1);
            }
            let handler = &self.handlers[pending.function];
            // Lambda retries a timed-out invocation like a failed one. It also tells the
            // function its deadline, and so does the driver for the invocations it cuts.
            let invoke = |payload: Value| async move {
                let outcome = match cut_after {
                    Some(limit) => match tokio::time::timeout(
                        limit,
                        autopilot_core::runtime::with_deadline(
                            std::time::Instant::now() + limit,
                            handler.invoke(payload),
                        ),
                    )
                    .await
                    {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            return Err(format!(
                                "cut off after {} ms (simulated Lambda timeout)",
                                limit.as_millis()
                            ))
                        }
                    },
                    None => handler.invoke(payload).await,
                };
                outcome.map_err(|error| format!("{}: {error}", error.retryability()))
            };
            let results = if twice {
                let (a, b) = tokio::join!(
                    invoke(pending.payload.clone()),
                    invoke(pending.payload.clone())
                );
                vec![a, b]
            } else {
                vec![invoke(pending.payload.clone()).await]
            };
            let mut failed = None;
            for result in results {
                *self.invocations.entry(function.clone()).or_default() += 1;
                let (outcome, summary) = match &result {
                    Ok(summary) => ("ok".to_owned(), summary.clone()),
                    Err(error) => (error.clone(), Value::Null),
                };
                self.log.push(LogEntry::Invocation {
                    time: stamp(now),
                    function: function.clone(),
                    trigger: trigger.clone(),
                    attempt: pending.attempt,
                    outcome,
                    summary,
                });
                if let Err(error) = result {
                    if error.starts_with("cut off") {
                        self.count_fault("invocations cut off", 1);
                    }
                    failed = Some(error);
                }
            }
            if let Some(error) = failed {
                tracing::warn!(%function, %trigger, %error, attempt = pending.attempt, "invocation failed");
                if pending.attempt < RETRIES {
                    let delay = chrono::Duration::minutes(i64::from(pending.attempt) + 1);
                    self.queue.push_back(Pending {
                        due: now + delay,
                        attempt: pending.attempt + 1,
                        ..pending
                    });
                } else {
                    self.dead_lettered
                        .push(format!("{function} <- {trigger}: {error}"));
                }
            }
        }
    }

    fn count_fault(&mut self, kind: &str, by: u64) {
        *self.faults.entry(kind.to_owned()).or_default() += by;
    }

    /// Whether to run an invocation twice at once, and when to cut it off.
    fn dice(&mut self, function: usize) -> (bool, Option<Duration>) {
        let faults_on = self.faults_on;
        let Some((chaos, rng)) = self.chaos.as_mut().filter(|_| faults_on) else {
            return (false, None);
        };
        let may_overlap = self.wiring.functions[function].reserved_concurrency != Some(1);
        let twice = may_overlap && rng.next_f64() < chaos.concurrent_rate;
        let cut =
            (rng.next_f64() < chaos.cut_rate).then(|| Duration::from_millis(rng.next_u64() % 20));
        (twice, cut)
    }

    fn progress(&self, now: DateTime<Utc>) -> Progress {
        let state = self.emulator.state();
        let live_jobs = state.jobs.iter().filter(|j| j.state.as_str() != "DELETED");
        let (mut replicating, mut replicated, mut failed) = (0, 0, 0);
        for job in live_jobs {
            if matches!(job.state.as_str(), "FAILED" | "PAUSED_ON_FAILURE") {
                failed += 1;
            } else if job.latest_ami.is_some() {
                replicated += 1;
            } else {
                replicating += 1;
            }
        }
        let apps: Vec<_> = state
            .apps
            .iter()
            .filter(|a| a.status.as_str() != "DELETED")
            .collect();
        Progress {
            time: stamp(now),
            elapsed_minutes: u64::try_from((now - self.started).num_minutes()).unwrap_or(0),
            discovered: state.catalog.visible.len(),
            replicating,
            replicated,
            failed,
            apps: apps.len(),
            launched: apps
                .iter()
                .filter(|a| a.launch_status.as_str() == "LAUNCHED")
                .count(),
        }
    }

    /// Every app is launched, opted out, or held by a failure the watcher gave up on.
    fn converged(&self) -> bool {
        let state = self.emulator.state();
        state
            .apps
            .iter()
            .filter(|a| a.status.as_str() != "DELETED")
            .all(|app| {
                app_hold(&state, app, &self.log).is_some()
                    || app.launch_status.as_str() == "LAUNCHED"
            })
    }

    async fn finish(self, converged: bool, timeline: Vec<Progress>) -> WaveReport {
        let state = self.emulator.state();
        let now = self.emulator.now();
        let launch_times = first_times(&self.log, "AppLaunched", "appId");
        let apps = state
            .apps
            .iter()
            .filter(|a| a.status.as_str() != "DELETED")
            .map(|app| {
                let members: Vec<&String> = app.server_ids().collect();
                let completed_runs = state
                    .jobs
                    .iter()
                    .filter(|j| members.contains(&&j.server_id))
                    .map(|j| {
                        j.runs
                            .iter()
                            .filter(|r| r.state.as_str() == "COMPLETED")
                            .count()
                    })
                    .sum();
                AppOutcome {
                    id: app.id.clone(),
                    name: app.name.clone(),
                    members: members.len(),
                    completed_runs,
                    launch_status: app.launch_status.as_str().to_owned(),
                    launched_at: launch_times.get(&app.id).cloned(),
                    held_by: (app.launch_status.as_str() != "LAUNCHED").then(|| {
                        app_hold(&state, app, &self.log).unwrap_or_else(|| "still waiting".into())
                    }),
                }
            })
            .collect();
        let failures = failure_outcomes(&self.log, &state);
        let mut invariant_breaches = self.invariant_breaches.clone();
        invariant_breaches.extend(final_invariant_breaches(
            &state,
            &self.log,
            &self.emulator.events(),
        ));
        let verdict = if converged {
            "converged: every app is launched, opted out, or held by a failure the watcher gave up on".to_owned()
        } else {
            let waiting: Vec<String> = state
                .apps
                .iter()
                .filter(|a| {
                    a.status.as_str() != "DELETED" && a.launch_status.as_str() != "LAUNCHED"
                })
                .filter(|a| app_hold(&state, a, &self.log).is_none())
                .map(|a| format!("{} ({})", a.name, a.launch_status.as_str()))
                .collect();
            format!(
                "did not converge by {}: still waiting for {}",
                stamp(now),
                waiting.join(", ")
            )
        };
        let archived_templates = archived_objects(&self.emulator, &self.wiring.artifacts_bucket);
        let mut faults = self.faults.clone();
        if self.chaos.is_some() {
            let sms = self.emulator.sms_faults_injected();
            faults.insert("SMS ThrottlingException".into(), sms.throttled);
            faults.insert("SMS 500 InternalError".into(), sms.internal_errors);
            faults.insert("SMS latency spikes".into(), sms.slowed);
            faults.insert(
                "S3 500/503 refusals".into(),
                self.emulator.s3_faults_injected(),
            );
            faults.insert("PutEvents entries failed".into(), self.bus.counts().1);
        }
        let report = WaveReport {
            scenario: self.scenario_name.clone(),
            converged,
            verdict,
            started: stamp(self.started),
            ended: stamp(now),
            simulated_minutes: u64::try_from((now - self.started).num_minutes()).unwrap_or(0),
            apps,
            failures,
            sms_calls: self.emulator.call_counts(),
            invocations: self.invocations.clone(),
            dead_lettered: self.dead_lettered.clone(),
            invariant_breaches,
            faults,
            timeline,
            log: self.log,
            archived_templates,
        };
        self.bus.shutdown().await;
        self.emulator.shutdown().await;
        report
    }
}

/// What must hold at the end of any wave, faults or not: each app launched at most
/// once and never before every member had a completed run; each failure episode of a
/// job (entering FAILED or PAUSED_ON_FAILURE from a healthy state) alerted exactly once.
pub fn final_invariant_breaches(
    state: &crate::StateSnapshot,
    log: &[LogEntry],
    sms_events: &[crate::SmsEvent],
) -> Vec<String> {
    let mut breaches = Vec::new();
    let events: Vec<(&String, &Value)> = log
        .iter()
        .filter_map(|entry| match entry {
            LogEntry::Event { time, event, .. } => Some((time, event)),
            LogEntry::Invocation { .. } => None,
        })
        .collect();
    let of_type = |detail_type: &'static str| {
        events
            .iter()
            .filter(move |(_, e)| e["detail-type"] == detail_type && e["detail"]["dryRun"] == false)
            .map(|(time, e)| (time.as_str(), &e["detail"]))
    };

    let mut launches: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (time, detail) in of_type("AppLaunched") {
        launches
            .entry(detail["appId"].as_str().unwrap_or_default())
            .or_default()
            .push(time);
    }
    for (app_id, times) in &launches {
        if times.len() > 1 {
            breaches.push(format!(
                "app {app_id} launched {} times: {times:?}",
                times.len()
            ));
        }
        let Some(app) = state.apps.iter().find(|a| a.id == *app_id) else {
            continue;
        };
        let launched_at = DateTime::parse_from_rfc3339(times[0])
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        for member in app.server_ids() {
            let first_completed = state
                .jobs
                .iter()
                .filter(|j| &j.server_id == member)
                .flat_map(|j| j.runs.iter())
                .filter_map(|r| r.completed)
                .min();
            match first_completed {
                Some(at) if at <= launched_at => {}
                other => breaches.push(format!(
                    "app {app_id} launched at {} before member {member} had a completed run ({other:?})",
                    times[0]
                )),
            }
        }
    }

    let mut alerts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, detail) in of_type("ReplicationJobFailed") {
        *alerts
            .entry(detail["replicationJobId"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    let mut episodes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failing: BTreeMap<&str, bool> = BTreeMap::new();
    for event in sms_events.iter().filter(|e| !e.is_run_completion()) {
        let job = event.detail.replication_job_id.as_str();
        let in_failure = failing.entry(job).or_default();
        match event.detail.state.as_str() {
            "FAILED" | "PAUSED_ON_FAILURE" => {
                if !*in_failure {
                    *episodes.entry(job).or_default() += 1;
                }
                *in_failure = true;
            }
            "FAILING" => {}
            _ => *in_failure = false,
        }
    }
    for (job, count) in &episodes {
        let alerted = alerts.get(job).copied().unwrap_or(0);
        if alerted != *count {
            breaches.push(format!(
                "job {job}: {count} failure episodes, {alerted} ReplicationJobFailed alerts"
            ));
        }
    }
    for (job, alerted) in &alerts {
        if !episodes.contains_key(job) {
            breaches.push(format!("job {job}: {alerted} alerts without a failure"));
        }
    }
    breaches
}

/// Why an app is not waiting any more without being launched, if it is not.
fn app_hold(
    state: &crate::StateSnapshot,
    app: &crate::sms::App,
    log: &[LogEntry],
) -> Option<String> {
    if app
        .tags
        .iter()
        .any(|(k, v)| k == "autopilot:launch" && v == "false")
    {
        return Some("opted out by tag autopilot:launch=false".into());
    }
    let held_jobs = held_jobs(log);
    app.server_ids().find_map(|server| {
        let job = state
            .jobs
            .iter()
            .filter(|j| &j.server_id == server && j.state.as_str() != "DELETED")
            .find(|j| j.latest_ami.is_none())?;
        let failed = matches!(job.state.as_str(), "FAILED" | "PAUSED_ON_FAILURE");
        (failed && held_jobs.contains_key(&job.id)).then(|| {
            format!(
                "server {server}: job {} {} ({})",
                job.id,
                job.state.as_str(),
                held_jobs[&job.id]
            )
        })
    })
}

/// Jobs the watcher decided to hold, with the reason.
fn held_jobs(log: &[LogEntry]) -> BTreeMap<String, String> {
    let mut held = BTreeMap::new();
    for entry in log {
        if let LogEntry::Event { event, .. } = entry {
            let detail = &event["detail"];
            if event["detail-type"] == "ReplicationJobRemediated" && detail["action"] == "held" {
                held.insert(
                    detail["replicationJobId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    detail["reason"].as_str().unwrap_or_default().to_owned(),
                );
            }
        }
    }
    held
}

/// First time an event of `detail_type` named each `key` value.
fn first_times(log: &[LogEntry], detail_type: &str, key: &str) -> BTreeMap<String, String> {
    let mut times = BTreeMap::new();
    for entry in log {
        if let LogEntry::Event { time, event, .. } = entry {
            if event["detail-type"] == detail_type {
                if let Some(id) = event["detail"][key].as_str() {
                    times.entry(id.to_owned()).or_insert_with(|| time.clone());
                }
            }
        }
    }
    times
}

fn failure_outcomes(log: &[LogEntry], state: &crate::StateSnapshot) -> Vec<FailureOutcome> {
    let mut failures: Vec<FailureOutcome> = Vec::new();
    for entry in log {
        let LogEntry::Event { time, event, .. } = entry else {
            continue;
        };
        let detail = &event["detail"];
        let job = detail["replicationJobId"].as_str().unwrap_or_default();
        match event["detail-type"].as_str() {
            Some("ReplicationJobFailed") => failures.push(FailureOutcome {
                job_id: job.to_owned(),
                server_id: detail["serverId"].as_str().unwrap_or_default().to_owned(),
                state: detail["state"].as_str().unwrap_or_default().to_owned(),
                alerted_at: time.clone(),
                actions: Vec::new(),
                final_state: String::new(),
            }),
            Some("ReplicationJobRemediated") => {
                if let Some(failure) = failures.iter_mut().rev().find(|f| f.job_id == job) {
                    let action = detail["action"].as_str().unwrap_or_default();
                    let reason = detail["reason"]
                        .as_str()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    failure.actions.push(format!("{time} {action}{reason}"));
                }
            }
            Some("ReplicationJobRecovered") => {
                if let Some(failure) = failures.iter_mut().rev().find(|f| f.job_id == job) {
                    failure.actions.push(format!("{time} recovered"));
                }
            }
            _ => {}
        }
    }
    for failure in &mut failures {
        failure.final_state = state
            .jobs
            .iter()
            .find(|j| j.id == failure.job_id)
            .map_or_else(|| "gone".to_owned(), |j| j.state.as_str().to_owned());
    }
    failures
}

/// Objects under `apps/` in the artifacts bucket of the local S3, read before the
/// emulator (and its temporary directory) goes away.
fn archived_objects(emulator: &EmulatorHandle, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let root = emulator.s3_root().join(bucket);
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(key) = path.strip_prefix(&root) {
                let key = key.to_string_lossy().replace('\\', "/");
                if key.starts_with("apps/") {
                    if let Ok(content) = std::fs::read(&path) {
                        found.push((key, content));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

fn local_clients(emulator: &EmulatorHandle, bus: &LocalBus) -> Clients {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sms::config::SharedCredentialsProvider::new(
            aws_sdk_sms::config::Credentials::new("local", "local", None, None, "autopilot-local"),
        ))
        .build();
    let sms = aws_sdk_sms::config::Builder::from(&sdk)
        .endpoint_url(emulator.sms_endpoint())
        .build();
    let events = aws_sdk_eventbridge::config::Builder::from(&sdk)
        .endpoint_url(bus.endpoint())
        .build();
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .endpoint_url(emulator.s3_endpoint())
        .force_path_style(true)
        .build();
    Clients {
        sms: aws_sdk_sms::Client::from_conf(sms),
        events: aws_sdk_eventbridge::Client::from_conf(events),
        s3: aws_sdk_s3::Client::from_conf(s3),
    }
}

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn scheduled_event(now: DateTime<Utc>, function: &str, schedule: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("schedule-{function}-{schedule}-{}", now.timestamp()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": stamp(now),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{function}-{schedule}")],
        "detail": {}
    })
}
