//! The wave plan: which SMS applications exist, their server groups and members, launch
//! order, launch and replication settings, and which application waits for which. It
//! is a YAML (or JSON) file an engineer writes; the app-planner makes SMS match it.
//!
//! Reading a plan finds every problem at once, each with its path and line: the text
//! is read into a value ([`source`]), checked against the plan's JSON Schema
//! ([`shape`]), then against the rules the schema cannot say ([`rules`]). Settings are
//! given as defaults and overridden per application, per group and per server; the
//! more specific wins field by field ([`settings`]).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod catalog_index;
#[cfg(test)]
mod catalog_tests;
pub mod desired;
pub mod finalize;
#[cfg(test)]
mod finalize_tests;
pub mod groupings;
pub mod launch_template;
pub mod ledger;
pub mod mgn_settings;
pub mod reconcile;
#[cfg(test)]
mod reconcile_tests;
pub mod resolved;
pub mod rollback;
pub mod rules;
pub mod settings;
pub mod shape;
pub mod source;
#[cfg(test)]
mod tests;

pub use crate::migration::LicenseType;
pub use settings::{
    BootMode, DataPlaneRouting, LaunchSettings, ReplicationSettings, RightSizing, S3Object,
    ScriptType, Settings,
};

/// The plan's format version this code reads.
pub const PLAN_VERSION: u32 = 1;

/// A wave plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// The plan format's version: 1.
    pub version: u32,
    /// Delete the applications carrying the planner's tag that the plan no longer names.
    #[serde(default)]
    pub prune: bool,
    /// Settings for every server unless an application, group or server says otherwise.
    #[serde(default)]
    pub defaults: Settings,
    /// The applications, each created in SMS under its name.
    #[serde(default)]
    pub applications: Vec<PlannedApp>,
}

/// One application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedApp {
    /// The SMS application's name, unique in the plan.
    pub name: String,
    pub description: Option<String>,
    /// Tags, propagated by SMS to the instances it launches.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Whether the autopilot launches it (`automatic`), a person does (`manual`), or its
    /// launched stack is terminated and it is held (`rollback`).
    #[serde(default)]
    pub launch: LaunchMode,
    /// When it may be launched, `DAYS HH:MM-HH:MM` in UTC, as `LAUNCH_WINDOW`; on MGN,
    /// when it may be cut over.
    pub window: Option<String>,
    /// MGN: when its test may be launched, as `window` (which it defaults to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_window: Option<String>,
    /// MGN: the wave it belongs to, created under this name if MGN has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// MGN: archive its servers once it is cut over and finalized.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archive: bool,
    /// Applications that must be LAUNCHED before this one is.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Who creates the members' replication jobs.
    #[serde(default)]
    pub replicated_by: ReplicationRoute,
    /// When its replication ends once it is launched: `{ after: 24h }`, or `manual`
    /// (the default: a person ends it).
    #[serde(default)]
    pub finalize: Finalize,
    /// Settings for its servers, over the plan's defaults.
    #[serde(default)]
    pub settings: Settings,
    /// Its server groups, launched in `launchOrder`.
    pub groups: Vec<PlannedGroup>,
}

/// Who launches an application: the autopilot, a person, or nobody while it is rolled
/// back (`rollback`: the planner terminates its launched stack with TerminateApp, once
/// per plan version, and nothing launches it until the plan says `automatic` again).
// The variants carry no doc comment of their own: the schema stays a plain enum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LaunchMode {
    #[default]
    Automatic,
    Manual,
    Rollback,
}

/// How an application's servers are replicated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReplicationRoute {
    /// A standalone replication job per server, created by the job-creator.
    #[default]
    Jobs,
    /// SMS app replication: PutAppReplicationConfiguration and StartAppReplication.
    App,
}

/// When the autopilot ends an application's replication after its launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Finalize {
    /// `manual`: a person ends it (StopAppReplication, DeleteReplicationJob, or SMS's
    /// 90 days).
    Word(FinalizeWord),
    /// `{ after: 24h }`: that long after the application was LAUNCHED.
    After(FinalizeAfter),
}

impl Default for Finalize {
    fn default() -> Self {
        Self::Word(FinalizeWord::Manual)
    }
}

/// The word form of [`Finalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum FinalizeWord {
    #[serde(rename = "manual")]
    Manual,
}

/// `{ after: DURATION }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeAfter {
    /// A duration: a whole number and `m`, `h` or `d` (`90m`, `24h`, `2d`).
    pub after: String,
}

impl Finalize {
    /// How long after the launch replication ends; None when a person ends it (or the
    /// duration does not parse, which the plan's rules refuse).
    pub fn after(&self) -> Option<chrono::Duration> {
        match self {
            Self::Word(FinalizeWord::Manual) => None,
            Self::After(FinalizeAfter { after }) => parse_duration(after).ok(),
        }
    }
}

