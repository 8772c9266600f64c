//! Domain types owned by the core: servers, their replication jobs and runs, apps (their
//! states in the project's words, from [`crate::migration`]), and the SMS model's state
//! enums, which the SMS adapter maps onto those words. Decisions only ever see these,
//! never SDK types.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::migration::{AppReplicationPhase, LaunchState, LicenseType, ReplicationState};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an identifier newtype: SMS ids are opaque strings, but mixing a job id up
/// with a server id is a bug the compiler can catch.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// `serverId` of a server in the SMS catalog (e.g. `s-12345678`).
    ServerId
);
id_type!(
    /// `replicationJobId` (e.g. `sms-job-12345678`).
    JobId
);
id_type!(
    /// `replicationRunId` (e.g. `sms-run-12345678`).
    RunId
);
id_type!(
    /// `appId` of an SMS application (e.g. `app-12345678`).
    AppId
);

/// Declares an enum of the SMS model with an `Unknown` case, so a value the service adds
/// later is carried through instead of failing the whole page it arrived on.
/// A value with case and separators taken out: `Paused on failure` and
/// `PAUSED_ON_FAILURE` both become `PAUSEDONFAILURE`.
fn loose_key(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

macro_rules! sms_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value the model of 2016-10-24 does not list.
            Unknown(String),
        }

        impl $name {
            /// Every value the SMS model lists, in the model's order.
            pub const WIRE_VALUES: &'static [&'static str] = &[$($wire),+];

            /// The value as the SMS wire protocol spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(other) => other,
                }
            }

            /// Parses a value as SMS spells it, or as its user guide's samples do
            /// (`Completed`, `NOT IMPORTED`, `PausedOnFailure`, `vSphere`): case and
            /// separators (spaces, hyphens, underscores) do not count. Anything else
            /// becomes `Unknown`, keeping the value as it came.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)+
                    other => {
                        let key = loose_key(other);
                        $(if key == loose_key($wire) {
                            return Self::$variant;
                        })+
                        Self::Unknown(other.to_owned())
                    }
                }
            }

            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = Cow::<'de, str>::deserialize(deserializer)?;
                Ok(Self::from_wire(&value))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let mut schema = json_schema!({ "type": "string" });
                schema.insert(
                    "description".into(),
                    format!(
                        "SMS {}; the model lists {} (later values are passed through unchanged)",
                        stringify!($name),
                        Self::WIRE_VALUES.join(", ")
                    )
                    .into(),
                );
                schema.insert("examples".into(), serde_json::json!(Self::WIRE_VALUES));
                schema
            }
        }
    };
}

sms_enum!(
    /// State of a replication job.
    ReplicationJobState {
        Pending => "PENDING",
        Active => "ACTIVE",
        Failed => "FAILED",
        Deleting => "DELETING",
        Deleted => "DELETED",
        Completed => "COMPLETED",
        PausedOnFailure => "PAUSED_ON_FAILURE",
        Failing => "FAILING",
    }
);

sms_enum!(
    /// Lifecycle status of an app.
    AppStatus {
        Creating => "CREATING",
        Active => "ACTIVE",
        Updating => "UPDATING",
        Deleting => "DELETING",
        Deleted => "DELETED",
        DeleteFailed => "DELETE_FAILED",
    }
);

impl AppStatus {
    /// DeleteApp was called: nothing should be started for the app any more.
    pub fn is_deleted(&self) -> bool {
        matches!(self, Self::Deleting | Self::Deleted | Self::DeleteFailed)
    }
}

sms_enum!(
    /// Launch status of an app.
    AppLaunchStatus {
        ReadyForConfiguration => "READY_FOR_CONFIGURATION",
        ConfigurationInProgress => "CONFIGURATION_IN_PROGRESS",
        ConfigurationInvalid => "CONFIGURATION_INVALID",
        ReadyForLaunch => "READY_FOR_LAUNCH",
        ValidationInProgress => "VALIDATION_IN_PROGRESS",
        LaunchPending => "LAUNCH_PENDING",
        LaunchInProgress => "LAUNCH_IN_PROGRESS",
        Launched => "LAUNCHED",
        PartiallyLaunched => "PARTIALLY_LAUNCHED",
        DeltaLaunchInProgress => "DELTA_LAUNCH_IN_PROGRESS",
        DeltaLaunchFailed => "DELTA_LAUNCH_FAILED",
        LaunchFailed => "LAUNCH_FAILED",
        TerminateInProgress => "TERMINATE_IN_PROGRESS",
        TerminateFailed => "TERMINATE_FAILED",
        Terminated => "TERMINATED",
    }
);

