//! Names taken from the official SMS model (service-2.json): the operations (one
//! [`Operation`] per model operation, implemented or not), enum values, error shapes,
//! plus the few protocol-level errors every AWS JSON service shares.
//!
//! Everything the emulator puts on the wire comes from these lists, and the
//! conformance test checks each list against the model file.

use serde::{Deserialize, Serialize};

use crate::model_enum::model_enum;

model_enum! {
    /// State of a replication job.
    JobState = "ReplicationJobState" {
        Pending => "PENDING",
        Active => "ACTIVE",
        Failed => "FAILED",
        Deleting => "DELETING",
        Deleted => "DELETED",
        Completed => "COMPLETED",
        PausedOnFailure => "PAUSED_ON_FAILURE",
        Failing => "FAILING",
    }
}

impl JobState {
    /// A job that replicates or may again, and counts against the concurrency quota (a
    /// DELETING job does not: it will never run again).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            JobState::Pending | JobState::Active | JobState::Failing | JobState::PausedOnFailure
        )
    }

    /// DELETING or DELETED: DeleteReplicationJob was called.
    pub fn is_deleted(self) -> bool {
        matches!(self, JobState::Deleting | JobState::Deleted)
    }
}

model_enum! {
    /// State of a replication run.
    RunState = "ReplicationRunState" {
        Pending => "PENDING",
        Active => "ACTIVE",
        Failed => "FAILED",
        Completed => "COMPLETED",
        Deleted => "DELETED",
    }
}

model_enum! {
    /// Why a run started.
    RunType = "ReplicationRunType" {
        OnDemand => "ON_DEMAND",
        Automatic => "AUTOMATIC",
    }
}

model_enum! {
    /// Server catalog status.
    CatalogStatus = "ServerCatalogStatus" {
        NotImported => "NOT_IMPORTED",
        Importing => "IMPORTING",
        Available => "AVAILABLE",
        Deleted => "DELETED",
        Expired => "EXPIRED",
    }
}

model_enum! {
    /// Connector health.
    ConnectorStatus = "ConnectorStatus" {
        Healthy => "HEALTHY",
        Unhealthy => "UNHEALTHY",
    }
}

model_enum! {
    /// Connector capabilities.
    ConnectorCapability = "ConnectorCapability" {
        Vsphere => "VSPHERE",
        Scvmm => "SCVMM",
        HypervManager => "HYPERV-MANAGER",
        SnapshotBatching => "SNAPSHOT_BATCHING",
        SmsOptimized => "SMS_OPTIMIZED",
    }
}

model_enum! {
    /// VM manager type.
    VmManagerType = "VmManagerType" {
        Vsphere => "VSPHERE",
        Scvmm => "SCVMM",
        HypervManager => "HYPERV-MANAGER",
    }
}

model_enum! {
    /// Server type (SMS only ever knew VMs).
    ServerType = "ServerType" {
        VirtualMachine => "VIRTUAL_MACHINE",
    }
}

model_enum! {
    /// AMI license type.
    LicenseType = "LicenseType" {
        Aws => "AWS",
        Byol => "BYOL",
    }
}

model_enum! {
    /// App lifecycle status.
    AppStatus = "AppStatus" {
        Creating => "CREATING",
        Active => "ACTIVE",
        Updating => "UPDATING",
        Deleting => "DELETING",
        Deleted => "DELETED",
    }
}

model_enum! {
    /// App launch status.
    AppLaunchStatus = "AppLaunchStatus" {
        ReadyForConfiguration => "READY_FOR_CONFIGURATION",
        ConfigurationInProgress => "CONFIGURATION_IN_PROGRESS",
        ConfigurationInvalid => "CONFIGURATION_INVALID",
        ReadyForLaunch => "READY_FOR_LAUNCH",
        LaunchPending => "LAUNCH_PENDING",
        LaunchInProgress => "LAUNCH_IN_PROGRESS",
        Launched => "LAUNCHED",
        LaunchFailed => "LAUNCH_FAILED",
        TerminateInProgress => "TERMINATE_IN_PROGRESS",
        Terminated => "TERMINATED",
    }
}

model_enum! {
    /// App replication status, derived from the member servers' jobs.
    AppReplicationStatus = "AppReplicationStatus" {
        ReadyForConfiguration => "READY_FOR_CONFIGURATION",
        ReadyForReplication => "READY_FOR_REPLICATION",
        ReplicationPending => "REPLICATION_PENDING",
        ReplicationInProgress => "REPLICATION_IN_PROGRESS",
        Replicated => "REPLICATED",
        PartiallyReplicated => "PARTIALLY_REPLICATED",
        DeltaReplicationInProgress => "DELTA_REPLICATION_IN_PROGRESS",
        DeltaReplicated => "DELTA_REPLICATED",
        DeltaReplicationFailed => "DELTA_REPLICATION_FAILED",
        ReplicationFailed => "REPLICATION_FAILED",
        ReplicationStopping => "REPLICATION_STOPPING",
        ReplicationStopped => "REPLICATION_STOPPED",
    }
}

