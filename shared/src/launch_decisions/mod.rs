//! What the launcher does about each assessed app, decided against its ledger and the
//! accepted wave plan: report a hold or a failed launch once, announce an app a person
//! launches (manual, or opted out) ready once, wait for the applications an app depends
//! on ([`dependencies`]) and for its window, and claim the launches to make (the claims
//! are stored before the launch is asked for).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::AppLauncherConfig;
use crate::error::AwsCallError;
use crate::events::{AppLaunchFailed, AppLaunchHeld, AppReady, OutgoingEvent};
use crate::launches::LaunchLedger;
use crate::migration::LaunchPhase;
use crate::model::{App, AppId};
use crate::plan::resolved::{AppPolicy, ResolvedPlan};
use crate::plan::rules::MANAGED_TAG;
use crate::plan::LaunchMode;
use crate::readiness::{AppReadiness, LaunchWindow};

pub mod dependencies;

pub use dependencies::Dependencies;

/// One candidate app, assessed.
pub struct Assessed {
    pub app_id: AppId,
    /// The app and its readiness, or why it could not be read.
    pub found: Result<(App, AppReadiness), AwsCallError>,
    /// The app was read from the service (else its membership was remembered).
    pub read: bool,
}

/// What the decisions of one invocation counted, as the launcher's summary reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchCounts {
    /// Apps read from the service.
    pub apps_read: usize,
    /// Candidates whose membership was remembered instead.
    pub apps_remembered: usize,
    pub waiting: usize,
    pub blocked: usize,
    pub already_launched_or_in_progress: usize,
    pub not_launchable: usize,
    /// Replicated apps that cannot launch for want of a valid launch configuration.
    pub unconfigured: usize,
    /// Of those, the ones reported by this invocation.
    pub holds_reported: usize,
    /// Failed launches alerted by this invocation.
    pub launch_failures_alerted: usize,
    /// Ready apps a person launches (the plan says `manual`).
    pub manual: usize,
    /// Ready apps the plan rolls back (`rollback`): held, never launched.
    pub rolled_back: usize,
    /// Ready apps waiting for the applications they depend on.
    pub waiting_for_dependencies: usize,
    /// Ready apps left alone because their launch budget is spent.
    pub launch_budget_spent: usize,
    pub outside_launch_window: usize,
}

/// A launch claimed in the ledger, to be made.
pub struct Launch {
    pub app: App,
    pub attempt: u32,
}

/// The decisions of one invocation.
#[derive(Default)]
pub struct Decisions {
    pub launches: Vec<Launch>,
    /// Apps that could not be read.
    pub errors: Vec<AwsCallError>,
    /// The applications ready apps wait for that are on their way (not left to a
    /// person), by the plan's names.
    pub awaited: BTreeSet<String>,
}

/// Where the decisions are recorded and announced.
pub struct Books<'a> {
    pub ledger: &'a mut LaunchLedger,
    pub summary: &'a mut LaunchCounts,
    /// A rehearsal: its events say so, and it spends no launch budget.
    pub dry_run: bool,
}

impl Books<'_> {
    /// The same books, for one more step.
    pub fn reborrow(&mut self) -> Books<'_> {
        Books {
            ledger: &mut *self.ledger,
            summary: &mut *self.summary,
            dry_run: self.dry_run,
        }
    }
}

/// What a launch must respect beyond readiness.
pub struct Rules<'a> {
    pub config: &'a AppLauncherConfig,
    pub now: DateTime<Utc>,
    /// The accepted wave plan (empty without one).
    pub plan: &'a ResolvedPlan,
    /// Where the applications others depend on stand.
    pub dependencies: &'a Dependencies,
}

impl Rules<'_> {
    /// The plan's policy for `app`, found by the planner's tag, else by name.
    fn policy(&self, app: &App) -> Option<&AppPolicy> {
        let name = app
            .tag(MANAGED_TAG)
            .or(app.name.as_deref())
            .unwrap_or_default();
        self.plan.apps.get(name)
    }
}

/// Decides for every assessed app, recording reports and claims in the ledger and
/// their events in its outbox.
pub fn decide(mut books: Books<'_>, assessed: Vec<Assessed>, rules: &Rules<'_>) -> Decisions {
    let mut decisions = Decisions::default();
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
                decisions.errors.push(error);
                continue;
            }
        };
        tracing::debug!(app = %app_id, readiness = ?readiness, "assessed");
        let counts = &mut *books.summary;
        match readiness {
            AppReadiness::Unconfigured { reason } => {
                counts.unconfigured += 1;
                report_hold(&mut books, &app, reason);
                continue;
            }
            AppReadiness::OptedOut { .. } => {
                counts.not_launchable += 1;
                announce_ready(&mut books, &app);
            }
            AppReadiness::Ready => {}
            AppReadiness::Waiting { .. } => counts.waiting += 1,
            AppReadiness::Blocked { .. } => counts.blocked += 1,
            AppReadiness::AlreadyLaunched | AppReadiness::InProgress => {
                counts.already_launched_or_in_progress += 1;
            }
            AppReadiness::NotLaunchable { .. } => counts.not_launchable += 1,
        }
        if readiness == AppReadiness::Ready {
            let awaited = &mut decisions.awaited;
            let launch = decide_launch(&mut books, app, rules, awaited);
            decisions.launches.extend(launch);
        } else {
            books.ledger.clear_hold(&app.id);
        }
    }
    decisions
}

