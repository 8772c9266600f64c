//! What the watcher looks at: on its schedule, the jobs of one sweep that can change
//! what it decides (the rest are counted and let go a page at a time, so a sweep over
//! 100,000 jobs holds the few it acts on); on an SMS event, the one job it names.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use autopilot_core::config::{JobParameters, JobWatcherConfig};
use autopilot_core::expiry;
use autopilot_core::failures::{Coverage, FailureSnapshot};
use autopilot_core::model::{JobId, ReplicationJob};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::runtime::Context;
use autopilot_core::sms::api;
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use chrono::{DateTime, Utc};

/// Completed runs one invocation announces at most; a sweep finding more announces the
/// oldest and leaves the rest unannounced in the snapshot for the next sweep. The runs
/// of jobs kept for another reason (failing, expiring, being recreated) count against
/// it and are never held back. It bounds the
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

/// What an invocation was asked to look at, read from its event before anything else
/// is touched: a refused event reads no state.
pub enum Request {
    /// The schedule: every job.
    Sweep,
    /// An SMS job state change: the job it names.
    Job { job_id: JobId, trigger: String },
}

impl Request {
    pub fn of(incoming: &Incoming) -> Result<Self, AutopilotError> {
        if incoming.is_schedule() {
            return Ok(Self::Sweep);
        }
        let Some(change) = incoming.sms_job_state_change() else {
            return Err(incoming.unexpected(
                "scheduled events and aws.sms Server Migration Job State Change events",
            ));
        };
        let change = change?;
        let job_id = JobId::from(change.replication_job_id.as_str());
        if job_id.as_str().is_empty() {
            return Err(AutopilotError::InvalidEvent(
                "SMS job state change without replication-job-id".into(),
            ));
        }
        let trigger = format!("{} {}", change.state, job_id);
        Ok(Self::Job { job_id, trigger })
    }
}

/// A schedule sweeps every job; an SMS event reads the one job it names.
pub async fn observe(
    context: &Context<JobWatcherConfig>,
    request: Request,
    snapshot: &FailureSnapshot,
    plan: &ResolvedPlan,
    now: DateTime<Utc>,
) -> Result<Observation, AutopilotError> {
    let (job_id, trigger) = match request {
        Request::Sweep => return sweep(context, snapshot, plan, now).await,
        Request::Job { job_id, trigger } => (job_id, trigger),
    };
    // The event says what changed; the job's current state says what is true now
    // (events arrive late, twice and out of order).
    let jobs: Vec<_> = api::replication_job(&context.sms, &job_id)
        .await?
        .into_iter()
        .collect();
    Ok(Observation {
        trigger,
        listed: jobs.len(),
        jobs,
        coverage: Coverage::Partial,
        runs_deferred: 0,
    })
}

/// One sweep of every job, keeping those that matter (see [`Relevance`]).
async fn sweep(
    context: &Context<JobWatcherConfig>,
    snapshot: &FailureSnapshot,
    plan: &ResolvedPlan,
    now: DateTime<Utc>,
) -> Result<Observation, AutopilotError> {
    let relevance = Relevance {
        snapshot,
        plan,
        parameters: &context.config.job,
        now,
        warn_days: context.config.expiry_warning_days,
    };
    let mut jobs = Vec::new();
    let mut announcing = 0;
    let mut oldest = OldestRuns::default();
    let swept = api::replication_jobs_each(&context.sms, |job| match relevance.of(&job) {
        Kept::Needed { announces } => {
            announcing += usize::from(announces);
            jobs.push(job);
        }
        Kept::ForItsRun(completed) => oldest.offer(completed, job),
        Kept::No => {}
    })
    .await?;
    let room = RUN_ANNOUNCEMENTS_PER_INVOCATION.saturating_sub(announcing);
    let (announced, runs_deferred) = oldest.keep(room);
    jobs.extend(announced);
    Ok(Observation {
        trigger: "schedule".to_owned(),
        jobs,
        coverage: Coverage::Complete,
        listed: swept.items,
        runs_deferred,
    })
}

/// Why a swept job is kept.
enum Kept {
    /// It can change a decision; `announces` when it also has an unannounced run.
    Needed {
        announces: bool,
    },
    /// Only for its unannounced run, completed then.
    ForItsRun(Option<DateTime<Utc>>),
    No,
}

/// Decides which swept jobs the invocation keeps: those failing or remembered as
/// failed, those of a server waiting for its job to be recreated, those whose
/// replication is about to expire unwarned, those whose settings differ from the wave
/// plan's or are being changed, and those with a completed run not yet announced. A job let go is one about which the snapshot already says everything:
/// as a complete sweep, the kept jobs still name every remembered failure and
/// recreation that is listed.
struct Relevance<'a> {
    snapshot: &'a FailureSnapshot,
    plan: &'a ResolvedPlan,
    parameters: &'a JobParameters,
    now: DateTime<Utc>,
    warn_days: u32,
}

impl Relevance<'_> {
    fn of(&self, job: &ReplicationJob) -> Kept {
        let snapshot = self.snapshot;
        let unannounced = job
            .latest_completed_run()
            .filter(|run| snapshot.announced_runs.get(&job.id) != Some(&run.id));
        let needed = job.state.is_failure()
            || snapshot.failures.contains_key(&job.id)
            || snapshot.pending_recreations.contains_key(&job.server_id)
            || self.expiring(job)
            || crate::settings::matters(snapshot, self.plan, self.parameters, job);
        match (needed, unannounced) {
            (true, run) => Kept::Needed {
                announces: run.is_some(),
            },
            (false, Some(run)) => Kept::ForItsRun(run.completed_at),
            (false, None) => Kept::No,
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

/// The jobs kept only for their unannounced run, oldest completion first, so that a
/// sweep finding more runs than it may announce leaves the newest for the next one and
/// no job waits behind others forever. Holds at most one job more than it keeps.
#[derive(Default)]
struct OldestRuns {
    heap: BinaryHeap<ByCompletion>,
    offered: usize,
    dropped: usize,
}

impl OldestRuns {
    fn offer(&mut self, completed: Option<DateTime<Utc>>, job: ReplicationJob) {
        self.offered += 1;
        self.heap.push(ByCompletion {
            completed,
            order: self.offered,
            job,
        });
        if self.heap.len() > RUN_ANNOUNCEMENTS_PER_INVOCATION {
            self.heap.pop();
            self.dropped += 1;
        }
    }

    /// The `room` oldest, in listing order, and how many runs wait for the next sweep.
    fn keep(mut self, room: usize) -> (Vec<ReplicationJob>, usize) {
        while self.heap.len() > room {
            self.heap.pop();
            self.dropped += 1;
        }
        let mut kept = self.heap.into_vec();
        kept.sort_by_key(|candidate| candidate.order);
        (kept.into_iter().map(|c| c.job).collect(), self.dropped)
    }
}

/// A job ordered by when its unannounced run completed (unknown first), then by its
/// place in the listing: the heap's top is the newest, the one to leave for later.
struct ByCompletion {
    completed: Option<DateTime<Utc>>,
    order: usize,
    job: ReplicationJob,
}

impl ByCompletion {
    fn key(&self) -> (Option<DateTime<Utc>>, usize) {
        (self.completed, self.order)
    }
}

impl PartialEq for ByCompletion {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ByCompletion {}

impl PartialOrd for ByCompletion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByCompletion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}
