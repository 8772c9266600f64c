//! The MGN model's enums the stand-in puts on the wire, with the values of
//! `mgn-2020-02-26` (each names its shape; `mgn_conformance` checks them against the
//! model file).

use serde::{Deserialize, Serialize};

use crate::model_enum::model_enum;

model_enum! {
    /// The life cycle of a source server.
    LifeCycleState = "LifeCycleState" {
        Stopped => "STOPPED",
        NotReady => "NOT_READY",
        ReadyForTest => "READY_FOR_TEST",
        Testing => "TESTING",
        ReadyForCutover => "READY_FOR_CUTOVER",
        CuttingOver => "CUTTING_OVER",
        Cutover => "CUTOVER",
        Disconnected => "DISCONNECTED",
        Discovered => "DISCOVERED",
        PendingInstallation => "PENDING_INSTALLATION",
    }
}

model_enum! {
    /// The states ChangeServerLifeCycleState accepts (its request enum).
    ChangeableLifeCycleState = "ChangeServerLifeCycleStateSourceServerLifecycleState" {
        ReadyForTest => "READY_FOR_TEST",
        ReadyForCutover => "READY_FOR_CUTOVER",
        Cutover => "CUTOVER",
    }
}

model_enum! {
    /// Where a source server's data replication stands.
    DataReplicationState = "DataReplicationState" {
        Stopped => "STOPPED",
        Initiating => "INITIATING",
        InitialSync => "INITIAL_SYNC",
        Backlog => "BACKLOG",
        CreatingSnapshot => "CREATING_SNAPSHOT",
        Continuous => "CONTINUOUS",
        Paused => "PAUSED",
        Rescan => "RESCAN",
        Stalled => "STALLED",
        Disconnected => "DISCONNECTED",
        PendingSnapshotShipping => "PENDING_SNAPSHOT_SHIPPING",
        ShippingSnapshot => "SHIPPING_SNAPSHOT",
    }
}

model_enum! {
    /// A step of data replication's initiation.
    InitiationStepName = "DataReplicationInitiationStepName" {
        Wait => "WAIT",
        CreateSecurityGroup => "CREATE_SECURITY_GROUP",
        LaunchReplicationServer => "LAUNCH_REPLICATION_SERVER",
        BootReplicationServer => "BOOT_REPLICATION_SERVER",
        AuthenticateWithService => "AUTHENTICATE_WITH_SERVICE",
        DownloadReplicationSoftware => "DOWNLOAD_REPLICATION_SOFTWARE",
        CreateStagingDisks => "CREATE_STAGING_DISKS",
        AttachStagingDisks => "ATTACH_STAGING_DISKS",
        PairReplicationServerWithAgent => "PAIR_REPLICATION_SERVER_WITH_AGENT",
        ConnectAgentToReplicationServer => "CONNECT_AGENT_TO_REPLICATION_SERVER",
        StartDataTransfer => "START_DATA_TRANSFER",
    }
}

model_enum! {
    /// How an initiation step went.
    InitiationStepStatus = "DataReplicationInitiationStepStatus" {
        NotStarted => "NOT_STARTED",
        InProgress => "IN_PROGRESS",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
        Skipped => "SKIPPED",
    }
}

model_enum! {
    /// Why data replication stalled or could not start.
    DataReplicationError = "DataReplicationErrorString" {
        AgentNotSeen => "AGENT_NOT_SEEN",
        SnapshotsFailure => "SNAPSHOTS_FAILURE",
        NotConverging => "NOT_CONVERGING",
        UnstableNetwork => "UNSTABLE_NETWORK",
        FailedToCreateSecurityGroup => "FAILED_TO_CREATE_SECURITY_GROUP",
        FailedToLaunchReplicationServer => "FAILED_TO_LAUNCH_REPLICATION_SERVER",
        FailedToBootReplicationServer => "FAILED_TO_BOOT_REPLICATION_SERVER",
        FailedToAuthenticateWithService => "FAILED_TO_AUTHENTICATE_WITH_SERVICE",
        FailedToDownloadReplicationSoftware => "FAILED_TO_DOWNLOAD_REPLICATION_SOFTWARE",
        FailedToCreateStagingDisks => "FAILED_TO_CREATE_STAGING_DISKS",
        FailedToAttachStagingDisks => "FAILED_TO_ATTACH_STAGING_DISKS",
        FailedToPairReplicationServerWithAgent => "FAILED_TO_PAIR_REPLICATION_SERVER_WITH_AGENT",
        FailedToConnectAgentToReplicationServer => "FAILED_TO_CONNECT_AGENT_TO_REPLICATION_SERVER",
        FailedToStartDataTransfer => "FAILED_TO_START_DATA_TRANSFER",
        UnsupportedVmConfiguration => "UNSUPPORTED_VM_CONFIGURATION",
        LastSnapshotJobFailed => "LAST_SNAPSHOT_JOB_FAILED",
    }
}

