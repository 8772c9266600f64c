//! job-watcher: on SMS job state change events (one job) and on its schedule (one
//! paginated sweep of every job), alerts each FAILED / PAUSED_ON_FAILURE failure
//! exactly once, remediates within the retry budget, announces recoveries and every
//! completed run (a sweep announces at most [`RUN_ANNOUNCEMENTS_PER_INVOCATION`], the
//! next one the rest). What was alerted and announced is kept in a snapshot in the
//! artifacts bucket together with an outbox (`autopilot_core::outbox`): the decided
//! events are stored before the watcher acts or publishes, so an invocation cut off at
//! any point loses no alert. It warns once of each server whose 90 days of replication
//! near their end (`ReplicationExpiring`). A job it creates again takes the accepted
//! wave plan's replication settings for its server, as the job-creator's do.

use std::collections::BTreeMap;
use std::sync::Arc;

use autopilot_core::artifacts;
use autopilot_core::config::JobWatcherConfig;
use autopilot_core::error::Retryability;
use autopilot_core::events::{
    detail_time, OutgoingEvent, RemediationAction, ReplicationJobFailed, ReplicationJobRecovered,
    ReplicationJobRemediated, ReplicationRunCompleted,
};
use autopilot_core::failures::{
    CompletedRun, FailureChanges, FailureSnapshot, HoldReason, PendingRecreation, RecreationStep,
    Remediation, RemediationPolicy, RemediationStep,
};
use autopilot_core::model::{JobId, ReplicationJob, ServerId};
use autopilot_core::outbox::{self, StateObject};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::runtime::Context;
use autopilot_core::sms_api::{self, JobCreation};
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError, AwsErrorKind};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

mod expiry_warnings;
mod observe;
mod wave_plan;

pub use observe::RUN_ANNOUNCEMENTS_PER_INVOCATION;
use observe::{observe, Request};

