//! The project's own events: one versioned detail struct per decision, published on
//! the project's bus with source `sms-autopilot`. JSON Schemas generated from these
//! structs are committed under `shared/schemas/` for subscribers.

use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    AppId, Connector, Counted, ImportProblem, JobId, ReplicationJobState, RunId, ServerId,
};

mod cutover;
mod plan;
mod replication_health;
pub use cutover::{
    AppArchived, AppCutOver, AppLaunchCheckFailed, AppLaunchPassed, AppLaunchStarted, AppMoveHeld,
    AppMoveResumed,
};
pub use plan::{
    AppConfigured, AppFinalized, AppPlanned, AppRolledBack, FinalizedBy, PlanChange, PlanDrift,
    PlanRejected, PlannedConfiguration,
};
pub use replication_health::{
    ReplicationProblemCleared, ReplicationProblemDetected, ReplicationRetried, RetryAction,
};

/// `source` of every event this project publishes.
pub const EVENT_SOURCE: &str = "sms-autopilot";

/// Version of the detail schemas; bumped on any incompatible change.
pub const DETAIL_VERSION: u32 = 1;

/// What a detail's stable key is made of (each detail-type's parts are in
/// `event_keys`).
pub trait DecisionKey {
    /// The parts of the key, joined with `/`.
    fn key_parts(&self) -> Vec<String>;

    /// The key: the parts joined with `/`.
    fn key(&self) -> String {
        self.key_parts().join("/")
    }
}

/// A detail body and its EventBridge `detail-type`.
pub trait DetailType: Serialize + DeserializeOwned + JsonSchema + DecisionKey {
    const DETAIL_TYPE: &'static str;
}

/// What is published: the body plus the fields every detail carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Detail<T> {
    /// Schema version of this detail.
    pub version: u32,
    /// The decision was taken in dry-run mode: no mutating SMS call was made.
    pub dry_run: bool,
    /// Names the decision: the same decision published again (after a crash, or by a
    /// retried invocation) carries the same key, so a subscriber drops repeats by
    /// detail-type and key. Made of the decision's subject and what tells it from the
    /// next decision about that subject (see each field); `dry-run/` leads it in a
    /// dry run.
    #[serde(default)]
    pub key: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T: DetailType> Detail<T> {
    pub fn new(body: T, dry_run: bool) -> Self {
        let key = body.key();
        Self {
            version: DETAIL_VERSION,
            dry_run,
            key: if dry_run {
                format!("dry-run/{key}")
            } else {
                key
            },
            body,
        }
    }
}

/// An event ready for PutEvents (serializable, so it can wait in an outbox).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingEvent {
    pub detail_type: String,
    /// Serialized `Detail<T>`.
    pub detail: String,
    /// ARNs or ids the event is about, for EventBridge's `resources`.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// The keys of a detail a person searches the logs by: ids, names and the decision's
/// kind, never the rest of the payload.
const SEARCHED_BY: [&str; 11] = [
    "key",
    "appId",
    "appName",
    "serverId",
    "vmName",
    "replicationJobId",
    "replicationRunId",
    "planVersion",
    "action",
    "state",
    "dryRun",
];

impl OutgoingEvent {
    /// The ids and names of what this event decides, as a JSON object for its log line.
    pub fn about(&self) -> Value {
        let detail: Value = serde_json::from_str(&self.detail).unwrap_or(Value::Null);
        let about = SEARCHED_BY
            .iter()
            .filter_map(|key| {
                let value = detail.get(*key).filter(|v| !v.is_null())?;
                Some(((*key).to_owned(), value.clone()))
            })
            .collect();
        Value::Object(about)
    }

    /// The decision's stable key (see `Detail::key`).
    pub fn key(&self) -> String {
        let detail: Value = serde_json::from_str(&self.detail).unwrap_or(Value::Null);
        detail["key"].as_str().unwrap_or_default().to_owned()
    }

    pub fn new<T: DetailType>(body: T, dry_run: bool) -> Self {
        let detail = serde_json::to_string(&Detail::new(body, dry_run))
            .expect("event details are plain data and always serialize");
        Self {
            detail_type: T::DETAIL_TYPE.to_owned(),
            detail,
            resources: Vec::new(),
        }
    }
}

/// A time as event details carry it: RFC 3339 to the second, in UTC.
pub fn detail_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A server in words, as a person knows it: its VM name, its id, and the application
/// the wave plan places it in (`VM legacy-fax-01 (server s-3a521b4b) of application
/// office`), leaving out what is unknown.
pub fn server_subject(vm_name: Option<&str>, server: &ServerId, app: Option<&str>) -> String {
    let mut subject = match vm_name {
        Some(vm) => format!("VM {vm} (server {server})"),
        None => format!("server {server}"),
    };
    if let Some(app) = app {
        subject.push_str(&format!(" of application {app}"));
    }
    subject
}

