//! app-launcher: on `ReplicationRunCompleted` events and its schedule, launches every
//! app whose members all have a COMPLETED replication run — never before, never twice,
//! never an app opted out by tag, and only inside the launch window when one is set.
//!
//! Membership (server groups, tags) comes from GetApp, and is remembered (`AppCache`, in
//! memory and in the artifacts bucket) only for as long as this invocation's ListApps
//! shows the same version of the app. Launch status always comes from the same
//! invocation's ListApps, job states from its own GetReplicationJobs sweep, and an app
//! found ready from memory is read again before LaunchApp: a remembered membership or
//! tag can delay a launch, never cause one.

use std::collections::HashMap;
use std::sync::Arc;

use autopilot_core::app_cache::AppCache;
use autopilot_core::config::AppLauncherConfig;
use autopilot_core::error::Retryability;
use autopilot_core::events::{
    AppLaunchFailed, AppLaunched, AppReady, OutgoingEvent, ReplicationRunCompleted,
};
use autopilot_core::model::{App, AppId, AppLaunchStatus, ReplicationJob, ServerId};
use autopilot_core::readiness::{app_readiness, jobs_by_server, AppReadiness};
use autopilot_core::runtime::Context;
use autopilot_core::sms_api;
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError};
use aws_sdk_sms::types::AppSummary;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

/// The launcher's context: its configuration and its warm cache.
pub type LauncherContext = Context<AppLauncherConfig, AppCache>;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub apps: usize,
    pub launchable_status: usize,
    /// GetApp calls made.
    pub apps_read: usize,
    /// Candidates whose membership was remembered instead.
    pub apps_remembered: usize,
    pub launched: usize,
    pub launch_refused: usize,
    pub waiting: usize,
    pub blocked: usize,
    pub already_launched_or_in_progress: usize,
    pub not_launchable: usize,
    pub outside_launch_window: usize,
    pub errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
}

/// What happened to one candidate app; an app found ready ends launched, refused,
/// outside the window or in error, so "ready" is not an outcome.
enum Outcome {
    Waiting,
    Blocked,
    LaunchedOrInProgress,
    NotLaunchable,
    OutsideWindow,
    Launched(Vec<OutgoingEvent>),
    Refused(Vec<OutgoingEvent>),
    Error(AwsCallError),
}

