//! The engine: the emulated service's state and the simulated clock that drives it.
//!
//! Everything asynchronous in SMS (catalog import, job seeding, runs, failures,
//! launches) is an entry in one time-ordered queue. `Engine::advance_to` pops due
//! entries in (time, insertion) order, so the same calls and the same advances always
//! produce the same states, ids and events. Entries carry an epoch where a later call
//! can cancel them (a rescheduled or deleted job, a terminated app); stale entries are
//! skipped when popped rather than searched for and removed.
//!
//! The state lives in private fields of [`Engine`], so every change goes through one of
//! its methods: the wire layer (`sms::api`) reads through views (`&App`, `&Job`, ...)
//! and acts through operations that take typed requests ([`NewJob`], [`AppUpdate`], ...).
//! One child module per SMS resource:
//!
//! - `catalog.rs`: connectors, servers, the server catalog and its import;
//! - `jobs.rs`: replication jobs (create, update, delete and its DELETING step, on-demand runs);
//! - `runs.rs`: the replication run lifecycle the clock drives (seed, run, fail, retry);
//! - `apps.rs`: apps, server groups, replication configuration, app replication;
//! - `launch_config.rs`: the launch configuration and its check (CONFIGURATION_IN_PROGRESS,
//!   then READY_FOR_LAUNCH or CONFIGURATION_INVALID);
//! - `launch.rs`: LaunchApp and TerminateApp and the launch status they move through;
//! - `templates.rs`: CloudFormation template and change set documents written to the local S3.

mod app_replication;
mod apps;
mod catalog;
mod jobs;
mod launch;
mod launch_config;
mod runs;
mod templates;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use crate::delivery::Delivery;
use crate::rng::SplitMix64;
use crate::scenario::{uuid_like, Scenario};
use crate::schedule::Schedule;
use crate::sms::job_state_changes::{
    announced, JobStateChangeDetail, SmsEvent, DETAIL_TYPE, SOURCE,
};
use crate::sms::protocol::JobState;

pub use app_replication::AppReplication;
pub(crate) use app_replication::ReplicationConfiguration;
pub use apps::{App, Group};
pub(crate) use apps::{AppDeletion, AppKey, AppUpdate, GroupInput, NewApp};
pub use catalog::{Catalog, ConnectorState, ServerState};
pub use jobs::Job;
pub(crate) use jobs::{JobUpdate, NewJob, ReplicationParameters};
pub use launch::LaunchDetails;
use launch::LaunchFailureDraws;
pub(crate) use launch_config::LaunchConfiguration;
pub use runs::Run;
pub(crate) use templates::S3Location;
pub use templates::WrittenObject;

pub use crate::schedule::Millis;
pub(crate) use crate::schedule::{rfc3339, secs};

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// A serializable copy of the whole emulated service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// Scenario name.
    pub scenario: String,
    /// Simulated now, RFC 3339.
    pub now: String,
    /// Simulated now, ms since the epoch.
    pub now_ms: Millis,
    /// Server catalog.
    pub catalog: Catalog,
    /// Connectors (disassociated ones included, flagged).
    pub connectors: Vec<ConnectorState>,
    /// All scenario servers (imported or not).
    pub servers: Vec<ServerState>,
    /// All jobs (deleted ones included, state DELETED), with their runs.
    pub jobs: Vec<Job>,
    /// All apps (deleted ones included, status DELETED).
    pub apps: Vec<App>,
    /// AMIs deregistered by numberOfRecentAmisToKeep.
    pub pruned_amis: Vec<String>,
    /// Templates and change sets written to S3.
    pub written_objects: Vec<WrittenObject>,
    /// Events emitted so far.
    pub events_emitted: usize,
}

/// Work the clock runs when it gets there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    CatalogImported,
    CatalogExpired { imported: Millis },
    UsageOver { server: usize },
    JobSeed { job: usize, epoch: u32 },
    NextRun { job: usize, epoch: u32 },
    RunActivate { job: usize, run: usize },
    RunFinish { job: usize, run: usize },
    FailingOver { job: usize, epoch: u32 },
    JobDeleted { job: usize },
    LaunchStep { app: usize, epoch: u32 },
    TerminateDone { app: usize, epoch: u32 },
    ConfigurationChecked { app: usize, epoch: u32 },
    AppStatusSettled { app: usize },
}

