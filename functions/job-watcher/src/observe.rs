//! What the watcher looks at: on its schedule, the jobs of one sweep that can change
//! what it decides (the rest are counted and let go a page at a time, so a sweep over
//! 100,000 jobs holds the few it acts on); on an SMS event, the one job it names.

use autopilot_core::config::JobWatcherConfig;
use autopilot_core::expiry;
use autopilot_core::failures::{Coverage, FailureSnapshot};
use autopilot_core::model::{JobId, ReplicationJob};
use autopilot_core::runtime::Context;
use autopilot_core::sms_api;
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use chrono::{DateTime, Utc};

/// Completed runs one invocation announces at most; a sweep finding more leaves the
/// rest unannounced in the snapshot, and the next sweep announces them. It bounds the
/// outbox, and with it the memory and the time of one invocation, when a whole estate
/// completes its runs between two sweeps.
pub const RUN_ANNOUNCEMENTS_PER_INVOCATION: usize = 5_000;

/// The jobs an invocation looked at, and how much of the account they cover.
pub struct Observation {
    pub trigger: String,
    /// The jobs that matter to this invocation's decisions.
    pub jobs: Vec<ReplicationJob>,
    pub coverage: Coverage,
    /// Jobs the service listed, kept or not.
    pub listed: usize,
    /// Completed runs left unannounced for the next sweep.
    pub runs_deferred: usize,
}

/// A schedule sweeps every job; an SMS event reads the one job it names.
pub async fn observe(
    context: &Context<JobWatcherConfig>,
    incoming: Incoming,
    snapshot: &FailureSnapshot,
    now: DateTime<Utc>,
) -> Result<Observation, AutopilotError> {
    if incoming.is_schedule() {
        let mut relevance = Relevance {
            snapshot,
            now,
            warn_days: context.config.expiry_warning_days,
            announcing: 0,
            deferred: 0,
        };
        let mut jobs = Vec::new();
        let swept = sms_api::replication_jobs_each(&context.sms, |job| {
            if relevance.keeps(&job) {
                jobs.push(job);
            }
        })
        .await?;
        return Ok(Observation {
            trigger: "schedule".to_owned(),
            jobs,
            coverage: Coverage::Complete,
            listed: swept.items,
            runs_deferred: relevance.deferred,
        });
    }
    let Some(change) = incoming.sms_job_state_change() else {
        return Err(incoming
            .unexpected("scheduled events and aws.sms Server Migration Job State Change events"));
    };
    let change = change?;
    let job_id = JobId::from(change.replication_job_id.as_str());
    if job_id.as_str().is_empty() {
        return Err(AutopilotError::InvalidEvent(
            "SMS job state change without replication-job-id".into(),
        ));
    }
    // The event says what changed; the job's current state says what is true now
    // (events arrive late, twice and out of order).
    let jobs: Vec<_> = sms_api::replication_job(&context.sms, &job_id)
        .await?
        .into_iter()
        .collect();
    Ok(Observation {
        trigger: format!("{} {}", change.state, job_id),
        listed: jobs.len(),
        jobs,
        coverage: Coverage::Partial,
        runs_deferred: 0,
    })
}

/// Decides which swept jobs the invocation keeps: those failing or remembered as
/// failed, those of a server waiting for its job to be recreated, those whose
/// replication is about to expire unwarned, and those with a completed run not yet
/// announced (up to [`RUN_ANNOUNCEMENTS_PER_INVOCATION`]). A job let go is one about
/// which the snapshot already says everything: as a complete sweep, the kept jobs
/// still name every remembered failure and recreation that is listed.
struct Relevance<'a> {
    snapshot: &'a FailureSnapshot,
    now: DateTime<Utc>,
    warn_days: u32,
    announcing: usize,
    deferred: usize,
}

impl Relevance<'_> {
    fn keeps(&mut self, job: &ReplicationJob) -> bool {
        let snapshot = self.snapshot;
        let unannounced = job
            .latest_completed_run()
            .is_some_and(|run| snapshot.announced_runs.get(&job.id) != Some(&run.id));
        let needed = job.state.is_failure()
            || snapshot.failures.contains_key(&job.id)
            || snapshot.pending_recreations.contains_key(&job.server_id)
            || self.expiring(job);
        if needed {
            self.announcing += usize::from(unannounced);
            return true;
        }
        if !unannounced {
            return false;
        }
        if self.announcing < RUN_ANNOUNCEMENTS_PER_INVOCATION {
            self.announcing += 1;
            true
        } else {
            self.deferred += 1;
            false
        }
    }

    fn expiring(&self, job: &ReplicationJob) -> bool {
        let due = expiry::expiring(
            std::slice::from_ref(job),
            &self.snapshot.replication_started,
            &self.snapshot.expiry_warned,
            self.now,
            self.warn_days,
        );
        !due.is_empty()
    }
}
