//! Scenario files: the on-premises estate, timings, limits and faults the emulator plays.
//!
//! A scenario is YAML or JSON (JSON is YAML, so one parser reads both). Every field
//! except `servers[].vm_name`, `connectors[].vm_manager_name` and the app/group names
//! has a default, so small test scenarios stay small. `Scenario::load` validates
//! cross references (apps naming unknown servers, servers behind no connector, …)
//! and reports every problem at once.
//!
//! - this file: the format (every field, its default), loading, `normalise`;
//! - `readings.rs`: the switches between readings where the sources are silent;
//! - `mgn.rs`: the MGN stand-in's settings (`mgn:`);
//! - `plans.rs`: the wave plan's versions the wave runner puts in the bucket;
//! - `validate.rs`: the range and cross-reference checks;
//! - `generate.rs`: [`Scenario::generate`], synthetic estates of any size;
//! - `source_servers_dump.rs`: [`read_describe_source_servers_dump`], an MGN account's
//!   source servers as listed;
//! - `catalog_dump.rs`: [`read_get_servers_dump`], a real catalog as listed, and
//!   [`Scenario::from_get_servers_dump`], that catalog as a scenario.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

mod built_in;
mod catalog_dump;
mod generate;
mod mgn;
mod plans;
mod readings;
mod source_servers_dump;
mod validate;

pub use built_in::DEFAULT_SCENARIO_YAML;
pub use catalog_dump::{read_get_servers_dump, DumpedServer};
pub use mgn::{
    CatchUpSpec, ChangeToCutover, CutoverFrom, MgnReadings, MgnServerSpec, MgnSettings, MgnTiming,
    ReadyForCutover, StallSpec,
};
pub use plans::PlanVersionSpec;
pub use readings::{CreateWhileDeleting, Readings, UnconfiguredLaunch};
pub use source_servers_dump::{read_describe_source_servers_dump, DumpedSourceServer};

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Io {
        /// The file named by the caller.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not a scenario (syntax error, unknown field, wrong type).
    #[error("scenario {origin} is malformed: {message}")]
    Parse {
        /// File path or `<inline>`.
        origin: String,
        /// The parser's message, with line and column where known.
        message: String,
    },
    /// The scenario parses but contradicts itself.
    #[error("scenario {origin} is invalid: {}", problems.join("; "))]
    Invalid {
        /// File path or `<inline>`.
        origin: String,
        /// Every problem found, in file order.
        problems: Vec<String>,
    },
}

/// The whole simulated estate and how the emulator behaves over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A label shown by `serve` and in the state snapshot.
    #[serde(default = "default_name")]
    pub name: String,
    /// Seed for ids, AMI names and fault dice: same seed, same run.
    #[serde(default)]
    pub seed: u64,
    /// The simulated clock's epoch.
    #[serde(default = "default_start")]
    pub start_time: DateTime<Utc>,
    /// Region reported in events, ARNs and stack ids.
    #[serde(default = "default_region")]
    pub region: String,
    /// Account reported in events, ARNs and stack ids.
    #[serde(default = "default_account")]
    pub account: String,
    /// Bucket GenerateTemplate / GenerateChangeSet write into (created at start).
    #[serde(default = "default_bucket")]
    pub template_bucket: String,
    /// Further buckets created in the local S3 at start (e.g. the artifacts bucket).
    #[serde(default)]
    pub extra_buckets: Vec<String>,
    /// Simulated durations of the service's asynchronous work.
    #[serde(default)]
    pub timing: Timing,
    /// Service quotas.
    #[serde(default)]
    pub limits: Limits,
    /// Injected latency, throttling and 500s.
    #[serde(default)]
    pub faults: Faults,
    /// Server Migration Connectors.
    #[serde(default)]
    pub connectors: Vec<ConnectorSpec>,
    /// On-premises VMs.
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// SMS applications that exist when the emulator starts.
    #[serde(default)]
    pub apps: Vec<AppSpec>,
    /// The target account's network and instance types; a launch configuration naming
    /// something a declared list lacks is CONFIGURATION_INVALID. Absent: not checked.
    #[serde(default)]
    pub network: Option<Network>,
    /// Which reading the emulator plays where the SMS sources are silent.
    #[serde(default)]
    pub readings: Readings,
    /// The wave plan put in the artifacts bucket, and the versions replacing it later.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<PlanVersionSpec>,
    /// How the MGN stand-in plays the estate.
    #[serde(default, skip_serializing_if = "MgnSettings::is_default")]
    pub mgn: MgnSettings,
}

