//! A way back from a bad launch: TerminateApp for each application the plan rolls back
//! (`launch: rollback`), then `AppRolledBack`, once per plan version (the ledger keeps
//! each rollback's key, stored with the event). The decisions are
//! `autopilot_core::plan::rollback`'s.

use autopilot_core::artifacts::StateObject;
use autopilot_core::events::{AppRolledBack, OutgoingEvent};
use autopilot_core::model::{AppId, AppLaunchStatus};
use autopilot_core::plan::desired::DesiredWave;
use autopilot_core::plan::ledger::PlannerLedger;
use autopilot_core::plan::reconcile::ExistingApp;
use autopilot_core::plan::rollback;
use autopilot_core::{AutopilotError, AwsCallError, AwsErrorKind};

use crate::PlannerContext;

/// Terminates the stack of each application of `wave` to roll back, announcing each,
/// and stores the ledger; returns how many were due, and the calls that failed (tried
/// again next run).
pub(crate) async fn roll_back_due(
    context: &PlannerContext,
    (wave, existing): (&DesiredWave, &[ExistingApp]),
    ledger: &mut PlannerLedger,
    object: &StateObject<'_>,
    version: &str,
) -> Result<(usize, Vec<AwsCallError>), AutopilotError> {
    let done = |key: &str| ledger.rolled_back.contains(key);
    let due = rollback::due(wave, existing, &done, version);
    if due.is_empty() {
        return Ok((0, Vec::new()));
    }
    let (count, before) = (due.len(), ledger.outbox.len());
    let mut errors = Vec::new();
    for rollback in due {
        if !context.dry_run() {
            if let Err(error) = terminate(context, &rollback.app_id).await {
                tracing::warn!(app = %rollback.app_id, error = %error, "rolling back an application failed");
                errors.push(error);
                continue;
            }
            ledger.rolled_back.insert(rollback.key());
        }
        let event = AppRolledBack {
            app_name: rollback.name,
            app_id: rollback.app_id,
            launch_status: AppLaunchStatus::from_wire(&rollback.launch_status.status),
            plan_version: rollback.plan_version,
        };
        ledger
            .outbox
            .push(OutgoingEvent::new(event, context.dry_run()));
    }
    if context.dry_run() {
        ledger.drop_repeated_dry_run(before, version);
    }
    object.store(&*ledger).await?;
    Ok((count, errors))
}

/// TerminateApp. Refused because the stack is already going or gone (a run cut off
/// after the call), it is what was wanted.
async fn terminate(context: &PlannerContext, app: &AppId) -> Result<(), AwsCallError> {
    let answer = context
        .sms
        .terminate_app()
        .app_id(app.as_str())
        .send()
        .await;
    match answer.map_err(|e| AwsCallError::from_sdk("SMS", "TerminateApp", &e)) {
        Err(error) if error.kind == AwsErrorKind::OperationNotPermitted => {
            tracing::info!(app = %app, error = %error, "its stack is already being terminated");
            Ok(())
        }
        other => other.map(|_| ()),
    }
}
