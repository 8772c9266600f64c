//! Source servers and their data replication as the clock moves it: the agent installs
//! (the server is added, NOT_READY), initiation walks its steps, INITIAL_SYNC copies the
//! disks, then CONTINUOUS replication with a lag makes the server READY_FOR_TEST. The
//! detours (stalls, backlogs, a lost agent) are in `detours.rs`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::mgn::model::{
    DataReplicationError, DataReplicationState, InitiationStepName, InitiationStepStatus,
    LifeCycleState,
};
use crate::scenario::{MgnServerSpec, MgnSettings, ServerSpec};
use crate::schedule::Millis;

use super::{secs, Action, Engine, SettingsKind};

/// What MGN keeps to tell a server apart: the hints its agent reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Hints {
    pub hostname: String,
    pub fqdn: String,
    pub vm_path: String,
    pub vmware_uuid: String,
    pub mac_address: String,
    pub ip_address: String,
}

impl Hints {
    /// What the agent on `spec`'s VM reports: the scenario's hints, else its VM name in
    /// the scenario's domain, an address and a MAC address from its place in the estate.
    fn of(
        spec: &ServerSpec,
        plan: &MgnServerSpec,
        settings: &MgnSettings,
        (vmware_uuid, ordinal): (String, usize),
    ) -> Self {
        let hostname = plan
            .hostname
            .clone()
            .unwrap_or_else(|| spec.vm_name.clone());
        let domain = settings.domain.as_deref().unwrap_or("corp.example.com");
        let (high, mid, low) = (
            (ordinal >> 16) & 0xff,
            (ordinal >> 8) & 0xff,
            ordinal & 0xff,
        );
        Self {
            fqdn: plan
                .fqdn
                .clone()
                .unwrap_or_else(|| format!("{hostname}.{domain}")),
            hostname,
            vm_path: spec.vm_path.clone().unwrap_or_default(),
            vmware_uuid,
            mac_address: format!("00:50:56:{high:02x}:{mid:02x}:{low:02x}"),
            ip_address: format!("10.{}.{mid}.{low}", 20 + high % 200),
        }
    }
}

/// The last test or cutover of a server: when it was started (and by which job), and
/// when it was reverted or finalized.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaunchRecord {
    pub initiated: Option<(Millis, String)>,
    pub reverted: Option<Millis>,
    pub finalized: Option<Millis>,
}

impl LaunchRecord {
    /// A new launch `job` started at `at`: what the previous one came to is forgotten.
    pub(super) fn start(&mut self, at: Millis, job: &str) {
        *self = Self {
            initiated: Some((at, job.to_owned())),
            ..Self::default()
        };
    }
}

/// Where a stall's cause stands.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StallCause {
    pub(super) stall: usize,
    pub(super) error: DataReplicationError,
    /// When it ends by itself; `None`: when RetryDataReplication is called.
    pub(super) until: Option<Millis>,
}

/// What replication catches up on after falling behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CatchUp {
    Backlog,
    Rescan,
}

/// A server's data replication.
#[derive(Debug, Clone, PartialEq)]
pub struct Replication {
    pub state: DataReplicationState,
    /// When the current initiation started, and its steps.
    pub initiation: Option<(Millis, Vec<(InitiationStepName, InitiationStepStatus)>)>,
    pub error: Option<DataReplicationError>,
    /// The disks' sizes, bytes.
    pub disks: Vec<u64>,
    /// Replication ended for good: the disks' totals read zero (the model).
    pub(super) totals_cleared: bool,
    /// How long the initial sync takes in all, and how much of it is done.
    sync_needed: Millis,
    sync_done: Millis,
    syncing_since: Option<Millis>,
    /// When replication last was consistent (the lag counts from there); `None` before
    /// continuous replication first started and after it ends for good.
    pub consistent_at: Option<Millis>,
    pub last_snapshot: Option<Millis>,
    /// Bumped by every change that makes scheduled replication work stale.
    pub(super) epoch: u32,
    pub(super) cause: Option<StallCause>,
    /// The state PauseReplication interrupted.
    pub(super) paused_in: Option<DataReplicationState>,
    /// Bytes written and not replicated yet (BACKLOG).
    pub backlogged: u64,
    /// A rescan's start and end (RESCAN).
    pub rescan: Option<(Millis, Millis)>,
}

