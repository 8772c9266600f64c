//! The scenario as the MGN stand-in plays it (`mgn:`): every server of the estate runs
//! the AWS Replication Agent unless told otherwise, and each may carry what MGN keeps
//! about it (identity hints) and what happens to it (slow syncs, stalls, a lost agent,
//! failed launches, instances failing their status checks). Every field has a default,
//! so an SMS scenario plays on MGN as it stands.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the MGN stand-in plays the estate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MgnSettings {
    /// Simulated durations of MGN's asynchronous work.
    pub timing: MgnTiming,
    /// The domain a server's FQDN is made of when it names none.
    pub domain: Option<String>,
    /// Per server (by VM name): its hints and what happens to it.
    pub servers: BTreeMap<String, MgnServerSpec>,
    /// Which reading the stand-in plays where the MGN sources disagree or are silent.
    pub readings: MgnReadings,
    /// Fraction (0..=1) of MGN's own events never delivered: EventBridge delivers
    /// service events best effort.
    pub dropped_events: f64,
}

impl MgnSettings {
    /// Nothing set: the scenario leaves MGN to its defaults.
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }

    /// The settings of the server named `vm_name` (all defaults when it has none).
    pub fn server(&self, vm_name: &str) -> MgnServerSpec {
        self.servers.get(vm_name).cloned().unwrap_or_default()
    }
}

/// Simulated durations, all in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MgnTiming {
    /// Each step of data replication's initiation.
    pub initiation_step_secs: u64,
    /// INITIAL_SYNC's length when the server names none.
    pub initial_sync_secs: u64,
    /// CREATING_SNAPSHOT's length after the initial sync (0: straight to CONTINUOUS).
    pub first_snapshot_secs: u64,
    /// The lag of a healthy CONTINUOUS replication.
    pub continuous_lag_secs: u64,
    /// A launch job's PENDING -> STARTED.
    pub job_pending_secs: u64,
    /// A launch job's STARTED -> COMPLETED (snapshot, conversion, boot).
    pub launch_secs: u64,
    /// A TERMINATE job's length.
    pub terminate_secs: u64,
    /// An instance's status checks: `initializing` for this long after launch.
    pub status_checks_secs: u64,
}

impl Default for MgnTiming {
    fn default() -> Self {
        Self {
            initiation_step_secs: 30,
            initial_sync_secs: 3600,
            first_snapshot_secs: 0,
            continuous_lag_secs: 1,
            job_pending_secs: 30,
            launch_secs: 600,
            terminate_secs: 120,
            status_checks_secs: 180,
        }
    }
}

/// One server as MGN sees it. Hints left out are derived from the VM: the hostname is
/// its VM name, the FQDN that name in `mgn.domain`, the vmPath the SMS inventory path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MgnServerSpec {
    /// The agent is never installed: MGN never sees the server.
    pub without_agent: bool,
    /// Seconds from the start when the agent is installed and the server added; when
    /// the VM appears (`appears_at_secs`) when absent.
    pub agent_installed_at_secs: Option<u64>,
    /// Identity hint: hostname.
    pub hostname: Option<String>,
    /// Identity hint: fully qualified domain name.
    pub fqdn: Option<String>,
    /// Identity hint: VMware UUID; generated when absent.
    pub vmware_uuid: Option<String>,
    /// The id the user gave the server (an import sets it; so may the scenario).
    pub user_provided_id: Option<String>,
    /// INITIAL_SYNC's length; the timing default when absent.
    pub initial_sync_secs: Option<u64>,
    /// Replication stalls, in time order.
    pub stalls: Vec<StallSpec>,
    /// Writes faster than replication keeps up with: BACKLOG, its lag growing.
    pub backlogs: Vec<CatchUpSpec>,
    /// The source rebooted: RESCAN of its disks (`gib` is not used), its lag growing.
    pub rescans: Vec<CatchUpSpec>,
    /// Seconds from the start when the agent is lost for good (DISCONNECTED).
    pub disconnect_at_secs: Option<u64>,
    /// Test launches of this server that end FAILED before one succeeds.
    pub test_launch_failures: u32,
    /// Cutover launches of this server that end FAILED before one succeeds.
    pub cutover_launch_failures: u32,
    /// Test instances of this server whose status checks end `impaired` before one is `ok`.
    pub impaired_test_instances: u32,
    /// Cutover instances of this server whose status checks end `impaired` before one is `ok`.
    pub impaired_cutover_instances: u32,
}

/// A replication stall: from `at_secs` data replication is STALLED with `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StallSpec {
    /// Seconds from the start.
    pub at_secs: u64,
    /// How long its cause lasts: replication then recovers by itself. Absent: it lasts
    /// until RetryDataReplication.
    #[serde(default)]
    pub for_secs: Option<u64>,
    /// The model's DataReplicationError, e.g. `UNSTABLE_NETWORK`.
    #[serde(default = "default_stall_error")]
    pub error: String,
}

/// A while replication catches up: from `at_secs`, for `for_secs` (a backlog of `gib`
/// of writes, or a rescan of the disks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatchUpSpec {
    /// Seconds from the start.
    pub at_secs: u64,
    /// How long replication takes to catch up.
    pub for_secs: u64,
    /// The writes waiting, GiB.
    #[serde(default = "default_backlog_gib")]
    pub gib: u32,
}

fn default_backlog_gib() -> u32 {
    1
}

fn default_stall_error() -> String {
    "UNSTABLE_NETWORK".into()
}

/// The stand-in's choices where the MGN sources disagree or are silent
/// (local/FIDELITY.md names each); every switch plays the other reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MgnReadings {
    /// How a tested server becomes READY_FOR_CUTOVER.
    pub ready_for_cutover: ReadyForCutover,
    /// Whether ChangeServerLifeCycleState takes CUTOVER, which its request enum lists
    /// and its documentation does not.
    pub change_to_cutover: ChangeToCutover,
    /// Which servers StartCutover takes.
    pub cutover_from: CutoverFrom,
}

/// The life-cycle states StartCutover takes a server in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CutoverFrom {
    /// READY_FOR_TEST onwards: READY_FOR_TEST, READY_FOR_CUTOVER, or CUTTING_OVER for
    /// another try (the user guide's lifecycle page: "test or cutover instances can now
    /// be launched").
    #[default]
    ReadyForTest,
    /// Only READY_FOR_CUTOVER, or CUTTING_OVER for another try (a stricter console).
    ReadyForCutover,
}

/// How a tested server becomes READY_FOR_CUTOVER.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyForCutover {
    /// Only by ChangeServerLifeCycleState (the stand-in's reading).
    #[default]
    ByCall,
    /// By itself once its test launch succeeds.
    ByItself,
}

/// ChangeServerLifeCycleState to CUTOVER.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeToCutover {
    /// Refused with a ValidationException (the documentation's reading).
    #[default]
    Refused,
    /// Accepted from CUTTING_OVER (the request enum's reading).
    Accepted,
}
