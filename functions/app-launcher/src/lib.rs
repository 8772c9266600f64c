//! app-launcher: on `ReplicationRunCompleted` events and its schedule, launches every
//! app whose members all have a COMPLETED replication run — never before, never an app
//! opted out by tag or planned `manual` (those are announced ready once, for their
//! templates), never one SMS cannot launch, never before the applications the plan says
//! it depends on are launched, and only inside its launch window (the plan's, else
//! `LAUNCH_WINDOW`) when one is set. An app that is replicated but has no valid launch
//! configuration, or waits for an application the autopilot will not launch (manual, or
//! its launch budget spent), is reported once (`AppLaunchHeld`, saying why); a launch
//! that fails or is
//! refused is alerted once (`AppLaunchFailed`) and tried again within the launch
//! budget.
//!
//! Each invocation lists the apps (`ListApps`), assesses the candidates ([`assess`]),
//! decides against its ledger ([`decide`]), stores its claims, calls LaunchApp
//! ([`launch`]), and publishes through the ledger's outbox. The ledger (launches made,
//! reports sent, the outbox) is a state object in the artifacts bucket; launches are
//! claimed in it before LaunchApp, so a launcher cut off after the call still counts
//! them, and events wait in its outbox until published.
//!
//! SMS sends no event when a launch ends: while a ready app waits for one in flight,
//! the launcher keeps its one-minute re-check rule enabled ([`recheck`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use autopilot_core::app_cache::AppCache;
use autopilot_core::artifacts;
use autopilot_core::artifacts::StateObject;
use autopilot_core::config::AppLauncherConfig;
use autopilot_core::events::{AppLaunched, AppReady, OutgoingEvent, ReplicationRunCompleted};
use autopilot_core::launches::LaunchLedger;
use autopilot_core::migration::LaunchPhase;
use autopilot_core::model::{AppId, AppStatus};
use autopilot_core::outbox;
use autopilot_core::runtime::Context;
use autopilot_core::sms::{api, vocabulary};
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use aws_sdk_sms::types::AppSummary;
use serde::Serialize;
use serde_json::Value;

mod assess;
mod launch;
mod recheck;

use autopilot_core::launch_decisions::{self, Dependencies, LaunchCounts, Rules};
use recheck::{Recheck, Switched};

/// Where the ledger lives in the artifacts bucket.
pub const LEDGER_KEY: &str = "state/app-launcher/ledger.json";

/// The launcher's context: its configuration and its warm cache.
pub type LauncherContext = Context<AppLauncherConfig, AppCache>;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub apps: usize,
    /// Apps whose launch status allows a launch now or once configured.
    pub candidates: usize,
    pub launched: usize,
    pub launch_refused: usize,
    /// What the decisions counted (apps read, waiting, held, ...).
    #[serde(flatten)]
    pub counts: LaunchCounts,
    /// Launches a cut-off invocation made without announcing them, announced now.
    pub launches_recovered: usize,
    /// Launches in flight that a ready app waits for (the re-check runs while any is).
    pub awaited_launches: usize,
    /// A re-check that found every awaited launch still in flight, and stopped there.
    pub recheck_idle: bool,
    /// What this run did to the re-check rule.
    pub recheck: Option<Switched>,
    pub errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
    /// Events left in the outbox for the next invocation (too close to the deadline).
    pub events_deferred: usize,
}

pub async fn handle(
    payload: Value,
    context: Arc<LauncherContext>,
) -> Result<Summary, AutopilotError> {
    let incoming = Incoming::parse(payload)?;
    let recheck = Recheck::of(context.config.launch_recheck_rule.as_deref(), &incoming);
    let mut summary = Summary {
        trigger: trigger(&incoming, &recheck)?,
        dry_run: context.dry_run(),
        ..Summary::default()
    };
    let bucket = &context.config.artifacts_bucket;
    let object = StateObject::new(&context.s3, bucket, LEDGER_KEY, "app-launcher ledger");
    let mut ledger: LaunchLedger = object.load().await?;
    let summaries = api::app_summaries(&context.sms).await?.items;
    summary.launches_recovered = announce_unsettled(&mut ledger, &summaries, summary.dry_run);
    summary.recheck_idle = recheck.idle(&ledger, &summaries);
    let candidates = if summary.recheck_idle {
        Vec::new()
    } else {
        candidates(&summaries)
    };
    summary.apps = summaries.len();
    summary.candidates = candidates.len();
    summary.counts.already_launched_or_in_progress = summary.apps - candidates.len();

    let errors = if summary.recheck_idle {
        Vec::new()
    } else if candidates.is_empty() {
        ledger.awaited.clear();
        Vec::new()
    } else {
        let books = RunBooks {
            ledger: &mut ledger,
            summary: &mut summary,
        };
        let considered = consider(&context, &summaries, candidates, books, &object);
        let (errors, awaited) = considered.await?;
        ledger.awaited = awaited;
        errors
    };
    summary.awaited_launches = ledger.awaited.len();
    // Stored before publishing: the events go out even if this invocation dies now.
    object.store_if_changed(&ledger).await?;

    let delivery = outbox::publish(&context.publisher, &object, &mut ledger).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    summary.errors = errors.len();
    let switched = recheck.switch(&context, !ledger.awaited.is_empty()).await;
    let partial = AutopilotError::partial("apps", summary.candidates, &errors);
    match (partial, switched) {
        (Some(error), switched) => {
            if let Err(not_switched) = switched {
                tracing::warn!(error = %not_switched, "launch re-check rule not switched");
            }
            Err(error)
        }
        (None, Err(not_switched)) => Err(not_switched.into()),
        (None, Ok(switched)) => {
            summary.recheck = switched;
            Ok(summary)
        }
    }
}