impl Replication {
    /// Replication of `spec`'s disks (one 20 GiB disk when it names none), not started.
    fn of(spec: &ServerSpec, sync_needed: Millis) -> Self {
        let mut disks: Vec<u64> = spec
            .volumes
            .iter()
            .map(|v| u64::from(v.size_gb) * GIB)
            .collect();
        if disks.is_empty() {
            disks.push(20 * GIB);
        }
        Self {
            state: DataReplicationState::Initiating,
            initiation: None,
            error: None,
            disks,
            totals_cleared: false,
            sync_needed,
            sync_done: 0,
            syncing_since: None,
            consistent_at: None,
            last_snapshot: None,
            epoch: 0,
            cause: None,
            paused_in: None,
            backlogged: 0,
            rescan: None,
        }
    }

    /// Bytes of each disk read again so far by a rescan.
    pub fn rescanned_bytes(&self, now: Millis) -> Vec<u64> {
        let share = self.rescan.map_or(0.0, |(from, to)| {
            ((now - from) as f64 / (to - from).max(1) as f64).clamp(0.0, 1.0)
        });
        self.total_bytes()
            .iter()
            .map(|&b| (b as f64 * share) as u64)
            .collect()
    }

    /// Each disk's total as replication reports it.
    pub fn total_bytes(&self) -> Vec<u64> {
        if self.totals_cleared {
            vec![0; self.disks.len()]
        } else {
            self.disks.clone()
        }
    }

    /// Bytes replicated of each disk.
    pub fn replicated_bytes(&self, now: Millis) -> Vec<u64> {
        let running = self.syncing_since.map_or(0, |since| now - since);
        let done = (self.sync_done + running).min(self.sync_needed) as f64;
        let share = if self.sync_needed > 0 {
            done / self.sync_needed as f64
        } else {
            1.0
        };
        self.total_bytes()
            .iter()
            .map(|&bytes| (bytes as f64 * share) as u64)
            .collect()
    }

    /// When the initial sync will be done, while it runs.
    pub fn eta(&self, now: Millis) -> Option<Millis> {
        self.syncing_since
            .map(|since| now + (self.sync_needed - self.sync_done - (now - since)).max(0))
    }

    /// The lag (ms) once continuous replication has started, `None` before.
    pub fn lag(&self, now: Millis, healthy_lag: Millis) -> Option<Millis> {
        let since = self.consistent_at?;
        Some(if self.state == DataReplicationState::Continuous {
            healthy_lag
        } else {
            healthy_lag + (now - since)
        })
    }

    /// What replication was doing stops here: the initial sync's progress is kept, and
    /// a continuous replication's lag counts from now.
    pub(super) fn interrupt(&mut self, now: Millis) {
        if let Some(since) = self.syncing_since.take() {
            self.sync_done = (self.sync_done + now - since).min(self.sync_needed);
        }
        if self.state == DataReplicationState::Continuous {
            self.consistent_at = Some(now);
        }
    }

    /// Forgets the copied data (replication stopped: snapshots deleted).
    pub(super) fn forget_data(&mut self) {
        self.sync_done = 0;
        self.syncing_since = None;
        self.consistent_at = None;
    }

    /// A step in progress of the current initiation, with its index.
    pub(super) fn step_in_progress(&self) -> Option<usize> {
        let (_, steps) = self.initiation.as_ref()?;
        steps
            .iter()
            .position(|(_, status)| *status == InitiationStepStatus::InProgress)
    }
}

