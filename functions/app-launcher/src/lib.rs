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

impl Outcome {
    /// The outcome of an app that is not ready; `None` for a ready one.
    fn unless_ready(readiness: &AppReadiness) -> Option<Self> {
        match readiness {
            AppReadiness::Ready => None,
            AppReadiness::Waiting { .. } => Some(Self::Waiting),
            AppReadiness::Blocked { .. } => Some(Self::Blocked),
            AppReadiness::AlreadyLaunched | AppReadiness::InProgress => {
                Some(Self::LaunchedOrInProgress)
            }
            AppReadiness::NotLaunchable { .. } => Some(Self::NotLaunchable),
        }
    }
}

pub async fn handle(
    payload: Value,
    context: Arc<LauncherContext>,
) -> Result<Summary, AutopilotError> {
    let trigger = trigger(&Incoming::parse(payload)?)?;
    let dry_run = context.dry_run();
    let mut summary = Summary {
        trigger,
        dry_run,
        ..Summary::default()
    };

    let summaries = sms_api::app_summaries(&context.sms).await?.items;
    let candidates = launchable(&summaries);
    summary.apps = summaries.len();
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
    let outcomes = consider_all(&context, candidates, &jobs_by_server(&jobs), dry_run).await;
    context
        .warm
        .save_if_changed(&context.s3, bucket, &summaries)
        .await;

    let (events, errors) = tally(&mut summary, outcomes);
    let bus = context.publisher.bus_name().to_owned();
    summary.events_published = context.publisher.publish(events).await.into_result(&bus)?;
    if let Some(error) = AutopilotError::partial("apps", summary.launchable_status, &errors) {
        return Err(error);
    }
    Ok(summary)
}

/// What invoked the launcher, as its summary names it.
fn trigger(incoming: &Incoming) -> Result<String, AutopilotError> {
    if incoming.is_schedule() {
        return Ok("schedule".to_owned());
    }
    match incoming.project_detail::<ReplicationRunCompleted>() {
        Some(completed) => Ok(format!(
            "ReplicationRunCompleted {}",
            completed?.body.replication_job_id
        )),
        None => Err(incoming.unexpected("scheduled events and ReplicationRunCompleted")),
    }
}

/// The listed apps whose launch status allows a launch: the summary's launch status
/// rules most apps out without GetApp.
fn launchable(summaries: &[AppSummary]) -> Vec<(AppId, AppSummary)> {
    summaries
        .iter()
        .filter_map(|app| {
            let status = AppLaunchStatus::from_wire(app.launch_status()?.as_str());
            let id = AppId::from(app.app_id()?);
            status.is_launchable().then(|| (id, app.clone()))
        })
        .collect()
}

/// Considers the candidates `app_concurrency` at a time; says for each whether it
/// called GetApp.
async fn consider_all(
    context: &Arc<LauncherContext>,
    candidates: Vec<(AppId, AppSummary)>,
    jobs: &HashMap<ServerId, &ReplicationJob>,
    dry_run: bool,
) -> Vec<(Outcome, bool)> {
    let concurrency = context.config.app_concurrency as usize;
    stream::iter(candidates)
        .map(|(app_id, listed)| {
            let context = Arc::clone(context);
            async move { consider(&context, &app_id, &listed, jobs, dry_run).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// Counts each outcome in the summary; returns the events to publish and the errors.
fn tally(
    summary: &mut Summary,
    outcomes: Vec<(Outcome, bool)>,
) -> (Vec<OutgoingEvent>, Vec<AwsCallError>) {
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
    (events, errors)
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
        launch_if_ready(context, &app, &readiness, dry_run).await,
        read,
    )
}

/// LaunchApp for a ready app inside the launch window.
async fn launch_if_ready(
    context: &LauncherContext,
    app: &App,
    readiness: &AppReadiness,
    dry_run: bool,
) -> Outcome {
    if let Some(outcome) = Outcome::unless_ready(readiness) {
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
    let ready = AppReady {
        app_id: app.id.clone(),
        app_name: app.name.clone(),
        servers,
    };
    let ready = OutgoingEvent::new(ready, dry_run);
    if !dry_run {
        let answer = context
            .sms
            .launch_app()
            .app_id(app.id.as_str())
            .send()
            .await;
        if let Err(error) = answer {
            let error = AwsCallError::from_sdk("SMS", "LaunchApp", &error);
            return refused(context, app, error, ready, dry_run).await;
        }
    }
    let launched = AppLaunched {
        app_id: app.id.clone(),
        app_name: app.name.clone(),
        servers,
    };
    Outcome::Launched(vec![ready, OutgoingEvent::new(launched, dry_run)])
}

/// The outcome of a LaunchApp the service refused: an error when trying again may
/// succeed, else the refusal announced after its `AppReady`.
async fn refused(
    context: &LauncherContext,
    app: &App,
    error: AwsCallError,
    ready: OutgoingEvent,
    dry_run: bool,
) -> Outcome {
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
    let failed = AppLaunchFailed {
        app_id: app.id.clone(),
        app_name: app.name.clone(),
        error_code: error.kind.name().to_owned(),
        message: error.message,
    };
    Outcome::Refused(vec![ready, OutgoingEvent::new(failed, dry_run)])
}

#[cfg(test)]
mod tests;
