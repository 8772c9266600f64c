//! Scenario files: the on-premises estate, timings, limits and faults the emulator plays.
//!
//! A scenario is YAML or JSON (JSON is YAML, so one parser reads both). Every field
//! except `servers[].vm_name`, `connectors[].vm_manager_name` and the app/group names
//! has a default, so small test scenarios stay small. `Scenario::load` validates
//! cross references (apps naming unknown servers, servers behind no connector, …)
//! and reports every problem at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

mod catalog_dump;

/// The built-in scenario `serve` plays when no `--scenario` is given.
pub const DEFAULT_SCENARIO_YAML: &str = include_str!("../../scenarios/default.yaml");

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
        /// File path or "<inline>".
        origin: String,
        /// The parser's message, with line and column where known.
        message: String,
    },
    /// The scenario parses but contradicts itself.
    #[error("scenario {origin} is invalid: {}", problems.join("; "))]
    Invalid {
        /// File path or "<inline>".
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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_jobs: 50,
            on_demand_runs_per_24h: 2,
            default_frequency_hours: 12,
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

/// The connector manager types the model knows.
const MANAGER_TYPES: [&str; 3] = ["VSPHERE", "SCVMM", "HYPERV-MANAGER"];

impl Scenario {
    /// The built-in default scenario.
    pub fn default_scenario() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail in a release.
        Self::from_str_named(DEFAULT_SCENARIO_YAML, "<default>")
            .unwrap_or_else(|e| panic!("embedded default scenario is broken: {e}"))
    }

    /// Reads and validates a YAML or JSON file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_str_named(&text, &path.display().to_string())
    }

    /// Parses and validates YAML or JSON text.
    pub fn from_text(text: &str) -> Result<Self, ScenarioError> {
        Self::from_str_named(text, "<inline>")
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

    fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        let mut problems = Vec::new();
        if !(0.0..=1.0).contains(&self.faults.error_rate) {
            problems.push(format!(
                "faults.error_rate must be within 0..=1, got {}",
                self.faults.error_rate
            ));
        }
        if let Some(t) = &self.faults.throttle {
            if t.max_calls_per_second == 0 {
                problems.push("faults.throttle.max_calls_per_second must be at least 1".into());
            }
        }
        if !(1..=24).contains(&self.limits.default_frequency_hours) {
            problems.push("limits.default_frequency_hours must be within 1..=24".into());
        }
        if !valid_bucket(&self.template_bucket) {
            problems.push(format!(
                "template_bucket {:?} is not a valid S3 bucket name",
                self.template_bucket
            ));
        }
        for b in &self.extra_buckets {
            if !valid_bucket(b) {
                problems.push(format!(
                    "extra_buckets: {b:?} is not a valid S3 bucket name"
                ));
            }
        }
        let mut managers = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (i, c) in self.connectors.iter().enumerate() {
            if !MANAGER_TYPES.contains(&c.vm_manager_type.as_str()) {
                problems.push(format!(
                    "connectors[{i}].vm_manager_type {:?} is not one of {MANAGER_TYPES:?}",
                    c.vm_manager_type
                ));
            }
            if !managers.insert(c.vm_manager_name.as_str()) {
                problems.push(format!(
                    "connectors[{i}]: vm manager {:?} has two connectors",
                    c.vm_manager_name
                ));
            }
            for p in &c.unhealthy {
                if p.from_secs >= p.to_secs {
                    problems.push(format!(
                        "connectors[{i}].unhealthy: from_secs must be < to_secs"
                    ));
                }
            }
            if let Some(id) = &c.id {
                if !ids.insert(id.clone()) {
                    problems.push(format!("connectors[{i}]: duplicate id {id}"));
                }
            }
        }
        let mut names = BTreeSet::new();
        for (i, s) in self.servers.iter().enumerate() {
            if s.vm_name.is_empty() {
                problems.push(format!("servers[{i}].vm_name is empty"));
            }
            if !names.insert(s.vm_name.as_str()) {
                problems.push(format!("servers[{i}]: duplicate vm_name {:?}", s.vm_name));
            }
            match s.vm_manager_name.as_deref() {
                None => problems.push(format!(
                    "servers[{i}] ({}) names no vm_manager_name and there is no connector",
                    s.vm_name
                )),
                Some(m) if !managers.contains(m) => problems.push(format!(
                    "servers[{i}] ({}): no connector watches vm manager {m:?}",
                    s.vm_name
                )),
                Some(_) => {}
            }
            if let Some(id) = &s.id {
                if !ids.insert(id.clone()) {
                    problems.push(format!("servers[{i}]: duplicate id {id}"));
                }
            }
            if s.replication_secs == Some(0) {
                problems.push(format!("servers[{i}].replication_secs must be at least 1"));
            }
        }
        let mut app_names = BTreeSet::new();
        for (i, a) in self.apps.iter().enumerate() {
            if !app_names.insert(a.name.as_str()) {
                problems.push(format!("apps[{i}]: duplicate app name {:?}", a.name));
            }
            let mut members = BTreeSet::new();
            for g in &a.groups {
                for m in &g.servers {
                    if !names.contains(m.as_str()) {
                        problems.push(format!(
                            "apps[{i}] ({}), group {:?}: unknown server {m:?}",
                            a.name, g.name
                        ));
                    }
                    if !members.insert(m.as_str()) {
                        problems.push(format!(
                            "apps[{i}] ({}): server {m:?} is in two groups",
                            a.name
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// A large synthetic estate: `servers` VMs over three connectors, `apps` apps of
    /// two or three groups, a few late arrivals, failures and unreplicable VMs, one
    /// unhealthy-connector hour, and every tenth app opted out of launch.
    pub fn generate(servers: usize, apps: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let connectors = vec![
            connector("vcenter-east", "VSPHERE", "10.0.1.10", vec![]),
            connector(
                "vcenter-west",
                "VSPHERE",
                "10.0.2.10",
                vec![Period {
                    from_secs: 7200,
                    to_secs: 9000,
                }],
            ),
            connector("scvmm-lab", "SCVMM", "10.0.3.10", vec![]),
        ];
        let mut specs = Vec::with_capacity(servers);
        for i in 0..servers {
            let manager = &connectors[i % connectors.len()].vm_manager_name;
            let roll = rng.next_f64();
            let appears_at_secs = if rng.next_f64() < 0.8 {
                0
            } else {
                600 + rng.next_u64() % (6 * 3600)
            };
            specs.push(ServerSpec {
                id: None,
                vm_name: format!("vm-{i:05}"),
                vm_path: None,
                vm_manager_name: Some(manager.clone()),
                vm_id: None,
                appears_at_secs,
                replication_secs: Some(900 + rng.next_u64() % 4500),
                fail_runs: if roll < 0.02 {
                    1
                } else if roll < 0.025 {
                    2
                } else {
                    0
                },
                after_failures: if roll < 0.02 {
                    AfterFailures::Paused
                } else {
                    AfterFailures::Failed
                },
                unreplicable: (0.025..0.03).contains(&roll),
                volumes: vec![Volume {
                    size_gb: 20 + (rng.next_u64() % 480) as u32,
                }],
            });
        }
        let mut app_specs = Vec::with_capacity(apps);
        let mut next = 0usize;
        for a in 0..apps {
            let group_count = 2 + (rng.next_u64() % 2) as usize;
            let mut groups = Vec::new();
            for g in 0..group_count {
                let size = 1 + (rng.next_u64() % 3) as usize;
                let members: Vec<String> = (0..size)
                    .filter_map(|_| {
                        let idx = next;
                        next += 1;
                        specs.get(idx).map(|s| s.vm_name.clone())
                    })
                    .collect();
                if !members.is_empty() {
                    groups.push(GroupSpec {
                        name: format!("tier-{g}"),
                        launch_order: Some(g as i32 + 1),
                        servers: members,
                    });
                }
            }
            let mut tags = BTreeMap::new();
            tags.insert("wave".to_string(), format!("{}", 1 + a % 3));
            if a % 10 == 9 {
                tags.insert("autopilot:launch".to_string(), "false".to_string());
            }
            app_specs.push(AppSpec {
                name: format!("app-{a:04}"),
                description: Some(format!("generated application {a}")),
                tags,
                groups,
                launch: Some(LaunchSpec {
                    instance_type: "t3.large".into(),
                    subnet: "subnet-0a1b2c3d4e5f60718".into(),
                    security_group: "sg-0a1b2c3d4e5f60718".into(),
                    vpc: Some("vpc-0a1b2c3d4e5f60718".into()),
                }),
            });
        }
        let mut scenario = Scenario {
            name: format!("generated-{servers}-servers-{apps}-apps"),
            seed,
            start_time: default_start(),
            region: default_region(),
            account: default_account(),
            template_bucket: default_bucket(),
            extra_buckets: vec![],
            timing: Timing::default(),
            limits: Limits {
                // A generated estate is for load: the quota would only get in the way.
                max_concurrent_jobs: servers.max(50),
                ..Limits::default()
            },
            faults: Faults::default(),
            connectors,
            servers: specs,
            apps: app_specs,
        };
        scenario.normalise();
        scenario
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

fn connector(name: &str, kind: &str, ip: &str, unhealthy: Vec<Period>) -> ConnectorSpec {
    ConnectorSpec {
        id: None,
        vm_manager_name: name.into(),
        vm_manager_type: kind.into(),
        vm_manager_id: None,
        ip_address: ip.into(),
        version: default_connector_version(),
        unhealthy,
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

fn uuid_like(rng: &mut SplitMix64) -> String {
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

pub(crate) fn uuid_from(rng: &mut SplitMix64) -> String {
    uuid_like(rng)
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scenario_is_valid() {
        let s = Scenario::default_scenario();
        assert!(s.servers.len() >= 24, "a few dozen servers");
        assert!((3..=5).contains(&s.apps.len()));
    }

    #[test]
    fn generated_scenario_is_valid_and_deterministic() {
        let a = Scenario::generate(10_000, 300, 9);
        let b = Scenario::generate(10_000, 300, 9);
        assert_eq!(a, b);
        let yaml = a.to_yaml().expect("yaml");
        let back = Scenario::from_text(&yaml).expect("round trip");
        assert_eq!(back.servers.len(), 10_000);
        let ids: BTreeSet<_> = back.servers.iter().map(|s| s.id.clone()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn committed_schema_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/scenario.schema.json"
        );
        let current =
            serde_json::to_string_pretty(&Scenario::json_schema()).expect("schema") + "\n";
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &current).expect("write schema");
        }
        // Compared as JSON values: key order depends on serde_json features that
        // other crates of the build may switch on.
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
                .unwrap_or_default();
        let current: serde_json::Value = serde_json::from_str(&current).expect("schema");
        assert_eq!(
            committed, current,
            "run with UPDATE_SCHEMA=1 to refresh {path}"
        );
    }

    #[test]
    fn bad_scenarios_name_every_problem() {
        let err = Scenario::from_text(
            "connectors: [{vm_manager_name: vc, vm_manager_type: NOPE}]\n\
             servers: [{vm_name: a, vm_manager_name: other}]\n\
             apps: [{name: x, groups: [{name: g, servers: [ghost]}]}]\n\
             faults: {error_rate: 2}\n",
        )
        .expect_err("invalid");
        let text = err.to_string();
        for needle in ["NOPE", "other", "ghost", "error_rate"] {
            assert!(text.contains(needle), "{text} lacks {needle}");
        }
        let err = Scenario::from_text("servers: [{vm_nam: a}]").expect_err("unknown field");
        assert!(err.to_string().contains("vm_nam"), "{err}");
    }
}