/// What exists in the target account. Each list that is present is the whole truth;
/// a list left out is not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// VPC ids.
    #[serde(default)]
    pub vpcs: Option<Vec<String>>,
    /// Subnets, each in a VPC.
    #[serde(default)]
    pub subnets: Option<Vec<NetworkMember>>,
    /// Security groups, each in a VPC.
    #[serde(default)]
    pub security_groups: Option<Vec<NetworkMember>>,
    /// EC2 key pair names.
    #[serde(default)]
    pub key_pairs: Option<Vec<String>>,
    /// EC2 instance types offered.
    #[serde(default)]
    pub instance_types: Option<Vec<String>>,
}

/// A subnet or security group and the VPC it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkMember {
    /// Its id.
    pub id: String,
    /// The VPC it is in.
    pub vpc: String,
}

/// Simulated durations, all in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// ImportServerCatalog: IMPORTING -> AVAILABLE.
    pub catalog_import_secs: u64,
    /// A run's PENDING -> ACTIVE.
    pub run_start_delay_secs: u64,
    /// A run's ACTIVE -> COMPLETED when the server names no duration.
    pub default_replication_secs: u64,
    /// How long a job stays FAILING before the retry run or the final PAUSED/FAILED.
    pub failing_secs: u64,
    /// LaunchApp: LAUNCH_PENDING -> LAUNCH_IN_PROGRESS.
    pub launch_pending_secs: u64,
    /// LaunchApp: LAUNCH_IN_PROGRESS -> LAUNCHED.
    pub launch_secs: u64,
    /// TerminateApp: TERMINATE_IN_PROGRESS -> TERMINATED.
    pub terminate_secs: u64,
    /// CreateApp and UpdateApp: CREATING / UPDATING -> ACTIVE; DeleteApp: DELETING ->
    /// DELETED.
    pub app_status_secs: u64,
    /// PutAppLaunchConfiguration: CONFIGURATION_IN_PROGRESS -> READY_FOR_LAUNCH or
    /// CONFIGURATION_INVALID.
    pub configuration_secs: u64,
    /// DeleteReplicationJob: DELETING -> DELETED.
    pub deletion_secs: u64,
    /// How long GetReplicationJobs still lists a DELETED job before it disappears.
    pub deleted_job_listing_secs: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            catalog_import_secs: 120,
            run_start_delay_secs: 60,
            default_replication_secs: 1800,
            failing_secs: 300,
            launch_pending_secs: 60,
            launch_secs: 600,
            terminate_secs: 300,
            app_status_secs: 30,
            configuration_secs: 60,
            deletion_secs: 300,
            deleted_job_listing_secs: 86_400,
        }
    }
}

/// Service quotas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Live (PENDING/ACTIVE/FAILING/PAUSED_ON_FAILURE) jobs allowed at once; SMS allowed 50.
    pub max_concurrent_jobs: usize,
    /// StartOnDemandReplicationRun calls allowed per job in any 24 hours.
    pub on_demand_runs_per_24h: usize,
    /// Frequency (hours) of a job created without one.
    pub default_frequency_hours: u32,
    /// Days of replication per server, from its first run; then its ongoing job is
    /// terminated (FAILED) and it takes no new job. SMS allowed 90.
    pub replication_days_per_server: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_jobs: 50,
            on_demand_runs_per_24h: 2,
            default_frequency_hours: 12,
            replication_days_per_server: 90,
        }
    }
}

/// Fault injection; every dice roll comes from the scenario seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Real (wall-clock) delay added before every SMS answer.
    pub latency_ms: u64,
    /// Fraction (0..=1) of calls answered with HTTP 500 InternalError.
    pub error_rate: f64,
    /// A call-rate limit answered with ThrottlingException.
    pub throttle: Option<Throttle>,
    /// Occasional slow answers, on top of `latency_ms`.
    pub latency_spikes: Option<LatencySpikes>,
    /// Fraction (0..=1) of SMS's own events never delivered: EventBridge delivers
    /// service events best effort.
    pub dropped_sms_events: f64,
    /// Each app made by CreateApp gets launches that end LAUNCH_FAILED before one
    /// succeeds: a seeded draw from 0 to this, fixed by the app's name.
    pub launch_failures_up_to: u32,
}

