//! Each function's own configuration: which variables it reads, their defaults and
//! limits, and whether its runs take the function's lease so that they never overlap.

use crate::cutover::LaunchLimits;
use crate::failures::RemediationPolicy;
use crate::model::OutputFormat;
use crate::readiness::{LaunchWindow, OptOutTag};
use crate::replication_health::HealthPolicy;
use crate::wave_policy::{Selector, WavePolicy};

use super::{
    artifacts_bucket, object_key, plan_key, CommonConfig, EnvReader, FunctionConfig, JobParameters,
    LeasePolicy, LeasedRuns, DEFAULT_INVENTORY_KEY,
};

/// catalog-import: GetConnectors, then ImportServerCatalog when one is healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogImportConfig {
    pub common: CommonConfig,
    /// Import the catalog in a dry run too (`DRY_RUN_IMPORTS_CATALOG`, default true):
    /// the import discovers servers and changes no server, job or application, and
    /// without it a dry run on a fresh account would have nothing to decide about.
    pub import_in_dry_run: bool,
}

impl FunctionConfig for CatalogImportConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            import_in_dry_run: env.bool_or("DRY_RUN_IMPORTS_CATALOG", true),
        }
    }
}

/// job-creator: the wave policy and the parameters of the jobs it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCreatorConfig {
    pub common: CommonConfig,
    /// Where refused servers are remembered (`state/job-creator/`).
    pub artifacts_bucket: String,
    pub policy: WavePolicy,
    pub job: JobParameters,
    /// CreateReplicationJob calls in flight at once.
    pub create_concurrency: u32,
    /// The wave plan's key in the artifacts bucket: its servers are placed by it.
    pub plan_key: String,
}

const SELECTOR_FORM: &str =
    "comma-separated vmName:GLOB, vmPath:GLOB, vmManagerName:GLOB, serverId:GLOB, or (MGN) hostname:GLOB, fqdn:GLOB, vmwareUuid:GLOB, userProvidedId:GLOB";

impl FunctionConfig for JobCreatorConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "job-creator",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        let common = CommonConfig::read(env);
        let artifacts_bucket = artifacts_bucket(env);
        let policy = WavePolicy {
            include: env.list::<Selector>("WAVE_INCLUDE", SELECTOR_FORM),
            exclude: env.list::<Selector>("WAVE_EXCLUDE", SELECTOR_FORM),
            recreate_terminated: env.bool_or("WAVE_RECREATE_TERMINATED", false),
            max_active_jobs: env.int_or("MAX_ACTIVE_JOBS", 50, 1, 1_000) as usize,
        };
        Self {
            common,
            artifacts_bucket,
            policy,
            job: JobParameters::read(env),
            create_concurrency: env.int_or("CREATE_CONCURRENCY", 4, 1, 50),
            plan_key: plan_key(env),
        }
    }
}

/// job-watcher: where the failure snapshot lives and how failures are remediated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobWatcherConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    pub remediation: RemediationPolicy,
    /// Used when a FAILED job is recreated.
    pub job: JobParameters,
    /// Days before SMS's 90 days of replication end that a server is warned about
    /// (`REPLICATION_EXPIRY_WARNING_DAYS`, default 14; 0 turns the warning off).
    pub expiry_warning_days: u32,
}

impl FunctionConfig for JobWatcherConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "job-watcher",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            remediation: RemediationPolicy {
                max_attempts_per_server: env.int_or("REMEDIATION_MAX_ATTEMPTS", 3, 0, 100),
                daily_on_demand_limit: env.int_or("ON_DEMAND_DAILY_LIMIT", 2, 0, 100),
                recreate_failed: env.bool_or("REMEDIATION_RECREATE_FAILED", false),
            },
            job: JobParameters::read(env),
            expiry_warning_days: env.int_or("REPLICATION_EXPIRY_WARNING_DAYS", 14, 0, 89),
        }
    }
}