/// A hold, reported once per reason.
fn report_hold(books: &mut Books<'_>, app: &App, reason: String) {
    if books.ledger.report_hold(&app.id, &reason) {
        tracing::warn!(app = %app.id, reason = %reason, "replicated, but held");
        books.summary.holds_reported += 1;
        let held = AppLaunchHeld {
            app_id: app.id.clone(),
            app_name: app.name.clone(),
            launch_status: app.launch_status.to_string(),
            reason,
        };
        books
            .ledger
            .outbox
            .push(OutgoingEvent::new(held, books.dry_run));
    }
}

/// `AppReady`, once, for an app a person launches: its template is still wanted.
fn announce_ready(books: &mut Books<'_>, app: &App) {
    if books.ledger.announce_ready(&app.id) {
        let ready = AppReady {
            app_id: app.id.clone(),
            app_name: app.name.clone(),
            servers: u32::try_from(app.member_ids().len()).unwrap_or(u32::MAX),
        };
        books
            .ledger
            .outbox
            .push(OutgoingEvent::new(ready, books.dry_run));
    }
}

/// A ready app: its failed launch alerted once, then claimed for a launch when the
/// plan, the budget, its dependencies and its window allow.
fn decide_launch(
    books: &mut Books<'_>,
    app: App,
    rules: &Rules<'_>,
    awaited: &mut BTreeSet<String>,
) -> Option<Launch> {
    let policy = rules.policy(&app);
    // Rolled back: held until the plan says `automatic` again, announced to nobody.
    if policy.is_some_and(|p| p.launch == LaunchMode::Rollback) {
        books.summary.rolled_back += 1;
        return None;
    }
    // A person launches a manual app; one the planner made but the accepted plan no
    // longer names waits for one too (never launched on a plan's silence).
    let by_hand = match policy {
        Some(p) => p.launch == LaunchMode::Manual,
        None => app.tag(MANAGED_TAG).is_some(),
    };
    let max_attempts = if by_hand {
        0
    } else {
        rules.config.launch_max_attempts
    };
    let may_launch = if app.launch_status.phase == LaunchPhase::LaunchFailed {
        alert_failed_launch(books, &app, max_attempts)
    } else {
        books.ledger.may_launch(&app.id, max_attempts)
    };
    if let Some(policy) = policy {
        let dependencies = rules.dependencies;
        if wait_for_dependencies(books.reborrow(), &app, policy, dependencies, awaited) {
            return None;
        }
    }
    books.ledger.clear_hold(&app.id);
    if by_hand {
        books.summary.manual += 1;
        announce_ready(books, &app);
        return None;
    }
    if !may_launch {
        books.summary.launch_budget_spent += 1;
        return None;
    }
    if !inside_window(&app, policy, rules) {
        books.summary.outside_launch_window += 1;
        return None;
    }
    // A dry run announces the launch it would make, and spends no budget on it.
    let attempt = if books.dry_run {
        books
            .ledger
            .apps
            .get(&app.id)
            .map_or(1, |record| record.launches + 1)
    } else {
        books.ledger.claim_launch(&app.id)
    };
    Some(Launch { app, attempt })
}

/// Whether a ready app waits for applications it depends on; one that waits for an
/// application left to a person is reported held, once.
fn wait_for_dependencies(
    mut books: Books<'_>,
    app: &App,
    policy: &AppPolicy,
    dependencies: &Dependencies,
    awaited: &mut BTreeSet<String>,
) -> bool {
    let waiting_for: Vec<&String> = policy
        .depends_on
        .iter()
        .filter(|d| !dependencies.launched(d))
        .collect();
    if waiting_for.is_empty() {
        return false;
    }
    books.summary.waiting_for_dependencies += 1;
    let stuck: Vec<String> = waiting_for
        .iter()
        .filter_map(|d| {
            dependencies
                .left_to_a_person(d)
                .map(|why| format!("{d} ({why})"))
        })
        .collect();
    awaited.extend(
        waiting_for
            .iter()
            .filter(|d| dependencies.left_to_a_person(d).is_none())
            .map(|d| (*d).clone()),
    );
    if stuck.is_empty() {
        tracing::info!(app = %app.id, waiting_for = ?waiting_for, "ready, waiting for the applications it depends on");
        books.ledger.clear_hold(&app.id);
    } else {
        let reason = format!(
            "it waits for applications the autopilot will not launch: {}",
            stuck.join(", ")
        );
        report_hold(&mut books, app, reason);
    }
    true
}

/// The app's window (the plan's, else the launcher's) is open, or there is none.
fn inside_window(app: &App, policy: Option<&AppPolicy>, rules: &Rules<'_>) -> bool {
    // The planner accepted only windows that parse; one that does not is ignored
    // rather than holding the app forever.
    let planned: Option<LaunchWindow> = policy
        .and_then(|p| p.window.as_deref())
        .and_then(|w| w.parse().ok());
    let window = planned.as_ref().or(rules.config.launch_window.as_ref());
    let open = window.is_none_or(|w| w.contains(rules.now));
    if !open {
        tracing::info!(app = %app.id, "ready, waiting for the launch window");
    }
    open
}

/// Alerts a LAUNCH_FAILED once; says whether the budget allows another launch.
fn alert_failed_launch(books: &mut Books<'_>, app: &App, max_attempts: u32) -> bool {
    // The app's last change tells this failed launch from the next.
    let failure = match (&app.last_modified, &app.launch_status_message) {
        (Some(at), _) => at.to_rfc3339(),
        (None, message) => message.clone().unwrap_or_default(),
    };
    let failed = books.ledger.failed_launch(&app.id, &failure, max_attempts);
    if failed.alert {
        books.summary.launch_failures_alerted += 1;
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
        books
            .ledger
            .outbox
            .push(OutgoingEvent::new(alert, books.dry_run));
    }
    failed.retry
}