sms_enum!(
    /// Replication status of an app as a whole.
    AppReplicationStatus {
        ReadyForConfiguration => "READY_FOR_CONFIGURATION",
        ConfigurationInProgress => "CONFIGURATION_IN_PROGRESS",
        ConfigurationInvalid => "CONFIGURATION_INVALID",
        ReadyForReplication => "READY_FOR_REPLICATION",
        ValidationInProgress => "VALIDATION_IN_PROGRESS",
        ReplicationPending => "REPLICATION_PENDING",
        ReplicationInProgress => "REPLICATION_IN_PROGRESS",
        Replicated => "REPLICATED",
        PartiallyReplicated => "PARTIALLY_REPLICATED",
        DeltaReplicationInProgress => "DELTA_REPLICATION_IN_PROGRESS",
        DeltaReplicated => "DELTA_REPLICATED",
        DeltaReplicationFailed => "DELTA_REPLICATION_FAILED",
        ReplicationFailed => "REPLICATION_FAILED",
        ReplicationStopping => "REPLICATION_STOPPING",
        ReplicationStopFailed => "REPLICATION_STOP_FAILED",
        ReplicationStopped => "REPLICATION_STOPPED",
    }
);

sms_enum!(
    /// Status of the server catalog as GetServers reports it.
    ServerCatalogStatus {
        NotImported => "NOT_IMPORTED",
        Importing => "IMPORTING",
        Available => "AVAILABLE",
        Deleted => "DELETED",
        Expired => "EXPIRED",
    }
);

sms_enum!(
    /// Health of an SMS connector.
    ConnectorStatus {
        Healthy => "HEALTHY",
        Unhealthy => "UNHEALTHY",
    }
);

sms_enum!(
    /// Format of generated templates and change sets.
    OutputFormat {
        Json => "JSON",
        Yaml => "YAML",
    }
);

impl OutputFormat {
    /// File extension for archived objects in this format.
    pub fn extension(&self) -> &str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yaml",
            Self::Unknown(_) => "txt",
        }
    }
}

/// The server behind a catalog entry, as its VM manager (SMS) or its replication agent
/// (MGN's identification hints) describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmServer {
    pub vm_name: Option<String>,
    pub vm_path: Option<String>,
    pub vm_manager_name: Option<String>,
    pub vm_manager_type: Option<String>,
    pub vm_id: Option<String>,
    pub vm_manager_id: Option<String>,
    /// The hostname the agent reports (MGN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The fully qualified domain name the agent reports (MGN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// The VMware UUID the agent reports (MGN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmware_uuid: Option<String>,
    /// The id a user gave the server, by an import or by hand (MGN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_provided_id: Option<String>,
}

/// A server in the SMS catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    pub id: ServerId,
    pub vm: VmServer,
    pub replication_job_id: Option<JobId>,
    /// The service's `replicationJobTerminated`: the server had a job that is gone.
    pub replication_job_terminated: bool,
}

impl Server {
    /// A catalog entry no replication job has held: a rehearsal's catalog, or an MGN
    /// source server as the plan's members are resolved against it.
    pub fn without_job(id: ServerId, vm: VmServer) -> Self {
        Self {
            id,
            vm,
            replication_job_id: None,
            replication_job_terminated: false,
        }
    }

    /// The catalog says a job currently replicates this server.
    pub fn has_live_job(&self) -> bool {
        self.replication_job_id.is_some() && !self.replication_job_terminated
    }
}