/// A fraction of calls answered late.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySpikes {
    /// Fraction (0..=1) of calls delayed.
    pub rate: f64,
    /// Real (wall-clock) delay added to each of them.
    pub extra_ms: u64,
}

/// A per-second call budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Calls allowed in one second; the next ones in that second are throttled.
    pub max_calls_per_second: u32,
    /// Whose second: wall-clock (`real`, the default) or the simulated clock's.
    #[serde(default)]
    pub per: ThrottleClock,
}

/// Which clock a throttle window follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleClock {
    /// Wall-clock seconds.
    #[default]
    Real,
    /// Simulated seconds (a burst inside one simulated second is throttled however slow).
    Simulated,
}

/// A Server Migration Connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    /// Connector id; generated (`c-` + 17 hex) when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The VM manager (vCenter, SCVMM, Hyper-V host) it watches.
    #[serde(alias = "vmManagerName")]
    pub vm_manager_name: String,
    /// VSPHERE, SCVMM or HYPERV-MANAGER.
    #[serde(default = "default_manager_type", alias = "vmManagerType")]
    pub vm_manager_type: String,
    /// The manager's id; generated when absent.
    #[serde(default, alias = "vmManagerId")]
    pub vm_manager_id: Option<String>,
    /// Connector appliance address.
    #[serde(default = "default_ip")]
    pub ip_address: String,
    /// Connector software version.
    #[serde(default = "default_connector_version")]
    pub version: String,
    /// Periods (seconds from the start) when it reports UNHEALTHY.
    #[serde(default)]
    pub unhealthy: Vec<Period>,
}

/// A half-open interval [from_secs, to_secs) of simulated seconds from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Start, inclusive.
    pub from_secs: u64,
    /// End, exclusive.
    pub to_secs: u64,
}

/// What a job does once its injected failures are used up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterFailures {
    /// PAUSED_ON_FAILURE: StartOnDemandReplicationRun resumes it.
    #[default]
    Paused,
    /// FAILED: terminal; only delete and re-create helps.
    Failed,
}

/// An on-premises VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Server id; generated (`s-` + 8 hex) when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// VM name, unique in the scenario (apps refer to servers by it).
    #[serde(alias = "vmName")]
    pub vm_name: String,
    /// Inventory path; defaults to `/<manager>/vm/<name>`.
    #[serde(default, alias = "vmPath")]
    pub vm_path: Option<String>,
    /// The manager (and so the connector) that sees it; defaults to the first connector's.
    #[serde(default, alias = "vmManagerName")]
    pub vm_manager_name: Option<String>,
    /// The manager's id for this VM; defaults to `vm-<n>`.
    #[serde(default, alias = "vmId")]
    pub vm_id: Option<String>,
    /// Seconds from the start after which a catalog import can see it.
    #[serde(default)]
    pub appears_at_secs: u64,
    /// Duration of each replication run; the timing default when absent.
    #[serde(default)]
    pub replication_secs: Option<u64>,
    /// How many consecutive runs of each job on this server fail before the job
    /// gives up into `after_failures` (counted per job: a re-created job fails again).
    #[serde(default)]
    pub fail_runs: u32,
    /// Where the job ends once its `fail_runs` runs have failed.
    #[serde(default)]
    pub after_failures: AfterFailures,
    /// CreateReplicationJob answers ServerCannotBeReplicatedException.
    #[serde(default)]
    pub unreplicable: bool,
    /// Disks, informational (shown in the state snapshot).
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

/// A VM disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// Size in GiB.
    pub size_gb: u32,
}

/// An SMS application present at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Application name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags, e.g. `autopilot:launch: "false"`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Server groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// When present the app starts with this launch configuration for every server.
    #[serde(default)]
    pub launch: Option<LaunchSpec>,
    /// Launches of this app that end LAUNCH_FAILED before one succeeds.
    #[serde(default)]
    pub launch_failures: u32,
}

/// A server group of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Group name.
    pub name: String,
    /// CloudFormation order: lower launches first.
    #[serde(default)]
    pub launch_order: Option<i32>,
    /// Member VM names.
    #[serde(default)]
    pub servers: Vec<String>,
}

/// Launch settings applied to every server of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchSpec {
    /// EC2 instance type.
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// Subnet id.
    pub subnet: String,
    /// Security group id.
    pub security_group: String,
    /// VPC id.
    #[serde(default)]
    pub vpc: Option<String>,
}