/// A source server: what the agent reported and where MGN has taken it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceServer {
    pub id: String,
    pub arn: String,
    pub hints: Hints,
    pub user_provided_id: Option<String>,
    /// When the agent was installed and the server added; `None` until then.
    pub added: Option<Millis>,
    /// When the agent was lost for good.
    pub agent_lost: Option<Millis>,
    /// The agent reported (an imported server waits for it).
    pub agent_installed: bool,
    /// DeleteSourceServer removed it; its agent, if it comes, adds it no more.
    pub(super) deleted: bool,
    /// UpdateSourceServer's `connectorAction`, kept as given.
    pub connector_action: Option<Value>,
    pub archived: bool,
    pub tags: BTreeMap<String, String>,
    pub application_id: Option<String>,
    pub life_cycle: LifeCycleState,
    pub first_byte: Option<Millis>,
    pub last_test: LaunchRecord,
    pub last_cutover: LaunchRecord,
    pub replication: Replication,
    /// The instance the last launch made, with its job.
    pub launched_instance: Option<usize>,
    /// Its replication configuration's settings.
    pub replication_settings: Map<String, Value>,
    /// Its launch configuration's settings.
    pub launch_settings: Map<String, Value>,
    /// The EC2 launch template MGN made for it.
    pub ec2_launch_template: String,
    /// What the scenario says happens to it.
    pub(super) plan: MgnServerSpec,
    /// Launches and instances so far, by kind, to play the scenario's failures.
    pub(super) launches: LaunchCounts,
    /// READY_FOR_TEST was announced (only the first time is).
    pub(super) announced_ready: bool,
    /// What the last stalled-change event said.
    pub(super) announced_stalled: bool,
}

/// How many launches of each kind a server went through, and how many instances of
/// each kind it had checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct LaunchCounts {
    pub tests: u32,
    pub cutovers: u32,
    pub test_instances: u32,
    pub cutover_instances: u32,
}

pub(super) const GIB: u64 = 1 << 30;

impl SourceServer {
    pub(super) fn from_scenario(
        (id, arn): (String, String),
        spec: &ServerSpec,
        plan: &MgnServerSpec,
        settings: &MgnSettings,
        (vmware_uuid, ordinal): (String, usize),
    ) -> Self {
        let sync_secs = plan
            .initial_sync_secs
            .unwrap_or(settings.timing.initial_sync_secs);
        Self {
            arn,
            hints: Hints::of(spec, plan, settings, (vmware_uuid, ordinal)),
            user_provided_id: plan.user_provided_id.clone(),
            added: None,
            agent_lost: None,
            agent_installed: false,
            deleted: false,
            connector_action: None,
            archived: false,
            tags: BTreeMap::new(),
            application_id: None,
            life_cycle: LifeCycleState::NotReady,
            first_byte: None,
            last_test: LaunchRecord::default(),
            last_cutover: LaunchRecord::default(),
            replication: Replication::of(spec, secs(sync_secs)),
            launched_instance: None,
            replication_settings: Map::new(),
            launch_settings: Map::new(),
            ec2_launch_template: String::new(),
            plan: plan.clone(),
            launches: LaunchCounts::default(),
            announced_ready: false,
            announced_stalled: false,
            id,
        }
    }

    /// When MGN last heard from the agent.
    pub fn last_seen(&self, now: Millis) -> Option<Millis> {
        self.agent_installed.then(|| self.agent_lost.unwrap_or(now))
    }
}

/// The replication configuration's disks: the first boots, staging disks chosen by MGN.
fn replicated_disks(disks: &[u64]) -> Vec<Value> {
    (0..disks.len())
        .map(|k| {
            json!({
                "deviceName": device_name(k),
                "isBootDisk": k == 0,
                "stagingDiskType": "AUTO",
            })
        })
        .collect()
}