pub async fn handle(
    payload: Value,
    context: Arc<LauncherContext>,
) -> Result<Summary, AutopilotError> {
    let incoming = Incoming::parse(payload)?;
    let trigger = if incoming.is_schedule() {
        "schedule".to_owned()
    } else if let Some(completed) = incoming.project_detail::<ReplicationRunCompleted>() {
        format!(
            "ReplicationRunCompleted {}",
            completed?.body.replication_job_id
        )
    } else {
        return Err(incoming.unexpected("scheduled events and ReplicationRunCompleted"));
    };
    let dry_run = context.dry_run();
    let mut summary = Summary {
        trigger,
        dry_run,
        ..Summary::default()
    };

    let summaries = sms_api::app_summaries(&context.sms).await?.items;
    summary.apps = summaries.len();
    // The summary's launch status rules most apps out without GetApp.
    let candidates: Vec<(AppId, AppSummary)> = summaries
        .iter()
        .filter_map(|app| {
            let status = AppLaunchStatus::from_wire(app.launch_status()?.as_str());
            let id = AppId::from(app.app_id()?);
            status.is_launchable().then(|| (id, app.clone()))
        })
        .collect();
    summary.launchable_status = candidates.len();
    summary.already_launched_or_in_progress = summary.apps - candidates.len();
    if candidates.is_empty() {
        return Ok(summary);
    }

    let bucket = &context.config.artifacts_bucket;
    context
        .warm
        .load_if_needed(&context.s3, bucket, &candidates)
        .await;
    let jobs = sms_api::replication_jobs(&context.sms).await?.items;
    let index = jobs_by_server(&jobs);
    let index = &index;
    let concurrency = context.config.app_concurrency as usize;
    let outcomes: Vec<(Outcome, bool)> = stream::iter(candidates)
        .map(|(app_id, listed)| {
            let context = Arc::clone(&context);
            async move { consider(&context, &app_id, &listed, index, dry_run).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    context
        .warm
        .save_if_changed(&context.s3, bucket, &summaries)
        .await;

    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (outcome, read) in outcomes {
        if read {
            summary.apps_read += 1;
        } else {
            summary.apps_remembered += 1;
        }
        match outcome {
            Outcome::Waiting => summary.waiting += 1,
            Outcome::Blocked => summary.blocked += 1,
            Outcome::LaunchedOrInProgress => summary.already_launched_or_in_progress += 1,
            Outcome::NotLaunchable => summary.not_launchable += 1,
            Outcome::OutsideWindow => summary.outside_launch_window += 1,
            Outcome::Launched(decided) => {
                summary.launched += 1;
                events.extend(decided);
            }
            Outcome::Refused(decided) => {
                summary.launch_refused += 1;
                events.extend(decided);
            }
            Outcome::Error(error) => errors.push(error),
        }
    }
    summary.errors = errors.len();
    let bus = context.publisher.bus_name().to_owned();
    summary.events_published = context.publisher.publish(events).await.into_result(&bus)?;
    if let Some(error) = AutopilotError::partial("apps", summary.launchable_status, &errors) {
        return Err(error);
    }
    Ok(summary)
}

/// Readiness from the remembered or freshly read app, then LaunchApp when ready; also
/// says whether it called GetApp.
async fn consider(
    context: &LauncherContext,
    app_id: &AppId,
    listed: &AppSummary,
    jobs: &HashMap<ServerId, &ReplicationJob>,
    dry_run: bool,
) -> (Outcome, bool) {
    let (mut app, mut read) = match context
        .warm
        .get(&context.sms, app_id, listed, context.now())
        .await
    {
        Ok(found) => found,
        Err(error) => return (Outcome::Error(error), true),
    };
    // The listing of this invocation says where the launch stands.
    if let Some(status) = listed.launch_status() {
        app.launch_status = AppLaunchStatus::from_wire(status.as_str());
    }
    let mut readiness = app_readiness(&app, jobs, &context.config.opt_out);
    if readiness == AppReadiness::Ready && !read {
        // Launch on what the service says now, not on what was remembered.
        read = true;
        app = match context.warm.read(&context.sms, app_id, context.now()).await {
            Ok(app) => app,
            Err(error) => return (Outcome::Error(error), read),
        };
        readiness = app_readiness(&app, jobs, &context.config.opt_out);
    }
    (
        launch_if_ready(context, app, readiness, dry_run).await,
        read,
    )
}

/// LaunchApp for a ready app inside the launch window.
async fn launch_if_ready(
    context: &LauncherContext,
    app: App,
    readiness: AppReadiness,
    dry_run: bool,
) -> Outcome {
    let not_ready = match readiness {
        AppReadiness::Ready => None,
        AppReadiness::Waiting { .. } => Some(Outcome::Waiting),
        AppReadiness::Blocked { .. } => Some(Outcome::Blocked),
        AppReadiness::AlreadyLaunched | AppReadiness::InProgress => {
            Some(Outcome::LaunchedOrInProgress)
        }
        AppReadiness::NotLaunchable { .. } => Some(Outcome::NotLaunchable),
    };
    if let Some(outcome) = not_ready {
        tracing::debug!(app = %app.id, readiness = ?readiness, "not launching");
        return outcome;
    }
    if let Some(window) = &context.config.launch_window {
        if !window.contains(context.now()) {
            tracing::info!(app = %app.id, "ready, waiting for the launch window");
            return Outcome::OutsideWindow;
        }
    }
    let servers = u32::try_from(app.member_ids().len()).unwrap_or(u32::MAX);
    let ready = OutgoingEvent::new(
        AppReady {
            app_id: app.id.clone(),
            app_name: app.name.clone(),
            servers,
        },
        dry_run,
    );
    let launched = || {
        OutgoingEvent::new(
            AppLaunched {
                app_id: app.id.clone(),
                app_name: app.name.clone(),
                servers,
            },
            dry_run,
        )
    };
    if dry_run {
        return Outcome::Launched(vec![ready, launched()]);
    }
    match context
        .sms
        .launch_app()
        .app_id(app.id.as_str())
        .send()
        .await
    {
        Ok(_) => Outcome::Launched(vec![ready, launched()]),
        Err(error) => {
            let error = AwsCallError::from_sdk("SMS", "LaunchApp", &error);
            if error.retryability() == Retryability::Retryable {
                return Outcome::Error(error);
            }
            // Refused because another invocation launched it a moment ago: that launch
            // is the one that counts, and there is nothing to report.
            if let Ok(now) = context
                .warm
                .read(&context.sms, &app.id, context.now())
                .await
            {
                if now.launch_status.is_launched()
                    || matches!(
                        now.launch_status,
                        AppLaunchStatus::LaunchPending | AppLaunchStatus::LaunchInProgress
                    )
                {
                    tracing::info!(app = %app.id, status = %now.launch_status, "launched by another invocation");
                    return Outcome::LaunchedOrInProgress;
                }
            }
            tracing::warn!(app = %app.id, error = %error, "LaunchApp refused");
            Outcome::Refused(vec![
                ready,
                OutgoingEvent::new(
                    AppLaunchFailed {
                        app_id: app.id.clone(),
                        app_name: app.name.clone(),
                        error_code: error.kind.name().to_owned(),
                        message: error.message,
                    },
                    dry_run,
                ),
            ])
        }
    }
}

#[cfg(test)]
mod tests;
