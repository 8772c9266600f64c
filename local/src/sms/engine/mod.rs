//! The emulated service's state and the state machines the simulated clock drives.
//!
//! Everything asynchronous in SMS (catalog import, job seeding, runs, failures,
//! launches) is an entry in one time-ordered queue. `Engine::advance_to` pops due
//! entries in (time, insertion) order, so the same calls and the same advances always
//! produce the same states, ids and events. Entries carry an epoch where a later call
//! can cancel them (a rescheduled or deleted job, a terminated app); stale entries are
//! skipped when popped rather than searched for and removed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use crate::rng::SplitMix64;
use crate::sms::events::{JobStateChangeDetail, SmsEvent, DETAIL_TYPE, SOURCE};
use crate::sms::protocol::{
    ApiError, AppLaunchStatus, AppReplicationStatus, AppStatus, CatalogStatus, ConnectorStatus,
    ErrorCode, JobState, LicenseType, RunState, RunType, VmManagerType,
};

pub(crate) mod templates;
use crate::scenario::{uuid_like, AfterFailures, Scenario};

/// Milliseconds since the Unix epoch on the simulated clock.
pub type Millis = i64;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;
/// A runaway schedule must not hang `advance`; no real scenario gets near this.
const MAX_STEPS_PER_ADVANCE: usize = 50_000_000;

/// A Server Migration Connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorState {
    /// Connector id.
    pub id: String,
    /// Manager it watches.
    pub vm_manager_name: String,
    /// Manager type.
    pub vm_manager_type: VmManagerType,
    /// Manager id.
    pub vm_manager_id: String,
    /// Appliance address.
    pub ip_address: String,
    /// Software version.
    pub version: String,
    /// Absolute UNHEALTHY periods [from, to).
    pub unhealthy: Vec<(Millis, Millis)>,
    /// Removed by DisassociateConnector.
    pub disassociated: bool,
    /// When it was associated.
    pub associated_on: Millis,
}

impl ConnectorState {
    /// Health at `now`.
    pub fn status(&self, now: Millis) -> ConnectorStatus {
        if self.unhealthy.iter().any(|(a, b)| (*a..*b).contains(&now)) {
            ConnectorStatus::Unhealthy
        } else {
            ConnectorStatus::Healthy
        }
    }
}

/// An on-premises VM of the scenario (whether or not a catalog import has seen it yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerState {
    /// Server id.
    pub id: String,
    /// VM name.
    pub vm_name: String,
    /// Inventory path.
    pub vm_path: String,
    /// Manager name.
    pub vm_manager_name: String,
    /// Manager's id for the VM.
    pub vm_id: String,
    /// When it becomes visible to an import.
    pub appears_at: Millis,
    /// Run duration.
    pub replication_ms: Millis,
    /// Failed runs per job before the job gives up.
    pub fail_runs: u32,
    /// Where a job that gave up ends.
    pub after_failures: AfterFailures,
    /// Refused by CreateReplicationJob.
    pub unreplicable: bool,
    /// Disk sizes, GiB.
    pub volumes_gb: Vec<u32>,
    /// Current job, if any (cleared by DeleteReplicationJob).
    pub job_id: Option<String>,
    /// A job existed and was deleted.
    pub job_terminated: bool,
    /// The app it belongs to.
    pub app_id: Option<String>,
}

/// The server catalog as ImportServerCatalog left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Status.
    pub status: CatalogStatus,
    /// When the last import completed.
    pub last_modified: Option<Millis>,
    /// Indices (scenario order) of the servers the last import exposed.
    pub visible: Vec<usize>,
    /// When a running import completes.
    pub import_done_at: Option<Millis>,
}

/// A replication run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Run id.
    pub id: String,
    /// State.
    pub state: RunState,
    /// AUTOMATIC or ON_DEMAND.
    pub run_type: RunType,
    /// When it was scheduled to start.
    pub scheduled_start: Millis,
    /// When it went ACTIVE.
    pub active_since: Option<Millis>,
    /// When it will finish (complete or fail).
    pub finish_at: Option<Millis>,
    /// When it completed.
    pub completed: Option<Millis>,
    /// AMI produced.
    pub ami_id: Option<String>,
    /// Caller's description (on-demand runs).
    pub description: Option<String>,
    /// Status message.
    pub status_message: Option<String>,
    /// Decided at creation from the scenario's fail_runs.
    pub will_fail: bool,
    /// Encryption setting inherited from the job.
    pub encrypted: bool,
    /// KMS key inherited from the job.
    pub kms_key_id: Option<String>,
}

/// A replication job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Job id.
    pub id: String,
    /// Server id.
    pub server_id: String,
    /// Index of the server.
    pub server_idx: usize,
    /// seedReplicationTime.
    pub seed_time: Millis,
    /// Hours between runs.
    pub frequency_hours: i32,
    /// Single run.
    pub run_once: bool,
    /// License type.
    pub license_type: Option<LicenseType>,
    /// IAM role name.
    pub role_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// AMIs to keep (0 keeps all).
    pub keep_amis: i32,
    /// Encrypted AMIs.
    pub encrypted: bool,
    /// KMS key.
    pub kms_key_id: Option<String>,
    /// State.
    pub state: JobState,
    /// Status message.
    pub status_message: Option<String>,
    /// Next automatic run.
    pub next_run_start: Option<Millis>,
    /// Latest AMI.
    pub latest_ami: Option<String>,
    /// AMIs still kept, oldest first.
    pub amis: Vec<String>,
    /// Runs, oldest first.
    pub runs: Vec<Run>,
    /// Times of on-demand run requests.
    pub on_demand_at: Vec<Millis>,
    /// Injected failures used so far.
    pub failed_runs: u32,
    /// Creation time.
    pub created: Millis,
    /// Invalidates queued seed / next-run entries.
    pub schedule_epoch: u32,
    /// Invalidates queued end-of-FAILING entries.
    pub fail_epoch: u32,
}

