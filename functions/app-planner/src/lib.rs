//! app-planner: makes SMS hold the applications the wave plan declares. On its
//! schedule, when the plan object changes (S3's EventBridge notification) and when a
//! catalog import starts, it reads the plan from the artifacts bucket, resolves its
//! members against the catalog, and creates, updates and configures applications
//! (launch configuration always, app replication where the plan routes it), never
//! changing one that is launching or launched (that is reported as drift), never
//! touching an application the plan does not name unless it carries the planner's tag,
//! and deleting only with `prune`. Once an application has been LAUNCHED for as long
//! as its `finalize` asks, it ends its replication (`finalize`); one the plan rolls
//! back has its stack terminated (`rollback`). An invalid plan, or one whose members conflict in the
//! catalog, changes nothing and is reported once per version.
//!
//! What the launcher and the job-creator take from the accepted plan (launch policies,
//! replication routes and settings) is stored beside the ledger, in
//! `state/app-planner/resolved.json`. Reports wait in the ledger's outbox until
//! published. The changes themselves need no claim: each is idempotent (CreateApp
//! carries a client token derived from the application's name), so an invocation cut
//! off half way is completed by the next; one that nears its deadline makes no more
//! changes ([`CHANGE_MARGIN`]) and leaves them to the next.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use autopilot_core::app_cache::AppCache;
use autopilot_core::artifacts;
use autopilot_core::artifacts::StateObject;
use autopilot_core::config::AppPlannerConfig;
use autopilot_core::events::{CatalogImportStarted, OutgoingEvent, PlanDrift};
use autopilot_core::model::AppId;
use autopilot_core::outbox;
use autopilot_core::plan::desired::{self, DesiredWave};
use autopilot_core::plan::ledger::PlannerLedger;
use autopilot_core::plan::reconcile::{self, Reconciliation};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::plan::{digest, Plan, PlanProblem, PlanRejected as Refusal};
use autopilot_core::runtime::{self, Context};
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError};
use serde::Serialize;
use serde_json::Value;

mod apply;
mod finalize;
mod observe;
mod rollback;

/// Where the ledger lives in the artifacts bucket.
pub const LEDGER_KEY: &str = "state/app-planner/ledger.json";

/// Time one change may take, its SDK retries included (a creation is CreateApp and up
/// to three configuration calls): with less than this and the outbox's publishing
/// margin left before Lambda's deadline, a run makes no more changes and the next run
/// makes the rest. A plan of 5,000 new applications is more changes than one run has
/// time for.
pub const CHANGE_MARGIN: Duration = Duration::from_secs(30);

/// The planner's context: its configuration and the remembered apps.
pub type PlannerContext = Context<AppPlannerConfig, AppCache>;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    /// No plan object exists yet: nothing to do.
    pub no_plan: bool,
    /// A digest of the plan's text.
    pub plan_version: Option<String>,
    /// The plan was refused (invalid, or its members conflict in the catalog).
    pub rejected: bool,
    pub problems: usize,
    pub applications: usize,
    pub changes: usize,
    /// Changes left for the next run: too little time was left before the deadline.
    pub changes_deferred: usize,
    pub in_step: usize,
    pub drifting: usize,
    /// Applications with no member in the catalog yet.
    pub waiting: usize,
    /// Members not in the catalog yet.
    pub members_waiting: usize,
    /// The catalog was not AVAILABLE (an import under way): nothing was planned.
    pub catalog_not_available: bool,
    /// Launched applications whose replication this run ended (`finalize`).
    pub finalized: usize,
    /// Applications whose stack this run terminated (`launch: rollback`).
    pub rolled_back: usize,
    pub errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
    pub events_deferred: usize,
}

pub async fn handle(
    payload: Value,
    context: Arc<PlannerContext>,
) -> Result<Summary, AutopilotError> {
    let mut summary = Summary {
        trigger: trigger(&context, &Incoming::parse(payload)?)?,
        dry_run: context.dry_run(),
        ..Summary::default()
    };
    let bucket = &context.config.artifacts_bucket;
    let object = StateObject::new(&context.s3, bucket, LEDGER_KEY, "app-planner ledger");
    let mut ledger: PlannerLedger = object.load().await?;
    let errors = match observe::plan_bytes(&context).await? {
        // Without a plan object nothing changes, and the last accepted plan stays in
        // force for the launcher and the job-creator (deleting the file is no order to
        // launch the manual applications).
        None => {
            summary.no_plan = true;
            Vec::new()
        }
        Some(bytes) => {
            let books = Books {
                ledger: &mut ledger,
                summary: &mut summary,
                object: &object,
            };
            plan_and_apply(&context, &bytes, books).await?
        }
    };
    // Stored before publishing: the events go out even if this invocation dies now.
    object.store_if_changed(&ledger).await?;
    let delivery = outbox::publish(&context.publisher, &object, &mut ledger).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    summary.errors = errors.len();
    let attempted = summary.changes - summary.changes_deferred;
    if let Some(error) = AutopilotError::partial("plan changes", attempted, &errors) {
        return Err(error);
    }
    Ok(summary)
}