/// mgn-watcher: where its snapshot lives, what counts as a replication problem on MGN,
/// and how stalled replications are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgnWatcherConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    pub health: HealthPolicy,
}

impl FunctionConfig for MgnWatcherConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "mgn-watcher",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        let minutes = |value: u32| chrono::Duration::minutes(i64::from(value));
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            health: HealthPolicy {
                lag_threshold: minutes(env.int_or("REPLICATION_LAG_ALERT_MINUTES", 60, 1, 10_080)),
                sync_grace: minutes(env.int_or("INITIAL_SYNC_GRACE_MINUTES", 60, 0, 10_080)),
                max_retries_per_server: env.int_or("REMEDIATION_MAX_ATTEMPTS", 3, 0, 100),
                retry_interval: minutes(env.int_or("RETRY_INTERVAL_MINUTES", 60, 1, 1_440)),
            },
        }
    }
}

/// mgn-launcher: the default windows, the launch budget and how long launched copies
/// have to pass their status checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgnLauncherConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    /// When cutovers may start, unless the plan gives an application its own window.
    pub launch_window: Option<LaunchWindow>,
    /// When tests may start, unless the plan gives an application its own test window
    /// (or window).
    pub test_window: Option<LaunchWindow>,
    pub limits: LaunchLimits,
}

impl FunctionConfig for MgnLauncherConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "mgn-launcher",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        const WINDOW: &str = "DAYS HH:MM-HH:MM in UTC, e.g. mon-fri 22:00-06:00";
        let checks = env.int_or("STATUS_CHECKS_MINUTES", 30, 1, 1_440);
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            launch_window: env.optional("LAUNCH_WINDOW", WINDOW),
            test_window: env.optional("TEST_WINDOW", WINDOW),
            limits: LaunchLimits {
                max_attempts: env.int_or("LAUNCH_MAX_ATTEMPTS", 2, 1, 10),
                status_checks_within: chrono::Duration::minutes(i64::from(checks)),
            },
        }
    }
}

/// template-generator: the format of templates and where they are archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateGeneratorConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    pub format: OutputFormat,
}

impl FunctionConfig for TemplateGeneratorConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        let common = CommonConfig::read(env);
        let artifacts_bucket = artifacts_bucket(env);
        let format = match env.optional_string("TEMPLATE_FORMAT") {
            None => OutputFormat::Json,
            Some(value) => match OutputFormat::from_wire(&value.to_ascii_uppercase()) {
                OutputFormat::Unknown(_) => {
                    env.reject(
                        "TEMPLATE_FORMAT",
                        &format!("`{value}` is not a format"),
                        "JSON or YAML",
                    );
                    OutputFormat::Json
                }
                known => known,
            },
        };
        Self {
            common,
            artifacts_bucket,
            format,
        }
    }
}

/// app-launcher: opt-out tag, launch window, how many apps it inspects at once, and the
/// bucket where apps already read are remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLauncherConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    pub opt_out: OptOutTag,
    pub launch_window: Option<LaunchWindow>,
    /// GetApp / LaunchApp calls in flight at once.
    pub app_concurrency: u32,
    /// LaunchApp calls per app, the first included: a launch that fails or is refused
    /// is tried again until this many were made.
    pub launch_max_attempts: u32,
    /// The EventBridge rule the launcher enables while a ready app waits for a launch
    /// in flight, and disables once none does (none: only the schedule re-checks).
    pub launch_recheck_rule: Option<String>,
}

impl FunctionConfig for AppLauncherConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "app-launcher",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            opt_out: env.parse_or(
                "LAUNCH_OPT_OUT_TAG",
                OptOutTag {
                    key: "autopilot:launch".into(),
                    value: "false".into(),
                },
                "KEY=VALUE, e.g. autopilot:launch=false",
            ),
            launch_window: env.optional(
                "LAUNCH_WINDOW",
                "DAYS HH:MM-HH:MM in UTC, e.g. mon-fri 22:00-06:00",
            ),
            app_concurrency: env.int_or("APP_CONCURRENCY", 4, 1, 50),
            launch_max_attempts: env.int_or("LAUNCH_MAX_ATTEMPTS", 2, 1, 10),
            launch_recheck_rule: launch_recheck_rule(env),
        }
    }
}