impl Job {
    /// The run currently PENDING or ACTIVE.
    pub fn run_in_progress(&self) -> Option<&Run> {
        self.runs
            .iter()
            .rev()
            .find(|r| matches!(r.state, RunState::Pending | RunState::Active))
    }

    /// Completed time of the latest completed run.
    pub fn latest_completion(&self) -> Option<Millis> {
        self.runs.iter().filter_map(|r| r.completed).max()
    }
}

/// A server group of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Member server ids.
    pub server_ids: Vec<String>,
}

/// Stack details of a launched app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchDetails {
    /// Last launch time.
    pub latest_launch_time: Millis,
    /// CloudFormation stack name.
    pub stack_name: String,
    /// CloudFormation stack id.
    pub stack_id: String,
}

/// Whether the app's replication was started or stopped through the app API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppReplication {
    /// Never started through StartAppReplication (members may still have jobs).
    NotStarted,
    /// StartAppReplication was called.
    Started,
    /// StopAppReplication was called.
    Stopped,
}

/// An SMS application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// App id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Role name.
    pub role_name: Option<String>,
    /// Tags, in the caller's order.
    pub tags: Vec<(String, String)>,
    /// Server groups.
    pub groups: Vec<Group>,
    /// Creation time.
    pub created: Millis,
    /// Last modification.
    pub last_modified: Millis,
    /// ACTIVE or DELETED.
    pub status: AppStatus,
    /// Launch configuration as put (wire JSON, appId removed).
    pub launch_config: Option<serde_json::Value>,
    /// Replication configuration as put (wire JSON, appId removed).
    pub replication_config: Option<serde_json::Value>,
    /// Launch status.
    pub launch_status: AppLaunchStatus,
    /// Launch status message.
    pub launch_status_message: Option<String>,
    /// Stack details once launched.
    pub launch_details: Option<LaunchDetails>,
    /// AMI per server at the last launch (GenerateChangeSet compares against it).
    pub launched_amis: BTreeMap<String, String>,
    /// App-level replication switch.
    pub replication: AppReplication,
    /// Invalidates queued launch / terminate entries.
    pub epoch: u32,
}

impl App {
    /// Every member server id, group by group.
    pub fn server_ids(&self) -> impl Iterator<Item = &String> {
        self.groups.iter().flat_map(|g| g.server_ids.iter())
    }
}

/// An object the emulator wrote into the local S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenObject {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    CatalogImported,
    JobSeed { job: usize, epoch: u32 },
    NextRun { job: usize, epoch: u32 },
    RunActivate { job: usize, run: usize },
    RunFinish { job: usize, run: usize },
    FailingOver { job: usize, epoch: u32 },
    LaunchStep { app: usize, epoch: u32 },
    TerminateDone { app: usize, epoch: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: Millis,
    seq: u64,
    action: Action,
}

/// The emulated SMS service: state plus the time-ordered queue of pending work.
pub struct Engine {
    pub(crate) cfg: Scenario,
    pub(crate) now: Millis,
    ids: SplitMix64,
    event_ids: SplitMix64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    pub(crate) catalog: Catalog,
    pub(crate) connectors: Vec<ConnectorState>,
    pub(crate) servers: Vec<ServerState>,
    pub(crate) server_by_id: HashMap<String, usize>,
    pub(crate) jobs: Vec<Job>,
    pub(crate) job_by_id: HashMap<String, usize>,
    pub(crate) apps: Vec<App>,
    pub(crate) app_by_id: HashMap<String, usize>,
    events: Vec<SmsEvent>,
    subscribers: Vec<UnboundedSender<SmsEvent>>,
    pruned_amis: Vec<String>,
    pub(crate) written: Vec<WrittenObject>,
    pub(crate) s3_root: Option<PathBuf>,
}

/// Formats simulated milliseconds as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Simulated milliseconds as the epoch seconds SMS puts on the wire.
pub fn epoch_secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

fn secs(s: u64) -> Millis {
    Millis::try_from(s.saturating_mul(1000)).unwrap_or(Millis::MAX / 4)
}