/// Assesses the candidates, decides, stores the claims, launches and records the
/// results; returns the errors worth a retry and the launches in flight a ready app
/// waits for.
async fn consider(
    context: &Arc<LauncherContext>,
    summaries: &[AppSummary],
    candidates: Vec<(AppId, AppSummary)>,
    mut books: RunBooks<'_>,
    object: &StateObject<'_>,
) -> Result<(Vec<autopilot_core::AwsCallError>, BTreeSet<AppId>), AutopilotError> {
    let bucket = &context.config.artifacts_bucket;
    let assessed = assess::assess_all(context, summaries, candidates).await?;
    let plan = artifacts::load_resolved_plan(&context.s3, bucket).await?;
    let listing: Vec<_> = summaries
        .iter()
        .filter_map(autopilot_core::sms::convert::listed_app)
        .collect();
    let dependencies = Dependencies::of(
        &listing,
        &plan,
        books.ledger,
        context.config.launch_max_attempts,
    );
    let rules = Rules {
        config: &context.config,
        now: context.now(),
        plan: &plan,
        dependencies: &dependencies,
    };
    let decided = launch_decisions::decide(books.decisions(), assessed, &rules);
    let mut errors = decided.errors;
    // Claimed before LaunchApp: a launcher cut off after the call still counts it.
    object.store_if_changed(&*books.ledger).await?;
    let results = launch::launch_all(context, decided.launches).await;
    // A dry run's launches are not made: nothing of them is in flight.
    let launched: BTreeSet<AppId> = results
        .iter()
        .filter(|(_, result)| matches!(result, launch::LaunchResult::Launched))
        .filter(|_| !context.dry_run())
        .map(|(launch, _)| launch.app.id.clone())
        .collect();
    errors.extend(launch::record(
        books.reborrow(),
        results,
        context.config.launch_max_attempts,
    ));
    object.store_if_changed(&*books.ledger).await?;
    let awaited = recheck::awaited(summaries, &decided.awaited, &launched);
    Ok((errors, awaited))
}

/// Where a run records what it decided and did: its ledger and its summary.
pub struct RunBooks<'a> {
    pub ledger: &'a mut LaunchLedger,
    pub summary: &'a mut Summary,
}

impl RunBooks<'_> {
    /// The same books, for one more step.
    pub fn reborrow(&mut self) -> RunBooks<'_> {
        RunBooks {
            ledger: &mut *self.ledger,
            summary: &mut *self.summary,
        }
    }

    /// The books the core's launch decisions keep: the ledger and the counts.
    pub fn decisions(&mut self) -> launch_decisions::Books<'_> {
        launch_decisions::Books {
            ledger: &mut *self.ledger,
            dry_run: self.summary.dry_run,
            summary: &mut self.summary.counts,
        }
    }
}

/// What invoked the launcher, as its summary names it.
fn trigger(incoming: &Incoming, recheck: &Recheck<'_>) -> Result<String, AutopilotError> {
    if recheck.by_rule {
        return Ok("launch re-check".to_owned());
    }
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

/// Announces the launches a launcher cut off between LaunchApp and recording it made:
/// the app shows launching or launched while its claim has no recorded outcome.
fn announce_unsettled(ledger: &mut LaunchLedger, summaries: &[AppSummary], dry_run: bool) -> usize {
    let mut announced = 0;
    for listed in summaries {
        let launching = listed.launch_status().is_some_and(|s| {
            let phase = vocabulary::launch_state_of(s).phase;
            phase.is_launched() || phase == LaunchPhase::Launching
        });
        let Some(id) = listed.app_id().filter(|_| launching).map(AppId::from) else {
            continue;
        };
        let Some(attempt) = ledger.take_unsettled(&id) else {
            continue;
        };
        tracing::info!(app = %id, attempt, "a launch made by a cut-off invocation, announced now");
        let servers = u32::try_from(listed.total_servers().unwrap_or(0)).unwrap_or(0);
        let app_name = listed.name().map(str::to_owned);
        let ready = AppReady {
            app_id: id.clone(),
            app_name: app_name.clone(),
            servers,
        };
        let launched = AppLaunched {
            app_id: id,
            app_name,
            servers,
            attempt,
        };
        ledger.outbox.push(OutgoingEvent::new(ready, dry_run));
        ledger.outbox.push(OutgoingEvent::new(launched, dry_run));
        announced += 1;
    }
    announced
}

/// The listed apps whose launch status allows a launch, or would once configured, and
/// that are not being deleted: the summary rules most apps out without GetApp.
fn candidates(summaries: &[AppSummary]) -> Vec<(AppId, AppSummary)> {
    summaries
        .iter()
        .filter_map(|app| {
            let status = vocabulary::launch_state_of(app.launch_status()?);
            let id = AppId::from(app.app_id()?);
            let deleted = app
                .status()
                .is_some_and(|s| AppStatus::from_wire(s.as_str()).is_deleted());
            let candidate = !deleted && (status.is_launchable() || status.needs_configuration());
            candidate.then(|| (id, app.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ledger_tests;

#[cfg(test)]
mod recheck_tests;

#[cfg(test)]
mod fixtures;
