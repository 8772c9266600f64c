//! The MGN stand-in's state and the simulated clock that drives it.
//!
//! Everything MGN does by itself (agents installed, replication initiating, syncing,
//! stalling and recovering, launch and terminate jobs running, instances passing their
//! status checks) is an entry in one [`Schedule`]; entries a later call makes stale carry
//! the server's or job's epoch and are skipped when they come due. The fields are private:
//! the wire layer (`mgn::api`) reads through views and acts through the engine's methods.
//!
//! - `servers.rs`: source servers and their data replication as the clock moves it;
//! - `detours.rs`: stalls, backlogs and lost agents, as the scenario plays them;
//! - `replication.rs`: the calls that steer replication (pause, resume, stop, start,
//!   retry, disconnect);
//! - `life_cycle.rs`: the calls that move a server's life cycle (change state,
//!   finalize cutover, archive);
//! - `launch.rs`: launch and terminate jobs, their log, and the instances they make;
//! - `announcements.rs`: the `aws.mgn` events it sends;
//! - `apps.rs`: applications and waves, their members and aggregated status;
//! - `configurations.rs`: replication and launch configurations and their templates;
//! - `imports.rs`: StartImport's inventory CSV;
//! - `ec2.rs`: the account's EC2 side: launch templates, network, instance types.

mod announcements;
mod apps;
mod configurations;
mod detours;
mod ec2;
mod imports;
mod launch;
mod life_cycle;
mod replication;
mod servers;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use crate::delivery::Delivery;
use crate::mgn::events::MgnEvent;
use crate::rng::SplitMix64;
use crate::scenario::{uuid_like, MgnSettings, Scenario};
pub(crate) use crate::schedule::{rfc3339, rfc3339_millis};
use crate::schedule::{secs, Millis, Schedule};
use servers::CatchUp;

pub use apps::{Aggregate, Grouping, GroupingKind};
pub use configurations::{SettingsKind, SettingsTemplate};
use ec2::{AccountEc2, LaunchTemplates};
pub use ec2::{LaunchTemplate, Placement, RECOMMENDED_INSTANCE_TYPE};
pub use imports::{Counts, ImportTask};
pub use launch::{Instance, InstanceChecks, Job, LaunchKind};
pub use servers::{device_name, LaunchRecord, SourceServer};

use super::error::MgnError;

/// Work the clock runs when it gets there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    AgentInstalled {
        server: usize,
    },
    InitiationStep {
        server: usize,
        epoch: u32,
    },
    InitialSyncDone {
        server: usize,
        epoch: u32,
    },
    StallStarts {
        server: usize,
        stall: usize,
    },
    StallCauseEnds {
        server: usize,
        stall: usize,
    },
    AgentLost {
        server: usize,
    },
    CatchUpStarts {
        server: usize,
        kind: CatchUp,
        index: usize,
    },
    CatchUpEnds {
        server: usize,
        kind: CatchUp,
    },
    FirstSnapshotDone {
        server: usize,
        epoch: u32,
    },
    JobStarts {
        job: usize,
    },
    JobCompletes {
        job: usize,
    },
    ChecksSettle {
        instance: usize,
    },
    ImportStarts {
        import: usize,
    },
    ImportRuns {
        import: usize,
    },
}

/// The emulated MGN account.
pub(crate) struct Engine {
    region: String,
    account: String,
    settings: MgnSettings,
    /// The scenario's start, where its times count from.
    start: Millis,
    now: Millis,
    ids: SplitMix64,
    schedule: Schedule<Action>,
    servers: Vec<SourceServer>,
    server_by_id: HashMap<String, usize>,
    jobs: Vec<Job>,
    job_by_id: HashMap<String, usize>,
    instances: Vec<Instance>,
    applications: Vec<Grouping>,
    waves: Vec<Grouping>,
    /// Which servers each application holds (by index into `servers`).
    servers_of_application: HashMap<String, BTreeSet<usize>>,
    replication_templates: Vec<SettingsTemplate>,
    launch_templates: Vec<SettingsTemplate>,
    /// What the target account's EC2 holds, read once from the scenario's network.
    account_ec2: AccountEc2,
    /// The account's EC2 launch templates.
    launch_templates_ec2: LaunchTemplates,
    event_ids: SplitMix64,
    events: Vec<MgnEvent>,
    subscribers: Vec<UnboundedSender<MgnEvent>>,
    delivery: Delivery,
    imports: Vec<ImportTask>,
    /// The local S3's directory, where imports read their files.
    s3_root: Option<PathBuf>,
    /// Every life-cycle change made by hand or by FinalizeCutover, in order (for the
    /// harness's guards; MGN keeps only the last of each in `lifeCycle`).
    life_cycle_changes: Vec<LifeCycleChange>,
}

