//! job-creator: on its schedule, reads the whole server catalog, lets the wave policy
//! choose the servers that need a replication job, and creates those jobs with bounded
//! concurrency. Creating a job that already exists counts as done; a server SMS cannot
//! replicate is reported with `ServerSkipped` once per catalog import (the refusal is
//! remembered in the artifacts bucket); one server's failure never stops the rest. The
//! accepted wave plan (as the planner resolved it) brings the servers of its
//! job-replicated applications into the wave with their replication settings, and keeps
//! those of its app-replicated applications out: app replication makes their jobs.

use std::sync::Arc;

use autopilot_core::artifacts::{self, StateObject};
use autopilot_core::config::JobCreatorConfig;
use autopilot_core::events::{Detail, OutgoingEvent, ReplicationJobCreated, ServerSkipped};
use autopilot_core::model::{Server, ServerCatalogStatus};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::plan::{self, desired, Plan};
use autopilot_core::runtime::Context;
use autopilot_core::sms::api::{self, JobCreation};
use autopilot_core::trigger::Incoming;
use autopilot_core::wave_policy::{CreatorMemory, PlannedServers, ReplicationPlan};
use autopilot_core::{AutopilotError, AwsCallError, AwsErrorKind};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

/// Where refused servers are remembered in the artifacts bucket.
pub const MEMORY_KEY: &str = "state/job-creator/memory.json";

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub catalog_status: String,
    pub servers: usize,
    pub active_jobs: usize,
    pub created: usize,
    pub already_existed: usize,
    /// In a dry run, servers whose job an earlier dry run already announced.
    pub announced_before: usize,
    pub cannot_replicate: usize,
    pub refused_earlier: usize,
    pub not_selected: usize,
    /// Held back by the cap, or because the server's old job is still DELETING.
    pub deferred_by_cap: usize,
    pub failed: usize,
    pub dry_run: bool,
    pub events_published: usize,
}

/// The outcome for one chosen server.
enum Outcome {
    Created(JobCreation),
    CannotReplicate(String),
    Failed(AwsCallError),
    DryRun,
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<JobCreatorConfig>>,
) -> Result<Summary, AutopilotError> {
    let incoming = Incoming::parse(payload)?;
    if !incoming.is_schedule() {
        return Err(incoming.unexpected("scheduled events"));
    }
    let dry_run = context.dry_run();
    let (catalog, sweep) = api::servers(&context.sms).await?;
    let mut summary = Summary {
        catalog_status: catalog.status.to_string(),
        servers: sweep.items.len(),
        dry_run,
        ..Summary::default()
    };
    // While an import runs the list is partial; the next tick sees the whole catalog.
    if catalog.status != ServerCatalogStatus::Available {
        return Ok(summary);
    }
    let bucket = &context.config.artifacts_bucket;
    let object = StateObject::new(&context.s3, bucket, MEMORY_KEY, "job-creator memory");
    let remembered: CreatorMemory = object.load().await?;
    let mut memory = remembered.for_catalog(catalog.last_modified_on);
    let (servers, refused_earlier) = memory.without_refused(sweep.items);
    summary.refused_earlier = refused_earlier;

    let planned = wave_plan(&context, &servers).await?;
    let (plan, active) = plan_jobs(&context, &servers, &planned.planned_servers()).await?;
    summary.active_jobs = active;
    summary.deferred_by_cap = plan.deferred.len();
    summary.not_selected = plan.skipped.len();
    let outcomes = create_jobs(&context, plan.create, &planned, dry_run).await;
    let tally = record_outcomes(outcomes, &mut memory, dry_run);
    summary.created = tally.created;
    summary.already_existed = tally.already_existed;
    summary.announced_before = tally.announced_before;
    summary.cannot_replicate = tally.cannot_replicate;
    summary.failed = tally.failures.len();
    summary.events_published =
        publish_and_remember(&context, tally.events, memory, &object, dry_run).await?;

    // Retrying the invocation is safe: created jobs answer AlreadyExists.
    let attempted =
        summary.created + summary.already_existed + summary.cannot_replicate + summary.failed;
    let failures = &tally.failures;
    if let Some(error) = AutopilotError::partial("CreateReplicationJob calls", attempted, failures)
    {
        return Err(error);
    }
    Ok(summary)
}

/// What the wave plan says of the catalog's servers: the plan in the bucket resolved
/// against this catalog, so a server the planner has not placed yet is placed right
/// (never a standalone job for a server its application replicates); the planner's last
/// accepted plan when the one in the bucket is refused (invalid, or its members
/// conflict); nothing without a plan.
async fn wave_plan(
    context: &Context<JobCreatorConfig>,
    servers: &[Server],
) -> Result<ResolvedPlan, AutopilotError> {
    let (s3, config) = (&context.s3, &context.config);
    let Some(bytes) = artifacts::load_bytes(s3, &config.artifacts_bucket, &config.plan_key).await?
    else {
        return Ok(ResolvedPlan::default());
    };
    if let Some(Ok(plan)) = std::str::from_utf8(&bytes).ok().map(Plan::parse) {
        let wave = desired::resolve(&plan, servers);
        // Members that conflict make the planner refuse the plan: so does this.
        if wave.conflicts.is_empty() {
            return Ok(ResolvedPlan::from_wave(&plan::digest(&bytes), &wave));
        }
    }
    // A plan the planner refuses leaves the last one it accepted in force.
    artifacts::load_resolved_plan(s3, &config.artifacts_bucket).await
}

