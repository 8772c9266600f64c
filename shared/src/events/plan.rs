//! The wave planner's events: applications made to match the plan, their
//! configurations put, their replication ended or their launch rolled back, and the
//! plan's drift and refusals.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{AppId, AppLaunchStatus, JobId};

/// The planner created, updated or deleted an application to match the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPlanned {
    pub app_name: String,
    /// None in a dry run of a creation.
    pub app_id: Option<AppId>,
    pub change: PlanChange,
    /// What differed from the plan (empty for a creation).
    #[serde(default)]
    pub differences: Vec<String>,
    /// Member servers after the change.
    pub servers: u32,
    /// The version of the plan it follows (a digest of its text).
    #[serde(default)]
    pub plan_version: Option<String>,
}

/// What the planner did to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PlanChange {
    Created,
    Updated,
    Deleted,
}

/// The planner put an application's launch or replication configuration, or started
/// its replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppConfigured {
    pub app_name: String,
    pub app_id: Option<AppId>,
    pub configuration: PlannedConfiguration,
    /// The version of the plan it follows (a digest of its text).
    #[serde(default)]
    pub plan_version: Option<String>,
}

/// Which configuration the planner put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PlannedConfiguration {
    Launch,
    Replication,
    ReplicationStarted,
    /// The replication configuration an earlier plan gave was removed: the plan
    /// replicates the application by standalone jobs now.
    ReplicationRemoved,
    /// MGN: its members' EC2 launch templates were given new versions.
    LaunchTemplate,
}

/// A launched application's replication was ended as the plan asks (`finalize`): its
/// app replication stopped, or its members' standalone jobs deleted (SMS keeps the AMIs
/// they made). Sent once per launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppFinalized {
    pub app_name: String,
    pub app_id: AppId,
    /// When the launch it follows happened (RFC 3339).
    pub launched_at: String,
    pub ended_by: FinalizedBy,
    /// The jobs deleted (standalone jobs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs_deleted: Vec<JobId>,
    /// The version of the plan that asked for it.
    #[serde(default)]
    pub plan_version: Option<String>,
}

/// An application the plan rolls back (`launch: rollback`) had its launched stack
/// terminated (TerminateApp); the launcher holds it until the plan says `automatic`
/// again. Sent once per application and plan version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppRolledBack {
    pub app_name: String,
    pub app_id: AppId,
    /// Its launch status when the rollback began.
    pub launch_status: AppLaunchStatus,
    /// The version of the plan that asked for it.
    pub plan_version: String,
}

/// How an application's replication was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FinalizedBy {
    /// StopAppReplication.
    AppReplicationStopped,
    /// DeleteReplicationJob for each member's job.
    JobsDeleted,
    /// Nothing was left replicating (a person, or a run cut off before announcing).
    AlreadyEnded,
}

/// An application differs from the plan and the planner leaves it (launched or
/// launching); sent once per application and set of differences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanDrift {
    pub app_name: String,
    pub app_id: AppId,
    pub differences: Vec<String>,
    pub reason: String,
    /// The version of the plan it follows (a digest of its text).
    #[serde(default)]
    pub plan_version: Option<String>,
}

/// The plan was refused and nothing was changed; sent once per version of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanRejected {
    /// Where the plan is, `s3://bucket/key`.
    pub plan: String,
    /// The version refused (a digest of its text).
    pub plan_version: String,
    /// Every problem, with its line where known.
    pub problems: Vec<String>,
    /// How many problems, and the first, in a sentence (for one-line notifications).
    #[serde(default)]
    pub headline: String,
}