/// The emulated SMS service: state plus the time-ordered queue of pending work.
pub(crate) struct Engine {
    cfg: Scenario,
    now: Millis,
    ids: SplitMix64,
    event_ids: SplitMix64,
    schedule: Schedule<Action>,
    catalog: Catalog,
    connectors: Vec<ConnectorState>,
    servers: Vec<ServerState>,
    server_by_id: HashMap<String, usize>,
    jobs: Vec<Job>,
    job_by_id: HashMap<String, usize>,
    apps: Vec<App>,
    app_by_id: HashMap<String, usize>,
    events: Vec<SmsEvent>,
    delivery: Delivery,
    launch_failures: LaunchFailureDraws,
    subscribers: Vec<UnboundedSender<SmsEvent>>,
    pruned_amis: Vec<String>,
    written: Vec<WrittenObject>,
    s3_root: Option<PathBuf>,
}

/// Simulated milliseconds as the epoch seconds SMS puts on the wire.
pub(crate) fn epoch_secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

impl Engine {
    /// Builds the initial state of a scenario (apps created, catalog not imported).
    pub(crate) fn new(mut cfg: Scenario, s3_root: Option<PathBuf>) -> Self {
        cfg.normalise();
        let start = cfg.start_time.timestamp_millis();
        let connectors = catalog::connectors_of(&cfg, start);
        let servers = catalog::servers_of(&cfg, start);
        let server_by_id = servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let mut engine = Engine {
            now: start,
            ids: SplitMix64::new(cfg.seed),
            event_ids: SplitMix64::new(cfg.seed ^ 0xe7e7_e7e7),
            schedule: Schedule::default(),
            catalog: Catalog::not_imported(),
            connectors,
            servers,
            server_by_id,
            jobs: Vec::new(),
            job_by_id: HashMap::new(),
            apps: Vec::new(),
            app_by_id: HashMap::new(),
            events: Vec::new(),
            delivery: Delivery::new(cfg.faults.dropped_sms_events, cfg.seed),
            launch_failures: LaunchFailureDraws {
                up_to: cfg.faults.launch_failures_up_to,
                seed: cfg.seed,
            },
            subscribers: Vec::new(),
            pruned_amis: Vec::new(),
            written: Vec::new(),
            s3_root,
            cfg,
        };
        engine.create_scenario_apps();
        engine
    }

    /// Fresh id with a prefix and `n` hex digits.
    fn new_id(&mut self, prefix: &str, n: usize) -> String {
        format!("{prefix}{}", self.ids.hex(n))
    }

    /// The simulated clock.
    pub(crate) fn now(&self) -> Millis {
        self.now
    }

    fn schedule(&mut self, at: Millis, action: Action) {
        self.schedule.push(self.now, at, action);
    }

