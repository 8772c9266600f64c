//! The MGN launcher's events: a test or cutover launched, passed or failed (the failure
//! alerted once, naming the server and why), an application cut over and finalized,
//! its servers archived, and an application left to a person. Applications are named
//! as the wave plan names them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::migration::LaunchKind;
use crate::model::ServerId;

/// A test or cutover launch of an application's servers was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLaunchStarted {
    pub app_name: String,
    pub kind: LaunchKind,
    /// Launches of this kind for the application, this one included.
    pub attempt: u32,
    /// The service's launch job.
    pub job_id: Option<String>,
    pub servers: Vec<ServerId>,
}

/// A launch passed: every copy launched and passed its status checks. A passed test
/// leaves the servers ready for cutover, its copies terminated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLaunchPassed {
    pub app_name: String,
    pub kind: LaunchKind,
    pub attempt: u32,
    pub job_id: Option<String>,
    /// The copies that passed their checks.
    pub instances: Vec<String>,
}

/// A launch failed: published once per launch. Its copies are terminated and the
/// servers reverted; it is launched again unless `leftToAPerson`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLaunchCheckFailed {
    pub app_name: String,
    pub kind: LaunchKind,
    pub attempt: u32,
    pub job_id: Option<String>,
    /// The server whose copy failed, when one did.
    pub server_id: Option<ServerId>,
    /// That server's VM name or hostname.
    #[serde(default)]
    pub vm_name: Option<String>,
    /// The failing server in words with its application (`events::server_subject`), or
    /// the application when no one server failed, for one-line notifications.
    pub subject: String,
    /// Why, in the service's or EC2's words where they gave them.
    pub reason: String,
    /// The launch budget is spent: a person must look.
    pub left_to_a_person: bool,
}

/// An application was cut over and its cutover finalized: its servers' replication
/// ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppCutOver {
    pub app_name: String,
    pub attempt: u32,
    pub servers: Vec<ServerId>,
}

/// A cut-over application's servers were archived, as the plan asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppArchived {
    pub app_name: String,
    pub servers: Vec<ServerId>,
}

/// An application the launcher will not move on its own: a person launches it, it
/// waits on one left to a person, or its budget is spent. Sent once per reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMoveHeld {
    pub app_name: String,
    pub reason: String,
}

/// A hold that no longer stands (the plan or the account changed): the launcher moves
/// the application on its own again. Sent once per hold lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMoveResumed {
    pub app_name: String,
    /// The reason of the hold lifted.
    pub reason: String,
}
