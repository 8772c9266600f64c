//! What the launcher does about each assessed app, decided against its ledger: report a
//! hold or a failed launch once, and claim the launches to make (the claims are stored
//! before LaunchApp is called).

use autopilot_core::config::AppLauncherConfig;
use autopilot_core::events::{AppLaunchFailed, AppLaunchHeld, OutgoingEvent};
use autopilot_core::launches::LaunchLedger;
use autopilot_core::model::{App, AppLaunchStatus};
use autopilot_core::readiness::AppReadiness;
use autopilot_core::AwsCallError;
use chrono::{DateTime, Utc};

use crate::assess::Assessed;
use crate::Summary;

/// A launch claimed in the ledger, to be made.
pub struct Launch {
    pub app: App,
    pub attempt: u32,
}

/// The decisions of one invocation.
#[derive(Default)]
pub struct Plan {
    pub launches: Vec<Launch>,
    /// Apps that could not be read.
    pub errors: Vec<AwsCallError>,
}

/// Where the decisions are recorded and announced.
pub struct Books<'a> {
    pub ledger: &'a mut LaunchLedger,
    pub summary: &'a mut Summary,
}

/// Decides for every assessed app, recording reports and claims in the ledger and
/// their events in its outbox.
pub fn plan(
    books: Books<'_>,
    assessed: Vec<Assessed>,
    config: &AppLauncherConfig,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    let dry_run = books.summary.dry_run;
    for Assessed {
        app_id,
        found,
        read,
    } in assessed
    {
        if read {
            books.summary.apps_read += 1;
        } else {
            books.summary.apps_remembered += 1;
        }
        let (app, readiness) = match found {
            Ok(found) => found,
            Err(error) => {
                plan.errors.push(error);
                continue;
            }
        };
        tracing::debug!(app = %app_id, readiness = ?readiness, "assessed");
        let summary = &mut *books.summary;
        match readiness {
            AppReadiness::Unconfigured { reason } => {
                summary.unconfigured += 1;
                if books.ledger.report_hold(&app.id, &reason) {
                    tracing::warn!(app = %app.id, reason = %reason, "replicated, but SMS cannot launch it");
                    summary.holds_reported += 1;
                    let held = AppLaunchHeld {
                        app_id: app.id.clone(),
                        app_name: app.name.clone(),
                        launch_status: app.launch_status.to_string(),
                        reason,
                    };
                    books.ledger.outbox.push(OutgoingEvent::new(held, dry_run));
                }
                continue;
            }
            AppReadiness::Ready => {}
            AppReadiness::Waiting { .. } => summary.waiting += 1,
            AppReadiness::Blocked { .. } => summary.blocked += 1,
            AppReadiness::AlreadyLaunched | AppReadiness::InProgress => {
                summary.already_launched_or_in_progress += 1;
            }
            AppReadiness::NotLaunchable { .. } => summary.not_launchable += 1,
        }
        books.ledger.clear_hold(&app.id);
        if readiness == AppReadiness::Ready {
            plan.launches
                .extend(decide_launch(&mut *books.ledger, summary, app, config, now));
        }
    }
    plan
}

/// A ready app: its failed launch alerted once, then claimed for a launch when the
/// budget and the launch window allow.
fn decide_launch(
    ledger: &mut LaunchLedger,
    summary: &mut Summary,
    app: App,
    config: &AppLauncherConfig,
    now: DateTime<Utc>,
) -> Option<Launch> {
    let max_attempts = config.launch_max_attempts;
    let may_launch = if app.launch_status == AppLaunchStatus::LaunchFailed {
        let failed = ledger.failed_launch(&app.id, max_attempts);
        if failed.alert {
            summary.launch_failures_alerted += 1;
            let message = app
                .launch_status_message
                .clone()
                .unwrap_or_else(|| "the launch failed; SMS gave no status message".to_owned());
            tracing::warn!(app = %app.id, message = %message, retrying = failed.retry, "launch failed");
            let alert = AppLaunchFailed {
                app_id: app.id.clone(),
                app_name: app.name.clone(),
                error_code: "LAUNCH_FAILED".to_owned(),
                message,
                attempts: failed.attempts,
                retrying: failed.retry,
            };
            ledger
                .outbox
                .push(OutgoingEvent::new(alert, summary.dry_run));
        }
        failed.retry
    } else {
        ledger.may_launch(&app.id, max_attempts)
    };
    if !may_launch {
        summary.launch_budget_spent += 1;
        return None;
    }
    if let Some(window) = &config.launch_window {
        if !window.contains(now) {
            tracing::info!(app = %app.id, "ready, waiting for the launch window");
            summary.outside_launch_window += 1;
            return None;
        }
    }
    let attempt = ledger.claim_launch(&app.id);
    Some(Launch { app, attempt })
}
