//! Plays a whole migration wave on one machine: the SMS emulator with its local S3, the
//! local event bus, and the project's real handlers wired as `infra/template.yaml`
//! deploys them. Schedules fire on the simulated clock; SMS's job state events (default
//! bus) and the functions' own events (project bus) are routed by the template's rules;
//! a failed invocation is retried like Lambda retries asynchronous invocations (twice,
//! one and two minutes later) and then counted as dead-lettered.
//!
//! - [`chaos`]: the faults a chaos wave injects;
//! - [`invocations`]: running due invocations, with Lambda's retries and cut-offs;
//! - [`outcome`]: the event log, the timeline and the report of a played wave.

pub mod chaos;
mod dispatch;
mod dry_run;
mod invocations;
pub mod mgn;
mod mgn_invariants;
mod mgn_launches;
pub mod outcome;
pub mod plans;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use autopilot_core::config::{AppLauncherConfig, AppPlannerConfig};
use autopilot_core::readiness::OptOutTag;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::bus::LocalBus;
use crate::harness::clients::local_clients;
use crate::harness::functions::{self, Functions, FunctionsError};
use crate::harness::invariants::{self, GivenUp};
use crate::harness::payloads::stamp;
use crate::harness::processes::{process_invokers, Killer, ProcessOptions};
use crate::harness::wiring::{Wiring, WiringError};
use crate::harness::world::{LocalWorld, WorldError};
use crate::sms::protocol::{AppLaunchStatus, JobState};
use crate::StateSnapshot;
use crate::{EmulatorHandle, Scenario};

pub use autopilot_core::report::{
    AppOutcome, FailureOutcome, PlacedVersion, PlanOutcome, PlanStep, Progress,
};
pub use chaos::Chaos;
use chaos::ChaosState;
use dispatch::Dispatch;
pub use dry_run::Rehearsal;
pub use outcome::{DetectionDelay, LogEntry, WaveReport};
use plans::{PlanFeed, ENGINEER_ATTEMPTS};
pub use plans::{PlanVersion, PlanWriteError};

/// How long a simulated step is: schedules are rates of minutes or more.
const STEP: Duration = Duration::from_secs(60);
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
    /// Variables set on every function over the template's (e.g. a parameter's value
    /// other than its default, such as `REMEDIATION_RECREATE_FAILED=true`).
    pub environment: Vec<(String, String)>,
    /// The wave plan's versions, each put in the artifacts bucket at its time; the
    /// scenario's own (`plans:`) when empty.
    pub plans: Vec<PlanVersion>,
    /// Run the functions' real binaries as processes (and kill some) instead of their
    /// handlers in this process.
    pub processes: Option<ProcessOptions>,
}

impl Default for WaveOptions {
    /// The default scenario on the deployed wiring, three simulated days, no faults,
    /// the scenario's own plans, the handlers run in this process.
    fn default() -> Self {
        Self {
            scenario: Scenario::default_scenario(),
            template: default_template(),
            until: Duration::from_secs(3 * 86_400),
            dry_run: false,
            chaos: None,
            environment: Vec::new(),
            plans: Vec::new(),
            processes: None,
        }
    }
}

/// The template a wave follows unless told otherwise: the working directory's
/// `infra/template.yaml`, else the one this crate was built from.
pub fn default_template() -> PathBuf {
    let here = PathBuf::from("infra/template.yaml");
    if here.exists() {
        here
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
    }
}

