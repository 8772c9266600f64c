//! Where each candidate app stands: its membership (remembered or read with GetApp),
//! its launch status from this invocation's ListApps, and its readiness against this
//! invocation's job sweep, kept as one standing per server. An app found ready from
//! memory is read again, so a remembered membership or tag can delay a launch, never
//! cause one.

use std::sync::Arc;

use autopilot_core::launch_decisions::Assessed;
use autopilot_core::model::{App, AppId};
use autopilot_core::readiness::{app_readiness, AppReadiness, ServerStandings};
use autopilot_core::sms::{api, vocabulary};
use autopilot_core::AutopilotError;
use aws_sdk_sms::types::AppSummary;

use crate::LauncherContext;

/// Assesses the candidates `app_concurrency` at a time against one job sweep, with the
/// remembered apps loaded first and saved after.
pub async fn assess_all(
    context: &Arc<LauncherContext>,
    summaries: &[AppSummary],
    candidates: Vec<(AppId, AppSummary)>,
) -> Result<Vec<Assessed>, AutopilotError> {
    let mut jobs = ServerStandings::default();
    api::replication_jobs_each(&context.sms, |job| jobs.add(&job)).await?;
    let jobs = &jobs;
    let assessed = context
        .warm
        .visit(
            &context.s3,
            &context.config.artifacts_bucket,
            summaries,
            candidates,
            context.config.app_concurrency as usize,
            |app_id, listed| async move { assess(context, app_id, &listed, jobs).await },
        )
        .await;
    Ok(assessed)
}

/// Readiness from the remembered or freshly read app.
async fn assess(
    context: &LauncherContext,
    app_id: AppId,
    listed: &AppSummary,
    jobs: &ServerStandings,
) -> Assessed {
    let (found, read) = match context
        .warm
        .get(&context.sms, &app_id, listed, context.now())
        .await
    {
        Ok(found) => found,
        Err(error) => {
            return Assessed {
                app_id,
                found: Err(error),
                read: true,
            }
        }
    };
    // Its own copy: the listing's launch status is laid over the one remembered.
    let mut app = as_listed(Arc::unwrap_or_clone(found), listed);
    let opt_out = &context.config.opt_out;
    let mut readiness = app_readiness(&app, jobs, opt_out);
    let mut read = read;
    if readiness == AppReadiness::Ready && !read {
        // Launch on what the service says now, not on what was remembered.
        read = true;
        app = match context
            .warm
            .read(&context.sms, &app_id, context.now())
            .await
        {
            Ok(app) => Arc::unwrap_or_clone(app),
            Err(error) => {
                return Assessed {
                    app_id,
                    found: Err(error),
                    read,
                }
            }
        };
        readiness = app_readiness(&app, jobs, opt_out);
    }
    Assessed {
        app_id,
        found: Ok((app, readiness)),
        read,
    }
}

/// The app with its launch status as this invocation's listing shows it.
fn as_listed(mut app: App, listed: &AppSummary) -> App {
    if let Some(status) = listed.launch_status() {
        app.launch_status = vocabulary::launch_state_of(status);
        app.launch_status_message = listed.launch_status_message().map(str::to_owned);
        app.last_modified = autopilot_core::sms::convert::app_version(listed).last_modified;
    }
    app
}
