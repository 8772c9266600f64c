//! A source server as a service that replicates from an agent on the server reports it
//! (MGN): who it is, where its replication and its move stand, and what the replication
//! watcher reads of its health. The adapter fills it (`crate::mgn::convert`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Server, ServerId, VmServer};
use crate::migration::{CutoverState, ReplicationState};

/// One source server, in the project's words with the service's beside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceServer {
    pub id: ServerId,
    /// Its identification hints, in the catalog's fields (a plan member matches them).
    pub vm: VmServer,
    pub replication: ReplicationState,
    pub cutover: CutoverState,
    /// Why its replication stalled, in the service's word (`AGENT_NOT_SEEN`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_error: Option<String>,
    /// How far its replica lags behind the server, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<i64>,
    /// When the service expects its first full copy to be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_eta: Option<DateTime<Utc>>,
    /// Archived servers are out of every wave.
    #[serde(default)]
    pub archived: bool,
    /// The service's application it belongs to (MGN's `applicationID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
}

impl SourceServer {
    /// The name people know it by: the VM's name (on MGN, the hostname its agent reports).
    pub fn name(&self) -> Option<&str> {
        self.vm.vm_name.as_deref().or(self.vm.hostname.as_deref())
    }

    /// The server as the plan's members are resolved against a catalog.
    pub fn catalog_entry(&self) -> Server {
        Server::without_job(self.id.clone(), self.vm.clone())
    }
}

/// Where one server's copy stands in a launch job, in the project's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CopyLaunch {
    /// Not launched yet (pending, or under way).
    Pending,
    Launched,
    Failed,
    /// Launched, then terminated.
    Terminated,
    /// A word the adapter does not know.
    Unrecognized,
}

/// One server of a launch job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobServer {
    pub server: ServerId,
    pub copy: CopyLaunch,
    pub instance_id: Option<String>,
}

/// A launch job (a test or a cutover of some servers) as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchJob {
    pub id: String,
    /// The job has ended (each server's copy launched or failed).
    pub finished: bool,
    pub servers: Vec<JobServer>,
}
