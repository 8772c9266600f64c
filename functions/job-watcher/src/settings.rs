//! The wave plan's replication settings carried to live jobs: a sweep finds each job of
//! a server the plan replicates by standalone jobs whose settings differ from the
//! plan's, claims the update in the snapshot, calls UpdateReplicationJob, and announces
//! the update (`ReplicationJobUpdated`) once it is made: by the call's answer, or by a
//! later sweep that finds the job holding the settings after a run cut off in between.
//! The decisions are `autopilot_core::job_settings`'s.

use std::sync::Arc;

use autopilot_core::config::{JobParameters, JobWatcherConfig};
use autopilot_core::events::{OutgoingEvent, ReplicationJobUpdated};
use autopilot_core::failures::{Coverage, FailureSnapshot};
use autopilot_core::job_settings::{self, SettingsDrift};
use autopilot_core::model::ReplicationJob;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::plan::ReplicationRoute;
use autopilot_core::runtime::Context;
use autopilot_core::sms::api;
use autopilot_core::AwsCallError;
use futures::stream::{self, StreamExt};

use crate::REMEDIATIONS_IN_FLIGHT;

/// The parameters the plan wants for `job`'s server, when the plan replicates it by a
/// standalone job: the watcher's own parameters with the plan's settings laid over.
pub(crate) fn wanted(
    plan: &ResolvedPlan,
    parameters: &JobParameters,
    job: &ReplicationJob,
) -> Option<JobParameters> {
    let policy = plan.servers.get(&job.server_id)?;
    (policy.route == ReplicationRoute::Jobs).then(|| parameters.overlaid(&policy.replication))
}

/// Whether a swept job matters to the settings: it has a record, or differs from the
/// plan.
pub(crate) fn matters(
    snapshot: &FailureSnapshot,
    plan: &ResolvedPlan,
    parameters: &JobParameters,
    job: &ReplicationJob,
) -> bool {
    snapshot.job_settings.contains_key(&job.id)
        || wanted(plan, parameters, job).is_some_and(|w| job_settings::drift(job, &w).is_some())
}

/// Decides on the jobs of a complete sweep: announcements due go to the outbox, claims
/// into the snapshot (to be stored before [`call`]); returns the updates to call. An
/// observation of one job decides nothing (the records of the others must stay), and
/// a dry run changes no job and announces nothing of the kind.
pub(crate) fn decide(
    next: &mut FailureSnapshot,
    (jobs, coverage): (&[ReplicationJob], Coverage),
    plan: &ResolvedPlan,
    parameters: &JobParameters,
    dry_run: bool,
) -> Vec<SettingsDrift> {
    if dry_run || coverage != Coverage::Complete {
        return Vec::new();
    }
    let pass = job_settings::settings_pass(
        &mut next.job_settings,
        jobs,
        |job| wanted(plan, parameters, job),
        |drift| announcement(drift, plan),
    );
    next.outbox.extend(pass.announced);
    pass.calls
}

fn announcement(drift: &SettingsDrift, plan: &ResolvedPlan) -> OutgoingEvent {
    let (app_name, _) = plan.naming(drift.vm_name.as_deref(), &drift.server);
    let updated = ReplicationJobUpdated {
        replication_job_id: drift.job.clone(),
        server_id: drift.server.clone(),
        vm_name: drift.vm_name.clone(),
        app_name,
        plan_version: plan.plan_version.clone(),
        changes: drift.changes.clone(),
        left_as_is: drift.unchangeable.clone(),
    };
    OutgoingEvent::new(updated, false)
}

/// Calls UpdateReplicationJob for the claimed updates, a few at a time; each that
/// answers has its claimed announcement moved to the outbox. Returns how many were
/// made, and the calls that failed (their claims stay for the next sweep).
pub(crate) async fn call(
    context: &Arc<Context<JobWatcherConfig>>,
    next: &mut FailureSnapshot,
    updates: Vec<SettingsDrift>,
) -> (usize, Vec<AwsCallError>) {
    let answers: Vec<_> = stream::iter(updates)
        .map(|drift| {
            let context = Arc::clone(context);
            async move {
                let answer =
                    api::update_replication_job(&context.sms, &drift.job, &drift.update).await;
                (drift.job, answer)
            }
        })
        .buffered(REMEDIATIONS_IN_FLIGHT)
        .collect()
        .await;
    let mut made = 0;
    let mut errors = Vec::new();
    for (job, answer) in answers {
        match answer {
            Ok(()) => {
                made += 1;
                let claimed = next
                    .job_settings
                    .get_mut(&job)
                    .and_then(|r| r.claimed.take());
                next.outbox.extend(claimed);
            }
            Err(error) => {
                tracing::warn!(job = %job, error = %error, "updating a job's settings failed");
                errors.push(error);
            }
        }
    }
    (made, errors)
}
