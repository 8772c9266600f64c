//! Replication jobs: CreateReplicationJob, UpdateReplicationJob, DeleteReplicationJob
//! and StartOnDemandReplicationRun, with the checks and quotas the service applied.
//!
//! What a job then does on its own (seeding, runs, failures) is in `runs.rs`.

use serde::{Deserialize, Serialize};

use super::{secs, Action, Engine, Millis, Run, DAY};
use crate::scenario::CreateWhileDeleting;
use crate::sms::protocol::{ApiError, ErrorCode, JobState, LicenseType, RunState, RunType};

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
    /// When it became DELETED.
    #[serde(default)]
    pub deleted_at: Option<Millis>,
    /// Every state it entered, with when: what happened, whether announced or not.
    #[serde(default)]
    pub history: Vec<(Millis, JobState)>,
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

/// Parameters of CreateReplicationJob.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewJob {
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

/// A server's `ServerReplicationParameters` in an app's replication configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplicationParameters {
    /// Seed time; StartAppReplication's time when absent.
    pub seed_time: Option<Millis>,
    /// Hours between runs.
    pub frequency: Option<i32>,
    /// Single run.
    pub run_once: bool,
    /// License type.
    pub license_type: Option<LicenseType>,
    /// AMIs to keep.
    pub keep_amis: Option<i32>,
    /// Encrypted.
    pub encrypted: bool,
    /// KMS key.
    pub kms_key_id: Option<String>,
}

impl NewJob {
    /// The job StartAppReplication creates for a member server at `now`.
    pub(super) fn for_app_member(server_id: &str, p: ReplicationParameters, now: Millis) -> Self {
        NewJob {
            server_id: server_id.into(),
            seed_time: p.seed_time.unwrap_or(now),
            frequency: p.frequency,
            run_once: p.run_once,
            license_type: p.license_type,
            role_name: None,
            description: None,
            keep_amis: p.keep_amis,
            encrypted: p.encrypted,
            kms_key_id: p.kms_key_id,
        }
    }
}