model_enum! {
    /// How a source server is replicated.
    ReplicationType = "ReplicationType" {
        AgentBased => "AGENT_BASED",
        SnapshotShipping => "SNAPSHOT_SHIPPING",
    }
}

model_enum! {
    /// What a job does.
    JobType = "JobType" {
        Launch => "LAUNCH",
        Terminate => "TERMINATE",
    }
}

model_enum! {
    /// Where a job stands (a job never fails as a whole: its servers do).
    JobStatus = "JobStatus" {
        Pending => "PENDING",
        Started => "STARTED",
        Completed => "COMPLETED",
    }
}

model_enum! {
    /// What started a job.
    InitiatedBy = "InitiatedBy" {
        StartTest => "START_TEST",
        StartCutover => "START_CUTOVER",
        Diagnostic => "DIAGNOSTIC",
        Terminate => "TERMINATE",
    }
}

model_enum! {
    /// How a participating server's launch went.
    LaunchStatus = "LaunchStatus" {
        Pending => "PENDING",
        InProgress => "IN_PROGRESS",
        Launched => "LAUNCHED",
        Failed => "FAILED",
        Terminated => "TERMINATED",
    }
}

model_enum! {
    /// An event in a job's log.
    JobLogEvent = "JobLogEvent" {
        JobStart => "JOB_START",
        ServerSkipped => "SERVER_SKIPPED",
        CleanupStart => "CLEANUP_START",
        CleanupEnd => "CLEANUP_END",
        CleanupFail => "CLEANUP_FAIL",
        SnapshotStart => "SNAPSHOT_START",
        SnapshotEnd => "SNAPSHOT_END",
        SnapshotFail => "SNAPSHOT_FAIL",
        UsingPreviousSnapshot => "USING_PREVIOUS_SNAPSHOT",
        ConversionStart => "CONVERSION_START",
        ConversionEnd => "CONVERSION_END",
        ConversionFail => "CONVERSION_FAIL",
        LaunchStart => "LAUNCH_START",
        LaunchFailed => "LAUNCH_FAILED",
        JobCancel => "JOB_CANCEL",
        JobEnd => "JOB_END",
    }
}

model_enum! {
    /// How a launched instance's first boot went.
    FirstBoot = "FirstBoot" {
        Waiting => "WAITING",
        Succeeded => "SUCCEEDED",
        Unknown => "UNKNOWN",
        Stopped => "STOPPED",
    }
}

model_enum! {
    /// An application's (and, with the same values, a wave's) aggregated health.
    HealthStatus = "ApplicationHealthStatus" {
        Healthy => "HEALTHY",
        Lagging => "LAGGING",
        Error => "ERROR",
    }
}

model_enum! {
    /// An application's (and, with the same values, a wave's) aggregated progress.
    ProgressStatus = "ApplicationProgressStatus" {
        NotStarted => "NOT_STARTED",
        InProgress => "IN_PROGRESS",
        Completed => "COMPLETED",
    }
}

model_enum! {
    /// Where an import stands.
    ImportStatus = "ImportStatus" {
        Pending => "PENDING",
        Started => "STARTED",
        Failed => "FAILED",
        Succeeded => "SUCCEEDED",
    }
}

model_enum! {
    /// What kind of problem an import met.
    ImportErrorType = "ImportErrorType" {
        ValidationError => "VALIDATION_ERROR",
        ProcessingError => "PROCESSING_ERROR",
    }
}

/// Every enum above: its model shape and its values, for the conformance test.
pub fn enums() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        LifeCycleState::shape_and_values(),
        ChangeableLifeCycleState::shape_and_values(),
        DataReplicationState::shape_and_values(),
        InitiationStepName::shape_and_values(),
        InitiationStepStatus::shape_and_values(),
        DataReplicationError::shape_and_values(),
        ReplicationType::shape_and_values(),
        JobType::shape_and_values(),
        JobStatus::shape_and_values(),
        InitiatedBy::shape_and_values(),
        LaunchStatus::shape_and_values(),
        JobLogEvent::shape_and_values(),
        FirstBoot::shape_and_values(),
        HealthStatus::shape_and_values(),
        ("WaveHealthStatus", HealthStatus::shape_and_values().1),
        ProgressStatus::shape_and_values(),
        ("WaveProgressStatus", ProgressStatus::shape_and_values().1),
        ImportStatus::shape_and_values(),
        ImportErrorType::shape_and_values(),
    ]
}
