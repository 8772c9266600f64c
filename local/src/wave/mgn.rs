//! Plays a whole migration wave on the MGN stand-in: the template deployed with
//! `Backend` MGN (mgn-planner, mgn-watcher, mgn-launcher), MGN and its EC2, the local S3
//! and bus, on MGN's simulated clock. Schedules, MGN's `aws.mgn` events (default bus)
//! and the functions' own events (project bus) are dispatched as in the SMS wave
//! ([`super::dispatch`]); the wave converges once every application of the plan is cut
//! over (and archived when the plan asks) or left to a person. Its guards are checked
//! from what the functions published and what MGN and EC2 hold ([`mgn_invariants`]).

use std::collections::BTreeMap;

use autopilot_core::config::MgnPlannerConfig;
use autopilot_core::report::moves::Moves;
use autopilot_core::report::{AppOutcome, PlanOutcome, Progress};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::chaos::{ChaosState, FaultedService};
use super::dispatch::Dispatch;
use super::outcome::{self, DetectionDelay, WaveReport};
use super::plans::{PlanFeed, ENGINEER_ATTEMPTS};
use super::{chosen_plan_versions, mgn_invariants, mgn_launches, WaveError, WaveOptions, STEP};
use crate::harness::clients::local_clients;
use crate::harness::functions;
use crate::harness::payloads::stamp;
use crate::harness::wiring::Wiring;
use crate::harness::world::MgnWorld;
use crate::mgn::MgnHandle;

/// The launch guards' breaches on what MGN holds at the end ([`mgn_launches`]).
fn launch_breaches(
    mgn: &MgnHandle,
    plan: &autopilot_core::plan::Plan,
) -> Result<Vec<String>, String> {
    let every_item = |operation: &str| {
        mgn.every_item(operation, json!({}))
            .map_err(|e| format!("MGN {operation} could not be read for the guards: {e:?}"))
    };
    let jobs = every_item("DescribeJobs")?;
    let servers = every_item("DescribeSourceServers")?;
    let applications = every_item("ListApplications")?;
    let changes = mgn.life_cycle_changes();
    let record = mgn_launches::MgnRecord {
        jobs: &jobs,
        servers: &servers,
        applications: &applications,
        changes: &changes,
    };
    Ok(mgn_launches::launch_breaches(&record, plan))
}

/// The template's parameters for an MGN stack.
pub const MGN_BACKEND: [(&str, &str); 1] = [("Backend", "MGN")];

/// An MGN wave being played.
pub struct MgnWave {
    world: MgnWorld,
    dispatch: Dispatch,
    plans: PlanFeed,
    started: DateTime<Utc>,
    scenario_name: String,
    until: std::time::Duration,
    /// Each application's move, as the launcher's decisions tell it.
    moves: Moves,
    /// How much of the log `moves` has read.
    read: usize,
    /// The hard-kill harness's killer, when the functions run as processes.
    killer: Option<std::sync::Arc<crate::harness::processes::Killer>>,
}

impl MgnWave {
    /// Starts MGN, S3 and the bus, and wires the MGN functions as the template deploys
    /// them with `Backend` MGN; under chaos, with the faults of [`super::chaos`] and MGN's
    /// own kinds staged in the scenario; with the functions as killed processes when
    /// asked. Dry runs are SMS's only for now.
    pub async fn start(options: WaveOptions) -> Result<Self, WaveError> {
        if options.dry_run {
            return Err(WaveError::Unsupported(
                "an MGN wave plays without a dry run for now".into(),
            ));
        }
        let wiring = Wiring::load_with(&options.template, &MGN_BACKEND)?;
        let overrides: Vec<(&str, &str)> = options
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let scenario_name = options.scenario.name.clone();
        let versions = chosen_plan_versions(options.plans, &options.scenario);
        let mut scenario = options.scenario;
        let chaos = options.chaos.map(|chaos| {
            let staged = chaos.stage_mgn(&mut scenario);
            // Each chaos seed meets its own 500s, throttles and lost events.
            scenario.seed = chaos.fault_seed(scenario.seed);
            let mut state = ChaosState::new(chaos);
            for (kind, count) in staged {
                state.count(&kind, count);
            }
            state
        });
        let seed = scenario.seed;
        let world = MgnWorld::start(scenario, &wiring.artifacts_bucket, seed).await?;
        world.bus.declare_schedules(&wiring);
        let clients = local_clients(&world.endpoints(), Some(ENGINEER_ATTEMPTS));
        let (functions, killer) = super::functions_for(
            (&wiring, &overrides),
            (&world.endpoints(), &world.clock()),
            options.processes.as_ref(),
            |hook| world.mgn.on_answer(hook),
        )
        .await?;
        let planner: MgnPlannerConfig =
            functions::config(functions::wiring_of(&wiring, "mgn-planner")?, &overrides)?;
        let plans = PlanFeed::new(
            versions,
            clients.s3.clone(),
            wiring.artifacts_bucket.clone(),
            planner.plan_key,
        );
        let started = world.mgn.now();
        Ok(Self {
            dispatch: Dispatch::new(wiring, functions, chaos),
            world,
            plans,
            started,
            scenario_name,
            until: options.until,
            moves: Moves::default(),
            read: 0,
            killer,
        })
    }