/// Parameters of UpdateReplicationJob.
#[derive(Debug, Clone, Default)]
pub(crate) struct JobUpdate {
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

impl Engine {
    /// CreateReplicationJob.
    pub(crate) fn create_job(&mut self, p: NewJob) -> Result<String, ApiError> {
        let (idx, freq) = self.admit_job(&p)?;
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
            deleted_at: None,
            history: vec![(self.now, JobState::Pending)],
        });
        self.job_by_id.insert(id.clone(), job);
        self.servers[idx].job_id = Some(id.clone());
        self.servers[idx].job_terminated = false;
        self.emit(job, JobState::Pending, None);
        self.schedule(p.seed_time, Action::JobSeed { job, epoch: 0 });
        Ok(id)
    }

    /// The checks of CreateReplicationJob, in the service's order: the server's index
    /// and the job's frequency, or why no job.
    fn admit_job(&self, p: &NewJob) -> Result<(usize, i32), ApiError> {
        let idx = self.catalog_server_index(&p.server_id)?;
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
        self.server_takes_job(idx)?;
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
        let live = self.live_job_count();
        if live >= self.cfg.limits.max_concurrent_jobs {
            return Err(ApiError::not_permitted(format!(
                "You have reached the limit of {} concurrent replication jobs; \
                 delete or complete jobs before creating more",
                self.cfg.limits.max_concurrent_jobs
            )));
        }
        Ok((idx, freq))
    }

    /// Whether a new job may take the server: its days of replication are not used up,
    /// and it has no job yet or its last one is DELETED. A job still DELETING holds it,
    /// answered as the scenario's reading says.
    pub(super) fn server_takes_job(&self, idx: usize) -> Result<(), ApiError> {
        let server = &self.servers[idx];
        if server.usage_over {
            return Err(ApiError::not_permitted(format!(
                "Server {} reached the limit of {} days of replication",
                server.id, self.cfg.limits.replication_days_per_server
            )));
        }
        let Some(existing) = &server.job_id else {
            return Ok(());
        };
        let state = self.job_by_id.get(existing).map(|&j| self.jobs[j].state);
        let deleting = match state {
            Some(JobState::Deleted) | None => return Ok(()),
            Some(JobState::Deleting) => true,
            Some(_) => false,
        };
        if deleting && self.cfg.readings.create_while_deleting == CreateWhileDeleting::NotPermitted
        {
            return Err(ApiError::not_permitted(format!(
                "The replication job {existing} of server {} is being deleted",
                server.id
            )));
        }
        Err(ApiError::new(
            ErrorCode::ReplicationJobAlreadyExists,
            format!(
                "A replication job ({existing}) already exists for server {}",
                server.id
            ),
        ))
    }

    /// Jobs counting against the concurrency quota.
    pub(super) fn live_job_count(&self) -> usize {
        self.jobs.iter().filter(|j| j.state.is_live()).count()
    }

    /// Index of a job that exists and is not deleted.
    fn live_job_index(&self, id: &str) -> Option<usize> {
        self.job_by_id
            .get(id)
            .copied()
            .filter(|&j| self.jobs[j].state != JobState::Deleted)
    }

    /// A job that exists and is not DELETED (a DELETING one included).
    pub(crate) fn live_job(&self, id: &str) -> Option<&Job> {
        self.live_job_index(id).map(|j| &self.jobs[j])
    }

    /// Whether GetReplicationJobs lists the job: a DELETED job stays listed for
    /// `deleted_job_listing_secs`, as the guide's sample lists one.
    pub(crate) fn is_listed(&self, job: &Job) -> bool {
        match job.deleted_at {
            Some(at) => self.now < at + secs(self.cfg.timing.deleted_job_listing_secs),
            None => true,
        }
    }

    /// A job GetReplicationJobs lists.
    pub(crate) fn listed_job(&self, id: &str) -> Option<&Job> {
        let job = &self.jobs[*self.job_by_id.get(id)?];
        self.is_listed(job).then_some(job)
    }

    /// Every job ever created, deleted ones included, in creation order.
    pub(crate) fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    fn job_not_found(id: &str) -> ApiError {
        ApiError::new(
            ErrorCode::ReplicationJobNotFound,
            format!("Replication job {id} does not exist"),
        )
    }

    /// UpdateReplicationJob.
    pub(crate) fn update_job(&mut self, id: &str, u: JobUpdate) -> Result<(), ApiError> {
        let job = self
            .live_job_index(id)
            .ok_or_else(|| Self::job_not_found(id))?;
        if let Some(f) = u.frequency {
            if !(1..=24).contains(&f) {
                return Err(ApiError::invalid(format!(
                    "frequency must be between 1 and 24 hours, got {f}"
                )));
            }
        }
        if matches!(
            self.jobs[job].state,
            JobState::Completed | JobState::Failed | JobState::Deleting
        ) {
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
            self.reschedule(job, at.max(now));
        }
        Ok(())
    }

    /// Moves a job's next run to `at`: its seed run while PENDING, else the next automatic one.
    fn reschedule(&mut self, job: usize, at: Millis) {
        let j = &mut self.jobs[job];
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

    /// DeleteReplicationJob: DELETING at once, DELETED `deletion_secs` later. The
    /// server keeps the job's id, `replicationJobTerminated` from now on; the AMIs stay.
    pub(crate) fn delete_job(&mut self, id: &str) -> Result<(), ApiError> {
        let job = self
            .live_job_index(id)
            .ok_or_else(|| Self::job_not_found(id))?;
        if self.jobs[job].state == JobState::Deleting {
            return Err(ApiError::not_permitted(format!(
                "Replication job {id} is already being deleted"
            )));
        }
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
            self.servers[server].job_terminated = true;
        }
        self.set_job_state(job, JobState::Deleting, None);
        let at = self.now + secs(self.cfg.timing.deletion_secs);
        self.schedule(at, Action::JobDeleted { job });
        Ok(())
    }

    /// The deletion's time came: DELETING -> DELETED.
    pub(super) fn finish_deletion(&mut self, job: usize) {
        if self.jobs[job].state == JobState::Deleting {
            self.jobs[job].deleted_at = Some(self.now);
            self.set_job_state(job, JobState::Deleted, None);
        }
    }

    /// StartOnDemandReplicationRun.
    pub(crate) fn start_on_demand(
        &mut self,
        id: &str,
        description: Option<String>,
    ) -> Result<String, ApiError> {
        let job = self
            .live_job_index(id)
            .ok_or_else(|| ApiError::invalid(format!("Replication job {id} does not exist")))?;
        let now = self.now;
        let limit = self.cfg.limits.on_demand_runs_per_24h;
        let j = &self.jobs[job];
        match j.state {
            JobState::Completed | JobState::Failed | JobState::Deleting => {
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

    /// The current job of a server: its last one, unless that is being or was deleted.
    pub(crate) fn job_of(&self, server_id: &str) -> Option<&Job> {
        self.named_job_of(server_id)
            .filter(|job| !job.state.is_deleted())
    }

    /// The job a server names, whatever its state (a DELETING or DELETED one included).
    pub(super) fn named_job_of(&self, server_id: &str) -> Option<&Job> {
        let s = &self.servers[*self.server_by_id.get(server_id)?];
        self.jobs.get(*self.job_by_id.get(s.job_id.as_ref()?)?)
    }

    /// The latest AMI of a server's current job.
    pub(super) fn latest_ami_of(&self, server_id: &str) -> Option<String> {
        self.job_of(server_id)?.latest_ami.clone()
    }
}
