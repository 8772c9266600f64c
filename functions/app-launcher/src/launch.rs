//! LaunchApp for the claimed launches, and what came of each: announced, alerted once
//! when refused, given back when the service never acted on it.

use std::sync::Arc;

use autopilot_core::error::Retryability;
use autopilot_core::events::{AppLaunchFailed, AppLaunched, AppReady, OutgoingEvent};
use autopilot_core::migration::LaunchPhase;
use autopilot_core::model::App;
use autopilot_core::AwsCallError;
use futures::stream::{self, StreamExt};

use autopilot_core::launch_decisions::Launch;

use crate::LauncherContext;
use crate::RunBooks;

/// What came of one LaunchApp.
pub enum LaunchResult {
    Launched,
    /// Refused for good (e.g. the app's state does not allow it).
    Refused(AwsCallError),
    /// Refused because another launch got there first: that one counts.
    LostRace,
    /// Failed in a way trying again may cure (throttled, unreachable).
    Failed(AwsCallError),
}

/// Calls LaunchApp for each claimed launch, `app_concurrency` at a time (nothing in a
/// dry run); hands each launch back with its result.
pub async fn launch_all(
    context: &Arc<LauncherContext>,
    launches: Vec<Launch>,
) -> Vec<(Launch, LaunchResult)> {
    let concurrency = context.config.app_concurrency as usize;
    stream::iter(launches)
        .map(|launch| {
            let context = Arc::clone(context);
            async move {
                let result = launch_app(&context, &launch.app).await;
                (launch, result)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

async fn launch_app(context: &LauncherContext, app: &App) -> LaunchResult {
    if context.dry_run() {
        return LaunchResult::Launched;
    }
    let answer = context
        .sms
        .launch_app()
        .app_id(app.id.as_str())
        .send()
        .await;
    let Err(error) = answer else {
        return LaunchResult::Launched;
    };
    let error = AwsCallError::from_sdk("SMS", "LaunchApp", &error);
    if error.retryability() == Retryability::Retryable {
        return LaunchResult::Failed(error);
    }
    // Refused because another invocation launched it a moment ago?
    if let Ok(now) = context
        .warm
        .read(&context.sms, &app.id, context.now())
        .await
    {
        let launching = now.launch_status.phase == LaunchPhase::Launching;
        if now.launch_status.is_launched() || launching {
            tracing::info!(app = %app.id, status = %now.launch_status, "launched by another invocation");
            return LaunchResult::LostRace;
        }
    }
    tracing::warn!(app = %app.id, error = %error, "LaunchApp refused");
    LaunchResult::Refused(error)
}

/// Records each result in the ledger and its events in the outbox; returns the errors
/// worth an invocation retry.
pub fn record(
    books: RunBooks<'_>,
    results: Vec<(Launch, LaunchResult)>,
    max_attempts: u32,
) -> Vec<AwsCallError> {
    let mut errors = Vec::new();
    let dry_run = books.summary.dry_run;
    for (Launch { app, attempt }, result) in results {
        let servers = u32::try_from(app.member_ids().len()).unwrap_or(u32::MAX);
        let ready = AppReady {
            app_id: app.id.clone(),
            app_name: app.name.clone(),
            servers,
        };
        let announced = match result {
            LaunchResult::Launched => {
                books.summary.launched += 1;
                books.ledger.settle_launch(&app.id);
                let launched = AppLaunched {
                    app_id: app.id.clone(),
                    app_name: app.name.clone(),
                    servers,
                    attempt,
                };
                OutgoingEvent::new(launched, dry_run)
            }
            LaunchResult::Refused(error) => {
                books.summary.launch_refused += 1;
                let (attempts, retrying) = books.ledger.refused_launch(&app.id, max_attempts);
                books.ledger.settle_launch(&app.id);
                let failed = AppLaunchFailed {
                    app_id: app.id.clone(),
                    app_name: app.name.clone(),
                    error_code: error.kind.name().to_owned(),
                    message: error.message,
                    attempts,
                    retrying,
                };
                OutgoingEvent::new(failed, dry_run)
            }
            LaunchResult::LostRace => {
                books.summary.counts.already_launched_or_in_progress += 1;
                books.ledger.release_launch(&app.id);
                continue;
            }
            LaunchResult::Failed(error) => {
                books.ledger.release_launch(&app.id);
                errors.push(error);
                continue;
            }
        };
        let outbox = &mut books.ledger.outbox;
        outbox.push(OutgoingEvent::new(ready, dry_run));
        outbox.push(announced);
    }
    errors
}
