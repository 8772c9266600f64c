//! The project's own migration vocabulary, the same whatever service replicates and
//! launches: where a server's replication stands ([`ReplicationPhase`]), where an
//! application's launch stands ([`LaunchPhase`]) and its replication as a whole
//! ([`AppReplicationPhase`]), where a server's move stands on a service that tests
//! before it cuts over ([`CutoverPhase`]) with the launches it makes ([`LaunchKind`])
//! and the replication problems it may meet ([`ProblemKind`]), and how the launched
//! copies are licensed ([`LicenseType`]). Each backend's adapter maps its service's
//! states onto these words (SMS's in `crate::sms::vocabulary`, MGN's in
//! `crate::mgn::vocabulary`) and keeps the service's own word beside the phase; the
//! decisions read the phase, never the word.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an application's launch stands, in the project's own words. Each backend's
/// adapter maps its service's launch states onto these (SMS's app launch statuses in
/// `sms::convert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LaunchPhase {
    /// Nothing launches until the service holds a launch configuration.
    NeedsConfiguration,
    /// The service refused the launch configuration it holds.
    ConfigurationInvalid,
    /// A configuration is being checked.
    Validating,
    /// Configured, and never launched.
    Launchable,
    /// Its last launch failed; it may be launched again.
    LaunchFailed,
    /// A launch was asked for, or runs.
    Launching,
    /// Running in AWS.
    Launched,
    /// Partly running in AWS, or being brought up to date.
    PartlyLaunched,
    /// Its instances are being terminated.
    Terminating,
    /// Its instances were terminated; it may be launched again.
    Terminated,
    /// Its last termination failed: a person must look.
    TerminationFailed,
    /// A state the adapter does not know.
    Unrecognized,
}

impl LaunchPhase {
    /// Configured and not running: never launched, or its last launch ended (failed or
    /// terminated), so it may be launched once its members are ready.
    pub fn is_launchable(self) -> bool {
        matches!(
            self,
            Self::Launchable | Self::LaunchFailed | Self::Terminated
        )
    }

    /// Its members may be replicated, but nothing launches until a launch
    /// configuration is put and found valid.
    pub fn needs_configuration(self) -> bool {
        matches!(self, Self::NeedsConfiguration | Self::ConfigurationInvalid)
    }

    /// It runs in AWS, fully or partly: newer copies of its servers call for a change
    /// set.
    pub fn is_launched(self) -> bool {
        matches!(self, Self::Launched | Self::PartlyLaunched)
    }

    /// A launch or a termination is under way.
    pub fn is_moving(self) -> bool {
        matches!(self, Self::Launching | Self::Terminating)
    }
}

/// An application's launch state: the phase decisions read, and the service's own word
/// for it, which events and reports quote unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LaunchState {
    pub phase: LaunchPhase,
    pub status: String,
}

impl LaunchState {
    pub fn is_launchable(&self) -> bool {
        self.phase.is_launchable()
    }

    pub fn needs_configuration(&self) -> bool {
        self.phase.needs_configuration()
    }

    pub fn is_launched(&self) -> bool {
        self.phase.is_launched()
    }
}

impl fmt::Display for LaunchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.status)
    }
}

/// Where the replication of an application as a whole stands (an application whose
/// servers one configuration replicates, where the service offers that).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AppReplicationPhase {
    /// Never started (or the service says nothing of it).
    #[default]
    NotStarted,
    /// The service refused its replication configuration.
    ConfigurationInvalid,
    /// Its servers are replicated, or are getting their jobs.
    Running,
    /// Being stopped.
    Stopping,
    /// Stopped.
    Stopped,
}

impl AppReplicationPhase {
    /// Its servers have jobs, or are getting them.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Running | Self::Stopping)
    }

    /// Never started, or stopped: starting it is what would replicate its servers.
    pub fn is_not_started(self) -> bool {
        matches!(self, Self::NotStarted | Self::Stopped)
    }

    /// Ended, or ending.
    pub fn is_ending(self) -> bool {
        matches!(self, Self::NotStarted | Self::Stopping | Self::Stopped)
    }
}