/// The wave policy's plan for `servers`, and the number of active jobs it assumed. The
/// catalog tells which servers have a live job, which bounds the active count from
/// above; only when that bound holds servers back is the exact count worth a
/// GetReplicationJobs sweep. The sweep is also needed when the plan replaces a
/// terminated job, whose deletion may still be running: SMS refuses a new job for the
/// server until then, so that server waits for a later tick.
async fn plan_jobs(
    context: &Context<JobCreatorConfig>,
    servers: &[Server],
    planned: &PlannedServers,
) -> Result<(ReplicationPlan, usize), AutopilotError> {
    let policy = &context.config.policy;
    let mut active = servers.iter().filter(|s| s.has_live_job()).count();
    let mut plan = policy.plan_with(servers, active, planned);
    let count_exactly = !plan.deferred.is_empty() && active > 0;
    if !count_exactly && !plan.replaces_any_job() {
        return Ok((plan, active));
    }
    let jobs = api::replication_jobs(&context.sms).await?.items;
    if count_exactly {
        let mut live_servers: Vec<_> = jobs
            .iter()
            .filter(|job| job.state.is_live())
            .map(|job| &job.server_id)
            .collect();
        live_servers.sort();
        live_servers.dedup();
        active = live_servers.len();
        plan = policy.plan_with(servers, active, planned);
    }
    plan.defer_deleting(&jobs);
    Ok((plan, active))
}

/// CreateReplicationJob for each chosen server, `create_concurrency` at a time; in dry
/// run, none.
async fn create_jobs(
    context: &Arc<Context<JobCreatorConfig>>,
    chosen: Vec<Server>,
    planned: &ResolvedPlan,
    dry_run: bool,
) -> Vec<(Server, Outcome)> {
    let now = context.now();
    let concurrency = context.config.create_concurrency as usize;
    stream::iter(chosen)
        .map(|server| {
            let context = Arc::clone(context);
            // The plan's settings for this server, over the function's.
            let parameters = context.config.job.for_server(planned, &server.id);
            async move {
                if dry_run {
                    return (server, Outcome::DryRun);
                }
                let answer =
                    api::create_replication_job(&context.sms, &server.id, &parameters, now).await;
                let outcome = match answer {
                    Ok(created) => Outcome::Created(created),
                    Err(error) if error.kind == AwsErrorKind::ServerCannotBeReplicated => {
                        Outcome::CannotReplicate(error.message)
                    }
                    Err(error) => Outcome::Failed(error),
                };
                (server, outcome)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// What the creations came to.
#[derive(Default)]
struct Tally {
    /// `ReplicationJobCreated` or `ServerSkipped` for each server that was not a failure.
    events: Vec<OutgoingEvent>,
    failures: Vec<AwsCallError>,
    created: usize,
    already_existed: usize,
    announced_before: usize,
    cannot_replicate: usize,
}

/// The event for each outcome; a server SMS cannot replicate is remembered in `memory`.
fn record_outcomes(
    outcomes: Vec<(Server, Outcome)>,
    memory: &mut CreatorMemory,
    dry_run: bool,
) -> Tally {
    let mut tally = Tally::default();
    for (server, outcome) in outcomes {
        let created = |replication_job_id, already_existed| {
            OutgoingEvent::new(
                ReplicationJobCreated {
                    server_id: server.id.clone(),
                    vm_name: server.vm.vm_name.clone(),
                    replication_job_id,
                    already_existed,
                },
                dry_run,
            )
        };
        match outcome {
            Outcome::Created(JobCreation::Created(id)) => {
                tally.created += 1;
                tally.events.push(created(Some(id), false));
            }
            Outcome::Created(JobCreation::AlreadyExisted) => {
                tally.already_existed += 1;
                tally.events.push(created(None, true));
            }
            // Each would-be job is announced once, however many ticks the dry run lasts.
            Outcome::DryRun if !memory.announced_in_dry_run.insert(server.id.clone()) => {
                tally.announced_before += 1;
            }
            Outcome::DryRun => {
                tally.created += 1;
                tally.events.push(created(None, false));
            }
            Outcome::CannotReplicate(reason) => {
                tally.cannot_replicate += 1;
                memory
                    .unreplicable
                    .insert(server.id.clone(), reason.clone());
                tally.events.push(OutgoingEvent::new(
                    ServerSkipped {
                        server_id: server.id.clone(),
                        vm_name: server.vm.vm_name.clone(),
                        reason,
                    },
                    dry_run,
                ));
            }
            Outcome::Failed(error) => {
                tracing::warn!(server = %server.id, error = %error, "replication job not created");
                tally.failures.push(error);
            }
        }
    }
    tally
}

/// Publishes the events, then stores the memory when it changed; returns how many
/// events were published. A real run forgets what a dry run announced.
async fn publish_and_remember(
    context: &Context<JobCreatorConfig>,
    events: Vec<OutgoingEvent>,
    mut memory: CreatorMemory,
    object: &StateObject<'_>,
    dry_run: bool,
) -> Result<usize, AutopilotError> {
    let bus = context.publisher.bus_name().to_owned();
    let report = context.publisher.publish(events).await;
    // A refusal whose ServerSkipped did not go out is not remembered, so it is tried
    // and reported again next time; likewise a dry run's announcement.
    for failed in &report.failed {
        let detail = &failed.event.detail;
        match failed.event.detail_type.as_str() {
            "ServerSkipped" => {
                if let Ok(event) = serde_json::from_str::<Detail<ServerSkipped>>(detail) {
                    memory.unreplicable.remove(&event.body.server_id);
                }
            }
            "ReplicationJobCreated" => {
                if let Ok(event) = serde_json::from_str::<Detail<ReplicationJobCreated>>(detail) {
                    memory.announced_in_dry_run.remove(&event.body.server_id);
                }
            }
            _ => {}
        }
    }
    if !dry_run {
        memory.announced_in_dry_run.clear();
    }
    object.store_if_changed(&memory).await?;
    report.into_result(&bus)
}

#[cfg(test)]
mod tests;
