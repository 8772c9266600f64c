//! The readings a scenario picks where the SMS sources are silent (`readings:`); each
//! switch plays the other reading, and `local/FIDELITY.md` names the source of each.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The emulator's choices where the sources are silent (local/FIDELITY.md names each);
/// every switch plays the other reading, so the functions can be tested under both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Readings {
    /// What LaunchApp does with an app that has no valid launch configuration.
    pub unconfigured_launch: UnconfiguredLaunch,
    /// What CreateReplicationJob answers for a server whose job is still DELETING.
    pub create_while_deleting: CreateWhileDeleting,
    /// Seconds after an import when the catalog goes EXPIRED, showing no servers until
    /// the next import; absent, it never expires (the emulator's reading).
    pub catalog_expires_after_secs: Option<u64>,
}

/// CreateReplicationJob for a server whose previous job is still DELETING.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreateWhileDeleting {
    /// ReplicationJobAlreadyExistsException: the deleting job still holds the server
    /// (the emulator's reading).
    #[default]
    AlreadyExists,
    /// OperationNotPermittedException.
    NotPermitted,
}

/// LaunchApp on an app without a valid launch configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnconfiguredLaunch {
    /// Refused at once with OperationNotPermittedException (the emulator's reading).
    #[default]
    Refused,
    /// Accepted, then LAUNCH_FAILED with a status message naming what is missing.
    FailsLater,
}