impl ServerSpec {
    /// A VM known by its name only, every other field at its default.
    pub fn named(vm_name: &str) -> Self {
        Self {
            id: None,
            vm_name: vm_name.to_owned(),
            vm_path: None,
            vm_manager_name: None,
            vm_id: None,
            appears_at_secs: 0,
            replication_secs: None,
            fail_runs: 0,
            after_failures: AfterFailures::default(),
            unreplicable: false,
            volumes: Vec::new(),
        }
    }
}

fn default_name() -> String {
    "unnamed".into()
}
fn default_start() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_704_067_200, 0).unwrap_or_default() // 2024-01-01T00:00:00Z
}
fn default_region() -> String {
    "us-east-1".into()
}
fn default_account() -> String {
    "123456789012".into()
}
fn default_bucket() -> String {
    "sms-app-templates".into()
}
fn default_manager_type() -> String {
    "VSPHERE".into()
}
fn default_ip() -> String {
    "10.0.0.10".into()
}
fn default_connector_version() -> String {
    "1.4.0".into()
}
fn default_instance_type() -> String {
    "t3.medium".into()
}

impl Scenario {
    /// Reads and validates a YAML or JSON file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let origin = path.display().to_string();
        let mut scenario = Self::from_str_named(&text, &origin)?;
        scenario.read_plan_files(path.parent(), &[], &origin)?;
        Ok(scenario)
    }

    /// Parses and validates YAML or JSON text (its plans given as `text`).
    pub fn from_text(text: &str) -> Result<Self, ScenarioError> {
        let mut scenario = Self::from_str_named(text, "<inline>")?;
        scenario.read_plan_files(None, &[], "<inline>")?;
        Ok(scenario)
    }

    fn from_str_named(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        // An empty file is a mistake (a wrong path, a file cut short), never a wave.
        let blank = text.lines().all(|line| {
            let line = line.trim();
            line.is_empty() || line.starts_with('#')
        });
        if blank {
            return Err(ScenarioError::Invalid {
                origin: origin.to_string(),
                problems: vec!["the scenario is empty".into()],
            });
        }
        let mut scenario: Scenario =
            serde_yaml_ng::from_str(text).map_err(|e| ScenarioError::Parse {
                origin: origin.to_string(),
                message: e.to_string(),
            })?;
        scenario.normalise();
        scenario.validate(origin)?;
        Ok(scenario)
    }

    /// Fills generated ids and derived defaults so the rest of the emulator never guesses.
    pub fn normalise(&mut self) {
        let mut rng = SplitMix64::new(self.seed ^ 0x5ce7_a210);
        for c in &mut self.connectors {
            if c.id.is_none() {
                c.id = Some(format!("c-{}", rng.hex(17)));
            }
            if c.vm_manager_id.is_none() {
                c.vm_manager_id = Some(uuid_like(&mut rng));
            }
        }
        let first_manager = self.connectors.first().map(|c| c.vm_manager_name.clone());
        for (i, s) in self.servers.iter_mut().enumerate() {
            if s.id.is_none() {
                s.id = Some(format!("s-{:08x}", mix32(i as u32 ^ (self.seed as u32))));
            }
            if s.vm_manager_name.is_none() {
                s.vm_manager_name = first_manager.clone();
            }
            if s.vm_id.is_none() {
                s.vm_id = Some(format!("vm-{}", 1000 + i));
            }
            if s.vm_path.is_none() {
                let manager = s.vm_manager_name.as_deref().unwrap_or("manager");
                s.vm_path = Some(format!("/{manager}/vm/{}", s.vm_name));
            }
        }
    }

    /// The JSON Schema of scenario files (committed as `local/scenarios/scenario.schema.json`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
    }

    /// Renders the scenario as YAML (e.g. to save a generated one).
    pub fn to_yaml(&self) -> Result<String, ScenarioError> {
        serde_yaml_ng::to_string(self).map_err(|e| ScenarioError::Parse {
            origin: "<serialise>".into(),
            message: e.to_string(),
        })
    }
}

/// A bijection on u32, so generated server ids never collide.
fn mix32(mut x: u32) -> u32 {
    x = x.wrapping_mul(0x9E37_79B1);
    x ^= x >> 16;
    x = x.wrapping_mul(0x85EB_CA6B);
    x ^= x >> 13;
    x
}

/// A UUID-shaped id (8-4-4-4-12 hex) drawn from `rng`, for manager ids, event ids and stack ids.
pub(crate) fn uuid_like(rng: &mut SplitMix64) -> String {
    let h = rng.hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests;
