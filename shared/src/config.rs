//! Configuration of each function, read once from environment variables at cold start
//! and validated: every missing or malformed variable is reported together, each naming
//! the variable and the form it expects. README.md documents every variable.

use std::fmt;
use std::str::FromStr;

use crate::migration::LicenseType;

/// One variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; expected {}",
            self.variable, self.problem, self.expected
        )
    }
}

/// Every problem found in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// Looks a variable up by name; `None` when unset.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables through a lookup function, records every name it was asked for and
/// collects errors instead of stopping at the first, so one start-up names them all.
pub struct EnvReader<'a> {
    lookup: Lookup<'a>,
    errors: Vec<ConfigError>,
    names: Vec<&'static str>,
}

impl<'a> EnvReader<'a> {
    /// Reads from the process environment.
    pub fn process() -> EnvReader<'static> {
        EnvReader::new(|name| std::env::var(name).ok())
    }

    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
            errors: Vec::new(),
            names: Vec::new(),
        }
    }

    /// An empty value counts as unset: CloudFormation passes empty strings for optional
    /// parameters left blank.
    fn raw(&mut self, name: &'static str) -> Option<String> {
        if !self.names.contains(&name) {
            self.names.push(name);
        }
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub(crate) fn fail(&mut self, variable: &'static str, problem: String, expected: &str) {
        self.errors.push(ConfigError {
            variable,
            problem,
            expected: expected.to_owned(),
        });
    }

    pub fn required_string(&mut self, name: &'static str, expected: &str) -> String {
        match self.raw(name) {
            Some(value) => value,
            None => {
                self.fail(name, "missing".into(), expected);
                String::new()
            }
        }
    }

    pub fn optional_string(&mut self, name: &'static str) -> Option<String> {
        self.raw(name)
    }

    /// Parses an optional variable; a malformed value is an error, not the default.
    pub fn optional<T>(&mut self, name: &'static str, expected: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let value = self.raw(name)?;
        match value.parse() {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.fail(name, format!("`{value}` is invalid ({error})"), expected);
                None
            }
        }
    }

    pub fn parse_or<T>(&mut self, name: &'static str, default: T, expected: &str) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.optional(name, expected).unwrap_or(default)
    }

    pub fn bool_or(&mut self, name: &'static str, default: bool) -> bool {
        let Some(value) = self.raw(name) else {
            return default;
        };
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                self.fail(name, format!("`{value}` is not a boolean"), "true or false");
                default
            }
        }
    }

    /// An integer within inclusive bounds.
    pub fn int_or(&mut self, name: &'static str, default: u32, min: u32, max: u32) -> u32 {
        let expected = format!("an integer from {min} to {max}");
        match self.optional::<u32>(name, &expected) {
            Some(value) if (min..=max).contains(&value) => value,
            Some(value) => {
                self.fail(name, format!("{value} is out of range"), &expected);
                default
            }
            None => default,
        }
    }

    /// A comma-separated list; blank items are ignored.
    pub fn list<T>(&mut self, name: &'static str, expected: &str) -> Vec<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let Some(value) = self.raw(name) else {
            return Vec::new();
        };
        let mut items = Vec::new();
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item.parse() {
                Ok(parsed) => items.push(parsed),
                Err(error) => self.fail(
                    name,
                    format!("item `{item}` is invalid ({error})"),
                    expected,
                ),
            }
        }
        items
    }

    /// Reports an inconsistency between variables.
    pub fn reject(&mut self, variable: &'static str, problem: &str, expected: &str) {
        self.fail(variable, problem.to_owned(), expected);
    }

    /// The names read so far, in first-read order.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    pub fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }
}

/// The configuration of one function.
pub trait FunctionConfig: Sized {
    /// Reads every variable the function uses; problems are collected in `env`.
    fn read(env: &mut EnvReader<'_>) -> Self;

    /// The part every function shares.
    fn common(&self) -> &CommonConfig;

    /// Reads and validates the process environment.
    fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut env = EnvReader::new(lookup);
        let config = Self::read(&mut env);
        env.finish(config)
    }

    /// Which of the function's runs take its lease, so that no two of them overlap
    /// (see [`crate::lease`]); `None` when its runs may overlap.
    fn lease(&self) -> Option<LeasePolicy<'_>> {
        None
    }

    /// Every variable the function reads, required or optional.
    fn variables() -> Vec<&'static str> {
        let mut env = EnvReader::new(|_| None);
        let _ = Self::read(&mut env);
        env.names().to_vec()
    }
}

/// Where a function keeps its lease, and which of its runs take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy<'a> {
    /// The deployed binary's name: the lease is `state/<function>/lease.json`.
    pub function: &'static str,
    pub bucket: &'a str,
    pub runs: LeasedRuns,
}

impl LeasePolicy<'_> {
    /// Whether a run takes the lease; `scheduled` when a schedule started it.
    pub fn covers(&self, scheduled: bool) -> bool {
        match self.runs {
            LeasedRuns::All => true,
            LeasedRuns::Schedules => scheduled,
        }
    }
}

/// The runs of a function that must not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeasedRuns {
    All,
    /// Only scheduled runs (the wave reporter's deliveries each write an object of
    /// their own; only its scheduled fold must run alone).
    Schedules,
}