/// One life-cycle change a call made: when, of which server, from and to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifeCycleChange {
    pub at: Millis,
    pub server_id: String,
    pub from: crate::mgn::model::LifeCycleState,
    pub to: crate::mgn::model::LifeCycleState,
}

/// Simulated milliseconds as an ISO 8601 duration (`PT…S`), MGN's lags and durations.
pub(crate) fn iso8601_duration(ms: Millis) -> String {
    format!("PT{}S", ms.max(0) / 1000)
}

impl Engine {
    /// The account of a scenario at its start: each agent scheduled to install.
    pub(crate) fn new(mut scenario: Scenario) -> Self {
        scenario.normalise();
        let start = scenario.start_time.timestamp_millis();
        let mut ids = SplitMix64::new(scenario.seed ^ 0x6d67_6e00);
        let mut engine = Engine {
            region: scenario.region.clone(),
            account: scenario.account.clone(),
            start,
            now: start,
            schedule: Schedule::default(),
            servers: Vec::new(),
            server_by_id: HashMap::new(),
            jobs: Vec::new(),
            job_by_id: HashMap::new(),
            instances: Vec::new(),
            applications: Vec::new(),
            waves: Vec::new(),
            servers_of_application: HashMap::new(),
            replication_templates: Vec::new(),
            launch_templates: Vec::new(),
            account_ec2: AccountEc2::of(scenario.network.as_ref()),
            launch_templates_ec2: LaunchTemplates::default(),
            event_ids: SplitMix64::new(scenario.seed ^ 0x6d67_6e65),
            events: Vec::new(),
            subscribers: Vec::new(),
            imports: Vec::new(),
            s3_root: None,
            life_cycle_changes: Vec::new(),
            delivery: Delivery::new(scenario.mgn.dropped_events, scenario.seed ^ 0x6d67_6e64),
            settings: MgnSettings::default(),
            ids: SplitMix64::new(0),
        };
        for spec in &scenario.servers {
            let mgn = scenario.mgn.server(&spec.vm_name);
            if mgn.without_agent {
                continue;
            }
            let id = format!("s-{}", ids.hex(17));
            let uuid = mgn
                .vmware_uuid
                .clone()
                .unwrap_or_else(|| uuid_like(&mut ids));
            let arn = engine.arn("source-server", &id);
            let ordinal = engine.servers.len();
            let server =
                SourceServer::from_scenario((id, arn), spec, &mgn, &scenario.mgn, (uuid, ordinal));
            let at = start + secs(mgn.agent_installed_at_secs.unwrap_or(spec.appears_at_secs));
            let index = engine.servers.len();
            engine.server_by_id.insert(server.id.clone(), index);
            engine.servers.push(server);
            engine.schedule_at(at, Action::AgentInstalled { server: index });
        }
        engine.ids = ids;
        engine.settings = scenario.mgn;
        // Agents installed at the start are there from the first call.
        engine.advance_to(start);
        engine
    }

    /// Where imports read their files: the local S3's directory (a bucket per folder).
    pub(crate) fn set_s3_root(&mut self, root: PathBuf) {
        self.s3_root = Some(root);
    }

    /// The ARN of a resource of this account: `kind/id`.
    fn arn(&self, kind: &str, id: &str) -> String {
        format!("arn:aws:mgn:{}:{}:{kind}/{id}", self.region, self.account)
    }

