//! The watcher's warnings that SMS's 90 days of replication of a server end soon, and
//! the start it remembers for a server whose job it replaces.

use autopilot_core::config::JobWatcherConfig;
use autopilot_core::events::{OutgoingEvent, ReplicationExpiring};
use autopilot_core::expiry::{self, Expiring};
use autopilot_core::failures::FailureSnapshot;
use autopilot_core::model::ReplicationJob;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::runtime::Context;
use chrono::{DateTime, Utc};

/// The servers whose 90 days of replication end within the configured period and that
/// were not warned of yet.
pub(crate) fn due(
    context: &Context<JobWatcherConfig>,
    next: &FailureSnapshot,
    jobs: &[ReplicationJob],
    now: DateTime<Utc>,
) -> Vec<Expiring> {
    expiry::expiring(
        jobs,
        &next.replication_started,
        &next.expiry_warned,
        now,
        context.config.expiry_warning_days,
    )
}

/// Warns once of each server `due` (`ReplicationExpiring`, into the outbox), naming
/// the application the plan places it in; returns how many were warned.
pub(crate) fn warn(
    next: &mut FailureSnapshot,
    due: Vec<Expiring>,
    plan: &ResolvedPlan,
    dry_run: bool,
) -> usize {
    let warned = due.len();
    for soon in due {
        tracing::warn!(server = %soon.server, vm = ?soon.vm_name, days_left = soon.days_left, "replication ends soon");
        next.expiry_warned.insert(soon.server.clone());
        let (app_name, subject) = plan.naming(soon.vm_name.as_deref(), &soon.server);
        let warning = ReplicationExpiring {
            app_name,
            subject,
            replication_job_id: soon.job,
            server_id: soon.server,
            vm_name: soon.vm_name,
            replication_started_at: soon.started.to_rfc3339(),
            expires_at: soon.expires.to_rfc3339(),
            days_left: soon.days_left,
        };
        next.outbox.push(OutgoingEvent::new(warning, dry_run));
    }
    warned
}

/// Remembers when the server of a job about to be replaced began replicating: SMS's 90
/// days count from then, not from the new job's seed time.
pub(crate) fn remember_start(next: &mut FailureSnapshot, job: &ReplicationJob) {
    if let Some(started) = job.replication_started() {
        next.replication_started
            .entry(job.server_id.clone())
            .and_modify(|known| *known = (*known).min(started))
            .or_insert(started);
    }
}