macro_rules! detail_types {
    ($($name:ident),+ $(,)?) => {
        $(impl DetailType for $name {
            const DETAIL_TYPE: &'static str = stringify!($name);
        })+

        /// Every detail-type this project publishes or accepts, with its schema.
        pub fn all_schemas() -> Vec<(&'static str, Schema)> {
            vec![$((stringify!($name), {
                let mut schema = schemars::schema_for!(Detail<$name>);
                schema.insert("title".into(), stringify!($name).into());
                schema
            })),+]
        }
    };
}

/// A manual request to re-import the catalog now (accepted by catalog-import).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportCatalogRequested {
    /// Who asked, for the log.
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// ImportServerCatalog was called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogImportStarted {
    pub healthy_connectors: Vec<String>,
    /// The time of the schedule tick or request that asked for the import (RFC 3339).
    #[serde(default)]
    pub requested_at: Option<String>,
}

/// MGN read an inventory sheet (StartImport): what it made and changed, and the rows
/// it refused (the first 20 of `problemCount`). Sent once per import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryImported {
    pub import_id: String,
    /// `s3://bucket/key` of the sheet.
    pub source: String,
    /// False when the file could not be read at all.
    pub succeeded: bool,
    pub servers: Counted,
    pub applications: Counted,
    pub waves: Counted,
    pub problems: Vec<ImportProblem>,
    pub problem_count: usize,
}

/// No connector was healthy, so the import was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogImportSkipped {
    pub reason: String,
    pub connectors: Vec<Connector>,
    /// The time of the schedule tick or request that asked for the import (RFC 3339).
    #[serde(default)]
    pub requested_at: Option<String>,
}

/// A replication job was created (or already existed) for a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationJobCreated {
    pub server_id: ServerId,
    pub vm_name: Option<String>,
    /// None when the job already existed or in dry-run mode.
    pub replication_job_id: Option<JobId>,
    pub already_existed: bool,
}

/// A server the wave will not replicate, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerSkipped {
    pub server_id: ServerId,
    pub vm_name: Option<String>,
    pub reason: String,
}

/// A job entered FAILED or PAUSED_ON_FAILURE; published once per failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationJobFailed {
    pub replication_job_id: JobId,
    pub server_id: ServerId,
    pub vm_name: Option<String>,
    /// The application the wave plan places the server in, when it places it.
    #[serde(default)]
    pub app_name: Option<String>,
    /// The server in words, for one-line notifications ([`server_subject`]).
    #[serde(default)]
    pub subject: String,
    pub state: ReplicationJobState,
    pub status_message: Option<String>,
    /// When the watcher first saw this failure episode (RFC 3339): a job that fails,
    /// recovers and fails again has two.
    #[serde(default)]
    pub failed_since: Option<String>,
}

/// What the watcher did about a failed job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "action"
)]
pub enum RemediationAction {
    /// StartOnDemandReplicationRun on a paused job.
    OnDemandRunStarted,
    /// The FAILED job was deleted and a new one created.
    JobRecreated {
        new_replication_job_id: Option<JobId>,
    },
    /// The FAILED job was deleted; SMS refuses the new job while the old one is
    /// DELETING, so it is created at a later invocation (announced as `jobRecreated`).
    JobDeleted,
    /// Nothing was done; the reason says why (budget, daily limit, policy).
    Held { reason: String },
}

/// A remediation decision about a failed job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationJobRemediated {
    pub replication_job_id: JobId,
    pub server_id: ServerId,
    /// The server's VM name, when the job listing gave it.
    #[serde(default)]
    pub vm_name: Option<String>,
    /// The application the wave plan places the server in, when it places it.
    #[serde(default)]
    pub app_name: Option<String>,
    /// The server in words, for one-line notifications ([`server_subject`]).
    #[serde(default)]
    pub subject: String,
    /// When the watcher first saw the failure episode this decision is about (RFC 3339): a job that fails,
    /// recovers and fails again has two.
    #[serde(default)]
    pub failed_since: Option<String>,
    /// Remediation attempts for this server, this one included.
    pub attempt: u32,
    #[serde(flatten)]
    pub action: RemediationAction,
}

/// A job that had failed is healthy again, or gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationJobRecovered {
    pub replication_job_id: JobId,
    pub server_id: ServerId,
    /// None when the job no longer exists.
    pub state: Option<ReplicationJobState>,
    /// When the watcher first saw the failure episode that ended (RFC 3339): a job that fails,
    /// recovers and fails again has two.
    #[serde(default)]
    pub failed_since: Option<String>,
}

