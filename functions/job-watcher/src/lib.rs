//! job-watcher: on SMS job state change events (one job) and on its schedule (one
//! paginated sweep of every job), alerts each FAILED / PAUSED_ON_FAILURE failure
//! exactly once, remediates within the retry budget, announces recoveries and every
//! completed run (a sweep announces at most [`RUN_ANNOUNCEMENTS_PER_INVOCATION`], the
//! next one the rest). What was alerted and announced is kept in a snapshot in the
//! artifacts bucket together with an outbox (`autopilot_core::outbox`): the decided
//! events are stored before the watcher acts or publishes, so an invocation cut off at
//! any point loses no alert. It warns once of each server whose 90 days of replication
//! near their end (`ReplicationExpiring`). A job it creates again takes the accepted
//! wave plan's replication settings for its server, as the job-creator's do, and a
//! sweep updates a live job whose settings the plan changed (`settings`).

use std::sync::Arc;

use autopilot_core::artifacts::{ResolvedPlanOnce, StateObject};
use autopilot_core::config::JobWatcherConfig;
use autopilot_core::events::{
    detail_time, OutgoingEvent, ReplicationJobFailed, ReplicationJobRecovered,
    ReplicationRunCompleted,
};
use autopilot_core::failures::{CompletedRun, FailureChanges, FailureSnapshot, RecreationStep};
use autopilot_core::model::ReplicationJobState;
use autopilot_core::outbox;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::runtime::Context;
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

mod expiry_warnings;
mod observe;
mod remediation;
mod settings;

pub use observe::RUN_ANNOUNCEMENTS_PER_INVOCATION;
use observe::{observe, Observation, Request};
use remediation::{
    attempt_remediations, claim_recreations, decide_remediations, record_remediations,
    resume_recreations,
};

/// Where the snapshot lives in the artifacts bucket.
pub const SNAPSHOT_KEY: &str = "state/job-watcher/snapshot.json";

/// Remediation calls in flight at once: a sweep finding hundreds of paused jobs should
/// not wait on each round trip in turn, nor burst past SMS's throttling.
pub const REMEDIATIONS_IN_FLIGHT: usize = 4;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub jobs_observed: usize,
    pub newly_failed: usize,
    pub still_failed: usize,
    pub recovered: usize,
    pub runs_completed: usize,
    /// Completed runs left for the next sweep: one invocation announces at most
    /// [`RUN_ANNOUNCEMENTS_PER_INVOCATION`].
    pub runs_deferred: usize,
    pub remediations_started: usize,
    pub remediations_held: usize,
    pub remediation_errors: usize,
    /// Recreations whose new job was created (or found) this time, after the old job's
    /// deletion had kept CreateReplicationJob refused.
    pub recreations_completed: usize,
    /// Recreations still waiting for the old job's deletion to finish.
    pub recreations_waiting: usize,
    /// Servers warned this time that their replication ends soon.
    pub expiry_warnings: usize,
    /// Jobs updated to hold the wave plan's replication settings.
    pub settings_updated: usize,
    pub settings_update_errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
    /// Events left in the outbox for the next invocation (too close to the deadline).
    pub events_deferred: usize,
}

