//! Launch and terminate jobs, their log, and the EC2 instances they make. StartTest and
//! StartCutover create a LAUNCH job (PENDING, then STARTED, then COMPLETED) and move
//! each server to TESTING or CUTTING_OVER; a COMPLETED job holds each server's own
//! result, LAUNCHED or FAILED. A launch first cleans up the server's previous test
//! instance. TerminateTargetInstances creates a TERMINATE job. An instance's status checks
//! are `initializing`, then `ok`, or `impaired` where the scenario says so.

use std::collections::BTreeMap;

use crate::mgn::error::{ErrorDetail, MgnError};
use crate::mgn::model::{
    DataReplicationState, InitiatedBy, JobLogEvent, JobStatus, JobType, LaunchStatus,
    LifeCycleState,
};
use crate::scenario::{CutoverFrom, ReadyForCutover};
use crate::schedule::Millis;

use super::{Action, Engine, Placement};

/// Test or cutover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchKind {
    Test,
    Cutover,
}

/// A server taking part in a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub server_id: String,
    pub launch_status: LaunchStatus,
    pub instance_id: Option<String>,
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLogItem {
    pub at: Millis,
    pub event: JobLogEvent,
    pub server_id: Option<String>,
    pub target_instance_id: Option<String>,
    pub raw_error: Option<String>,
}

/// A launch or terminate job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub arn: String,
    pub job_type: JobType,
    pub initiated_by: InitiatedBy,
    pub created: Millis,
    pub ended: Option<Millis>,
    pub status: JobStatus,
    pub participants: Vec<Participant>,
    pub tags: BTreeMap<String, String>,
    pub log: Vec<JobLogItem>,
    /// DeleteJob removed it from the listings.
    pub deleted: bool,
}

impl Job {
    /// The participant `server_id`, if it takes part.
    pub fn participant(&self, server_id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.server_id == server_id)
    }
}

/// An instance's status checks, as DescribeInstanceStatus reports both of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceChecks {
    Initializing,
    Ok,
    Impaired,
}

/// An EC2 instance a launch made.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub server_id: String,
    pub job_id: String,
    pub kind: LaunchKind,
    pub launched: Millis,
    pub terminated: Option<Millis>,
    pub checks: InstanceChecks,
    /// What the checks settle to once initialized.
    settles_to: InstanceChecks,
    /// Where it runs, from its template's default version.
    pub placement: Placement,
    pub private_ip: String,
}

const SOURCE_SERVER: &str = "SOURCE_SERVER";

impl Engine {
    /// StartTest / StartCutover: every server must be able to launch, or the call is
    /// refused as a whole with a ConflictException naming each server refused and why.
    pub(crate) fn start_launch(
        &mut self,
        kind: LaunchKind,
        ids: &[String],
        tags: BTreeMap<String, String>,
    ) -> Result<&Job, MgnError> {
        let refused: Vec<ErrorDetail> = ids
            .iter()
            .filter_map(|id| self.launch_refusal(kind, id).err())
            .collect();
        if !refused.is_empty() {
            let call = if kind == LaunchKind::Test {
                "StartTest"
            } else {
                "StartCutover"
            };
            return Err(MgnError::conflicts(
                format!(
                    "{call}: {} of {} source servers cannot launch",
                    refused.len(),
                    ids.len()
                ),
                refused,
            ));
        }
        let initiated_by = match kind {
            LaunchKind::Test => InitiatedBy::StartTest,
            LaunchKind::Cutover => InitiatedBy::StartCutover,
        };
        let job = self.new_job(JobType::Launch, initiated_by, ids, tags);
        let now = self.now;
        let job_id = self.jobs[job].id.clone();
        for id in ids {
            let index = self.server_by_id[id.as_str()];
            let s = &mut self.servers[index];
            match kind {
                LaunchKind::Test => {
                    s.last_test.start(now, &job_id);
                    s.life_cycle = LifeCycleState::Testing;
                }
                LaunchKind::Cutover => {
                    s.last_cutover.start(now, &job_id);
                    s.life_cycle = LifeCycleState::CuttingOver;
                }
            }
        }
        Ok(&self.jobs[job])
    }