use wave_plan::WavePlan;

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
    pub dry_run: bool,
    pub events_published: usize,
    /// Events left in the outbox for the next invocation (too close to the deadline).
    pub events_deferred: usize,
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<JobWatcherConfig>>,
) -> Result<Summary, AutopilotError> {
    let request = Request::of(&Incoming::parse(payload)?)?;
    let now = context.now();
    let dry_run = context.dry_run();
    let bucket = &context.config.artifacts_bucket;
    let previous: FailureSnapshot =
        artifacts::load_json(&context.s3, bucket, SNAPSHOT_KEY, "job-watcher snapshot").await?;
    let observation = observe(&context, request, &previous, now).await?;
    let (changes, mut next) = previous.observe(&observation.jobs, observation.coverage, now);
    let completed_runs = next.take_completed_runs(&observation.jobs);
    let recreations = next.recreation_steps(&observation.jobs, observation.coverage);
    let mut summary = Summary {
        trigger: observation.trigger,
        jobs_observed: observation.listed,
        runs_deferred: observation.runs_deferred,
        newly_failed: changes.newly_failed.len(),
        still_failed: changes.still_failed.len(),
        recovered: changes.recovered.len(),
        runs_completed: completed_runs.len(),
        dry_run,
        ..Summary::default()
    };

    // Claim before acting: stored, these events go out even if this invocation dies.
    let mut wave_plan = WavePlan::default();
    let expiring = expiry_warnings::due(&context, &next, &observation.jobs, now);
    let naming = !changes.newly_failed.is_empty() || !expiring.is_empty();
    let plan = wave_plan.when(naming, &context).await;
    next.outbox.extend(announcements(
        &changes,
        &completed_runs,
        &plan,
        now,
        dry_run,
    ));
    summary.expiry_warnings = expiry_warnings::warn(&mut next, expiring, &plan, dry_run);
    store_if_changed(&context, previous, &next).await?;

    let policy = &context.config.remediation;
    let decided = decide_remediations(policy, &changes, observation.jobs, &next, now);
    let creates = recreations
        .iter()
        .any(|(_, step)| matches!(step, RecreationStep::Create));
    let plan = wave_plan
        .when(!decided.is_empty() || creates, &context)
        .await;
    // Recreations carried on first: one done drops its claim before a new claim for the
    // same server (its new job failed already) is made.
    let resumed = resume_recreations(&context, &mut next, recreations, &plan, dry_run).await;
    claim_recreations(&context, &mut next, &decided, now, dry_run).await?;
    let attempts = attempt_remediations(&context, decided, &plan, dry_run).await;
    let mut remediated = record_remediations(&mut next, attempts, &plan, now, dry_run);
    (summary.recreations_completed, summary.recreations_waiting) = (resumed.started, resumed.held);
    remediated.events.extend(resumed.events);
    remediated.errors.extend(resumed.errors);
    summary.remediations_started = remediated.started;
    summary.remediations_held = remediated.held;
    summary.remediation_errors = remediated.errors.len();
    if !remediated.events.is_empty() {
        next.outbox.extend(remediated.events);
        artifacts::store_json(&context.s3, bucket, SNAPSHOT_KEY, &next).await?;
    }

    let object = StateObject {
        s3: &context.s3,
        bucket,
        key: SNAPSHOT_KEY,
    };
    let delivery = outbox::publish(&context.publisher, object, &mut next).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    let attempted = summary.remediations_started + remediated.errors.len();
    if let Some(error) = AutopilotError::partial("remediations", attempted, &remediated.errors) {
        return Err(error);
    }
    Ok(summary)
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
        let (app_name, subject) = wave_plan::naming(plan, job.vm_name.as_deref(), &job.server_id);
        let failed = ReplicationJobFailed {
            replication_job_id: job.id.clone(),
            server_id: job.server_id.clone(),
            vm_name: job.vm_name.clone(),
            app_name,
            subject,
            state: job.state.clone(),
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
            state: recovery.state.clone(),
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

/// Stores the snapshot when it differs from the one loaded, which it takes to drop: the
/// sweep's largest allocations are these snapshots, so only one is kept.
async fn store_if_changed(
    context: &Context<JobWatcherConfig>,
    previous: FailureSnapshot,
    next: &FailureSnapshot,
) -> Result<(), AutopilotError> {
    let changed = *next != previous;
    drop(previous);
    if changed {
        let bucket = &context.config.artifacts_bucket;
        artifacts::store_json(&context.s3, bucket, SNAPSHOT_KEY, next).await?;
    }
    Ok(())
}

/// Decides for every failure first, from the snapshot alone, in the order the failures
/// were seen. Every failure gets one decision, published even when it is to hold; after
/// that a failed job is acted on only when an action became possible. The flag lives in
/// the snapshot, so an invocation cut off between alerting and deciding is caught up.
/// Takes the observed jobs to drop them: with their runs, they are the largest thing the
/// invocation holds, and not needed once decided.
fn decide_remediations(
    policy: &RemediationPolicy,
    changes: &FailureChanges,
    observed: Vec<ReplicationJob>,
    next: &FailureSnapshot,
    now: DateTime<Utc>,
) -> Vec<(ReplicationJob, Remediation)> {
    let by_id: BTreeMap<&JobId, &ReplicationJob> = observed.iter().map(|j| (&j.id, j)).collect();
    let still_failed = changes.still_failed.iter();
    let failed = changes
        .newly_failed
        .iter()
        .chain(still_failed.filter_map(|id| by_id.get(id).copied()));
    let mut decided = Vec::new();
    for job in failed {
        let undecided = next
            .failures
            .get(&job.id)
            .is_some_and(|record| !record.remediation_decided);
        let history = next.remediations.get(&job.server_id);
        let decision = policy.decide(&job.state, history.map_or(&[], Vec::as_slice), now);
        if let Remediation::Hold(reason) = &decision {
            if !undecided || *reason == HoldReason::NotFailed {
                continue;
            }
        }
        decided.push((job.clone(), decision));
    }
    decided
}

/// Claims a pending recreation for every job about to be deleted (the FAILED jobs
/// decided for recreation) and stores the claims before DeleteReplicationJob is called.
/// Without them, a deletion whose invocation ended before recording it would leave the
/// server with no job: the job-creator leaves a server whose job was deleted alone.
async fn claim_recreations(
    context: &Context<JobWatcherConfig>,
    next: &mut FailureSnapshot,
    decided: &[(ReplicationJob, Remediation)],
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<(), AutopilotError> {
    let recreate = Remediation::Act(RemediationStep::Recreate);
    let to_delete: Vec<&ReplicationJob> = decided
        .iter()
        .filter(|(_, decision)| *decision == recreate)
        .map(|(job, _)| job)
        .collect();
    if dry_run || to_delete.is_empty() {
        return Ok(());
    }
    for job in to_delete {
        let pending = PendingRecreation {
            old_job: job.id.clone(),
            vm_name: job.vm_name.clone(),
            // The time its attempt is recorded under, when it is.
            since: now,
        };
        next.pending_recreations
            .insert(job.server_id.clone(), pending);
    }
    let bucket = &context.config.artifacts_bucket;
    artifacts::store_json(&context.s3, bucket, SNAPSHOT_KEY, next).await
}

/// Calls SMS for the decided remediations a few at a time (one job per server, so they
/// are independent), handing each job back with its attempt in the order decided.
async fn attempt_remediations(
    context: &Arc<Context<JobWatcherConfig>>,
    decided: Vec<(ReplicationJob, Remediation)>,
    plan: &Arc<ResolvedPlan>,
    dry_run: bool,
) -> Vec<(ReplicationJob, Attempt)> {
    // Owned copies: a future borrowing this invocation's data trips the Send check of
    // the runtime's handler bound.
    stream::iter(decided)
        .map(|(job, decision)| {
            let context = Arc::clone(context);
            let plan = Arc::clone(plan);
            async move {
                let attempt = match decision {
                    Remediation::Hold(reason) => Attempt::Held(reason),
                    Remediation::Act(step) => {
                        Attempt::Acted(remediate(&context, &job, step, &plan, dry_run).await)
                    }
                };
                (job, attempt)
            }
        })
        .buffered(REMEDIATIONS_IN_FLIGHT)
        .collect()
        .await
}

/// The remediation decisions recorded in the snapshot.
#[derive(Default)]
struct Remediated {
    /// One `ReplicationJobRemediated` per decision recorded.
    events: Vec<OutgoingEvent>,
    started: usize,
    held: usize,
    /// Calls that failed; nothing is recorded for them.
    errors: Vec<AwsCallError>,
}

/// Records each attempt in the snapshot, in the order decided: the attempt against the
/// server's budget, the failure's decision made, and the event announcing it.
fn record_remediations(
    next: &mut FailureSnapshot,
    attempts: Vec<(ReplicationJob, Attempt)>,
    plan: &ResolvedPlan,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Remediated {
    let mut remediated = Remediated::default();
    for (job, attempt) in attempts {
        let action = match attempt {
            Attempt::Held(reason) => {
                remediated.held += 1;
                RemediationAction::Held {
                    reason: describe_hold(&reason),
                }
            }
            Attempt::Acted(Ok(action)) => {
                next.record_remediation(&job.server_id, now);
                if matches!(
                    action,
                    RemediationAction::JobDeleted | RemediationAction::JobRecreated { .. }
                ) {
                    expiry_warnings::remember_start(next, &job);
                }
                // A deleted job's claim stays until its new job is made; one made at
                // once needs it no more.
                if matches!(action, RemediationAction::JobRecreated { .. }) {
                    next.pending_recreations.remove(&job.server_id);
                }
                remediated.started += 1;
                action
            }
            Attempt::Acted(Err(error))
                if error.kind == AwsErrorKind::ReplicationRunLimitExceeded =>
            {
                remediated.held += 1;
                RemediationAction::Held {
                    reason: format!("the service refused: {}", error.message),
                }
            }
            Attempt::Acted(Err(error)) => {
                tracing::warn!(job = %job.id, error = %error, "remediation failed");
                remediated.errors.push(error);
                continue;
            }
        };
        let failed_since = next.failures.get_mut(&job.id).map(|record| {
            record.remediation_decided = true;
            detail_time(record.first_seen)
        });
        let attempt = next.remediations.get(&job.server_id).map_or(0, Vec::len);
        let (app_name, subject) = wave_plan::naming(plan, job.vm_name.as_deref(), &job.server_id);
        let remediated_event = ReplicationJobRemediated {
            app_name,
            subject,
            replication_job_id: job.id,
            server_id: job.server_id,
            vm_name: job.vm_name,
            failed_since,
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            action,
        };
        remediated
            .events
            .push(OutgoingEvent::new(remediated_event, dry_run));
    }
    remediated
}

/// Carries on the recreations the old job's deletion held up: creates the new job of
/// each server whose old job is now DELETED or gone, and forgets those that have a job
/// again. A creation still refused waits for a later invocation; it is no error (only
/// the service's own failures are). Sequential: there are only ever a few.
async fn resume_recreations(
    context: &Context<JobWatcherConfig>,
    next: &mut FailureSnapshot,
    steps: Vec<(ServerId, RecreationStep)>,
    plan: &ResolvedPlan,
    dry_run: bool,
) -> Remediated {
    let mut resumed = Remediated::default();
    for (server, step) in steps {
        match step {
            RecreationStep::Done => {
                next.pending_recreations.remove(&server);
                continue;
            }
            RecreationStep::Wait => {
                resumed.held += 1;
                continue;
            }
            RecreationStep::Create => {}
        }
        let created = sms_api::create_replication_job(
            &context.sms,
            &server,
            &context.config.job.for_server(plan, &server),
            context.now(),
        )
        .await;
        let new_replication_job_id = match created {
            Ok(JobCreation::Created(id)) => Some(id),
            Ok(JobCreation::AlreadyExisted) => None,
            // Refused (still deleting under another name, the quota, no healthy
            // connector): each passes, and the next sweep asks again.
            Err(error) if error.retryability() == Retryability::Permanent => {
                tracing::info!(server = %server, error = %error, "new job refused; retried later");
                resumed.held += 1;
                continue;
            }
            Err(error) => {
                tracing::warn!(server = %server, error = %error, "new job not created; retried later");
                resumed.errors.push(error);
                continue;
            }
        };
        let Some(pending) = next.pending_recreations.remove(&server) else {
            continue;
        };
        resumed.started += 1;
        let recorded = next
            .remediations
            .get(&server)
            .is_some_and(|attempts| attempts.contains(&pending.since));
        if !recorded {
            // The deletion was claimed, made, and its invocation ended before recording
            // it: it counts against the server's budget all the same.
            next.record_remediation(&server, pending.since);
        }
        let attempt = next.remediations.get(&server).map_or(0, Vec::len);
        let (app_name, subject) = wave_plan::naming(plan, pending.vm_name.as_deref(), &server);
        let event = ReplicationJobRemediated {
            app_name,
            subject,
            replication_job_id: pending.old_job,
            server_id: server,
            vm_name: pending.vm_name,
            // The old job's failure record went with its deletion; the old job's id
            // keys the recreation (each job is recreated at most once).
            failed_since: None,
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            action: RemediationAction::JobRecreated {
                new_replication_job_id,
            },
        };
        resumed.events.push(OutgoingEvent::new(event, dry_run));
    }
    resumed
}

/// What came of one remediation decision.
enum Attempt {
    Held(HoldReason),
    Acted(Result<RemediationAction, AwsCallError>),
}

fn describe_hold(reason: &HoldReason) -> String {
    match reason {
        HoldReason::BudgetExhausted { attempts } => {
            format!("remediation budget exhausted after {attempts} attempts")
        }
        HoldReason::DailyLimitReached { retry_after } => {
            format!("on-demand run limit for 24 hours reached; next attempt after {retry_after}")
        }
        HoldReason::RecreateDisabled => {
            "the job FAILED and recreating failed jobs is disabled".to_owned()
        }
        HoldReason::NotFailed => "the job is not failed".to_owned(),
    }
}

async fn remediate(
    context: &Context<JobWatcherConfig>,
    job: &ReplicationJob,
    step: RemediationStep,
    plan: &ResolvedPlan,
    dry_run: bool,
) -> Result<RemediationAction, AwsCallError> {
    match step {
        RemediationStep::StartOnDemandRun => {
            if !dry_run {
                context
                    .sms
                    .start_on_demand_replication_run()
                    .replication_job_id(job.id.as_str())
                    .description("sms-autopilot remediation of a paused job")
                    .send()
                    .await
                    .map_err(|e| {
                        AwsCallError::from_sdk("SMS", "StartOnDemandReplicationRun", &e)
                    })?;
            }
            Ok(RemediationAction::OnDemandRunStarted)
        }
        RemediationStep::Recreate => {
            if dry_run {
                return Ok(RemediationAction::JobRecreated {
                    new_replication_job_id: None,
                });
            }
            let deleted = context
                .sms
                .delete_replication_job()
                .replication_job_id(job.id.as_str())
                .send()
                .await
                .map_err(|e| AwsCallError::from_sdk("SMS", "DeleteReplicationJob", &e));
            match deleted {
                Ok(_) => {}
                // Deleted (or being deleted) by an earlier, interrupted attempt: carry on.
                Err(error)
                    if matches!(
                        error.kind,
                        AwsErrorKind::ReplicationJobNotFound | AwsErrorKind::OperationNotPermitted
                    ) => {}
                Err(error) => return Err(error),
            }
            // The deletion takes a while, and until it is done SMS refuses a new job for
            // the server; a refusal (or any failure, now that the old job is gone) leaves
            // the creation to a later invocation, which `resume_recreations` makes.
            let created = sms_api::create_replication_job(
                &context.sms,
                &job.server_id,
                &context.config.job.for_server(plan, &job.server_id),
                context.now(),
            )
            .await;
            match created {
                Ok(JobCreation::Created(id)) => Ok(RemediationAction::JobRecreated {
                    new_replication_job_id: Some(id),
                }),
                // Refused, as a server whose old job is still DELETING is, or already
                // given a job by someone else: the next observations tell which.
                Ok(JobCreation::AlreadyExisted) => Ok(RemediationAction::JobDeleted),
                Err(error) => {
                    tracing::info!(job = %job.id, error = %error, "new job not created yet");
                    Ok(RemediationAction::JobDeleted)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