model_enum! {
    /// Whether an app has a launch configuration.
    LaunchConfigStatus = "AppLaunchConfigurationStatus" {
        NotConfigured => "NOT_CONFIGURED",
        Configured => "CONFIGURED",
    }
}

model_enum! {
    /// Whether an app has a replication configuration.
    ReplicationConfigStatus = "AppReplicationConfigurationStatus" {
        NotConfigured => "NOT_CONFIGURED",
        Configured => "CONFIGURED",
    }
}

model_enum! {
    /// Template / change set format.
    OutputFormat = "OutputFormat" {
        Json => "JSON",
        Yaml => "YAML",
    }
}

/// Every (shape, value) pair the emulator can put on the wire.
pub fn enum_values_used() -> Vec<(&'static str, &'static str)> {
    fn all<E: Copy>(
        shape: &'static str,
        values: &[E],
        f: fn(E) -> &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        values.iter().map(|v| (shape, f(*v))).collect()
    }
    [
        all(JobState::SHAPE, JobState::ALL, JobState::as_str),
        all(RunState::SHAPE, RunState::ALL, RunState::as_str),
        all(RunType::SHAPE, RunType::ALL, RunType::as_str),
        all(
            CatalogStatus::SHAPE,
            CatalogStatus::ALL,
            CatalogStatus::as_str,
        ),
        all(
            ConnectorStatus::SHAPE,
            ConnectorStatus::ALL,
            ConnectorStatus::as_str,
        ),
        all(
            ConnectorCapability::SHAPE,
            ConnectorCapability::ALL,
            ConnectorCapability::as_str,
        ),
        all(
            VmManagerType::SHAPE,
            VmManagerType::ALL,
            VmManagerType::as_str,
        ),
        all(ServerType::SHAPE, ServerType::ALL, ServerType::as_str),
        all(LicenseType::SHAPE, LicenseType::ALL, LicenseType::as_str),
        all(AppStatus::SHAPE, AppStatus::ALL, AppStatus::as_str),
        all(
            AppLaunchStatus::SHAPE,
            AppLaunchStatus::ALL,
            AppLaunchStatus::as_str,
        ),
        all(
            AppReplicationStatus::SHAPE,
            AppReplicationStatus::ALL,
            AppReplicationStatus::as_str,
        ),
        all(
            LaunchConfigStatus::SHAPE,
            LaunchConfigStatus::ALL,
            LaunchConfigStatus::as_str,
        ),
        all(
            ReplicationConfigStatus::SHAPE,
            ReplicationConfigStatus::ALL,
            ReplicationConfigStatus::as_str,
        ),
        all(OutputFormat::SHAPE, OutputFormat::ALL, OutputFormat::as_str),
    ]
    .concat()
}

/// The `X-Amz-Target` prefix of every SMS call.
pub const TARGET_PREFIX: &str = "AWSServerMigrationService_V2016_10_24";

macro_rules! operations {
    (
        implemented { $($implemented:ident),+ $(,)? }
        unimplemented { $($unimplemented:ident),+ $(,)? }
    ) => {
        /// Every operation of the model; the variant name is the `X-Amz-Target` suffix.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($implemented), "` (implemented).")]
                $implemented,
            )+
            $(
                #[doc = concat!("`", stringify!($unimplemented), "` (answered with NotImplementedException).")]
                $unimplemented,
            )+
        }

        impl Operation {
            /// Every operation of the model, implemented ones first.
            pub const ALL: &'static [Operation] = &[
                $(Operation::$implemented,)+
                $(Operation::$unimplemented,)+
            ];

            /// The wire name, as in `X-Amz-Target` and the call counters.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$implemented => stringify!($implemented),)+
                    $(Operation::$unimplemented => stringify!($unimplemented),)+
                }
            }

            /// The operation a wire name denotes.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($implemented) => Some(Operation::$implemented),)+
                    $(stringify!($unimplemented) => Some(Operation::$unimplemented),)+
                    _ => None,
                }
            }

            /// Whether the emulator does more than answer "not implemented".
            pub fn is_implemented(self) -> bool {
                matches!(self, $(Operation::$implemented)|+)
            }
        }

        /// Names of the operations the emulator implements.
        pub const IMPLEMENTED_OPERATIONS: &[&str] = &[$(stringify!($implemented)),+];

        /// Names of the model's operations the emulator answers with "not implemented".
        pub const UNIMPLEMENTED_OPERATIONS: &[&str] = &[$(stringify!($unimplemented)),+];
    };
}

