//! mgn-watcher: on its schedule (one paginated sweep of the account's source servers)
//! and on MGN's events about one server, alerts each replication problem once per
//! episode — stalled (with MGN's reason), its agent lost, a lag past the threshold, a
//! first copy past its expected end — with the server and its application named;
//! retries a stalled replication (RetryDataReplication) within the wave's budget; and
//! announces each episode's end. What was alerted is kept in a snapshot in the
//! artifacts bucket with an outbox (`autopilot_core::outbox`): the decided events and
//! the retries claimed are stored before the watcher acts or publishes, so an
//! invocation cut off at any point loses no alert and retries no server twice.

use std::sync::Arc;

use autopilot_core::artifacts::{ResolvedPlanOnce, StateObject};
use autopilot_core::config::MgnWatcherConfig;
use autopilot_core::events::{
    detail_time, OutgoingEvent, ReplicationProblemCleared, ReplicationProblemDetected,
};
use autopilot_core::outbox;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::replication_health::{HealthChanges, HealthSnapshot};
use autopilot_core::runtime::Context;
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use serde::Serialize;
use serde_json::Value;

mod observe;
mod retries;

pub use observe::Request;
use observe::{observe, Observation};

/// Where the snapshot lives in the artifacts bucket.
pub const SNAPSHOT_KEY: &str = "state/mgn-watcher/snapshot.json";

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub servers_observed: usize,
    pub problems_raised: usize,
    pub problems_ongoing: usize,
    pub problems_cleared: usize,
    pub retries_started: usize,
    pub retries_given_up: usize,
    pub retry_errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
    /// Events left in the outbox for the next invocation (too close to the deadline).
    pub events_deferred: usize,
}

impl Summary {
    fn of(observed: &Observation, changes: &HealthChanges, dry_run: bool) -> Self {
        Self {
            trigger: observed.trigger.clone(),
            servers_observed: observed.listed,
            problems_raised: changes.raised.len(),
            problems_ongoing: changes.ongoing,
            problems_cleared: changes.cleared.len(),
            dry_run,
            ..Self::default()
        }
    }
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<MgnWatcherConfig>>,
) -> Result<Summary, AutopilotError> {
    let request = Request::of(&Incoming::parse(payload)?)?;
    let now = context.now();
    let dry_run = context.dry_run();
    let bucket = &context.config.artifacts_bucket;
    let object = StateObject::new(&context.s3, bucket, SNAPSHOT_KEY, "mgn-watcher snapshot");
    let previous: HealthSnapshot = object.load().await?;
    let observation = observe(&context, request, &previous, now).await?;
    let policy = &context.config.health;
    let (changes, mut next) =
        previous.observe(&observation.servers, observation.coverage, policy, now);
    drop(previous);
    let mut summary = Summary::of(&observation, &changes, dry_run);

    // Claim before acting: stored, these events and retries survive a cut-off run.
    let due = retries::due(&next, &observation, policy, now);
    let naming = !changes.raised.is_empty() || !changes.cleared.is_empty() || !due.is_empty();
    let plan = ResolvedPlanOnce::default()
        .when(naming, &context.s3, bucket)
        .await?;
    next.outbox.extend(announcements(&changes, &plan, dry_run));
    retries::claim(&mut next, &due, now);
    object.store_if_changed(&next).await?;

    let retried = retries::call(&context, &due, &plan, dry_run).await;
    (summary.retries_started, summary.retries_given_up) = (retried.started, retried.given_up);
    summary.retry_errors = retried.errors.len();
    if !retried.events.is_empty() {
        next.outbox.extend(retried.events);
        object.store(&next).await?;
    }

    let delivery = outbox::publish(&context.publisher, &object, &mut next).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    let attempted = summary.retries_started + retried.errors.len();
    match AutopilotError::partial("replication retries", attempted, &retried.errors) {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// The problems raised and the episodes ended by this observation, as events.
fn announcements(
    changes: &HealthChanges,
    plan: &ResolvedPlan,
    dry_run: bool,
) -> Vec<OutgoingEvent> {
    let raised = changes.raised.iter().map(|raised| {
        let (app_name, subject) = plan.naming(raised.name.as_deref(), &raised.server);
        let detected = ReplicationProblemDetected {
            server_id: raised.server.clone(),
            vm_name: raised.name.clone(),
            app_name,
            subject,
            problem: raised.problem.kind,
            detail: raised.problem.detail.clone(),
            state: raised.state.status.clone(),
            since: detail_time(raised.since),
        };
        OutgoingEvent::new(detected, dry_run)
    });
    let cleared = changes.cleared.iter().map(|cleared| {
        let (app_name, subject) = plan.naming(cleared.name.as_deref(), &cleared.server);
        let ended = ReplicationProblemCleared {
            server_id: cleared.server.clone(),
            vm_name: cleared.name.clone(),
            app_name,
            subject,
            problem: cleared.kind,
            state: cleared.state.as_ref().map(|state| state.status.clone()),
            since: detail_time(cleared.since),
        };
        OutgoingEvent::new(ended, dry_run)
    });
    raised.chain(cleared).collect()
}

#[cfg(test)]
mod tests;
