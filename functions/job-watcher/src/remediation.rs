//! Remediating failed jobs: each failure decided once from the snapshot, recreations
//! claimed before a job is deleted, the calls made a few at a time, each attempt
//! recorded against its server's budget, and recreations the deletion held up carried
//! on (the decisions are `autopilot_core::failures`'s).
use std::collections::BTreeMap;
use std::sync::Arc;

use autopilot_core::artifacts::StateObject;
use autopilot_core::config::JobWatcherConfig;
use autopilot_core::error::Retryability;
use autopilot_core::events::{
    detail_time, OutgoingEvent, RemediationAction, ReplicationJobRemediated,
};
use autopilot_core::failures::{
    FailureChanges, FailureSnapshot, HoldReason, PendingRecreation, RecreationStep, Remediation,
    RemediationPolicy, RemediationStep,
};
use autopilot_core::model::{JobId, ReplicationJob, ServerId};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::runtime::Context;
use autopilot_core::sms::api::{self, JobCreation};
use autopilot_core::{AutopilotError, AwsCallError, AwsErrorKind};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::REMEDIATIONS_IN_FLIGHT;

/// Decides for every failure first, from the snapshot alone, in the order the failures
/// were seen. Every failure gets one decision, published even when it is to hold; after
/// that a failed job is acted on only when an action became possible. The flag lives in
/// the snapshot, so an invocation cut off between alerting and deciding is caught up.
/// Takes the observed jobs to drop them: with their runs, they are the largest thing the
/// invocation holds, and not needed once decided.
pub(crate) fn decide_remediations(
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
        let decision = policy.decide(job.state.phase, history.map_or(&[], Vec::as_slice), now);
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
pub(crate) async fn claim_recreations(
    (object, next): (&StateObject<'_>, &mut FailureSnapshot),
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
    object.store(next).await
}

/// Calls SMS for the decided remediations a few at a time (one job per server, so they
/// are independent), handing each job back with its attempt in the order decided.
pub(crate) async fn attempt_remediations(
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
pub(crate) struct Remediated {
    /// One `ReplicationJobRemediated` per decision recorded.
    pub(crate) events: Vec<OutgoingEvent>,
    pub(crate) started: usize,
    pub(crate) held: usize,
    /// Calls that failed; nothing is recorded for them.
    pub(crate) errors: Vec<AwsCallError>,
}

/// Records each attempt in the snapshot, in the order decided: the attempt against the
/// server's budget, the failure's decision made, and the event announcing it.
pub(crate) fn record_remediations(
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
                    crate::expiry_warnings::remember_start(next, &job);
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
        let (app_name, subject) = plan.naming(job.vm_name.as_deref(), &job.server_id);
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
pub(crate) async fn resume_recreations(
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
        let created = api::create_replication_job(
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
        let (app_name, subject) = plan.naming(pending.vm_name.as_deref(), &server);
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
pub(crate) enum Attempt {
    Held(HoldReason),
    Acted(Result<RemediationAction, AwsCallError>),
}

pub(crate) fn describe_hold(reason: &HoldReason) -> String {
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

pub(crate) async fn remediate(
    context: &Context<JobWatcherConfig>,
    job: &ReplicationJob,
    step: RemediationStep,
    plan: &ResolvedPlan,
    dry_run: bool,
) -> Result<RemediationAction, AwsCallError> {
    match step {
        RemediationStep::Resume => {
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
            let created = api::create_replication_job(
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