/// `/dev/sda`, `/dev/sdb`, … for a server's disks in order.
pub fn device_name(k: usize) -> String {
    let letter = char::from(b'a' + (k % 26) as u8);
    format!("/dev/sd{letter}")
}

impl Engine {
    /// The agent installed: the server added with its settings and launch template,
    /// what the scenario has in store for it scheduled, replication initiating.
    pub(super) fn install_agent(&mut self, server: usize) {
        if self.servers[server].deleted {
            return;
        }
        self.take_starting_settings(server);
        let now = self.now;
        let s = &mut self.servers[server];
        // An import may have listed it already, waiting for its agent.
        s.added.get_or_insert(now);
        s.agent_installed = true;
        s.life_cycle = LifeCycleState::NotReady;
        let s = &self.servers[server];
        let (template, hostname) = (s.ec2_launch_template.clone(), s.hints.hostname.clone());
        self.new_launch_template(&template, &hostname);
        self.schedule_scenario_events(server);
        self.begin_initiation(server);
    }

    /// The server's replication and launch configurations from the templates.
    fn take_starting_settings(&mut self, server: usize) {
        let mut replication = self.starting_settings(SettingsKind::Replication);
        let mut launch = self.starting_settings(SettingsKind::Launch);
        let template = format!("lt-{}", self.ids.hex(17));
        let s = &mut self.servers[server];
        replication.insert("name".into(), json!(s.hints.hostname));
        let disks = replicated_disks(&s.replication.disks);
        replication.insert("replicatedDisks".into(), json!(disks));
        launch.insert("name".into(), json!(s.hints.hostname));
        s.replication_settings = replication;
        s.launch_settings = launch;
        s.ec2_launch_template = template;
    }

    /// The scenario's stalls and lost agent for this server, at their times (which count
    /// from the scenario's start, as every scenario time does).
    fn schedule_scenario_events(&mut self, server: usize) {
        let plan = &self.servers[server].plan;
        let stalls: Vec<Millis> = plan
            .stalls
            .iter()
            .map(|stall| secs(stall.at_secs))
            .collect();
        let catch_ups: Vec<(CatchUp, usize, Millis, Millis)> = [
            (CatchUp::Backlog, &plan.backlogs),
            (CatchUp::Rescan, &plan.rescans),
        ]
        .into_iter()
        .flat_map(|(kind, list)| {
            list.iter().enumerate().map(move |(index, c)| {
                (
                    kind,
                    index,
                    secs(c.at_secs),
                    secs(c.at_secs.saturating_add(c.for_secs)),
                )
            })
        })
        .collect();
        let lost = plan.disconnect_at_secs.map(secs);
        let origin = self.start;
        for (stall, at) in stalls.into_iter().enumerate() {
            self.schedule_at(origin + at, Action::StallStarts { server, stall });
        }
        for (kind, index, from, to) in catch_ups {
            self.schedule_at(
                origin + from,
                Action::CatchUpStarts {
                    server,
                    kind,
                    index,
                },
            );
            self.schedule_at(origin + to, Action::CatchUpEnds { server, kind });
        }
        if let Some(at) = lost {
            self.schedule_at(origin + at, Action::AgentLost { server });
        }
    }

    /// Starts (again) the initiation sequence: every step not started, the first running.
    pub(super) fn begin_initiation(&mut self, server: usize) {
        let now = self.now;
        let r = &mut self.servers[server].replication;
        r.interrupt(now);
        r.epoch += 1;
        r.state = DataReplicationState::Initiating;
        r.error = None;
        let mut steps: Vec<_> = InitiationStepName::ALL
            .iter()
            .map(|&name| (name, InitiationStepStatus::NotStarted))
            .collect();
        steps[0].1 = InitiationStepStatus::InProgress;
        r.initiation = Some((now, steps));
        let epoch = r.epoch;
        let step = self.settings().timing.initiation_step_secs;
        self.schedule_in(step, Action::InitiationStep { server, epoch });
    }