    pub fn mgn(&self) -> &MgnHandle {
        &self.world.mgn
    }

    /// Plays until the wave converges or `until` passes; `on_progress` sees each step.
    pub async fn play(
        mut self,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<WaveReport, WaveError> {
        let mut mgn_events = self.world.mgn.subscribe_events();
        let deadline = self.started
            + chrono::Duration::from_std(self.until).unwrap_or(chrono::Duration::days(365));
        let mut timeline = Vec::new();
        let mut last = Progress::default();
        let converged = loop {
            let now = self.world.mgn.now();
            let elapsed = (now - self.started).to_std().unwrap_or_default();
            self.plans.place_due(elapsed, now, &self.world.bus).await?;
            if let Some(chaos) = self.dispatch.chaos.as_mut() {
                let service = (&*self.world.mgn as &dyn FaultedService, &self.world.storage);
                chaos.switch(elapsed, service, &self.world.bus);
                chaos.revert_a_test(elapsed, &self.world.mgn);
            }
            self.dispatch.fire_schedules(&self.world.bus, now);
            let inject = |bus: &crate::bus::LocalBus| {
                while let Ok(event) = mgn_events.try_recv() {
                    bus.inject(
                        "default",
                        serde_json::to_value(&event).unwrap_or(Value::Null),
                    );
                }
            };
            self.dispatch.settle(&self.world.bus, now, inject).await?;
            let servers = self.source_servers();
            self.read_new_decisions();
            let progress = self.progress(&servers, now);
            if !progress.same_counts(&last) {
                on_progress(&progress);
                timeline.push(progress.clone());
                last = progress;
            }
            if self.dispatch.queue.is_empty() && self.converged() {
                break true;
            }
            if now >= deadline {
                break false;
            }
            self.world.mgn.advance(STEP);
        };
        Ok(self.finish(converged, timeline).await)
    }

    /// Every source server as MGN lists it (the stand-in's own view, not a client's).
    fn source_servers(&self) -> Vec<Value> {
        let listed = self.world.mgn.call("DescribeSourceServers", &json!({}));
        listed
            .ok()
            .and_then(|answer| answer["items"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Reads the decisions logged since the last step into each application's move.
    fn read_new_decisions(&mut self) {
        for seen in outcome::bus_events(&self.dispatch.log[self.read..]) {
            let detail_type = seen.event["detail-type"].as_str().unwrap_or_default();
            self.moves
                .note(seen.time, detail_type, &seen.event["detail"]);
        }
        self.read = self.dispatch.log.len();
    }

    fn progress(&self, servers: &[Value], now: DateTime<Utc>) -> Progress {
        let state = |s: &Value| {
            s["lifeCycle"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let replication = |s: &Value| {
            s["dataReplicationInfo"]["dataReplicationState"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let failed = servers
            .iter()
            .filter(|s| matches!(replication(s).as_str(), "STALLED" | "DISCONNECTED"))
            .filter(|s| !matches!(state(s).as_str(), "CUTOVER" | "DISCONNECTED"))
            .count();
        let replicated = servers
            .iter()
            .filter(|s| !matches!(state(s).as_str(), "NOT_READY" | "PENDING_INSTALLATION"))
            .count();
        Progress {
            time: stamp(now),
            elapsed_minutes: u64::try_from((now - self.started).num_minutes()).unwrap_or(0),
            discovered: servers.len(),
            replicating: servers.len() - replicated,
            replicated,
            failed,
            apps: self
                .plans
                .in_force()
                .map_or(0, |plan| plan.applications.len()),
            launched: self.moves.cut_over_count(),
            plan_versions: self.plans.versions_placed(),
            plan_changes: self.dispatch.plan_changes,
        }
    }

    /// Every version of the plan is placed and followed, and each of its applications is
    /// cut over (and archived when it asks) or left to a person.
    fn converged(&self) -> bool {
        let followed = self.plans.followed_on_mgn(&self.dispatch.log);
        let Some(plan) = self.plans.in_force().filter(|_| followed) else {
            return false;
        };
        plan.applications
            .iter()
            .all(|app| match self.moves.last_word(&app.name) {
                Some("AppArchived") => true,
                Some("AppCutOver") => !app.archive,
                Some("AppMoveHeld") => true,
                _ => false,
            })
    }

    async fn finish(self, converged: bool, timeline: Vec<Progress>) -> WaveReport {
        let now = self.world.mgn.now();
        let plan = self.plans.in_force().cloned().unwrap_or_else(empty_plan);
        let mut breaches = mgn_invariants::breaches(&self.dispatch.log);
        breaches.extend(mgn_invariants::left_running(&self.world.mgn.instances()));
        breaches.extend(mgn_invariants::refused(&self.world.mgn.refusals()));
        match launch_breaches(&self.world.mgn, &plan) {
            Ok(found) => breaches.extend(found),
            Err(problem) => breaches.push(problem),
        }
        for (function, seen) in self.dispatch.functions.lease_overlaps() {
            breaches.push(format!(
                "{function}: {seen} runs took the lease while another run held it"
            ));
        }
        let apps = self.app_outcomes(&plan);
        let verdict = verdict(converged, &apps, now);
        let plan_outcome: PlanOutcome = self.plans.outcome(&self.dispatch.log);
        let deployed_report = self
            .dispatch
            .closing_report(now, &self.world.storage.s3_root())
            .await;
        let first_launched = self.moves.cut_over_times();
        let report = WaveReport {
            scenario: self.scenario_name.clone(),
            converged,
            verdict,
            started: stamp(self.started),
            ended: stamp(now),
            simulated_minutes: u64::try_from((now - self.started).num_minutes()).unwrap_or(0),
            apps,
            failures: Vec::new(),
            detection_delay: DetectionDelay::default(),
            service: "MGN".to_owned(),
            sms_calls: self.world.mgn.call_counts(),
            invocations: self.dispatch.invocations.clone(),
            dead_lettered: self.dispatch.queue.dead_lettered().to_vec(),
            invariant_breaches: breaches,
            faults: self.faults(),
            timeline,
            plan: plan_outcome,
            first_launched,
            rehearsal: None,
            log: self.dispatch.log,
            archived_templates: Vec::new(),
            deployed_report,
        };
        self.world.shutdown().await;
        report
    }

    /// The faults injected: chaos's, and the processes the hard-kill harness killed.
    fn faults(&self) -> BTreeMap<String, u64> {
        let mut faults = match &self.dispatch.chaos {
            Some(chaos) => {
                let service = (&*self.world.mgn as &dyn FaultedService, &self.world.storage);
                chaos.tally(service, &self.world.bus)
            }
            None => BTreeMap::new(),
        };
        faults.extend(self.killer.iter().flat_map(|killer| killer.kills()));
        faults
    }

    /// Each application of the plan: its members as MGN lists them, how far it moved.
    fn app_outcomes(&self, plan: &autopilot_core::plan::Plan) -> Vec<AppOutcome> {
        let servers = self.source_servers();
        let apps: BTreeMap<String, String> = self
            .world
            .mgn
            .call("ListApplications", &json!({}))
            .ok()
            .and_then(|a| a["items"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|a| {
                Some((
                    a["applicationID"].as_str()?.to_owned(),
                    a["name"].as_str()?.to_owned(),
                ))
            })
            .collect();
        plan.applications
            .iter()
            .map(|app| {
                let members: Vec<&Value> = servers
                    .iter()
                    .filter(|s| {
                        let id = s["applicationID"].as_str().unwrap_or_default();
                        apps.get(id).is_some_and(|name| name == &app.name)
                    })
                    .collect();
                let name_of = |s: &Value| {
                    s["sourceProperties"]["identificationHints"]["hostname"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                };
                AppOutcome {
                    id: app.name.clone(),
                    name: app.name.clone(),
                    members: members.len(),
                    server_ids: members
                        .iter()
                        .map(|s| s["sourceServerID"].as_str().unwrap_or_default().to_owned())
                        .collect(),
                    member_names: members.iter().map(|s| name_of(s)).collect(),
                    depends_on: app.depends_on.clone(),
                    completed_runs: members.len(),
                    launch_status: self.moves.status(&app.name).to_owned(),
                    launched_at: self.moves.cut_over_at(&app.name).cloned(),
                    held_by: self.moves.held_by(&app.name).cloned(),
                    finalized_at: None,
                }
            })
            .collect()
    }
}

fn empty_plan() -> autopilot_core::plan::Plan {
    autopilot_core::plan::Plan {
        version: autopilot_core::plan::PLAN_VERSION,
        prune: false,
        defaults: Default::default(),
        applications: Vec::new(),
    }
}

/// The verdict line of an MGN wave.
fn verdict(converged: bool, apps: &[AppOutcome], now: DateTime<Utc>) -> String {
    let cut_over = apps
        .iter()
        .filter(|a| a.launch_status.starts_with("CUT OVER"))
        .count();
    let held = apps.iter().filter(|a| a.launch_status == "HELD").count();
    if converged {
        format!(
            "converged at {}: {cut_over} of {} applications cut over, {held} left to a person",
            stamp(now),
            apps.len()
        )
    } else {
        format!(
            "not converged by {}: {cut_over} of {} applications cut over, {held} left to a person",
            stamp(now),
            apps.len()
        )
    }
}