    /// Runs every transition due up to `target`, in time order, then sets the clock there.
    pub(crate) fn advance_to(&mut self, target: Millis) {
        Schedule::advance(
            self,
            |e| &mut e.schedule,
            |e| &mut e.now,
            target,
            Self::handle,
        );
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::CatalogImported => self.finish_import(),
            Action::CatalogExpired { imported } => self.expire_catalog(imported),
            Action::UsageOver { server } => self.end_usage(server),
            Action::JobSeed { job, epoch } => self.seed_job(job, epoch),
            Action::NextRun { job, epoch } => self.next_run(job, epoch),
            Action::RunActivate { job, run } => self.activate_run(job, run),
            Action::RunFinish { job, run } => self.finish_run(job, run),
            Action::FailingOver { job, epoch } => self.failing_over(job, epoch),
            Action::JobDeleted { job } => self.finish_deletion(job),
            Action::LaunchStep { app, epoch } => self.launch_step(app, epoch),
            Action::TerminateDone { app, epoch } => self.terminate_done(app, epoch),
            Action::ConfigurationChecked { app, epoch } => self.configuration_checked(app, epoch),
            Action::AppStatusSettled { app } => self.app_status_settled(app),
        }
    }

    /// Registers an event subscriber; it sees events emitted from now on.
    pub(crate) fn subscribe(&mut self, tx: UnboundedSender<SmsEvent>) {
        self.subscribers.push(tx);
    }

    /// Every event emitted so far, in order (delivered or not).
    pub(crate) fn events(&self) -> &[SmsEvent] {
        &self.events
    }

    /// The share of events EventBridge drops from now on.
    pub(crate) fn set_event_drop_rate(&mut self, rate: f64) {
        self.delivery.set_rate(rate);
    }

    /// Restarts the dice that drop events and draw launch failures.
    pub(crate) fn reseed_event_drops(&mut self, seed: u64) {
        self.delivery.reseed(seed);
        self.launch_failures.seed = seed;
    }

    /// The most launch failures an app CreateApp makes from now on is given.
    pub(crate) fn set_launch_failures_up_to(&mut self, up_to: u32) {
        self.launch_failures.up_to = up_to;
    }

    /// Events emitted but never delivered.
    pub(crate) fn events_dropped(&self) -> u64 {
        self.delivery.dropped()
    }

    /// A serializable copy of everything.
    pub(crate) fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            scenario: self.cfg.name.clone(),
            now: rfc3339(self.now),
            now_ms: self.now,
            catalog: self.catalog.clone(),
            connectors: self.connectors.clone(),
            servers: self.servers.clone(),
            jobs: self.jobs.clone(),
            apps: self.apps.clone(),
            pruned_amis: self.pruned_amis.clone(),
            written_objects: self.written.clone(),
            events_emitted: self.events.len(),
        }
    }

    /// Publishes the `aws.sms` event about a job entering `state`, if SMS sent one for
    /// that state, to the log and (unless EventBridge drops it) every live subscriber.
    fn emit(&mut self, job: usize, state: JobState, ami_id: Option<String>) {
        let Some(announced) = announced(state) else {
            return;
        };
        let j = &self.jobs[job];
        let run_id = j.runs.last().map(|r| r.id.clone()).unwrap_or_default();
        // The service's samples (CloudWatch Events guide): the job's ARN, and the run's
        // beside it when a run completed; a deleted job names no run.
        let job_arn = format!(
            "arn:aws:sms:{}:{}:{}",
            self.cfg.region, self.cfg.account, j.id
        );
        let (run_id, resources) = if state == JobState::Deleted {
            ("N/A".to_owned(), vec![job_arn])
        } else if ami_id.is_some() {
            let run_arn = format!("{job_arn}/{run_id}");
            (run_id, vec![job_arn, run_arn])
        } else {
            (run_id, vec![job_arn])
        };
        let event = SmsEvent {
            version: "0".into(),
            id: uuid_like(&mut self.event_ids),
            detail_type: DETAIL_TYPE.into(),
            source: SOURCE.into(),
            account: self.cfg.account.clone(),
            time: rfc3339(self.now),
            region: self.cfg.region.clone(),
            resources,
            detail: JobStateChangeDetail {
                state: announced.into(),
                replication_job_id: j.id.clone(),
                replication_run_id: run_id,
                ami_id,
                version: "1.0".into(),
            },
        };
        if self.delivery.delivers() {
            self.subscribers.retain(|tx| tx.send(event.clone()).is_ok());
        }
        self.events.push(event);
    }

    /// Moves a job to `state`, recorded in its history; only a real change is announced
    /// (for the states SMS announced).
    fn set_job_state(&mut self, job: usize, state: JobState, message: Option<String>) {
        let now = self.now;
        let j = &mut self.jobs[job];
        j.status_message = message;
        if j.state != state {
            j.state = state;
            j.history.push((now, state));
            self.emit(job, state, None);
        }
    }
}