/// Where a server's replication stands, in the project's own words. Each backend's
/// adapter maps its service's states onto these (SMS's job states in `sms::convert`):
/// a decision reads the phase, never the service's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReplicationPhase {
    /// Set up, not replicating yet.
    Starting,
    /// Replicating.
    Replicating,
    /// Going wrong: it always ends stalled or failed, which is when it is alerted.
    Faltering,
    /// Stopped by a failure; a retry resumes it.
    Stalled,
    /// Paused as asked; resuming it replicates again.
    Paused,
    /// Ended by a failure; only a new replication of the server replicates it.
    Failed,
    /// Ended as asked.
    Completed,
    /// Being removed: it never replicates again, though it may hold its server a while.
    Removing,
    /// Removed; the service may still list it for a while.
    Removed,
    /// A state the adapter does not know.
    Unrecognized,
}

impl ReplicationPhase {
    /// A failure that needs attention: the service stopped replicating the server.
    /// Faltering always ends in one of these two, so alerting on it too would alert
    /// twice for one failure.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Stalled | Self::Failed)
    }

    /// It replicates, or may again: it counts against the concurrent-migration quota.
    /// One being removed is not live (it never runs again), though it may still hold
    /// its server for a while.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Replicating | Self::Faltering | Self::Stalled | Self::Paused
        )
    }

    /// Its settings may still be changed: not ended, not being removed, not failed.
    pub fn is_updatable(self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Replicating | Self::Stalled | Self::Paused
        )
    }

    /// Its removal was asked for: such a replication is no failure, not live, and not
    /// missing either.
    pub fn is_removed(self) -> bool {
        matches!(self, Self::Removing | Self::Removed)
    }
}

/// A server's replication state: the phase decisions read, and the service's own word
/// for it, which alerts, reports and state objects quote unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicationState {
    pub phase: ReplicationPhase,
    pub status: String,
}

impl ReplicationState {
    pub fn is_failure(&self) -> bool {
        self.phase.is_failure()
    }

    pub fn is_live(&self) -> bool {
        self.phase.is_live()
    }

    pub fn is_updatable(&self) -> bool {
        self.phase.is_updatable()
    }

    pub fn is_removed(&self) -> bool {
        self.phase.is_removed()
    }
}

impl fmt::Display for ReplicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.status)
    }
}

/// Where a server's move stands on a service that launches test copies before it cuts
/// over (MGN's life cycle, in the project's words). Each such backend's adapter maps its
/// service's states onto these (MGN's in `crate::mgn::vocabulary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CutoverPhase {
    /// Known to the service from an imported inventory; no agent reports yet.
    AwaitingAgent,
    /// Replicating, its first full copy not made yet: nothing may launch.
    NotReady,
    /// Its copy is complete: a test copy may be launched.
    ReadyToTest,
    /// A test copy is launched, or being launched.
    Testing,
    /// Its test was marked passed: it may be cut over.
    ReadyToCutOver,
    /// Its cutover copy is being launched.
    CuttingOver,
    /// Cut over (finalized or not: the replication's phase tells).
    CutOver,
    /// Disconnected from the service on purpose: nothing more happens to it.
    Released,
    /// Its replication was stopped as asked.
    Stopped,
    /// A state the adapter does not know.
    Unrecognized,
}

impl CutoverPhase {
    /// A launch of its copies (test or cutover) is under way.
    pub fn is_launching(self) -> bool {
        matches!(self, Self::Testing | Self::CuttingOver)
    }

    /// It reached the end of its move: cut over, or let go.
    pub fn is_done(self) -> bool {
        matches!(self, Self::CutOver | Self::Released)
    }
}

/// A server's place in its move: the phase decisions read, and the service's own word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CutoverState {
    pub phase: CutoverPhase,
    pub status: String,
}

impl fmt::Display for CutoverState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.status)
    }
}

/// Which copy a launch makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LaunchKind {
    Test,
    Cutover,
}

impl LaunchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Cutover => "cutover",
        }
    }
}

/// The kinds of problem, one episode of each at a time per server.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ProblemKind {
    /// The service stopped replicating it; a retry may restart it.
    Stalled,
    /// Its agent stopped reporting: only the agent's return mends it.
    Disconnected,
    /// Its replica is further behind than the threshold.
    Lagging,
    /// Its first copy runs past its expected end.
    SyncOverdue,
}

impl ProblemKind {
    /// As events and keys word it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stalled => "stalled",
            Self::Disconnected => "disconnected",
            Self::Lagging => "lagging",
            Self::SyncOverdue => "syncOverdue",
        }
    }
}

/// The model's `LicenseType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LicenseType {
    #[serde(rename = "AWS")]
    Aws,
    #[serde(rename = "BYOL")]
    Byol,
}

impl LicenseType {
    /// As the plan and the service write it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::Byol => "BYOL",
        }
    }
}