impl Engine {
    /// Builds the initial state of a scenario (apps created, catalog not imported).
    pub fn new(mut cfg: Scenario, s3_root: Option<PathBuf>) -> Self {
        cfg.normalise();
        let start = cfg.start_time.timestamp_millis();
        let connectors = cfg
            .connectors
            .iter()
            .map(|c| ConnectorState {
                id: c.id.clone().unwrap_or_default(),
                vm_manager_name: c.vm_manager_name.clone(),
                vm_manager_type: VmManagerType::parse(&c.vm_manager_type)
                    .unwrap_or(VmManagerType::Vsphere),
                vm_manager_id: c.vm_manager_id.clone().unwrap_or_default(),
                ip_address: c.ip_address.clone(),
                version: c.version.clone(),
                unhealthy: c
                    .unhealthy
                    .iter()
                    .map(|p| (start + secs(p.from_secs), start + secs(p.to_secs)))
                    .collect(),
                disassociated: false,
                associated_on: start,
            })
            .collect();
        let default_ms = secs(cfg.timing.default_replication_secs).max(1);
        let servers: Vec<ServerState> = cfg
            .servers
            .iter()
            .map(|s| ServerState {
                id: s.id.clone().unwrap_or_default(),
                vm_name: s.vm_name.clone(),
                vm_path: s.vm_path.clone().unwrap_or_default(),
                vm_manager_name: s.vm_manager_name.clone().unwrap_or_default(),
                vm_id: s.vm_id.clone().unwrap_or_default(),
                appears_at: start + secs(s.appears_at_secs),
                replication_ms: s.replication_secs.map(secs).unwrap_or(default_ms).max(1),
                fail_runs: s.fail_runs,
                after_failures: s.after_failures,
                unreplicable: s.unreplicable,
                volumes_gb: s.volumes.iter().map(|v| v.size_gb).collect(),
                job_id: None,
                job_terminated: false,
                app_id: None,
            })
            .collect();
        let server_by_id = servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let mut engine = Engine {
            now: start,
            ids: SplitMix64::new(cfg.seed),
            event_ids: SplitMix64::new(cfg.seed ^ 0xe7e7_e7e7),
            seq: 0,
            queue: BinaryHeap::new(),
            catalog: Catalog {
                status: CatalogStatus::NotImported,
                last_modified: None,
                visible: Vec::new(),
                import_done_at: None,
            },
            connectors,
            servers,
            server_by_id,
            jobs: Vec::new(),
            job_by_id: HashMap::new(),
            apps: Vec::new(),
            app_by_id: HashMap::new(),
            events: Vec::new(),
            subscribers: Vec::new(),
            pruned_amis: Vec::new(),
            written: Vec::new(),
            s3_root,
            cfg,
        };
        engine.create_scenario_apps();
        engine
    }

