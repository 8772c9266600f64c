//! The end of a launched application's replication, as the plan asks (`finalize`):
//! StopAppReplication, or DeleteReplicationJob for each member's standalone job, then
//! `AppFinalized`, once per launch. The ledger keeps each finalization's key with the
//! event, stored together: a run cut off after the calls finds nothing left to end and
//! still announces it (`AlreadyEnded`), and never twice. The decisions are
//! `autopilot_core::plan::finalize`'s.

use autopilot_core::artifacts::StateObject;
use autopilot_core::events::{detail_time, AppFinalized, FinalizedBy, OutgoingEvent};
use autopilot_core::model::{AppId, JobId};
use autopilot_core::plan::desired::DesiredWave;
use autopilot_core::plan::finalize::{self as finalization, Ending, Finalization};
use autopilot_core::plan::ledger::PlannerLedger;
use autopilot_core::plan::reconcile::ExistingApp;
use autopilot_core::{AutopilotError, AwsCallError, AwsErrorKind};

use crate::PlannerContext;

/// Ends the replication of each application of `wave` that is due, announcing each as
/// it is ended, and stores the ledger; returns how many were due, and the calls that
/// failed (their applications are tried again next run).
pub(crate) async fn end_due(
    context: &PlannerContext,
    (wave, existing): (&DesiredWave, &[ExistingApp]),
    ledger: &mut PlannerLedger,
    object: &StateObject<'_>,
    version: &str,
) -> Result<(usize, Vec<AwsCallError>), AutopilotError> {
    let finalized = |key: &str| ledger.finalized.contains_key(key);
    let due = finalization::due(wave, existing, &finalized, context.now());
    let count = due.len();
    if due.is_empty() {
        return Ok((0, Vec::new()));
    }
    let before = ledger.outbox.len();
    let errors = finalize(context, due, ledger, version).await;
    if context.dry_run() {
        ledger.drop_repeated_dry_run(before, version);
    }
    object.store(&*ledger).await?;
    Ok((count, errors))
}

/// Ends the replication of each application `due`, announcing each as it is ended;
/// returns the calls that failed.
async fn finalize(
    context: &PlannerContext,
    due: Vec<Finalization>,
    ledger: &mut PlannerLedger,
    version: &str,
) -> Vec<AwsCallError> {
    let mut errors = Vec::new();
    for finalization in due {
        match end(context, &finalization).await {
            Ok((ended_by, jobs_deleted)) => {
                let event = AppFinalized {
                    app_name: finalization.name.clone(),
                    app_id: finalization.app_id.clone(),
                    launched_at: detail_time(finalization.launched_at),
                    ended_by,
                    jobs_deleted,
                    plan_version: Some(version.to_owned()),
                };
                ledger
                    .outbox
                    .push(OutgoingEvent::new(event, context.dry_run()));
                // A dry run ends nothing: its announcement is one of what it would do.
                if !context.dry_run() {
                    ledger
                        .finalized
                        .insert(finalization.key(), finalization.name);
                }
            }
            Err(error) => {
                tracing::warn!(app = %finalization.app_id, error = %error, "ending an application's replication failed");
                errors.push(error);
            }
        }
    }
    errors
}

/// The calls that end one application's replication.
async fn end(
    context: &PlannerContext,
    finalization: &Finalization,
) -> Result<(FinalizedBy, Vec<JobId>), AwsCallError> {
    let dry_run = context.dry_run();
    match &finalization.ending {
        Ending::AlreadyEnded => Ok((FinalizedBy::AlreadyEnded, Vec::new())),
        Ending::StopAppReplication => {
            if !dry_run {
                stop_app_replication(context, &finalization.app_id).await?;
            }
            Ok((FinalizedBy::AppReplicationStopped, Vec::new()))
        }
        Ending::DeleteJobs(jobs) => {
            for (_, job) in jobs.iter().filter(|_| !dry_run) {
                delete_job(context, job).await?;
            }
            let deleted = jobs.iter().map(|(_, job)| job.clone()).collect();
            Ok((FinalizedBy::JobsDeleted, deleted))
        }
    }
}

async fn stop_app_replication(context: &PlannerContext, app: &AppId) -> Result<(), AwsCallError> {
    let answer = context
        .sms
        .stop_app_replication()
        .app_id(app.as_str())
        .send()
        .await;
    answer
        .map(|_| ())
        .map_err(|e| AwsCallError::from_sdk("SMS", "StopAppReplication", &e))
}

/// DeleteReplicationJob; a job already gone is what was wanted.
async fn delete_job(context: &PlannerContext, job: &JobId) -> Result<(), AwsCallError> {
    let answer = context
        .sms
        .delete_replication_job()
        .replication_job_id(job.as_str())
        .send()
        .await;
    match answer.map_err(|e| AwsCallError::from_sdk("SMS", "DeleteReplicationJob", &e)) {
        Err(error) if error.kind == AwsErrorKind::ReplicationJobNotFound => Ok(()),
        other => other.map(|_| ()),
    }
}
