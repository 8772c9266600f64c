//! app-launcher: on `ReplicationRunCompleted` events and its schedule, launches every
//! app whose members all have a COMPLETED replication run — never before, never twice,
//! never an app opted out by tag, and only inside the launch window when one is set.

use std::collections::HashMap;
use std::sync::Arc;

use autopilot_core::config::AppLauncherConfig;
use autopilot_core::error::Retryability;
use autopilot_core::events::{
    AppLaunchFailed, AppLaunched, AppReady, OutgoingEvent, ReplicationRunCompleted,
};
use autopilot_core::model::{AppId, AppLaunchStatus, ReplicationJob, ServerId};
use autopilot_core::readiness::{app_readiness, jobs_by_server, AppReadiness};
use autopilot_core::runtime::Context;
use autopilot_core::sms_api;
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub apps: usize,
    pub launchable_status: usize,
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

/// What happened to one candidate app.
enum Outcome {
    Readiness(AppReadiness),
    OutsideWindow,
    Launched(Vec<OutgoingEvent>),
    Refused(Vec<OutgoingEvent>),
    Error(AwsCallError),
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<AppLauncherConfig>>,
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
    let candidates: Vec<AppId> = summaries
        .iter()
        .filter(|app| {
            app.launch_status()
                .is_some_and(|s| AppLaunchStatus::from_wire(s.as_str()).is_launchable())
        })
        .filter_map(|app| app.app_id().map(AppId::from))
        .collect();
    summary.launchable_status = candidates.len();
    summary.already_launched_or_in_progress = summary.apps - candidates.len();
    if candidates.is_empty() {
        return Ok(summary);
    }

    let jobs = sms_api::replication_jobs(&context.sms).await?.items;
    let index = jobs_by_server(&jobs);
    let index = &index;
    let concurrency = context.config.app_concurrency as usize;
    let outcomes: Vec<Outcome> = stream::iter(candidates)
        .map(|app_id| {
            let context = Arc::clone(&context);
            async move { consider(&context, &app_id, index, dry_run).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let mut events = Vec::new();
    let mut errors = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Readiness(AppReadiness::Waiting { .. }) => summary.waiting += 1,
            Outcome::Readiness(AppReadiness::Blocked { .. }) => summary.blocked += 1,
            Outcome::Readiness(AppReadiness::AlreadyLaunched | AppReadiness::InProgress) => {
                summary.already_launched_or_in_progress += 1
            }
            Outcome::Readiness(AppReadiness::NotLaunchable { .. }) => summary.not_launchable += 1,
            Outcome::Readiness(AppReadiness::Ready) => {
                unreachable!("ready apps are launched or deferred")
            }
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
    if let Some(first) = errors.first() {
        return Err(AutopilotError::Partial {
            items: "apps",
            failed: errors.len(),
            total: summary.launchable_status,
            first_error: first.to_string(),
            retryability: if errors
                .iter()
                .any(|e| e.retryability() == Retryability::Retryable)
            {
                Retryability::Retryable
            } else {
                Retryability::Permanent
            },
        });
    }
    Ok(summary)
}

/// GetApp, readiness, and LaunchApp when ready.
async fn consider(
    context: &Context<AppLauncherConfig>,
    app_id: &AppId,
    jobs: &HashMap<ServerId, &ReplicationJob>,
    dry_run: bool,
) -> Outcome {
    let app = match sms_api::app(&context.sms, app_id).await {
        Ok(app) => app,
        Err(error) => return Outcome::Error(error),
    };
    let readiness = app_readiness(&app, jobs, &context.config.opt_out);
    if readiness != AppReadiness::Ready {
        tracing::debug!(app = %app.id, readiness = ?readiness, "not launching");
        return Outcome::Readiness(readiness);
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