    pub(super) fn initiation_step(&mut self, server: usize, epoch: u32) {
        let now = self.now;
        let r = &mut self.servers[server].replication;
        if r.epoch != epoch {
            return;
        }
        let Some(k) = r.step_in_progress() else {
            return;
        };
        let cause = r
            .cause
            .as_ref()
            .filter(|c| c.until.is_none_or(|until| until > now))
            .map(|c| c.error);
        let Some((_, steps)) = r.initiation.as_mut() else {
            return;
        };
        if let Some(error) = cause.filter(|&e| fails_step(e, steps[k].0)) {
            steps[k].1 = InitiationStepStatus::Failed;
            r.state = DataReplicationState::Stalled;
            r.error = Some(error);
            return;
        }
        steps[k].1 = InitiationStepStatus::Succeeded;
        if let Some(next) = steps.get_mut(k + 1) {
            next.1 = InitiationStepStatus::InProgress;
            let step = self.settings().timing.initiation_step_secs;
            self.schedule_in(step, Action::InitiationStep { server, epoch });
        } else {
            self.start_data_transfer(server);
        }
    }

    /// Initiation done: the initial sync goes on where it was, or, once done, replication
    /// is continuous again.
    fn start_data_transfer(&mut self, server: usize) {
        let now = self.now;
        let s = &mut self.servers[server];
        s.first_byte.get_or_insert(now);
        let r = &mut s.replication;
        if r.sync_done >= r.sync_needed {
            r.state = DataReplicationState::Continuous;
            r.consistent_at = Some(now);
            return;
        }
        r.state = DataReplicationState::InitialSync;
        r.syncing_since = Some(now);
        let remaining = r.sync_needed - r.sync_done;
        let epoch = r.epoch;
        self.schedule_at(now + remaining, Action::InitialSyncDone { server, epoch });
    }

    pub(super) fn initial_sync_done(&mut self, server: usize, epoch: u32) {
        let now = self.now;
        let snapshot = self.settings().timing.first_snapshot_secs;
        let r = &mut self.servers[server].replication;
        if r.epoch != epoch {
            return;
        }
        r.interrupt(now);
        r.sync_done = r.sync_needed;
        if snapshot == 0 {
            return self.first_snapshot_done(server, epoch);
        }
        r.state = DataReplicationState::CreatingSnapshot;
        self.schedule_in(snapshot, Action::FirstSnapshotDone { server, epoch });
    }

    /// The first snapshot taken: replication is continuous, the server READY_FOR_TEST.
    pub(super) fn first_snapshot_done(&mut self, server: usize, epoch: u32) {
        let now = self.now;
        let s = &mut self.servers[server];
        let r = &mut s.replication;
        if r.epoch != epoch {
            return;
        }
        r.state = DataReplicationState::Continuous;
        r.consistent_at = Some(now);
        r.last_snapshot = Some(now);
        if s.life_cycle == LifeCycleState::NotReady {
            s.life_cycle = LifeCycleState::ReadyForTest;
            self.announce_ready_for_test(server);
        }
    }
}

/// The step a stall's error fails: the initiation step it names, else the data transfer.
fn failing_step(error: DataReplicationError) -> InitiationStepName {
    let named = error
        .as_str()
        .strip_prefix("FAILED_TO_")
        .and_then(InitiationStepName::parse);
    named.unwrap_or(InitiationStepName::StartDataTransfer)
}

/// Whether the stall's cause makes this initiation step fail.
fn fails_step(error: DataReplicationError, step: InitiationStepName) -> bool {
    failing_step(error) == step
}

/// Replication is under way (a stall or a pause can interrupt it).
pub(super) fn is_replicating(state: DataReplicationState) -> bool {
    use DataReplicationState as S;
    matches!(
        state,
        S::Initiating
            | S::InitialSync
            | S::Backlog
            | S::CreatingSnapshot
            | S::Continuous
            | S::Rescan
    )
}
