//! mgn-launcher: on its schedule and on MGN's launch results and life-cycle changes,
//! moves each application of the accepted wave plan through MGN: a test launch once
//! every member replicates and is ready for testing, the applications it depends on
//! are tested and its test window is open; the test checked (the launch job's result
//! per server and its log, then the copies' EC2 status checks within a time limit);
//! passed, its servers marked ready for cutover and the test copies terminated;
//! failed, alerted once with the server and why, reverted and its copies terminated,
//! launched again within the budget, then left to a person. Then the cutover, in
//! dependency order and inside the cutover window, never for an application whose test
//! did not pass, checked the same way and finalized; then archived when the plan asks.
//! The decisions are `autopilot_core::cutover`; the books live in the artifacts bucket
//! with an outbox, a launch claimed there before it is asked for.

use std::sync::Arc;

use autopilot_core::artifacts::{self, StateObject};
use autopilot_core::config::MgnLauncherConfig;
use autopilot_core::cutover::{decide, CutoverLedger, Subject};
use autopilot_core::outbox;
use autopilot_core::runtime::Context;
use autopilot_core::trigger::{Incoming, MGN_LAUNCH_RESULT, MGN_LIFECYCLE_STATE_CHANGE};
use autopilot_core::AutopilotError;
use serde::Serialize;
use serde_json::Value;

mod act;
mod observe;

/// Where the books live in the artifacts bucket.
pub const LEDGER_KEY: &str = "state/mgn-launcher/ledger.json";

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    /// The version of the plan whose resolution this run followed, if there is one.
    pub plan_version: Option<String>,
    pub servers_observed: usize,
    pub applications: usize,
    pub waiting: usize,
    pub launches_started: usize,
    pub launches_watched: usize,
    pub launches_passed: usize,
    pub launches_failed: usize,
    /// Applications whose launch budget this invocation spent.
    pub given_up: usize,
    pub archived: usize,
    /// Applications left to a person, and of those the ones reported this time.
    pub held: usize,
    pub holds_reported: usize,
    /// Applications whose hold no longer stands, announced now.
    pub resumed: usize,
    /// Applications with nothing left to do.
    pub done: usize,
    pub step_errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
    pub events_deferred: usize,
}

/// What invoked the launcher, checked before anything is read.
fn trigger(incoming: &Incoming) -> Result<String, AutopilotError> {
    if incoming.is_schedule() {
        return Ok("schedule".to_owned());
    }
    match incoming.mgn_server_event(&[MGN_LAUNCH_RESULT, MGN_LIFECYCLE_STATE_CHANGE]) {
        Some(event) => {
            let event = event?;
            Ok(format!("{} {}", event.state, event.server_id))
        }
        None => Err(incoming.unexpected(
            "scheduled events and aws.mgn Launch Result and Lifecycle State Change events",
        )),
    }
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<MgnLauncherConfig>>,
) -> Result<Summary, AutopilotError> {
    let trigger = trigger(&Incoming::parse(payload)?)?;
    let now = context.now();
    let bucket = &context.config.artifacts_bucket;
    let object = StateObject::new(&context.s3, bucket, LEDGER_KEY, "mgn-launcher ledger");
    let mut ledger: CutoverLedger = object.load().await?;
    let plan = artifacts::load_resolved_plan(&context.s3, bucket).await?;
    let (apps, listed) = observe::applications(&context, &plan).await?;
    let mut summary = Summary {
        trigger,
        plan_version: Some(plan.plan_version.clone()).filter(|v| !v.is_empty()),
        servers_observed: listed,
        applications: apps.len(),
        dry_run: context.dry_run(),
        ..Summary::default()
    };
    let doing = act::Doing {
        context: &context,
        object: &object,
        now,
        dry_run: context.dry_run(),
    };
    let mut errors = Vec::new();
    let mut claims = Vec::new();
    let seen = observe::Sightings::read(&context, &ledger).await;
    for app in &apps {
        let progress = match observe::progress(&context, (&mut ledger, &seen), app, now).await {
            Ok(progress) => progress,
            Err(error) => {
                errors.push(AutopilotError::from(error));
                continue;
            }
        };
        let subject = Subject {
            name: &app.name,
            policy: &app.policy,
            members: &app.members,
            missing: app.missing(),
            progress,
        };
        let step = decide(&subject, &ledger, &context.config.limits, now);
        let books = (&mut ledger, &mut claims);
        if let Err(error) = act::take(&doing, books, app, step, &mut summary).await {
            tracing::warn!(app = %app.name, %error, "step not done; tried again next run");
            errors.push(error);
        }
    }
    errors.extend(act::start_claimed(&doing, &mut ledger, claims, &mut summary).await);
    object.store_if_changed(&ledger).await?;
    let delivery = outbox::publish(&context.publisher, &object, &mut ledger).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    summary.step_errors = errors.len();
    match errors.into_iter().next() {
        Some(first) if summary.step_errors > 0 => {
            tracing::warn!(
                failed = summary.step_errors,
                "some applications' steps failed"
            );
            Err(first)
        }
        _ => Ok(summary),
    }
}