/// What invoked the planner, as its summary names it; S3 notifications of other objects
/// are refused (the rule should not send them).
fn trigger(context: &PlannerContext, incoming: &Incoming) -> Result<String, AutopilotError> {
    if incoming.is_schedule() {
        return Ok("schedule".to_owned());
    }
    let config = &context.config;
    if let Some(changed) = incoming.plan_changed(&config.artifacts_bucket, &config.plan_key) {
        changed?;
        return Ok("plan changed".to_owned());
    }
    if let Some(started) = incoming.project_detail::<CatalogImportStarted>() {
        started?;
        return Ok("catalog import started".to_owned());
    }
    Err(incoming
        .unexpected("scheduled events, S3 Object Created for the plan, and CatalogImportStarted"))
}

/// Where a run records what it decided and did.
struct Books<'a> {
    ledger: &'a mut PlannerLedger,
    summary: &'a mut Summary,
    object: &'a StateObject<'a>,
}

/// Reads, resolves and reconciles the plan, then makes the changes; returns the
/// changes that failed.
async fn plan_and_apply(
    context: &Arc<PlannerContext>,
    bytes: &[u8],
    books: Books<'_>,
) -> Result<Vec<AwsCallError>, AutopilotError> {
    let Books {
        ledger,
        summary,
        object,
    } = books;
    let version = digest(bytes);
    summary.plan_version = Some(version.clone());
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            let problems = vec![problem("the plan is not UTF-8 text".into())];
            reject(context, ledger, summary, &version, problems);
            return Ok(Vec::new());
        }
    };
    let plan = match Plan::parse(text) {
        Ok(plan) => plan,
        Err(refusal) => {
            reject(context, ledger, summary, &version, refusal.problems);
            return Ok(Vec::new());
        }
    };
    let Some(catalog) = observe::available_catalog(context).await? else {
        // An import under way (or none yet) lists part of the estate: planning on it
        // would take members away from applications.
        summary.catalog_not_available = true;
        return Ok(Vec::new());
    };
    let wave = desired::resolve(&plan, &catalog);
    // The catalog is the largest thing a run reads (a few hundred bytes a server); what
    // follows needs only the wave resolved from it.
    drop(catalog);
    if !wave.conflicts.is_empty() {
        let refusal = Refusal::of_conflicts(text, &wave.conflicts);
        reject(context, ledger, summary, &version, refusal.problems);
        return Ok(Vec::new());
    }
    ledger.accepted();
    if !context.dry_run() {
        ledger.announced_in_dry_run.clear();
    }
    let mut resolved = ResolvedPlan::from_wave(&version, &wave);
    resolved.mark_finalized(ledger.finalized.values());
    let (s3, bucket) = (&context.s3, &context.config.artifacts_bucket);
    artifacts::store_resolved_plan(s3, bucket, &resolved).await?;
    let mut existing = observe::existing(context, &wave, &ledger.in_step).await?;
    for app in &mut existing.apps {
        app.launch_put = ledger.launch_put.get(&app.id).cloned();
    }
    let decided = reconcile::reconcile_version(&wave, &existing.apps, plan.prune, &version);
    remember_in_step(ledger, &wave, &existing.apps, &decided);
    count(summary, &plan, &wave, &decided);
    report_drift(context, ledger, &decided, &version);
    let books = Books {
        ledger,
        summary,
        object,
    };
    let (ledger, summary, mut errors) = make_changes(
        context,
        decided.changes,
        existing.group_ids,
        &version,
        books,
    )
    .await?;
    let apps = (&wave, existing.apps.as_slice());
    let (rolled_back, failed) =
        rollback::roll_back_due(context, apps, ledger, object, &version).await?;
    errors.extend(failed);
    let (finalized, failed) = finalize::end_due(context, apps, ledger, object, &version).await?;
    (summary.rolled_back, summary.finalized) = (rolled_back, finalized);
    errors.extend(failed);
    Ok(errors)
}

