//! App-level replication: the replication configuration (PutAppReplicationConfiguration
//! and its kin), StartAppReplication and StopAppReplication, and the app's replication
//! status, derived from its members' jobs so it passes through the states the model
//! names (pending, in progress, replicated, the delta states, stopping, stopped).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{AppKey, Engine, Job, NewJob, ReplicationParameters};
use crate::sms::engine::App;
use crate::sms::protocol::{ApiError, AppReplicationStatus, ErrorCode, JobState};

/// Whether the app's replication was started or stopped through the app API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppReplication {
    /// Never started through StartAppReplication (members may still have jobs).
    NotStarted,
    /// StartAppReplication was called.
    Started,
    /// StopAppReplication was called.
    Stopped,
}

/// Parameters of PutAppReplicationConfiguration.
#[derive(Debug, Clone)]
pub(crate) struct ReplicationConfiguration {
    /// serverGroupReplicationConfigurations as put, already checked against the app.
    pub server_groups: Vec<Value>,
}

impl Engine {
    /// PutAppReplicationConfiguration.
    pub(crate) fn put_replication_config(&mut self, key: AppKey, c: ReplicationConfiguration) {
        let now = self.now;
        let a = &mut self.apps[key.0];
        a.replication_config =
            Some(json!({ "serverGroupReplicationConfigurations": c.server_groups }));
        a.last_modified = now;
    }

    /// DeleteAppReplicationConfiguration.
    pub(crate) fn delete_replication_config(&mut self, key: AppKey) {
        let now = self.now;
        let a = &mut self.apps[key.0];
        a.replication_config = None;
        a.last_modified = now;
    }

    /// StartAppReplication: a job for every member without one, with the parameters
    /// the replication configuration gives it (`configured`, by server id).
    pub(crate) fn start_app_replication(
        &mut self,
        key: AppKey,
        configured: Vec<(String, ReplicationParameters)>,
    ) -> Result<(), ApiError> {
        let app = key.0;
        let members: Vec<String> = self.apps[app].server_ids().cloned().collect();
        if members.is_empty() {
            return Err(ApiError::not_permitted(format!(
                "App {} has no servers",
                self.apps[app].id
            )));
        }
        // Check everything first so a refused call creates no job at all.
        let mut todo = Vec::new();
        for sid in &members {
            let idx = self.catalog_server_index(sid)?;
            if self.job_of(sid).is_some() {
                continue;
            }
            self.server_takes_job(idx)?;
            if self.servers[idx].unreplicable {
                return Err(ApiError::new(
                    ErrorCode::ServerCannotBeReplicated,
                    format!("Server {sid} cannot be replicated"),
                ));
            }
            let p = configured
                .iter()
                .find(|(s, _)| s == sid)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            todo.push(NewJob::for_app_member(sid, p, self.now));
        }
        if self.live_job_count() + todo.len() > self.cfg.limits.max_concurrent_jobs {
            return Err(ApiError::not_permitted(format!(
                "Starting replication for {} servers would exceed the limit of {} concurrent replication jobs",
                todo.len(),
                self.cfg.limits.max_concurrent_jobs
            )));
        }
        for p in todo {
            self.create_job(p)?;
        }
        self.apps[app].replication = AppReplication::Started;
        self.apps[app].last_modified = self.now;
        Ok(())
    }

    /// StopAppReplication.
    pub(crate) fn stop_app_replication(&mut self, key: AppKey) -> Result<(), ApiError> {
        let app = key.0;
        self.delete_member_jobs(app)?;
        self.apps[app].replication = AppReplication::Stopped;
        self.apps[app].last_modified = self.now;
        Ok(())
    }

    /// The replication status of an app and its message, derived from its members'
    /// current jobs: a status per stage of the first replication, then the delta states
    /// once every member has an AMI.
    pub(crate) fn app_replication_status(
        &self,
        app: &App,
    ) -> (AppReplicationStatus, Option<String>) {
        use AppReplicationStatus as S;
        let jobs: Vec<&Job> = app.server_ids().filter_map(|s| self.job_of(s)).collect();
        if app.replication == AppReplication::Stopped {
            let stopping = app.server_ids().any(|s| {
                self.named_job_of(s)
                    .is_some_and(|j| j.state == JobState::Deleting)
            });
            return (
                if stopping {
                    S::ReplicationStopping
                } else {
                    S::ReplicationStopped
                },
                None,
            );
        }
        let live: Vec<&Job> = jobs.into_iter().filter(|j| j.state.is_live()).collect();
        if live.is_empty() {
            let configured = app.replication_config.is_some();
            return (
                if configured {
                    S::ReadyForReplication
                } else {
                    S::ReadyForConfiguration
                },
                None,
            );
        }
        let members = app.server_ids().count();
        let replicated = live.len() == members && live.iter().all(|j| j.latest_ami.is_some());
        if let Some(failed) = live
            .iter()
            .find(|j| matches!(j.state, JobState::Failed | JobState::PausedOnFailure))
        {
            let message = failed
                .status_message
                .clone()
                .or_else(|| Some(format!("Replication job {} is {}", failed.id, failed.state)));
            return (
                if replicated {
                    S::DeltaReplicationFailed
                } else {
                    S::ReplicationFailed
                },
                message,
            );
        }
        let running = live.iter().any(|j| j.run_in_progress().is_some());
        let some_replicated = live.iter().any(|j| j.latest_ami.is_some());
        let status = match (replicated, running) {
            (true, true) => S::DeltaReplicationInProgress,
            (true, false) if live.iter().any(|j| completed_runs(j) > 1) => S::DeltaReplicated,
            (true, false) => S::Replicated,
            (false, _) if some_replicated => S::PartiallyReplicated,
            (false, _) if live.iter().all(|j| j.runs.is_empty()) => S::ReplicationPending,
            (false, _) => S::ReplicationInProgress,
        };
        (status, None)
    }
}

/// Runs of a job that completed.
fn completed_runs(job: &Job) -> usize {
    job.runs.iter().filter(|r| r.completed.is_some()).count()
}