impl Summary {
    /// What the observation found, before anything is done about it.
    fn of(observed: &Observation, changes: &FailureChanges, runs: usize, dry_run: bool) -> Self {
        Summary {
            trigger: observed.trigger.clone(),
            jobs_observed: observed.listed,
            runs_deferred: observed.runs_deferred,
            newly_failed: changes.newly_failed.len(),
            still_failed: changes.still_failed.len(),
            recovered: changes.recovered.len(),
            runs_completed: runs,
            dry_run,
            ..Summary::default()
        }
    }
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<JobWatcherConfig>>,
) -> Result<Summary, AutopilotError> {
    let request = Request::of(&Incoming::parse(payload)?)?;
    let now = context.now();
    let dry_run = context.dry_run();
    let bucket = &context.config.artifacts_bucket;
    let object = StateObject::new(&context.s3, bucket, SNAPSHOT_KEY, "job-watcher snapshot");
    let previous: FailureSnapshot = object.load().await?;
    // A sweep compares every planned job's settings with the plan's.
    let mut wave_plan = ResolvedPlanOnce::default();
    let sweeping = matches!(request, Request::Sweep);
    let plan = wave_plan.when(sweeping, &context.s3, bucket).await?;
    let observation = observe(&context, request, &previous, &plan, now).await?;
    let (changes, mut next) = previous.observe(&observation.jobs, observation.coverage, now);
    // The sweep's largest allocations are these snapshots; the state object keeps a
    // digest of the one read, so only one is held from here on.
    drop(previous);
    let completed_runs = next.take_completed_runs(&observation.jobs);
    let recreations = next.recreation_steps(&observation.jobs, observation.coverage);
    let observed = (observation.jobs.as_slice(), observation.coverage);
    let updates = settings::decide(&mut next, observed, &plan, &context.config.job, dry_run);
    let mut summary = Summary::of(&observation, &changes, completed_runs.len(), dry_run);

    // Claim before acting: stored, these events go out even if this invocation dies.
    let expiring = expiry_warnings::due(&context, &next, &observation.jobs, now);
    let naming = !changes.newly_failed.is_empty() || !expiring.is_empty();
    let plan = wave_plan.when(naming, &context.s3, bucket).await?;
    next.outbox.extend(announcements(
        &changes,
        &completed_runs,
        &plan,
        now,
        dry_run,
    ));
    summary.expiry_warnings = expiry_warnings::warn(&mut next, expiring, &plan, dry_run);
    object.store_if_changed(&next).await?;

    let policy = &context.config.remediation;
    let decided = decide_remediations(policy, &changes, observation.jobs, &next, now);
    let creates = recreations
        .iter()
        .any(|(_, step)| matches!(step, RecreationStep::Create));
    let plan = wave_plan
        .when(!decided.is_empty() || creates, &context.s3, bucket)
        .await?;
    // Recreations carried on first: one done drops its claim before a new claim for the
    // same server (its new job failed already) is made.
    let resumed = resume_recreations(&context, &mut next, recreations, &plan, dry_run).await;
    claim_recreations((&object, &mut next), &decided, now, dry_run).await?;
    let attempts = attempt_remediations(&context, decided, &plan, dry_run).await;
    let mut remediated = record_remediations(&mut next, attempts, &plan, now, dry_run);
    (summary.recreations_completed, summary.recreations_waiting) = (resumed.started, resumed.held);
    remediated.events.extend(resumed.events);
    remediated.errors.extend(resumed.errors);
    summary.remediations_started = remediated.started;
    summary.remediations_held = remediated.held;
    summary.remediation_errors = remediated.errors.len();
    let (updated, update_errors) = settings::call(&context, &mut next, updates).await;
    (summary.settings_updated, summary.settings_update_errors) = (updated, update_errors.len());
    if !remediated.events.is_empty() || updated > 0 {
        next.outbox.extend(remediated.events);
        object.store(&next).await?;
    }

    let delivery = outbox::publish(&context.publisher, &object, &mut next).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    finished(summary, &remediated.errors, &update_errors)
}

/// The summary, or the remediations or settings updates that failed (the rest were
/// made and recorded).
fn finished(
    summary: Summary,
    remediation_errors: &[AwsCallError],
    update_errors: &[AwsCallError],
) -> Result<Summary, AutopilotError> {
    let attempted = summary.remediations_started + remediation_errors.len();
    let remediations = AutopilotError::partial("remediations", attempted, remediation_errors);
    let attempted = summary.settings_updated + update_errors.len();
    let updates = AutopilotError::partial("settings updates", attempted, update_errors);
    match remediations.or(updates) {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// The alerts, recoveries and completed runs this observation announces.
fn announcements(
    changes: &FailureChanges,
    completed_runs: &[CompletedRun],
    plan: &ResolvedPlan,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Vec<OutgoingEvent> {
    let failed = changes.newly_failed.iter().map(|job| {
        let (app_name, subject) = plan.naming(job.vm_name.as_deref(), &job.server_id);
        let failed = ReplicationJobFailed {
            replication_job_id: job.id.clone(),
            server_id: job.server_id.clone(),
            vm_name: job.vm_name.clone(),
            app_name,
            subject,
            state: ReplicationJobState::from_wire(&job.state.status),
            status_message: job.status_message.clone(),
            // A new failure's episode begins with this observation.
            failed_since: Some(detail_time(now)),
        };
        OutgoingEvent::new(failed, dry_run)
    });
    let recovered = changes.recovered.iter().map(|recovery| {
        let recovered = ReplicationJobRecovered {
            replication_job_id: recovery.job_id.clone(),
            server_id: recovery.server_id.clone(),
            state: (recovery.state.as_ref())
                .map(|state| ReplicationJobState::from_wire(&state.status)),
            failed_since: Some(detail_time(recovery.failed_since)),
        };
        OutgoingEvent::new(recovered, dry_run)
    });
    let completed = completed_runs.iter().map(|run| {
        let completed = ReplicationRunCompleted {
            replication_job_id: run.job_id.clone(),
            replication_run_id: Some(run.run_id.clone()),
            server_id: Some(run.server_id.clone()),
            ami_id: run.ami_id.clone(),
        };
        OutgoingEvent::new(completed, dry_run)
    });
    failed.chain(recovered).chain(completed).collect()
}

#[cfg(test)]
mod tests;