/// A live job was updated to hold the replication settings the wave plan now wants for
/// its server (UpdateReplicationJob), or holds settings no call can change on a live
/// job (`runOnce`). Sent once per change from one set of settings to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationJobUpdated {
    pub replication_job_id: JobId,
    pub server_id: ServerId,
    #[serde(default)]
    pub vm_name: Option<String>,
    /// The application the wave plan places the server in.
    #[serde(default)]
    pub app_name: Option<String>,
    /// The plan whose settings the job now holds.
    pub plan_version: String,
    /// Each change made, `frequency 24 -> 12`.
    pub changes: Vec<String>,
    /// Each difference left as it is, since SMS cannot change it on a live job
    /// (`runOnce false -> true`: delete the job to have it created again).
    #[serde(default)]
    pub left_as_is: Vec<String>,
}

/// A server's replication ends soon: SMS replicates a server for 90 days from its first
/// replication, then terminates its job. Sent once per server, the configured number of
/// days before (`REPLICATION_EXPIRY_WARNING_DAYS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationExpiring {
    pub replication_job_id: JobId,
    pub server_id: ServerId,
    pub vm_name: Option<String>,
    /// The application the wave plan places the server in, when it places it.
    #[serde(default)]
    pub app_name: Option<String>,
    /// The server in words, for one-line notifications ([`server_subject`]).
    #[serde(default)]
    pub subject: String,
    /// When the server's replication began (RFC 3339).
    pub replication_started_at: String,
    /// When SMS ends it (RFC 3339).
    pub expires_at: String,
    /// Whole days left.
    pub days_left: i64,
}

/// A replication run completed with an AMI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationRunCompleted {
    pub replication_job_id: JobId,
    pub replication_run_id: Option<RunId>,
    pub server_id: Option<ServerId>,
    pub ami_id: Option<String>,
}

/// Every member of an app has a completed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppReady {
    pub app_id: AppId,
    pub app_name: Option<String>,
    pub servers: u32,
}

/// An S3 object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

/// A template was generated by SMS and archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateGenerated {
    pub app_id: AppId,
    pub format: String,
    /// Where SMS wrote it.
    pub generated: Option<S3Location>,
    /// Where the autopilot archived it.
    pub archived: Option<S3Location>,
}

/// A change set for a launched app was generated and archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSetGenerated {
    pub app_id: AppId,
    pub format: String,
    pub generated: Option<S3Location>,
    pub archived: Option<S3Location>,
}

/// LaunchApp was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLaunched {
    pub app_id: AppId,
    pub app_name: Option<String>,
    pub servers: u32,
    /// 1 for the first launch the autopilot made, 2 for its first retry, and so on.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

/// LaunchApp was refused, or a launch ended LAUNCH_FAILED (`errorCode` says which).
/// Sent once per refusal or failed launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLaunchFailed {
    pub app_id: AppId,
    pub app_name: Option<String>,
    /// The service's error code for a refusal, `LAUNCH_FAILED` for a failed launch.
    pub error_code: String,
    pub message: String,
    /// LaunchApp calls the autopilot made for this app so far.
    #[serde(default)]
    pub attempts: u32,
    /// The autopilot will call LaunchApp again (within its launch budget); when false,
    /// the app waits for an operator.
    #[serde(default)]
    pub retrying: bool,
}

/// An app whose members are all replicated is not launched: SMS launches nothing
/// without a valid launch configuration, or an application it depends on is left to a
/// person (manual, or its launch budget spent). Sent once per app and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppLaunchHeld {
    pub app_id: AppId,
    pub app_name: Option<String>,
    /// The app's launch status, as SMS reported it.
    pub launch_status: String,
    /// What is missing, naming the servers or the service's own message, or the
    /// applications it waits for.
    pub reason: String,
}

detail_types!(
    ImportCatalogRequested,
    CatalogImportStarted,
    CatalogImportSkipped,
    ReplicationJobCreated,
    ServerSkipped,
    ReplicationJobFailed,
    ReplicationJobRemediated,
    ReplicationJobRecovered,
    ReplicationJobUpdated,
    ReplicationExpiring,
    ReplicationRunCompleted,
    AppReady,
    TemplateGenerated,
    ChangeSetGenerated,
    AppLaunched,
    AppLaunchFailed,
    AppLaunchHeld,
    AppPlanned,
    AppConfigured,
    AppFinalized,
    AppRolledBack,
    PlanDrift,
    PlanRejected,
    ReplicationProblemDetected,
    ReplicationRetried,
    ReplicationProblemCleared,
    AppLaunchStarted,
    AppLaunchPassed,
    AppLaunchCheckFailed,
    AppCutOver,
    AppArchived,
    AppMoveHeld,
    AppMoveResumed,
    InventoryImported,
);

#[cfg(test)]
mod tests;