operations! {
    implemented {
        GetConnectors,
        DisassociateConnector,
        ImportServerCatalog,
        GetServers,
        DeleteServerCatalog,
        CreateReplicationJob,
        GetReplicationJobs,
        GetReplicationRuns,
        UpdateReplicationJob,
        DeleteReplicationJob,
        StartOnDemandReplicationRun,
        CreateApp,
        GetApp,
        ListApps,
        UpdateApp,
        DeleteApp,
        PutAppLaunchConfiguration,
        GetAppLaunchConfiguration,
        DeleteAppLaunchConfiguration,
        PutAppReplicationConfiguration,
        GetAppReplicationConfiguration,
        DeleteAppReplicationConfiguration,
        StartAppReplication,
        StopAppReplication,
        LaunchApp,
        TerminateApp,
        GenerateTemplate,
        GenerateChangeSet,
    }
    unimplemented {
        DeleteAppValidationConfiguration,
        GetAppValidationConfiguration,
        GetAppValidationOutput,
        ImportAppCatalog,
        NotifyAppValidationOutput,
        PutAppValidationConfiguration,
        StartOnDemandAppReplication,
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Error codes the emulator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Model: a parameter is not valid.
    InvalidParameter,
    /// Model: a required parameter is missing.
    MissingRequiredParameter,
    /// Model: the operation is not allowed in the current state.
    OperationNotPermitted,
    /// Model: the server cannot be replicated.
    ServerCannotBeReplicated,
    /// Model: the server already has a job.
    ReplicationJobAlreadyExists,
    /// Model: no such job.
    ReplicationJobNotFound,
    /// Model: on-demand runs per 24 hours exhausted.
    ReplicationRunLimitExceeded,
    /// Model: no HEALTHY connector.
    NoConnectorsAvailable,
    /// Model: HTTP 500.
    InternalError,
    /// Protocol: rate limit ("Rate exceeded").
    Throttling,
    /// Protocol: unsigned request.
    MissingAuthenticationToken,
    /// Protocol: unknown `X-Amz-Target`.
    UnknownOperation,
    /// Protocol: the body is not the operation's input shape.
    Serialization,
    /// Emulator: an operation of the model this emulator does not implement.
    NotImplemented,
}

impl ErrorCode {
    /// Codes whose names come from the SMS model's error shapes.
    pub const MODEL: &'static [ErrorCode] = &[
        ErrorCode::InvalidParameter,
        ErrorCode::MissingRequiredParameter,
        ErrorCode::OperationNotPermitted,
        ErrorCode::ServerCannotBeReplicated,
        ErrorCode::ReplicationJobAlreadyExists,
        ErrorCode::ReplicationJobNotFound,
        ErrorCode::ReplicationRunLimitExceeded,
        ErrorCode::NoConnectorsAvailable,
        ErrorCode::InternalError,
    ];
    /// Codes shared by every AWS JSON service (not in the SMS model) or the emulator's own.
    pub const PROTOCOL: &'static [ErrorCode] = &[
        ErrorCode::Throttling,
        ErrorCode::MissingAuthenticationToken,
        ErrorCode::UnknownOperation,
        ErrorCode::Serialization,
        ErrorCode::NotImplemented,
    ];

    /// The `__type` on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameter => "InvalidParameterException",
            ErrorCode::MissingRequiredParameter => "MissingRequiredParameterException",
            ErrorCode::OperationNotPermitted => "OperationNotPermittedException",
            ErrorCode::ServerCannotBeReplicated => "ServerCannotBeReplicatedException",
            ErrorCode::ReplicationJobAlreadyExists => "ReplicationJobAlreadyExistsException",
            ErrorCode::ReplicationJobNotFound => "ReplicationJobNotFoundException",
            ErrorCode::ReplicationRunLimitExceeded => "ReplicationRunLimitExceededException",
            ErrorCode::NoConnectorsAvailable => "NoConnectorsAvailableException",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::Throttling => "ThrottlingException",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::NotImplemented => "NotImplementedException",
        }
    }

    /// The HTTP status AWS uses for it.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalError => 500,
            ErrorCode::NotImplemented => 501,
            _ => 400,
        }
    }
}

/// Every error name the emulator can put in `__type` that the SMS model declares.
pub fn model_error_names() -> Vec<&'static str> {
    ErrorCode::MODEL.iter().map(|c| c.name()).collect()
}

/// An error answer: the code and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct ApiError {
    /// Which error.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// InvalidParameterException.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    /// MissingRequiredParameterException naming the parameter.
    pub fn missing(param: &str) -> Self {
        Self::new(
            ErrorCode::MissingRequiredParameter,
            format!("{param} is a required parameter"),
        )
    }

    /// OperationNotPermittedException.
    pub fn not_permitted(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::OperationNotPermitted, message)
    }

    /// NotImplementedException for an operation (or a name) the emulator does not serve.
    pub fn not_implemented(operation: &str) -> Self {
        Self::new(
            ErrorCode::NotImplemented,
            format!("{operation} is not implemented by the sms-autopilot emulator"),
        )
    }
}

/// Drops null members so absent optional fields are absent on the wire, as the
/// service's awsJson answers leave them out rather than sending nulls.
pub(crate) fn compact(mut v: serde_json::Value) -> serde_json::Value {
    drop_nulls(&mut v);
    v
}

/// In place: a page of 100 jobs is thousands of members, and rebuilding every map to
/// leave a few out cost more than the rest of the answer.
fn drop_nulls(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