/// `90m`, `24h`, `2d`: a whole number of minutes, hours or days, at least one minute.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (count, unit) = text.split_at(unit_at);
    let count: i64 = count
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let duration = match unit {
        "m" => chrono::Duration::minutes(count),
        "h" => chrono::Duration::hours(count),
        "d" => chrono::Duration::days(count),
        _ => return Err(format!("`{text}` needs a unit: m, h or d (e.g. 24h)")),
    };
    if duration < chrono::Duration::minutes(1) || count > 36_500 {
        return Err(format!("`{text}` is not between one minute and 100 years"));
    }
    Ok(duration)
}

/// One server group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedGroup {
    /// Unique in its application.
    pub name: String,
    /// Lower launches first (SMS's `launchOrder`).
    pub launch_order: Option<i32>,
    /// Members: VM names, or selectors as `WAVE_INCLUDE` takes them (`vmPath:/dc1/web/*`).
    pub servers: Vec<String>,
    /// Settings for its servers, over the application's.
    #[serde(default)]
    pub settings: Settings,
    /// Settings for single servers by VM name, over the group's.
    #[serde(default)]
    pub server_settings: BTreeMap<String, Settings>,
}

/// A short digest of `bytes` (FNV-1a, 64 bits, hex): stable across invocations and
/// builds, for plan versions and client tokens.
pub fn digest(bytes: &[u8]) -> String {
    crate::digest::hex(bytes)
}

/// One problem of a plan, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// The value's path, e.g. `applications[1].groups[0].servers[2]`.
    pub path: String,
    /// Its 1-based line in the plan's text, when known.
    pub line: Option<usize>,
    /// The application the value belongs to, when it belongs to one that has a name.
    pub app: Option<String>,
    pub message: String,
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = Vec::new();
        if let Some(line) = self.line {
            place.push(format!("line {line}"));
        }
        if !self.path.is_empty() {
            place.push(self.path.clone());
        }
        if let Some(app) = &self.app {
            place.push(format!("application `{app}`"));
        }
        if place.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", place.join(", "), self.message)
        }
    }
}

/// The index of the application a path lies in: 3 for `applications[3].groups[0]`.
fn application_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("applications[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// A plan refused: every problem found, in the order of the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanRejected {
    pub problems: Vec<PlanProblem>,
}

impl fmt::Display for PlanRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "the plan has {count} problem{}:",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl Plan {
    /// The plan's JSON Schema (committed as `shared/schemas/plan.schema.json`).
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Plan)).expect("a schema is JSON")
    }

    /// Reads a plan from YAML or JSON text, or says everything that is wrong with it.
    pub fn parse(text: &str) -> Result<Plan, PlanRejected> {
        let (value, lines) = source::read(text).map_err(|error| PlanRejected {
            problems: vec![PlanProblem {
                path: String::new(),
                line: Some(error.line),
                app: None,
                message: format!("not YAML: column {}: {}", error.column, error.message),
            }],
        })?;
        let app_names = application_names(&value);
        let located = |path: String, message: String| PlanProblem {
            line: lines.of(&path),
            app: application_index(&path).and_then(|at| app_names.get(at).cloned().flatten()),
            path,
            message,
        };
        let mut problems: Vec<PlanProblem> = shape::check(&value, &Plan::schema())
            .into_iter()
            .map(|p| located(p.path, p.message))
            .collect();
        if problems.is_empty() {
            match serde_json::from_value::<Plan>(value) {
                Ok(plan) => {
                    let found = rules::check(&plan);
                    problems.extend(found.into_iter().map(|p| located(p.path, p.message)));
                    if problems.is_empty() {
                        return Ok(plan);
                    }
                }
                Err(error) => problems.push(located(String::new(), error.to_string())),
            }
        }
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        Err(PlanRejected { problems })
    }
}

/// The name each application of a plan's value gives, by its index.
fn application_names(value: &serde_json::Value) -> Vec<Option<String>> {
    let apps = value["applications"].as_array().map(Vec::as_slice);
    apps.unwrap_or_default()
        .iter()
        .map(|app| app["name"].as_str().map(str::to_owned))
        .collect()
}

impl PlanRejected {
    /// A plan whose members conflict in the catalog, refused with each conflict's line:
    /// the text is read again for them, which only a refusal pays for.
    pub fn of_conflicts(text: &str, conflicts: &[desired::Unresolved]) -> PlanRejected {
        let lines = source::read(text)
            .map(|(_, lines)| lines)
            .unwrap_or_default();
        let problems = conflicts
            .iter()
            .map(|conflict| PlanProblem {
                line: lines.of(&conflict.path),
                path: conflict.path.clone(),
                app: Some(conflict.app.clone()),
                message: format!(
                    "group `{}`, `{}`: {}",
                    conflict.group, conflict.member, conflict.reason
                ),
            })
            .collect();
        PlanRejected { problems }
    }
}