/// `LAUNCH_RECHECK_RULE`: a rule name as EventBridge allows one (1 to 64 of letters,
/// digits, `.`, `-`, `_`), so a bad name is refused at start, not at the first switch.
fn launch_recheck_rule(env: &mut EnvReader<'_>) -> Option<String> {
    let name = env.optional_string("LAUNCH_RECHECK_RULE")?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if name.len() > 64 || !name.chars().all(allowed) {
        env.fail(
            "LAUNCH_RECHECK_RULE",
            format!("`{name}` is not an EventBridge rule name"),
            "1 to 64 letters, digits, '.', '-' or '_'",
        );
        return None;
    }
    Some(name)
}

/// Where the app-planner finds the plan and what it passes to SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPlannerConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    /// The plan's key in the artifacts bucket.
    pub plan_key: String,
    /// The service role SMS uses for the applications it creates (CreateApp
    /// `roleName`); SMS's default role when unset.
    pub app_role_name: Option<String>,
    /// The role CloudFormation uses to launch them (PutAppLaunchConfiguration
    /// `roleName`); SMS's default when unset.
    pub launch_role_name: Option<String>,
}

/// The default key of the plan in the artifacts bucket.
pub const DEFAULT_PLAN_KEY: &str = "plan/wave-plan.yaml";

impl FunctionConfig for AppPlannerConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "app-planner",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            plan_key: plan_key(env),
            app_role_name: env.optional_string("APP_ROLE_NAME"),
            launch_role_name: env.optional_string("LAUNCH_ROLE_NAME"),
        }
    }
}

/// mgn-planner: where the plan is, and the lease its runs take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgnPlannerConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    /// The plan's key in the artifacts bucket.
    pub plan_key: String,
}

impl FunctionConfig for MgnPlannerConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "mgn-planner",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            plan_key: plan_key(env),
        }
    }
}

/// mgn-import: where the inventory sheet MGN imports is put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgnImportConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    /// The inventory sheet's key in the artifacts bucket (MGN's import CSV).
    pub inventory_key: String,
}

impl FunctionConfig for MgnImportConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "mgn-import",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::All,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            inventory_key: object_key(
                env,
                "INVENTORY_KEY",
                DEFAULT_INVENTORY_KEY,
                "the inventory sheet",
            ),
        }
    }
}

/// wave-reporter: where the trail and the reports are kept, and what the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveReporterConfig {
    pub common: CommonConfig,
    pub artifacts_bucket: String,
    /// The wave's name at the top of the report (the stack's name, deployed).
    pub wave_name: String,
    /// How many of the latest decisions the report lists.
    pub decisions_shown: u32,
    /// The migration service the stack drives: the report reads it.
    pub backend: Backend,
}

/// The migration service a stack drives (the template's `Backend` parameter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    #[default]
    Sms,
    Mgn,
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "SMS" => Ok(Self::Sms),
            "MGN" => Ok(Self::Mgn),
            _ => Err("neither SMS nor MGN".to_owned()),
        }
    }
}

impl FunctionConfig for WaveReporterConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }

    fn lease(&self) -> Option<LeasePolicy<'_>> {
        Some(LeasePolicy {
            function: "wave-reporter",
            bucket: &self.artifacts_bucket,
            runs: LeasedRuns::Schedules,
        })
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            common: CommonConfig::read(env),
            artifacts_bucket: artifacts_bucket(env),
            wave_name: env
                .optional_string("WAVE_NAME")
                .unwrap_or_else(|| "sms-autopilot".to_owned()),
            decisions_shown: env.int_or("REPORT_DECISIONS_SHOWN", 500, 1, 10_000),
            backend: env.parse_or("BACKEND", Backend::Sms, "SMS or MGN"),
        }
    }
}
