//! The watcher's warnings that SMS's 90 days of replication of a server end soon, and
//! the start it remembers for a server whose job it replaces.

use autopilot_core::config::JobWatcherConfig;
use autopilot_core::events::{OutgoingEvent, ReplicationExpiring};
use autopilot_core::expiry;
use autopilot_core::failures::FailureSnapshot;
use autopilot_core::model::ReplicationJob;
use autopilot_core::runtime::Context;
use chrono::{DateTime, Utc};

/// Warns once of each server whose 90 days of replication end within the configured
/// period (`ReplicationExpiring`, into the outbox); returns how many were warned.
pub(crate) fn warn_of_expiry(
    context: &Context<JobWatcherConfig>,
    next: &mut FailureSnapshot,
    jobs: &[ReplicationJob],
    now: DateTime<Utc>,
) -> usize {
    let expiring = expiry::expiring(
        jobs,
        &next.replication_started,
        &next.expiry_warned,
        now,
        context.config.expiry_warning_days,
    );
    for soon in &expiring {
        tracing::warn!(server = %soon.server, vm = ?soon.vm_name, days_left = soon.days_left, "replication ends soon");
        next.expiry_warned.insert(soon.server.clone());
        let warning = ReplicationExpiring {
            replication_job_id: soon.job.clone(),
            server_id: soon.server.clone(),
            vm_name: soon.vm_name.clone(),
            replication_started_at: soon.started.to_rfc3339(),
            expires_at: soon.expires.to_rfc3339(),
            days_left: soon.days_left,
        };
        next.outbox
            .push(OutgoingEvent::new(warning, context.dry_run()));
    }
    expiring.len()
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