    /// A fresh id: `prefix` and 17 characters, as MGN's ids are.
    fn new_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.ids.hex(17))
    }

    /// The simulated clock.
    pub(crate) fn now(&self) -> Millis {
        self.now
    }

    fn schedule_at(&mut self, at: Millis, action: Action) {
        self.schedule.push(self.now, at, action);
    }

    fn schedule_in(&mut self, secs_from_now: u64, action: Action) {
        self.schedule_at(self.now.saturating_add(secs(secs_from_now)), action);
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
        let server = match action {
            Action::AgentInstalled { server }
            | Action::InitiationStep { server, .. }
            | Action::InitialSyncDone { server, .. }
            | Action::StallStarts { server, .. }
            | Action::StallCauseEnds { server, .. }
            | Action::AgentLost { server }
            | Action::CatchUpStarts { server, .. }
            | Action::CatchUpEnds { server, .. }
            | Action::FirstSnapshotDone { server, .. } => Some(server),
            Action::JobStarts { .. }
            | Action::JobCompletes { .. }
            | Action::ChecksSettle { .. }
            | Action::ImportStarts { .. }
            | Action::ImportRuns { .. } => None,
        };
        self.run(action);
        if let Some(server) = server {
            self.announce_stall_change(server);
        }
    }

    fn run(&mut self, action: Action) {
        match action {
            Action::AgentInstalled { server } => self.install_agent(server),
            Action::InitiationStep { server, epoch } => self.initiation_step(server, epoch),
            Action::InitialSyncDone { server, epoch } => self.initial_sync_done(server, epoch),
            Action::StallStarts { server, stall } => self.stall_starts(server, stall),
            Action::StallCauseEnds { server, stall } => self.stall_cause_ends(server, stall),
            Action::AgentLost { server } => self.agent_lost(server),
            Action::CatchUpStarts {
                server,
                kind,
                index,
            } => self.catch_up_starts(server, kind, index),
            Action::CatchUpEnds { server, kind } => self.catch_up_ends(server, kind),
            Action::FirstSnapshotDone { server, epoch } => self.first_snapshot_done(server, epoch),
            Action::JobStarts { job } => self.job_starts(job),
            Action::JobCompletes { job } => self.job_completes(job),
            Action::ChecksSettle { instance } => self.checks_settle(instance),
            Action::ImportStarts { import } => self.import_starts(import),
            Action::ImportRuns { import } => self.import_runs(import),
        }
    }

    /// The source servers MGN has seen (agent installed), in the order they were added.
    pub(crate) fn source_servers(&self) -> impl Iterator<Item = &SourceServer> {
        self.servers.iter().filter(|s| s.added.is_some())
    }

    /// The index of the source server `id`, or ResourceNotFoundException.
    fn server_index(&self, id: &str) -> Result<usize, MgnError> {
        self.server_by_id
            .get(id)
            .copied()
            .filter(|&i| self.servers[i].added.is_some())
            .ok_or_else(|| MgnError::not_found(id, "SOURCE_SERVER"))
    }

    /// The source server `id`, or ResourceNotFoundException.
    pub(crate) fn source_server(&self, id: &str) -> Result<&SourceServer, MgnError> {
        self.server_index(id).map(|i| &self.servers[i])
    }

    /// Every job not deleted, newest first (DescribeJobs' order).
    pub(crate) fn jobs_newest_first(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter().rev().filter(|j| !j.deleted)
    }

    /// The job `id`, or ResourceNotFoundException.
    pub(crate) fn job(&self, id: &str) -> Result<&Job, MgnError> {
        self.job_by_id
            .get(id)
            .map(|&i| &self.jobs[i])
            .ok_or_else(|| MgnError::not_found(id, "JOB"))
    }

    /// Every instance a launch made, terminated ones included.
    pub(crate) fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub(crate) fn life_cycle_changes(&self) -> &[LifeCycleChange] {
        &self.life_cycle_changes
    }

    /// The lag of a healthy continuous replication, ms.
    pub(crate) fn healthy_lag(&self) -> Millis {
        secs(self.settings.timing.continuous_lag_secs)
    }

    /// The scenario's MGN settings (timing, readings).
    fn settings(&self) -> &MgnSettings {
        &self.settings
    }
}