    /// Why the server `id` cannot take part in a launch of `kind`, if it cannot.
    fn launch_refusal(&self, kind: LaunchKind, id: &str) -> Result<(), ErrorDetail> {
        let refuse = |code: &'static str, message: String| ErrorDetail {
            code,
            message,
            resource_id: id.to_owned(),
            resource_type: SOURCE_SERVER,
        };
        let index = self
            .server_index(id)
            .map_err(|_| refuse("NOT_FOUND", format!("source server {id} does not exist")))?;
        let s = &self.servers[index];
        if s.archived {
            return Err(refuse("ARCHIVED", format!("{id} is archived")));
        }
        let replicating = s.replication.consistent_at.is_some()
            && !matches!(
                s.replication.state,
                DataReplicationState::Disconnected | DataReplicationState::Stopped
            );
        if !replicating {
            return Err(refuse(
                "NOT_REPLICATING",
                format!("{id} has no continuous replication to launch from"),
            ));
        }
        use LifeCycleState as L;
        let strict_cutover = self.settings().readings.cutover_from == CutoverFrom::ReadyForCutover;
        let allowed = match kind {
            LaunchKind::Test => matches!(
                s.life_cycle,
                L::ReadyForTest | L::Testing | L::ReadyForCutover
            ),
            LaunchKind::Cutover => {
                matches!(s.life_cycle, L::ReadyForCutover | L::CuttingOver)
                    || (!strict_cutover && s.life_cycle == L::ReadyForTest)
            }
        };
        if !allowed {
            return Err(refuse(
                "INVALID_LIFE_CYCLE_STATE",
                format!("{id} is {}", s.life_cycle),
            ));
        }
        Ok(())
    }

    fn new_job(
        &mut self,
        job_type: JobType,
        initiated_by: InitiatedBy,
        ids: &[String],
        tags: BTreeMap<String, String>,
    ) -> usize {
        let id = self.new_id("mgnjob-");
        let job = Job {
            arn: self.arn("job", &id),
            job_type,
            initiated_by,
            created: self.now,
            ended: None,
            status: JobStatus::Pending,
            participants: ids
                .iter()
                .map(|server_id| Participant {
                    server_id: server_id.clone(),
                    launch_status: LaunchStatus::Pending,
                    instance_id: None,
                })
                .collect(),
            tags,
            log: Vec::new(),
            deleted: false,
            id,
        };
        let index = self.jobs.len();
        self.job_by_id.insert(job.id.clone(), index);
        self.jobs.push(job);
        let pending = self.settings().timing.job_pending_secs;
        self.schedule_in(pending, Action::JobStarts { job: index });
        index
    }

    fn log(&mut self, job: usize, event: JobLogEvent, server_id: Option<&str>) -> &mut JobLogItem {
        let at = self.now;
        let log = &mut self.jobs[job].log;
        log.push(JobLogItem {
            at,
            event,
            server_id: server_id.map(str::to_owned),
            target_instance_id: None,
            raw_error: None,
        });
        let last = log.len() - 1;
        &mut log[last]
    }

    pub(super) fn job_starts(&mut self, job: usize) {
        self.jobs[job].status = JobStatus::Started;
        self.log(job, JobLogEvent::JobStart, None);
        let ids: Vec<String> = self.jobs[job]
            .participants
            .iter()
            .map(|p| p.server_id.clone())
            .collect();
        let launching = self.jobs[job].job_type == JobType::Launch;
        for (k, id) in ids.iter().enumerate() {
            self.jobs[job].participants[k].launch_status = LaunchStatus::InProgress;
            if launching {
                self.clean_up_test_instance(job, id);
                for event in [
                    JobLogEvent::SnapshotStart,
                    JobLogEvent::SnapshotEnd,
                    JobLogEvent::ConversionStart,
                    JobLogEvent::ConversionEnd,
                    JobLogEvent::LaunchStart,
                ] {
                    self.log(job, event, Some(id));
                }
            }
        }
        let took = if launching {
            self.settings().timing.launch_secs
        } else {
            self.settings().timing.terminate_secs
        };
        self.schedule_in(took, Action::JobCompletes { job });
    }

    /// A new launch deletes the server's previous test instance first (the user guide).
    fn clean_up_test_instance(&mut self, job: usize, server_id: &str) {
        let index = self.server_by_id[server_id];
        let Some(instance) = self.servers[index].launched_instance else {
            return;
        };
        let i = &self.instances[instance];
        if i.kind != LaunchKind::Test || i.terminated.is_some() {
            return;
        }
        self.log(job, JobLogEvent::CleanupStart, Some(server_id));
        self.instances[instance].terminated = Some(self.now);
        self.servers[index].launched_instance = None;
        self.log(job, JobLogEvent::CleanupEnd, Some(server_id));
    }

    pub(super) fn job_completes(&mut self, job: usize) {
        let count = self.jobs[job].participants.len();
        for k in 0..count {
            let id = self.jobs[job].participants[k].server_id.clone();
            let kind = match self.jobs[job].initiated_by {
                InitiatedBy::StartTest => Some(LaunchKind::Test),
                InitiatedBy::StartCutover => Some(LaunchKind::Cutover),
                InitiatedBy::Terminate | InitiatedBy::Diagnostic => None,
            };
            let (status, instance) = match kind {
                Some(kind) => {
                    let launched = self.launch_one(job, &id, kind);
                    let job_id = self.jobs[job].id.clone();
                    let server = self.server_by_id[id.as_str()];
                    self.announce_launch(
                        server,
                        kind,
                        &job_id,
                        launched.0 == LaunchStatus::Launched,
                    );
                    launched
                }
                None => (self.terminate_one(&id), None),
            };
            let p = &mut self.jobs[job].participants[k];
            p.launch_status = status;
            p.instance_id = instance;
        }
        let now = self.now;
        let j = &mut self.jobs[job];
        j.status = JobStatus::Completed;
        j.ended = Some(now);
        self.log(job, JobLogEvent::JobEnd, None);
    }

    /// Launches one server's instance, or fails it where the scenario says so.
    /// Launches one server's instance, or fails it where the scenario or the account says.
    fn launch_one(
        &mut self,
        job: usize,
        id: &str,
        kind: LaunchKind,
    ) -> (LaunchStatus, Option<String>) {
        let index = self.server_by_id[id];
        let placement = match self.launch_placement(index, kind) {
            Ok(placement) => placement,
            Err(error) => {
                let item = self.log(job, JobLogEvent::LaunchFailed, Some(id));
                item.raw_error = Some(error);
                return (LaunchStatus::Failed, None);
            }
        };
        let instance = self.new_instance(job, index, kind, placement);
        let now = self.now;
        let by_itself = self.settings.readings.ready_for_cutover == ReadyForCutover::ByItself;
        let s = &mut self.servers[index];
        s.launched_instance = Some(instance);
        if kind == LaunchKind::Test && by_itself && s.life_cycle == LifeCycleState::Testing {
            s.life_cycle = LifeCycleState::ReadyForCutover;
            s.last_test.finalized = Some(now);
        }
        let checks = self.settings().timing.status_checks_secs;
        self.schedule_in(checks, Action::ChecksSettle { instance });
        (
            LaunchStatus::Launched,
            Some(self.instances[instance].id.clone()),
        )
    }

    /// Where this launch puts the instance, unless the scenario fails it first.
    fn launch_placement(&mut self, index: usize, kind: LaunchKind) -> Result<Placement, String> {
        let s = &mut self.servers[index];
        let (done, failures) = match kind {
            LaunchKind::Test => (&mut s.launches.tests, s.plan.test_launch_failures),
            LaunchKind::Cutover => (&mut s.launches.cutovers, s.plan.cutover_launch_failures),
        };
        *done += 1;
        if *done <= failures {
            return Err("the target instance failed to launch (scenario)".to_owned());
        }
        self.placement(index)
    }

    /// The instance a launch made, its checks to settle as the scenario says.
    fn new_instance(
        &mut self,
        job: usize,
        index: usize,
        kind: LaunchKind,
        placement: Placement,
    ) -> usize {
        let s = &mut self.servers[index];
        let (checked, impaired) = match kind {
            LaunchKind::Test => (
                &mut s.launches.test_instances,
                s.plan.impaired_test_instances,
            ),
            LaunchKind::Cutover => (
                &mut s.launches.cutover_instances,
                s.plan.impaired_cutover_instances,
            ),
        };
        *checked += 1;
        let settles_to = if *checked <= impaired {
            InstanceChecks::Impaired
        } else {
            InstanceChecks::Ok
        };
        let instance = self.instances.len();
        let copy_private_ip =
            s.launch_settings.get("copyPrivateIp") == Some(&serde_json::json!(true));
        let private_ip = if copy_private_ip {
            s.hints.ip_address.clone()
        } else {
            format!(
                "172.31.{}.{}",
                (instance >> 8) & 0xff,
                (instance & 0xff).max(4)
            )
        };
        let server_id = s.id.clone();
        let id = format!("i-{}", self.ids.hex(17));
        self.instances.push(Instance {
            id,
            server_id,
            job_id: self.jobs[job].id.clone(),
            kind,
            launched: self.now,
            terminated: None,
            checks: InstanceChecks::Initializing,
            settles_to,
            placement,
            private_ip,
        });
        instance
    }

    pub(super) fn checks_settle(&mut self, instance: usize) {
        let i = &mut self.instances[instance];
        if i.terminated.is_none() {
            i.checks = i.settles_to;
        }
    }

    /// TerminateTargetInstances: refused as a whole for any server TESTING, CUTTING_OVER
    /// or CUTOVER (the model); a TERMINATE job ends each server's launched instance.
    pub(crate) fn terminate_target_instances(
        &mut self,
        ids: &[String],
        tags: BTreeMap<String, String>,
    ) -> Result<&Job, MgnError> {
        let refused: Vec<ErrorDetail> = ids
            .iter()
            .filter_map(|id| {
                let problem = match self.server_index(id) {
                    Err(_) => Some(("NOT_FOUND", format!("source server {id} does not exist"))),
                    Ok(index) => {
                        let state = self.servers[index].life_cycle;
                        matches!(
                            state,
                            LifeCycleState::Testing
                                | LifeCycleState::CuttingOver
                                | LifeCycleState::Cutover
                        )
                        .then(|| ("INVALID_LIFE_CYCLE_STATE", format!("{id} is {state}")))
                    }
                };
                problem.map(|(code, message)| ErrorDetail {
                    code,
                    message,
                    resource_id: id.clone(),
                    resource_type: SOURCE_SERVER,
                })
            })
            .collect();
        if !refused.is_empty() {
            return Err(MgnError::conflicts(
                format!(
                    "TerminateTargetInstances: {} of {} source servers cannot have their instances terminated",
                    refused.len(),
                    ids.len()
                ),
                refused,
            ));
        }
        let job = self.new_job(JobType::Terminate, InitiatedBy::Terminate, ids, tags);
        Ok(&self.jobs[job])
    }

    /// Terminates a server's launched instance.
    fn terminate_one(&mut self, id: &str) -> LaunchStatus {
        let index = self.server_by_id[id];
        if let Some(instance) = self.servers[index].launched_instance.take() {
            let i = &mut self.instances[instance];
            i.terminated.get_or_insert(self.now);
        }
        LaunchStatus::Terminated
    }
}