/// One replication run of a job: one point-in-time copy of its server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationRun {
    pub id: RunId,
    /// The copy is made (an AMI a launch can use).
    pub completed: bool,
    pub ami_id: Option<String>,
    pub status_message: Option<String>,
    pub scheduled_start: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A replication job and the runs the service reported with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationJob {
    pub id: JobId,
    pub server_id: ServerId,
    pub vm_name: Option<String>,
    pub state: ReplicationState,
    pub status_message: Option<String>,
    pub latest_ami_id: Option<String>,
    pub frequency_hours: Option<i32>,
    pub run_once: bool,
    /// When the job's first replication was to begin (`seedReplicationTime`).
    #[serde(default)]
    pub seed_replication_time: Option<DateTime<Utc>>,
    /// The settings UpdateReplicationJob can change, as the service holds them.
    #[serde(default)]
    pub settings: JobSettings,
    pub runs: Vec<ReplicationRun>,
}

/// A job's settings that UpdateReplicationJob can change besides its frequency, as the
/// service reports them (absent when it reports none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_type: Option<LicenseType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amis_to_keep: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl ReplicationJob {
    /// When this job began replicating its server, as far as SMS tells: the earlier of
    /// its seed time and its earliest listed run.
    pub fn replication_started(&self) -> Option<DateTime<Utc>> {
        let first_run = self.runs.iter().filter_map(|run| run.scheduled_start).min();
        match (self.seed_replication_time, first_run) {
            (Some(seed), Some(run)) => Some(seed.min(run)),
            (seed, run) => seed.or(run),
        }
    }

    /// At least one run produced an AMI. `latestAmiId` only appears once a run has
    /// completed, so it counts even when the run list was trimmed by the service.
    pub fn has_completed_run(&self) -> bool {
        self.latest_ami_id.is_some() || self.runs.iter().any(|run| run.completed)
    }

    /// The most recent completed run, by completion time.
    pub fn latest_completed_run(&self) -> Option<&ReplicationRun> {
        self.runs
            .iter()
            .filter(|run| run.completed)
            .max_by_key(|run| run.completed_at)
    }
}

/// A server group of an app; groups launch in `launch_order`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerGroup {
    pub id: Option<String>,
    pub name: Option<String>,
    pub servers: Vec<Server>,
}

/// A tag on an app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An SMS application with its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: AppId,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub launch_status: LaunchState,
    /// Why the launch status is what it is (e.g. what makes a configuration invalid,
    /// why a launch failed), as the service words it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_status_message: Option<String>,
    /// When the app last changed, as its summary says (a launch ending LAUNCH_FAILED
    /// changes it, so it tells one failed launch from the next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
    #[serde(default)]
    pub replication_status: AppReplicationPhase,
    pub server_groups: Vec<ServerGroup>,
    pub tags: Vec<Tag>,
}

impl App {
    /// Every member server, deduplicated, in the order groups list them.
    pub fn member_ids(&self) -> Vec<ServerId> {
        let mut seen = std::collections::HashSet::new();
        self.server_groups
            .iter()
            .flat_map(|group| group.servers.iter())
            .filter(|server| seen.insert(server.id.clone()))
            .map(|server| server.id.clone())
            .collect()
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|tag| tag.key == key)
            .map(|tag| tag.value.as_str())
    }
}

/// An application as the service's listing shows it, without its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedApp {
    pub id: Option<AppId>,
    pub name: String,
    pub launch_status: LaunchState,
}

/// What identifies one state of an app in ListApps and GetApp answers (the app cache
/// trusts a remembered app only while its listing shows the same version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppVersion {
    pub last_modified: Option<DateTime<Utc>>,
    pub total_servers: Option<i32>,
    pub total_server_groups: Option<i32>,
}

/// A connector as GetConnectors reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: String,
    pub status: ConnectorStatus,
    pub vm_manager_name: Option<String>,
}

/// The catalog header of a GetServers answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogStatus {
    pub status: ServerCatalogStatus,
    pub last_modified_on: Option<DateTime<Utc>>,
}

mod inventory;
mod source_server;
pub use inventory::{Counted, ImportProblem, ImportState, ImportTask};
pub use source_server::{CopyLaunch, JobServer, LaunchJob, SourceServer};

#[cfg(test)]
mod tests;