/// What every function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// Name or ARN of the project's EventBridge bus.
    pub event_bus_name: String,
    /// Decide and publish as usual, but make no mutating SMS call.
    pub dry_run: bool,
    /// Attempts per AWS call, the first included (SDK standard retry mode).
    pub max_attempts: u32,
}

impl CommonConfig {
    fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            event_bus_name: env.required_string(
                "EVENT_BUS_NAME",
                "the name or ARN of the project's event bus",
            ),
            dry_run: env.bool_or("DRY_RUN", false),
            max_attempts: env.int_or("AWS_CALL_MAX_ATTEMPTS", 5, 1, 20),
        }
    }
}

/// `PLAN_KEY`: where the wave plan is in the artifacts bucket.
pub(crate) fn plan_key(env: &mut EnvReader<'_>) -> String {
    object_key(env, "PLAN_KEY", DEFAULT_PLAN_KEY, "the plan")
}

/// Where the engineer puts MGN's inventory sheet by default.
pub const DEFAULT_INVENTORY_KEY: &str = "plan/mgn-inventory.csv";

/// The key `variable` names in the artifacts bucket for `what` the engineer puts there:
/// outside the functions' `state/`, without a leading `/`.
pub(crate) fn object_key(
    env: &mut EnvReader<'_>,
    variable: &'static str,
    default: &str,
    what: &str,
) -> String {
    let key = env
        .optional_string(variable)
        .unwrap_or_else(|| default.to_owned());
    if key.starts_with('/') || key.starts_with("state/") {
        env.fail(
            variable,
            format!("`{key}` is not a key for {what}"),
            "an object key outside state/, without a leading /",
        );
    }
    key
}

pub(crate) fn artifacts_bucket(env: &mut EnvReader<'_>) -> String {
    env.required_string("ARTIFACTS_BUCKET", "the name of the artifacts S3 bucket")
}

/// The parameters of every replication job the autopilot creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobParameters {
    pub frequency_hours: u32,
    pub run_once: bool,
    pub license_type: Option<LicenseType>,
    pub role_name: Option<String>,
    pub amis_to_keep: Option<u32>,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    /// Minutes from the decision to the seed replication (0: now).
    pub seed_offset_minutes: u32,
}

impl JobParameters {
    /// The parameters of a job for `server`: the accepted wave plan's replication
    /// settings for it laid over these, or these for a server the plan does not place.
    pub fn for_server(
        &self,
        plan: &crate::plan::resolved::ResolvedPlan,
        server: &crate::model::ServerId,
    ) -> JobParameters {
        match plan.servers.get(server) {
            Some(policy) => self.overlaid(&policy.replication),
            None => self.clone(),
        }
    }

    /// These parameters with the wave plan's settings for one server laid over them.
    pub fn overlaid(&self, planned: &crate::plan::ReplicationSettings) -> JobParameters {
        JobParameters {
            frequency_hours: planned.frequency.unwrap_or(self.frequency_hours),
            run_once: planned.run_once.unwrap_or(self.run_once),
            license_type: planned.license_type.or(self.license_type),
            role_name: self.role_name.clone(),
            amis_to_keep: planned.number_of_recent_amis_to_keep.or(self.amis_to_keep),
            encrypted: planned.encrypted.unwrap_or(self.encrypted),
            kms_key_id: planned
                .kms_key_id
                .clone()
                .or_else(|| self.kms_key_id.clone()),
            seed_offset_minutes: self.seed_offset_minutes,
        }
    }

    fn read(env: &mut EnvReader<'_>) -> Self {
        let license_type = env.optional_string("JOB_LICENSE_TYPE").and_then(|value| {
            match value.to_ascii_uppercase().as_str() {
                "AWS" => Some(LicenseType::Aws),
                "BYOL" => Some(LicenseType::Byol),
                _ => {
                    env.reject(
                        "JOB_LICENSE_TYPE",
                        &format!("`{value}` is not a license type"),
                        "AWS or BYOL",
                    );
                    None
                }
            }
        });
        let parameters = Self {
            frequency_hours: env.int_or("JOB_FREQUENCY_HOURS", 12, 1, 24),
            run_once: env.bool_or("JOB_RUN_ONCE", false),
            license_type,
            role_name: env.optional_string("JOB_ROLE_NAME"),
            amis_to_keep: env.optional("JOB_AMIS_TO_KEEP", "an integer from 0 to 100"),
            encrypted: env.bool_or("JOB_ENCRYPTED", false),
            kms_key_id: env.optional_string("JOB_KMS_KEY_ID"),
            seed_offset_minutes: env.int_or("JOB_SEED_OFFSET_MINUTES", 0, 0, 43_200),
        };
        if parameters.amis_to_keep.is_some_and(|n| n > 100) {
            env.reject(
                "JOB_AMIS_TO_KEEP",
                "out of range",
                "an integer from 0 to 100",
            );
        }
        if parameters.kms_key_id.is_some() && !parameters.encrypted {
            env.reject(
                "JOB_KMS_KEY_ID",
                "set while JOB_ENCRYPTED is false",
                "JOB_ENCRYPTED=true alongside a KMS key",
            );
        }
        parameters
    }
}

mod functions;
pub use functions::*;

#[cfg(test)]
mod tests;