/// Why a wave could not be played.
#[derive(Debug, thiserror::Error)]
pub enum WaveError {
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error(transparent)]
    World(#[from] WorldError),
    #[error(transparent)]
    Functions(#[from] FunctionsError),
    #[error(transparent)]
    Plan(#[from] PlanWriteError),
    #[error("the functions' processes: {0}")]
    Processes(std::io::Error),
    #[error("events keep triggering each other at {at}: more than {MAX_ROUNDS_PER_STEP} rounds in one step")]
    EventLoop { at: String },
    #[error("{0}")]
    Unsupported(String),
}

/// A wave being played.
pub struct Wave {
    emulator: EmulatorHandle,
    bus: LocalBus,
    dispatch: Dispatch,
    /// The app-launcher's opt-out tag, as the template configures it.
    opt_out: OptOutTag,
    started: DateTime<Utc>,
    scenario_name: String,
    until: Duration,
    invariant_breaches: Vec<String>,
    plans: PlanFeed,
    /// A rehearsal: the functions change nothing in SMS.
    dry_run: bool,
    /// What kills the functions' processes, when they run as processes.
    killer: Option<Arc<Killer>>,
    /// Apps whose launch was seen begun.
    launches_seen: BTreeSet<String>,
    /// When each app was first seen LAUNCHED, by app id.
    first_launched: BTreeMap<String, DateTime<Utc>>,
}

impl Wave {
    /// Starts the emulator and the bus and wires the handlers.
    pub async fn start(options: WaveOptions) -> Result<Self, WaveError> {
        let wiring = Wiring::load(&options.template)?;
        let mut overrides: Vec<(&str, &str)> = options
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if options.dry_run {
            overrides.push(("DRY_RUN", "true"));
        }
        let overrides = overrides.as_slice();
        let launcher: AppLauncherConfig =
            functions::config(functions::wiring_of(&wiring, "app-launcher")?, overrides)?;
        let scenario_name = options.scenario.name.clone();
        let fault_seed = match &options.chaos {
            Some(chaos) => chaos.fault_seed(options.scenario.seed),
            None => options.scenario.seed,
        };
        let versions = chosen_plan_versions(options.plans, &options.scenario);
        let mut scenario = options.scenario;
        if let Some(chaos) = &options.chaos {
            chaos.stage(&mut scenario);
        }
        let world = LocalWorld::start(scenario, &wiring, fault_seed).await?;
        world.emulator.reseed_faults(fault_seed);
        let (clock, endpoints) = (world.clock(), world.endpoints());
        let LocalWorld { emulator, bus } = world;
        let clients = local_clients(&endpoints, Some(ENGINEER_ATTEMPTS));
        let (functions, killer) = functions_for(
            (&wiring, overrides),
            (&endpoints, &clock),
            options.processes.as_ref(),
            |hook| emulator.on_answer(hook),
        )
        .await?;
        let planner: AppPlannerConfig =
            functions::config(functions::wiring_of(&wiring, "app-planner")?, overrides)?;
        let plans = PlanFeed::new(
            versions,
            clients.s3.clone(),
            wiring.artifacts_bucket.clone(),
            planner.plan_key,
        );
        let started = emulator.now();
        Ok(Self {
            emulator,
            bus,
            dispatch: Dispatch::new(wiring, functions, options.chaos.map(ChaosState::new)),
            opt_out: launcher.opt_out,
            started,
            scenario_name,
            until: options.until,
            invariant_breaches: Vec::new(),
            plans,
            dry_run: options.dry_run,
            killer,
            launches_seen: BTreeSet::new(),
            first_launched: BTreeMap::new(),
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
            let elapsed = (now - self.started).to_std().unwrap_or_default();
            self.plans.place_due(elapsed, now, &self.bus).await?;
            self.dispatch.fire_schedules(&self.bus, now);
            self.settle_step(now, &mut sms_events).await?;
            // One snapshot of SMS for the step's progress, invariants and launches.
            let state = self.emulator.state();
            let progress = self.progress(&state, now);
            if !progress.same_counts(&last_progress) {
                on_progress(&progress);
                timeline.push(progress.clone());
                last_progress = progress;
            }
            self.check_nothing_doubled(&state, now);
            self.note_launched(&state, now);
            if self.dispatch.queue.is_empty() && !self.faults_on() && self.converged() {
                break true;
            }
            if now >= deadline {
                break false;
            }
            self.emulator.advance(STEP);
        };
        Ok(self.finish(converged, timeline).await)
    }

    /// Routes SMS's events and the functions' own, and runs what they and the
    /// schedules made due, until nothing more is due at `now`.
    async fn settle_step(
        &mut self,
        now: DateTime<Utc>,
        sms_events: &mut tokio::sync::mpsc::UnboundedReceiver<crate::SmsEvent>,
    ) -> Result<(), WaveError> {
        let inject = |bus: &LocalBus| {
            while let Ok(event) = sms_events.try_recv() {
                let envelope = serde_json::to_value(&event).unwrap_or(Value::Null);
                bus.inject("default", envelope);
            }
        };
        self.dispatch.settle(&self.bus, now, inject).await
    }

    fn faults_on(&self) -> bool {
        self.dispatch.chaos.as_ref().is_some_and(ChaosState::on)
    }

    /// Turns the chaos faults on at the start and off once `faults_for` has passed, and
    /// plays the operator's stop of app replication when its time comes.
    fn switch_faults(&mut self, now: DateTime<Utc>) {
        if let Some(chaos) = self.dispatch.chaos.as_mut() {
            let elapsed = (now - self.started).to_std().unwrap_or_default();
            chaos.switch(elapsed, (&self.emulator, &self.emulator), &self.bus);
            chaos.stop_app_replication(elapsed, &self.emulator);
        }
    }

    /// Records a breach whenever a server has two jobs that are not deleted, two live
    /// applications share a name, or an app's launch began before an application it
    /// depends on was launched.
    fn check_nothing_doubled(&mut self, state: &StateSnapshot, now: DateTime<Utc>) {
        for (server, jobs) in invariants::servers_with_two_live_jobs(state) {
            self.invariant_breaches.push(format!(
                "{}: server {server} has {} live replication jobs",
                stamp(now),
                jobs.len()
            ));
        }
        for (name, ids) in invariants::apps_sharing_a_name(state) {
            self.invariant_breaches.push(format!(
                "{}: {} live applications are named {name}: {}",
                stamp(now),
                ids.len(),
                ids.join(", ")
            ));
        }
        let depends_on = self.plans.depends_on();
        let early =
            invariants::launched_before_dependencies(state, depends_on, &mut self.launches_seen);
        for breach in early {
            self.invariant_breaches
                .push(format!("{}: {breach}", stamp(now)));
        }
    }

    /// Notes the apps SMS shows LAUNCHED for the first time (steps are a minute).
    fn note_launched(&mut self, state: &StateSnapshot, now: DateTime<Utc>) {
        let launched =
            invariants::live_apps(state).filter(|a| a.launch_status == AppLaunchStatus::Launched);
        for app in launched {
            self.first_launched.entry(app.id.clone()).or_insert(now);
        }
    }

    fn progress(&self, state: &StateSnapshot, now: DateTime<Utc>) -> Progress {
        let live_jobs = state.jobs.iter().filter(|j| !j.state.is_deleted());
        let (mut replicating, mut replicated, mut failed) = (0, 0, 0);
        for job in live_jobs {
            if matches!(job.state, JobState::Failed | JobState::PausedOnFailure) {
                failed += 1;
            } else if job.latest_ami.is_some() {
                replicated += 1;
            } else {
                replicating += 1;
            }
        }
        let apps: Vec<_> = invariants::live_apps(state).collect();
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
                .filter(|a| a.launch_status == AppLaunchStatus::Launched)
                .count(),
            plan_versions: self.plans.versions_placed(),
            plan_changes: self.dispatch.plan_changes,
        }
    }

    /// What the functions gave up on or reported as stuck so far.
    fn given_up(&self) -> GivenUp {
        let mut given_up =
            GivenUp::from_events(outcome::bus_events(&self.dispatch.log).map(|seen| seen.event));
        given_up.manual.clone_from(self.plans.manual());
        given_up.rolled_back.clone_from(self.plans.rolled_back());
        given_up.depends_on.clone_from(self.plans.depends_on());
        given_up
    }

    /// The plan is in place and every app is launched or settled without a launch.
    fn converged(&self) -> bool {
        let state = self.emulator.state();
        if self.dry_run {
            let placed = self.plans.last_placed_at();
            return self.plans.all_placed()
                && dry_run::complete(&state, &self.dispatch.log, placed, placed.is_some());
        }
        let live = invariants::live_apps(&state)
            .map(|a| a.name.as_str())
            .collect();
        let launched = invariants::live_apps(&state)
            .filter(|a| a.launch_status == AppLaunchStatus::Launched)
            .map(|a| a.name.as_str())
            .collect();
        self.plans.in_place((&live, &launched), &self.dispatch.log)
            && invariants::every_app_settled(&state, &self.opt_out, &self.given_up())
    }

    async fn finish(self, converged: bool, timeline: Vec<Progress>) -> WaveReport {
        let state = self.emulator.state();
        let now = self.emulator.now();
        let given_up = self.given_up();
        let apps = outcome::app_outcomes(
            &state,
            &self.dispatch.log,
            &self.opt_out,
            &given_up,
            self.plans.depends_on(),
        );
        let failures = outcome::failure_outcomes(&self.dispatch.log, &state);
        let detection_delay = outcome::DetectionDelay::of(&self.dispatch.log, &state);
        let mut invariant_breaches = self.invariant_breaches.clone();
        invariant_breaches.extend(invariants::final_breaches(
            &state,
            outcome::bus_events(&self.dispatch.log),
        ));
        invariant_breaches.extend(invariants::refused_launches(&self.emulator.refusals()));
        for (function, seen) in self.dispatch.functions.lease_overlaps() {
            invariant_breaches.push(format!(
                "{function}: {seen} runs took the lease while another run held it"
            ));
        }
        let verdict = if self.dry_run {
            dry_run::verdict(converged, now)
        } else {
            outcome::verdict(converged, &state, &self.opt_out, &given_up, now)
        };
        let rehearsal = self.dry_run.then(|| Rehearsal::of(&self.dispatch.log));
        let deployed_report = self
            .dispatch
            .closing_report(now, &self.emulator.s3_root())
            .await;
        let archived_templates =
            outcome::archived_objects(&self.emulator, &self.dispatch.wiring.artifacts_bucket);
        let mut faults = match &self.dispatch.chaos {
            Some(chaos) => {
                let mut faults = chaos.tally((&self.emulator, &self.emulator), &self.bus);
                let apps = self.emulator.state().apps;
                let failed = apps.iter().map(|a| u64::from(a.launches_failed)).sum();
                faults.insert("launches ended LAUNCH_FAILED".into(), failed);
                faults
            }
            None => BTreeMap::new(),
        };
        if let Some(killer) = &self.killer {
            faults.extend(killer.kills());
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
            detection_delay,
            service: "SMS".to_owned(),
            sms_calls: self.emulator.call_counts(),
            invocations: self.dispatch.invocations.clone(),
            dead_lettered: self.dispatch.queue.dead_lettered().to_vec(),
            invariant_breaches,
            faults,
            timeline,
            plan: self.plans.outcome(&self.dispatch.log),
            first_launched: self.first_launched.clone(),
            rehearsal,
            log: self.dispatch.log,
            archived_templates,
            deployed_report,
        };
        self.bus.shutdown().await;
        self.emulator.shutdown().await;
        report
    }
}

/// The wave's functions: in this process, or as real processes behind a Runtime API,
/// killed as `processes` says (`hook_service` gives the killer's hook to the migration
/// service, which runs it as it answers each call).
async fn functions_for(
    (wiring, overrides): (&Wiring, &[(&str, &str)]),
    (endpoints, clock): (
        &autopilot_core::clients::Endpoints,
        &autopilot_core::runtime::Clock,
    ),
    processes: Option<&ProcessOptions>,
    hook_service: impl FnOnce(crate::http::AnswerHook),
) -> Result<(Functions, Option<Arc<Killer>>), WaveError> {
    let Some(processes) = processes else {
        let clients = local_clients(endpoints, None);
        return Ok((Functions::new(wiring, overrides, &clients, clock)?, None));
    };
    let killer = Killer::new(processes.kills);
    hook_service(killer.answer_hook());
    let invokers = process_invokers(wiring, overrides, endpoints, clock, processes, &killer)
        .await
        .map_err(WaveError::Processes)?;
    Ok((Functions::from_invokers(invokers), Some(killer)))
}

/// The caller's plan versions, else the scenario's own.
fn chosen_plan_versions(given: Vec<PlanVersion>, scenario: &Scenario) -> Vec<PlanVersion> {
    if !given.is_empty() {
        return given;
    }
    scenario
        .plan_versions()
        .into_iter()
        .map(|(at, text)| PlanVersion {
            after: Duration::from_secs(at),
            text,
        })
        .collect()
}
