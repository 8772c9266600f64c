//! The replication watcher's events where agents replicate servers by themselves
//! (MGN): a problem raised once per episode, what was done about a stall, and the
//! episode's end. Each names its episode by when it began (`since`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::migration::ProblemKind;
use crate::model::ServerId;

/// A server's replication went wrong: published once per problem and episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationProblemDetected {
    pub server_id: ServerId,
    /// The server's VM name, or the hostname its agent reports.
    #[serde(default)]
    pub vm_name: Option<String>,
    /// The application the wave plan places the server in, when it places it.
    #[serde(default)]
    pub app_name: Option<String>,
    /// The server in words, for one-line notifications (`events::server_subject`).
    pub subject: String,
    pub problem: ProblemKind,
    /// The problem in words: the service's reason for a stall, the lag, the missed end.
    pub detail: String,
    /// The service's word for the replication's state.
    pub state: String,
    /// When the episode began (RFC 3339): a server that stalls, recovers and stalls
    /// again has two.
    pub since: String,
}

/// What was done about a stalled replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "action"
)]
pub enum RetryAction {
    /// RetryDataReplication was called.
    Retried,
    /// The wave's budget of retries for the server is spent: a person must look.
    GaveUp { reason: String },
}

/// A retry decision about a stalled replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationRetried {
    pub server_id: ServerId,
    #[serde(default)]
    pub vm_name: Option<String>,
    #[serde(default)]
    pub app_name: Option<String>,
    pub subject: String,
    /// When the stall began (RFC 3339).
    pub since: String,
    /// Retries of this server over the wave, this one included.
    pub attempt: u32,
    #[serde(flatten)]
    pub action: RetryAction,
}

/// A problem's episode ended: the replication is healthy again, or the server left the
/// wave (archived, deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationProblemCleared {
    pub server_id: ServerId,
    #[serde(default)]
    pub vm_name: Option<String>,
    #[serde(default)]
    pub app_name: Option<String>,
    pub subject: String,
    pub problem: ProblemKind,
    /// The service's word for the replication's state now; none when the server is no
    /// longer listed.
    #[serde(default)]
    pub state: Option<String>,
    /// When the episode that ended began (RFC 3339).
    pub since: String,
}