    fn create_scenario_apps(&mut self) {
        let specs = self.cfg.apps.clone();
        for spec in specs {
            let by_name: HashMap<&str, &str> = self
                .servers
                .iter()
                .map(|s| (s.vm_name.as_str(), s.id.as_str()))
                .collect();
            let groups: Vec<(String, Vec<String>)> = spec
                .groups
                .iter()
                .map(|g| {
                    let ids = g
                        .servers
                        .iter()
                        .filter_map(|n| by_name.get(n.as_str()).map(|s| s.to_string()))
                        .collect();
                    (g.name.clone(), ids)
                })
                .collect();
            let tags = spec.tags.clone().into_iter().collect();
            let app_idx = self.insert_app(
                spec.name.clone(),
                spec.description.clone(),
                None,
                tags,
                groups,
            );
            if let Some(launch) = &spec.launch {
                let app = &self.apps[app_idx];
                let groups: Vec<serde_json::Value> = app
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(gi, g)| {
                        let order = spec
                            .groups
                            .get(gi)
                            .and_then(|s| s.launch_order)
                            .unwrap_or(gi as i32 + 1);
                        let servers: Vec<serde_json::Value> = g
                            .server_ids
                            .iter()
                            .map(|sid| {
                                let mut v = serde_json::json!({
                                    "server": {"serverId": sid},
                                    "instanceType": launch.instance_type,
                                    "subnet": launch.subnet,
                                    "securityGroup": launch.security_group,
                                });
                                if let (Some(vpc), Some(obj)) = (&launch.vpc, v.as_object_mut()) {
                                    obj.insert("vpc".into(), vpc.clone().into());
                                }
                                v
                            })
                            .collect();
                        serde_json::json!({
                            "serverGroupId": g.id,
                            "launchOrder": order,
                            "serverLaunchConfigurations": servers,
                        })
                    })
                    .collect();
                let app = &mut self.apps[app_idx];
                app.launch_config = Some(serde_json::json!({
                    "autoLaunch": false,
                    "serverGroupLaunchConfigurations": groups,
                }));
                app.launch_status = AppLaunchStatus::ReadyForLaunch;
            }
        }
    }

    /// Adds an app; `groups` are (name, member server ids). Returns its index.
    pub(crate) fn insert_app(
        &mut self,
        name: String,
        description: Option<String>,
        role_name: Option<String>,
        tags: Vec<(String, String)>,
        groups: Vec<(String, Vec<String>)>,
    ) -> usize {
        let id = format!("app-{}", self.ids.hex(17));
        let groups: Vec<Group> = groups
            .into_iter()
            .map(|(name, server_ids)| Group {
                id: format!("sg-{}", self.ids.hex(17)),
                name,
                server_ids,
            })
            .collect();
        for sid in groups.iter().flat_map(|g| g.server_ids.iter()) {
            if let Some(&i) = self.server_by_id.get(sid) {
                self.servers[i].app_id = Some(id.clone());
            }
        }
        let idx = self.apps.len();
        self.apps.push(App {
            id: id.clone(),
            name,
            description,
            role_name,
            tags,
            groups,
            created: self.now,
            last_modified: self.now,
            status: AppStatus::Active,
            launch_config: None,
            replication_config: None,
            launch_status: AppLaunchStatus::ReadyForConfiguration,
            launch_status_message: None,
            launch_details: None,
            launched_amis: BTreeMap::new(),
            replication: AppReplication::NotStarted,
            epoch: 0,
        });
        self.app_by_id.insert(id, idx);
        idx
    }

    /// Fresh id with a prefix and `n` hex digits.
    pub(crate) fn new_id(&mut self, prefix: &str, n: usize) -> String {
        format!("{prefix}{}", self.ids.hex(n))
    }

    /// The simulated clock.
    pub fn now(&self) -> Millis {
        self.now
    }

    fn schedule(&mut self, at: Millis, action: Action) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: at.max(self.now),
            seq: self.seq,
            action,
        }));
    }

    /// Runs every transition due up to `target`, in time order, then sets the clock there.
    pub fn advance_to(&mut self, target: Millis) {
        let mut steps = 0usize;
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at > target || steps >= MAX_STEPS_PER_ADVANCE {
                break;
            }
            steps += 1;
            let Some(Reverse(item)) = self.queue.pop() else {
                break;
            };
            self.now = self.now.max(item.at);
            self.handle(item.action);
        }
        if steps >= MAX_STEPS_PER_ADVANCE {
            tracing::warn!(steps, "advance stopped early: too many scheduled steps");
        }
        self.now = self.now.max(target);
    }

    /// Registers an event subscriber; it sees events emitted from now on.
    pub fn subscribe(&mut self, tx: UnboundedSender<SmsEvent>) {
        self.subscribers.push(tx);
    }

    /// Every event emitted so far, in order.
    pub fn events(&self) -> &[SmsEvent] {
        &self.events
    }

    /// A serializable copy of everything.
    pub fn snapshot(&self) -> StateSnapshot {
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

    fn emit(&mut self, job: usize, state: JobState, ami_id: Option<String>) {
        let j = &self.jobs[job];
        let run_id = j.runs.last().map(|r| r.id.clone()).unwrap_or_default();
        let event = SmsEvent {
            version: "0".into(),
            id: uuid_like(&mut self.event_ids),
            detail_type: DETAIL_TYPE.into(),
            source: SOURCE.into(),
            account: self.cfg.account.clone(),
            time: rfc3339(self.now),
            region: self.cfg.region.clone(),
            resources: Vec::new(),
            detail: JobStateChangeDetail {
                state: state.as_str().into(),
                replication_job_id: j.id.clone(),
                replication_run_id: run_id,
                ami_id,
                version: "1.0".into(),
            },
        };
        self.subscribers.retain(|tx| tx.send(event.clone()).is_ok());
        self.events.push(event);
    }

    fn set_job_state(&mut self, job: usize, state: JobState, message: Option<String>) {
        let j = &mut self.jobs[job];
        j.status_message = message;
        if j.state != state {
            j.state = state;
            self.emit(job, state, None);
        }
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::CatalogImported => self.finish_import(),
            Action::JobSeed { job, epoch } => {
                let j = &self.jobs[job];
                if j.schedule_epoch == epoch && j.state == JobState::Pending {
                    self.jobs[job].next_run_start = None;
                    self.set_job_state(job, JobState::Active, None);
                    self.start_run(job, RunType::Automatic, None);
                }
            }
            Action::NextRun { job, epoch } => {
                let j = &self.jobs[job];
                if j.schedule_epoch != epoch || j.state != JobState::Active {
                    return;
                }
                self.jobs[job].next_run_start = None;
                if self.jobs[job].run_in_progress().is_some() {
                    // An on-demand run is still going: this slot is skipped, the next one kept.
                    self.schedule_next_run(job, self.now);
                } else {
                    self.start_run(job, RunType::Automatic, None);
                }
            }
            Action::RunActivate { job, run } => self.activate_run(job, run),
            Action::RunFinish { job, run } => self.finish_run(job, run),
            Action::FailingOver { job, epoch } => {
                let j = &self.jobs[job];
                if j.fail_epoch != epoch || j.state != JobState::Failing {
                    return;
                }
                let server = &self.servers[j.server_idx];
                if j.failed_runs >= server.fail_runs {
                    let (state, message) = match server.after_failures {
                        AfterFailures::Paused => (
                            JobState::PausedOnFailure,
                            "Replication paused after repeated run failures; start an on-demand run to resume",
                        ),
                        AfterFailures::Failed => (
                            JobState::Failed,
                            "Replication failed: the server could not be replicated after repeated attempts",
                        ),
                    };
                    self.jobs[job].next_run_start = None;
                    self.jobs[job].schedule_epoch += 1;
                    self.set_job_state(job, state, Some(message.into()));
                } else {
                    self.start_run(job, RunType::Automatic, None);
                }
            }
            Action::LaunchStep { app, epoch } => {
                if self.apps[app].epoch != epoch {
                    return;
                }
                match self.apps[app].launch_status {
                    AppLaunchStatus::LaunchPending => {
                        self.apps[app].launch_status = AppLaunchStatus::LaunchInProgress;
                        self.apps[app].launch_status_message = None;
                        let at = self.now + secs(self.cfg.timing.launch_secs);
                        self.schedule(at, Action::LaunchStep { app, epoch });
                    }
                    AppLaunchStatus::LaunchInProgress => self.finish_launch(app),
                    _ => {}
                }
            }
            Action::TerminateDone { app, epoch } => {
                let a = &mut self.apps[app];
                if a.epoch == epoch && a.launch_status == AppLaunchStatus::TerminateInProgress {
                    a.launch_status = AppLaunchStatus::Terminated;
                    a.launch_status_message = None;
                    a.last_modified = self.now;
                }
            }
        }
    }

    fn finish_import(&mut self) {
        if self.catalog.status != CatalogStatus::Importing {
            return;
        }
        let now = self.now;
        let visible: Vec<usize> = self
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.appears_at <= now)
            .filter(|(_, s)| {
                self.connectors
                    .iter()
                    .any(|c| !c.disassociated && c.vm_manager_name == s.vm_manager_name)
            })
            .map(|(i, _)| i)
            .collect();
        self.catalog = Catalog {
            status: CatalogStatus::Available,
            last_modified: Some(now),
            visible,
            import_done_at: None,
        };
    }

    fn finish_launch(&mut self, app: usize) {
        let amis: BTreeMap<String, String> = self.apps[app]
            .server_ids()
            .filter_map(|sid| Some((sid.clone(), self.latest_ami_of(sid)?)))
            .collect();
        let region = self.cfg.region.clone();
        let account = self.cfg.account.clone();
        let suffix = uuid_like(&mut self.ids);
        let a = &mut self.apps[app];
        let stack_name = format!("sms-app-{}", a.id.trim_start_matches("app-"));
        a.launch_details = Some(LaunchDetails {
            latest_launch_time: self.now,
            stack_id: format!(
                "arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{suffix}"
            ),
            stack_name,
        });
        a.launch_status = AppLaunchStatus::Launched;
        a.launch_status_message = None;
        a.launched_amis = amis;
        a.last_modified = self.now;
    }

    /// The latest AMI of a server's current job.
    pub(crate) fn latest_ami_of(&self, server_id: &str) -> Option<String> {
        let s = &self.servers[*self.server_by_id.get(server_id)?];
        let j = &self.jobs[*self.job_by_id.get(s.job_id.as_ref()?)?];
        j.latest_ami.clone()
    }

    /// The current job of a server.
    pub(crate) fn job_of(&self, server_id: &str) -> Option<&Job> {
        let s = &self.servers[*self.server_by_id.get(server_id)?];
        self.jobs.get(*self.job_by_id.get(s.job_id.as_ref()?)?)
    }

    fn start_run(&mut self, job: usize, run_type: RunType, description: Option<String>) -> String {
        let id = self.new_id("sms-run-", 17);
        let j = &mut self.jobs[job];
        let fail_runs = self.servers[j.server_idx].fail_runs;
        let pending_failures = j
            .runs
            .iter()
            .filter(|r| r.will_fail && matches!(r.state, RunState::Pending | RunState::Active))
            .count() as u32;
        let will_fail = j.failed_runs + pending_failures < fail_runs;
        j.runs.push(Run {
            id: id.clone(),
            state: RunState::Pending,
            run_type,
            scheduled_start: self.now,
            active_since: None,
            finish_at: None,
            completed: None,
            ami_id: None,
            description,
            status_message: None,
            will_fail,
            encrypted: j.encrypted,
            kms_key_id: j.kms_key_id.clone(),
        });
        let run = j.runs.len() - 1;
        let at = self.now + secs(self.cfg.timing.run_start_delay_secs);
        self.schedule(at, Action::RunActivate { job, run });
        id
    }

    fn activate_run(&mut self, job: usize, run: usize) {
        let duration = self.servers[self.jobs[job].server_idx].replication_ms;
        let now = self.now;
        let Some(r) = self.jobs[job].runs.get_mut(run) else {
            return;
        };
        if r.state != RunState::Pending {
            return;
        }
        r.state = RunState::Active;
        r.active_since = Some(now);
        // Injected failures strike halfway, after some progress, as real ones did.
        let finish = if r.will_fail {
            now + (duration / 2).max(1)
        } else {
            now + duration
        };
        r.finish_at = Some(finish);
        self.schedule(finish, Action::RunFinish { job, run });
    }

    fn finish_run(&mut self, job: usize, run: usize) {
        let now = self.now;
        let Some(r) = self.jobs[job].runs.get(run) else {
            return;
        };
        if r.state != RunState::Active {
            return;
        }
        if r.will_fail {
            let j = &mut self.jobs[job];
            j.runs[run].state = RunState::Failed;
            j.runs[run].status_message = Some(
                "Replication run failed: the connector lost the VM snapshot (injected)".into(),
            );
            j.failed_runs += 1;
            j.fail_epoch += 1;
            let epoch = j.fail_epoch;
            self.set_job_state(
                job,
                JobState::Failing,
                Some("The latest replication run failed".into()),
            );
            let at = now + secs(self.cfg.timing.failing_secs);
            self.schedule(at, Action::FailingOver { job, epoch });
            return;
        }
        let ami = self.new_id("ami-", 17);
        let j = &mut self.jobs[job];
        let r = &mut j.runs[run];
        r.state = RunState::Completed;
        r.completed = Some(now);
        r.ami_id = Some(ami.clone());
        r.status_message = None;
        let scheduled_start = r.scheduled_start;
        j.latest_ami = Some(ami.clone());
        j.amis.push(ami.clone());
        if j.keep_amis > 0 {
            let keep = j.keep_amis as usize;
            while j.amis.len() > keep {
                let old = j.amis.remove(0);
                self.pruned_amis.push(old);
            }
        }
        let j = &mut self.jobs[job];
        if j.run_once {
            j.state = JobState::Completed;
            j.status_message = None;
            j.next_run_start = None;
            j.schedule_epoch += 1;
            self.emit(job, JobState::Completed, Some(ami));
            return;
        }
        self.emit(job, JobState::Completed, Some(ami));
        if self.jobs[job].state == JobState::Failing {
            self.jobs[job].fail_epoch += 1;
            self.set_job_state(job, JobState::Active, None);
        } else {
            self.jobs[job].status_message = None;
        }
        if self.jobs[job].next_run_start.is_none() {
            self.schedule_next_run(job, scheduled_start);
        }
    }

    fn schedule_next_run(&mut self, job: usize, from: Millis) {
        let j = &mut self.jobs[job];
        let freq = Millis::from(j.frequency_hours.max(1)) * HOUR;
        let mut at = from + freq;
        // A run longer than the frequency pushes the next slot out rather than stacking runs.
        while at <= self.now {
            at += freq;
        }
        j.next_run_start = Some(at);
        let epoch = j.schedule_epoch;
        self.schedule(at, Action::NextRun { job, epoch });
    }

    /// Whether some connector watching `manager` is HEALTHY now.
    pub(crate) fn manager_healthy(&self, manager: &str) -> bool {
        self.connectors.iter().any(|c| {
            !c.disassociated
                && c.vm_manager_name == manager
                && c.status(self.now) == ConnectorStatus::Healthy
        })
    }

    // ---- operations on the state (wire parsing lives in ops.rs) ----

    /// ImportServerCatalog.
    pub fn import_catalog(&mut self) -> Result<(), ApiError> {
        let any_healthy = self
            .connectors
            .iter()
            .any(|c| !c.disassociated && c.status(self.now) == ConnectorStatus::Healthy);
        if !any_healthy {
            return Err(ApiError::new(
                ErrorCode::NoConnectorsAvailable,
                "There are no HEALTHY connectors associated with this account",
            ));
        }
        if self.catalog.status == CatalogStatus::Importing {
            // Already importing: the call is accepted and joins the running import.
            return Ok(());
        }
        self.catalog.status = CatalogStatus::Importing;
        let at = self.now + secs(self.cfg.timing.catalog_import_secs);
        self.catalog.import_done_at = Some(at);
        self.schedule(at, Action::CatalogImported);
        Ok(())
    }

    /// DeleteServerCatalog.
    pub fn delete_catalog(&mut self) {
        self.catalog = Catalog {
            status: CatalogStatus::Deleted,
            last_modified: Some(self.now),
            visible: Vec::new(),
            import_done_at: None,
        };
    }

    /// DisassociateConnector.
    pub fn disassociate_connector(&mut self, id: &str) -> Result<(), ApiError> {
        let c = self
            .connectors
            .iter_mut()
            .find(|c| c.id == id && !c.disassociated)
            .ok_or_else(|| ApiError::invalid(format!("Connector {id} does not exist")))?;
        c.disassociated = true;
        Ok(())
    }

    /// Index of a server the catalog exposes, or InvalidParameterException.
    pub(crate) fn catalog_server(&self, server_id: &str) -> Result<usize, ApiError> {
        match self.server_by_id.get(server_id) {
            Some(&i) if self.catalog.visible.contains(&i) => Ok(i),
            _ => Err(ApiError::invalid(format!(
                "Server {server_id} does not exist in the server catalog"
            ))),
        }
    }

    /// CreateReplicationJob.
    pub fn create_job(&mut self, p: NewJob) -> Result<String, ApiError> {
        let idx = self.catalog_server(&p.server_id)?;
        let server = &self.servers[idx];
        if server.unreplicable {
            return Err(ApiError::new(
                ErrorCode::ServerCannotBeReplicated,
                format!(
                    "Server {} cannot be replicated: its disk configuration is not supported",
                    p.server_id
                ),
            ));
        }
        if let Some(existing) = &server.job_id {
            return Err(ApiError::new(
                ErrorCode::ReplicationJobAlreadyExists,
                format!(
                    "A replication job ({existing}) already exists for server {}",
                    p.server_id
                ),
            ));
        }
        if !self.manager_healthy(&server.vm_manager_name.clone()) {
            return Err(ApiError::new(
                ErrorCode::NoConnectorsAvailable,
                format!(
                    "No HEALTHY connector is available for server {} (vm manager {})",
                    p.server_id, server.vm_manager_name
                ),
            ));
        }
        let freq = match p.frequency {
            Some(f) if !(1..=24).contains(&f) => {
                return Err(ApiError::invalid(format!(
                    "frequency must be between 1 and 24 hours, got {f}"
                )))
            }
            Some(f) => f,
            None => self.cfg.limits.default_frequency_hours as i32,
        };
        if let Some(k) = p.keep_amis {
            if k < 0 {
                return Err(ApiError::invalid(
                    "numberOfRecentAmisToKeep must not be negative",
                ));
            }
        }
        let live = self.jobs.iter().filter(|j| j.state.is_live()).count();
        if live >= self.cfg.limits.max_concurrent_jobs {
            return Err(ApiError::not_permitted(format!(
                "You have reached the limit of {} concurrent replication jobs; \
                 delete or complete jobs before creating more",
                self.cfg.limits.max_concurrent_jobs
            )));
        }
        let id = self.new_id("sms-job-", 17);
        let job = self.jobs.len();
        self.jobs.push(Job {
            id: id.clone(),
            server_id: p.server_id.clone(),
            server_idx: idx,
            seed_time: p.seed_time,
            frequency_hours: freq,
            run_once: p.run_once,
            license_type: p.license_type,
            role_name: p.role_name,
            description: p.description,
            keep_amis: p.keep_amis.unwrap_or(0),
            encrypted: p.encrypted,
            kms_key_id: p.kms_key_id,
            state: JobState::Pending,
            status_message: None,
            next_run_start: Some(p.seed_time.max(self.now)),
            latest_ami: None,
            amis: Vec::new(),
            runs: Vec::new(),
            on_demand_at: Vec::new(),
            failed_runs: 0,
            created: self.now,
            schedule_epoch: 0,
            fail_epoch: 0,
        });
        self.job_by_id.insert(id.clone(), job);
        self.servers[idx].job_id = Some(id.clone());
        self.servers[idx].job_terminated = false;
        self.emit(job, JobState::Pending, None);
        self.schedule(p.seed_time, Action::JobSeed { job, epoch: 0 });
        Ok(id)
    }

    /// A job that exists and is not deleted.
    pub(crate) fn live_job(&self, id: &str) -> Option<usize> {
        self.job_by_id
            .get(id)
            .copied()
            .filter(|&j| self.jobs[j].state != JobState::Deleted)
    }

    /// UpdateReplicationJob.
    pub fn update_job(&mut self, id: &str, u: JobUpdate) -> Result<(), ApiError> {
        let job = self.live_job(id).ok_or_else(|| {
            ApiError::new(
                ErrorCode::ReplicationJobNotFound,
                format!("Replication job {id} does not exist"),
            )
        })?;
        if let Some(f) = u.frequency {
            if !(1..=24).contains(&f) {
                return Err(ApiError::invalid(format!(
                    "frequency must be between 1 and 24 hours, got {f}"
                )));
            }
        }
        if matches!(self.jobs[job].state, JobState::Completed | JobState::Failed) {
            return Err(ApiError::not_permitted(format!(
                "Replication job {id} is {} and cannot be updated",
                self.jobs[job].state
            )));
        }
        let now = self.now;
        let j = &mut self.jobs[job];
        if let Some(f) = u.frequency {
            j.frequency_hours = f;
        }
        if let Some(v) = u.license_type {
            j.license_type = Some(v);
        }
        if let Some(v) = u.role_name {
            j.role_name = Some(v);
        }
        if let Some(v) = u.description {
            j.description = Some(v);
        }
        if let Some(v) = u.keep_amis {
            if v < 0 {
                return Err(ApiError::invalid(
                    "numberOfRecentAmisToKeep must not be negative",
                ));
            }
            j.keep_amis = v;
        }
        if let Some(v) = u.encrypted {
            j.encrypted = v;
        }
        if let Some(v) = u.kms_key_id {
            j.kms_key_id = Some(v);
        }
        if let Some(at) = u.next_run_start {
            let at = at.max(now);
            j.schedule_epoch += 1;
            j.next_run_start = Some(at);
            let epoch = j.schedule_epoch;
            let action = if j.state == JobState::Pending {
                j.seed_time = at;
                Action::JobSeed { job, epoch }
            } else {
                Action::NextRun { job, epoch }
            };
            self.schedule(at, action);
        }
        Ok(())
    }

    /// DeleteReplicationJob.
    pub fn delete_job(&mut self, id: &str) -> Result<(), ApiError> {
        let job = self.live_job(id).ok_or_else(|| {
            ApiError::new(
                ErrorCode::ReplicationJobNotFound,
                format!("Replication job {id} does not exist"),
            )
        })?;
        let j = &mut self.jobs[job];
        for r in &mut j.runs {
            if matches!(r.state, RunState::Pending | RunState::Active) {
                r.state = RunState::Deleted;
            }
        }
        j.schedule_epoch += 1;
        j.fail_epoch += 1;
        j.next_run_start = None;
        let server = j.server_idx;
        if self.servers[server].job_id.as_deref() == Some(id) {
            self.servers[server].job_id = None;
            self.servers[server].job_terminated = true;
        }
        self.set_job_state(job, JobState::Deleted, None);
        Ok(())
    }

    /// StartOnDemandReplicationRun.
    pub fn start_on_demand(
        &mut self,
        id: &str,
        description: Option<String>,
    ) -> Result<String, ApiError> {
        let job = self
            .live_job(id)
            .ok_or_else(|| ApiError::invalid(format!("Replication job {id} does not exist")))?;
        let now = self.now;
        let limit = self.cfg.limits.on_demand_runs_per_24h;
        let j = &self.jobs[job];
        match j.state {
            JobState::Completed | JobState::Failed => {
                return Err(ApiError::not_permitted(format!(
                    "Replication job {id} is {}; on-demand runs are not allowed",
                    j.state
                )))
            }
            _ => {}
        }
        if let Some(r) = j.run_in_progress() {
            return Err(ApiError::not_permitted(format!(
                "Replication run {} of job {id} is still in progress",
                r.id
            )));
        }
        let recent = j.on_demand_at.iter().filter(|t| now - **t < DAY).count();
        if recent >= limit {
            return Err(ApiError::new(
                ErrorCode::ReplicationRunLimitExceeded,
                format!(
                    "Replication job {id} already had {recent} on-demand runs in the last 24 hours (limit {limit})"
                ),
            ));
        }
        let j = &mut self.jobs[job];
        j.on_demand_at.push(now);
        j.fail_epoch += 1;
        let was = j.state;
        if was == JobState::Pending {
            // The seed run is replaced by this one; later runs follow the frequency.
            j.schedule_epoch += 1;
            j.next_run_start = None;
        }
        if matches!(was, JobState::Pending | JobState::PausedOnFailure) {
            self.set_job_state(job, JobState::Active, None);
        }
        Ok(self.start_run(job, RunType::OnDemand, description))
    }

    /// The replication status of an app, derived from its members' jobs.
    pub(crate) fn app_replication_status(&self, app: &App) -> AppReplicationStatus {
        if app.replication == AppReplication::Stopped {
            return AppReplicationStatus::ReplicationStopped;
        }
        let members: Vec<&String> = app.server_ids().collect();
        let jobs: Vec<Option<&Job>> = members.iter().map(|s| self.job_of(s)).collect();
        if jobs.iter().all(Option::is_none) {
            return if app.replication_config.is_some() {
                AppReplicationStatus::ReadyForReplication
            } else {
                AppReplicationStatus::ReadyForConfiguration
            };
        }
        if jobs
            .iter()
            .flatten()
            .any(|j| matches!(j.state, JobState::Failed | JobState::PausedOnFailure))
        {
            return AppReplicationStatus::ReplicationFailed;
        }
        let with_ami = jobs
            .iter()
            .flatten()
            .filter(|j| j.latest_ami.is_some())
            .count();
        if with_ami == members.len() {
            AppReplicationStatus::Replicated
        } else if with_ami > 0 {
            AppReplicationStatus::PartiallyReplicated
        } else {
            AppReplicationStatus::ReplicationInProgress
        }
    }

    /// Member servers of an app that have no completed run yet.
    pub(crate) fn members_without_ami(&self, app: &App) -> Vec<String> {
        app.server_ids()
            .filter(|s| self.latest_ami_of(s).is_none())
            .cloned()
            .collect()
    }

    /// LaunchApp.
    pub fn launch_app(&mut self, app: usize) -> Result<(), ApiError> {
        let a = &self.apps[app];
        if matches!(
            a.launch_status,
            AppLaunchStatus::LaunchPending
                | AppLaunchStatus::LaunchInProgress
                | AppLaunchStatus::Launched
                | AppLaunchStatus::TerminateInProgress
        ) {
            return Err(ApiError::not_permitted(format!(
                "App {} cannot be launched while its launch status is {}",
                a.id, a.launch_status
            )));
        }
        if a.server_ids().next().is_none() {
            return Err(ApiError::not_permitted(format!(
                "App {} has no servers",
                a.id
            )));
        }
        let missing = self.members_without_ami(a);
        if !missing.is_empty() {
            return Err(ApiError::not_permitted(format!(
                "App {} cannot be launched: servers without a completed replication run: {}",
                a.id,
                missing.join(", ")
            )));
        }
        let at = self.now + secs(self.cfg.timing.launch_pending_secs);
        let a = &mut self.apps[app];
        a.epoch += 1;
        a.launch_status = AppLaunchStatus::LaunchPending;
        a.launch_status_message = None;
        a.last_modified = self.now;
        let epoch = a.epoch;
        self.schedule(at, Action::LaunchStep { app, epoch });
        Ok(())
    }

    /// TerminateApp.
    pub fn terminate_app(&mut self, app: usize) -> Result<(), ApiError> {
        let a = &self.apps[app];
        if !matches!(
            a.launch_status,
            AppLaunchStatus::Launched
                | AppLaunchStatus::LaunchPending
                | AppLaunchStatus::LaunchInProgress
        ) {
            return Err(ApiError::not_permitted(format!(
                "App {} is not launched (launch status {})",
                a.id, a.launch_status
            )));
        }
        let at = self.now + secs(self.cfg.timing.terminate_secs);
        let a = &mut self.apps[app];
        a.epoch += 1;
        a.launch_status = AppLaunchStatus::TerminateInProgress;
        a.last_modified = self.now;
        let epoch = a.epoch;
        self.schedule(at, Action::TerminateDone { app, epoch });
        Ok(())
    }

    /// Records and writes an object into the local S3 directory.
    pub(crate) fn write_object(
        &mut self,
        bucket: &str,
        key: &str,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let root = self.s3_root.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::InternalError, "the local S3 is not running")
        })?;
        let bucket_dir = root.join(bucket);
        if !bucket_dir.is_dir() {
            return Err(ApiError::invalid(format!(
                "S3 bucket {bucket} does not exist"
            )));
        }
        let path = bucket_dir.join(key);
        let io = |e: std::io::Error| {
            ApiError::new(
                ErrorCode::InternalError,
                format!("writing s3://{bucket}/{key}: {e}"),
            )
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Write then rename so the S3 server never serves a half-written template.
        let tmp = root.join(format!(".sms-emulator-{}.tmp", self.seq));
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        self.written.push(WrittenObject {
            bucket: bucket.into(),
            key: key.into(),
        });
        Ok(())
    }
}

/// Parameters of CreateReplicationJob.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    /// Server id.
    pub server_id: String,
    /// Seed time.
    pub seed_time: Millis,
    /// Hours between runs.
    pub frequency: Option<i32>,
    /// Single run.
    pub run_once: bool,
    /// License type.
    pub license_type: Option<LicenseType>,
    /// Role.
    pub role_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// AMIs to keep.
    pub keep_amis: Option<i32>,
    /// Encrypted.
    pub encrypted: bool,
    /// KMS key.
    pub kms_key_id: Option<String>,
}

/// Parameters of UpdateReplicationJob.
#[derive(Debug, Clone, Default)]
pub struct JobUpdate {
    /// Hours between runs.
    pub frequency: Option<i32>,
    /// Next run.
    pub next_run_start: Option<Millis>,
    /// License type.
    pub license_type: Option<LicenseType>,
    /// Role.
    pub role_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// AMIs to keep.
    pub keep_amis: Option<i32>,
    /// Encrypted.
    pub encrypted: Option<bool>,
    /// KMS key.
    pub kms_key_id: Option<String>,
}