/// Makes the changes in order while time is left (the rest wait for the next run),
/// storing the ledger as each one's events are decided; returns the books and the
/// changes that failed.
async fn make_changes<'a>(
    context: &PlannerContext,
    changes: Vec<reconcile::Change>,
    mut ids: apply::GroupIds,
    version: &str,
    books: Books<'a>,
) -> Result<(&'a mut PlannerLedger, &'a mut Summary, Vec<AwsCallError>), AutopilotError> {
    let Books {
        ledger,
        summary,
        object,
    } = books;
    let mut errors = Vec::new();
    for change in changes {
        let time_left = runtime::remaining();
        if time_left.is_some_and(|left| left < CHANGE_MARGIN + outbox::PUBLISH_MARGIN) {
            summary.changes_deferred += 1;
            continue;
        }
        let before = ledger.outbox.len();
        let launch_put = match &change {
            reconcile::Change::PutLaunch { app_id, config, .. } => {
                Some((app_id.clone(), config.digest()))
            }
            _ => None,
        };
        let applied = apply::apply(context, change, version, &mut ids, &mut ledger.outbox).await;
        match applied {
            Err(error) => {
                tracing::warn!(error = %error, "plan change failed");
                errors.push(error);
            }
            Ok(()) if !context.dry_run() => ledger.launch_put.extend(launch_put),
            Ok(()) => {}
        }
        if context.dry_run() {
            ledger.drop_repeated_dry_run(before, version);
        }
        // Each change's events are kept as soon as it is made.
        if ledger.outbox.len() > before {
            object.store(&*ledger).await?;
        }
    }
    Ok((ledger, summary, errors))
}

/// Remembers the applications found as planned, so the next run need not read their
/// configurations while they and the plan stay the same, and the launch configuration
/// each gives; forgets the others, and the launch configurations of apps gone.
fn remember_in_step(
    ledger: &mut PlannerLedger,
    wave: &DesiredWave,
    existing: &[autopilot_core::plan::reconcile::ExistingApp],
    decided: &Reconciliation,
) {
    ledger.in_step.clear();
    let live: BTreeSet<&AppId> = existing.iter().map(|app| &app.id).collect();
    ledger.launch_put.retain(|id, _| live.contains(id));
    for app in existing {
        let plan_name = app
            .tags
            .get(autopilot_core::plan::rules::MANAGED_TAG)
            .unwrap_or(&app.name);
        let desired = wave.apps.iter().find(|d| &d.name == plan_name);
        if let Some(desired) = desired.filter(|d| decided.in_step.contains(&d.name)) {
            let key = observe::in_step_key(app.last_modified.as_deref(), desired);
            ledger.in_step.insert(app.id.clone(), key);
            let launch = desired.launch_config().digest();
            ledger.launch_put.insert(app.id.clone(), launch);
        }
    }
}

fn problem(message: String) -> PlanProblem {
    PlanProblem {
        path: String::new(),
        line: None,
        app: None,
        message,
    }
}

/// A refused plan: reported once per version, nothing changed.
fn reject(
    context: &PlannerContext,
    ledger: &mut PlannerLedger,
    summary: &mut Summary,
    version: &str,
    problems: Vec<PlanProblem>,
) {
    summary.rejected = true;
    summary.problems = problems.len();
    let config = &context.config;
    let plan = format!("s3://{}/{}", config.artifacts_bucket, config.plan_key);
    ledger.reject(plan, version, &problems, context.dry_run());
}

fn count(summary: &mut Summary, plan: &Plan, wave: &DesiredWave, decided: &Reconciliation) {
    summary.applications = plan.applications.len();
    summary.changes = decided.changes.len();
    summary.in_step = decided.in_step.len();
    summary.drifting = decided.drift.len();
    summary.waiting = decided.waiting.len();
    summary.members_waiting = wave.waiting.len();
}

/// Drift reported once per application and set of differences.
fn report_drift(
    context: &PlannerContext,
    ledger: &mut PlannerLedger,
    decided: &Reconciliation,
    version: &str,
) {
    let drifting: Vec<&AppId> = decided.drift.iter().map(|d| &d.app_id).collect();
    ledger.keep_drift_of(&drifting);
    for drift in &decided.drift {
        if ledger.report_drift(&drift.app_id, &drift.differences) {
            let event = PlanDrift {
                app_name: drift.name.clone(),
                app_id: drift.app_id.clone(),
                differences: drift.differences.clone(),
                reason: drift.reason.clone(),
                plan_version: Some(version.to_owned()),
            };
            ledger
                .outbox
                .push(OutgoingEvent::new(event, context.dry_run()));
        }
    }
}

#[cfg(test)]
mod tests;
