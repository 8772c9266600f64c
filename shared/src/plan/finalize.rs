//! The end of a launched application's replication, as the plan asks (`finalize: {
//! after: 24h }`): which applications are due, and what ends their replication:
//! StopAppReplication for app replication, DeleteReplicationJob for each member's
//! standalone job. SMS keeps the AMIs a deleted job made, so a launched application
//! keeps its last AMI. Each application is finalized once per launch: a relaunch (after
//! a rollback) is finalized again.

use chrono::{DateTime, Utc};

use super::desired::DesiredWave;
use super::reconcile::{find, ExistingApp};
use super::rules::MANAGED_TAG;
use super::ReplicationRoute;
use crate::migration::LaunchPhase;
use crate::model::{AppId, JobId, ServerId};

/// One application whose replication ends now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalization {
    pub app_id: AppId,
    pub name: String,
    pub launched_at: DateTime<Utc>,
    pub ending: Ending,
}

/// What ends an application's replication; nothing left to end when an earlier run
/// (cut off before it announced the end) or a person ended it already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    StopAppReplication,
    DeleteJobs(Vec<(ServerId, JobId)>),
    AlreadyEnded,
}

impl Finalization {
    /// What tells this finalization from the next one of the same application: the
    /// launch it follows.
    pub fn key(&self) -> String {
        format!("{}/{}", self.app_id, self.launched_at.timestamp())
    }
}

/// The applications of `wave` due to be finalized at `now`: planned with `finalize:
/// { after }`, carrying the planner's tag, LAUNCHED at least that long ago, and not
/// finalized for this launch yet (`finalized` tells the [`Finalization::key`]s done).
pub fn due(
    wave: &DesiredWave,
    existing: &[ExistingApp],
    finalized: &impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) -> Vec<Finalization> {
    let mut due = Vec::new();
    for desired in &wave.apps {
        let Some(after) = desired.finalize_after else {
            continue;
        };
        let Some(app) = find(existing, &desired.name) else {
            continue;
        };
        let Some(launched_at) = app.launched_at else {
            continue;
        };
        let launched = app.launch_status.phase == LaunchPhase::Launched;
        if !launched || !app.tags.contains_key(MANAGED_TAG) || launched_at + after > now {
            continue;
        }
        let ending = match desired.replicated_by {
            ReplicationRoute::App if replication_stopped(app) => Ending::AlreadyEnded,
            ReplicationRoute::App => Ending::StopAppReplication,
            ReplicationRoute::Jobs => {
                let jobs: Vec<(ServerId, JobId)> = desired
                    .servers()
                    .filter_map(|s| Some((s.server_id.clone(), s.live_job.clone()?)))
                    .collect();
                if jobs.is_empty() {
                    Ending::AlreadyEnded
                } else {
                    Ending::DeleteJobs(jobs)
                }
            }
        };
        let finalization = Finalization {
            app_id: app.id.clone(),
            name: desired.name.clone(),
            launched_at,
            ending,
        };
        // Once announced, a job found live again was made by a person: theirs to end.
        if !finalized(&finalization.key()) {
            due.push(finalization);
        }
    }
    due
}

/// The app's replication ended, or is ending.
fn replication_stopped(app: &ExistingApp) -> bool {
    app.replication_status.is_ending()
}
