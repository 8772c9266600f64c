//! The decision trail read as the report's sections: each decision the functions
//! published becomes a plan step, a failure and what was done about it, an expiry
//! warning, a launch time or the reason an application waits. The local run and the
//! wave-reporter both hand their decisions here, so a section means the same in both.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ExpiryWarning, FailureOutcome, PlacedVersion, PlanStep};
use crate::events::EVENT_SOURCE;

/// The detail-types the app-planner publishes.
pub const PLANNER_EVENTS: [&str; 4] = ["AppPlanned", "AppConfigured", "PlanDrift", "PlanRejected"];

/// One published decision, as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// EventBridge's id for the event: a redelivered event keeps it ("" when unknown).
    #[serde(default)]
    pub id: String,
    /// When it was published (RFC 3339).
    pub time: String,
    pub detail_type: String,
    pub detail: Value,
}

impl Decision {
    /// The decision an EventBridge event carries, at the time given; None when the
    /// event is not one of the project's.
    pub fn from_event(event: &Value, time: &str) -> Option<Self> {
        if event["source"] != EVENT_SOURCE {
            return None;
        }
        Some(Self {
            id: event["id"].as_str().unwrap_or_default().to_owned(),
            time: time.to_owned(),
            detail_type: event["detail-type"].as_str()?.to_owned(),
            detail: event["detail"].clone(),
        })
    }

    fn text(&self, key: &str) -> &str {
        self.detail[key].as_str().unwrap_or_default()
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.detail[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A dry run's decision: announced, not made.
    pub fn dry_run(&self) -> bool {
        self.detail["dryRun"] == true
    }

    /// The planner's step this decision tells of; None for any other decision.
    fn plan_step(&self) -> Option<PlanStep> {
        let what = match self.detail_type.as_str() {
            "AppPlanned" => {
                let differences = self.list("differences").join("; ");
                let change = format!(
                    "{} with {} servers",
                    self.text("change"),
                    self.detail["servers"]
                );
                if differences.is_empty() {
                    change
                } else {
                    format!("{change} ({differences})")
                }
            }
            "AppConfigured" => match self.detail["configuration"].as_str()? {
                "launch" => "launch configuration put".to_owned(),
                "replication" => "replication configuration put".to_owned(),
                "replicationStarted" => "app replication started".to_owned(),
                "replicationRemoved" => "replication configuration removed".to_owned(),
                "launchTemplate" => "launch template versions made".to_owned(),
                other => other.to_owned(),
            },
            "PlanDrift" => format!(
                "left as it is, {}: {}",
                self.text("reason"),
                self.list("differences").join("; ")
            ),
            "PlanRejected" => format!("plan refused: {}", self.list("problems").join("; ")),
            _ => return None,
        };
        Some(PlanStep {
            time: self.time.clone(),
            detail_type: self.detail_type.clone(),
            app: self.detail["appName"].as_str().unwrap_or("-").to_owned(),
            what,
        })
    }
}

/// What the planner did, step by step. A dry run decides the same changes on every
/// run, since it makes none: each is told once.
pub fn plan_steps(decisions: &[Decision]) -> Vec<PlanStep> {
    let mut told = BTreeSet::new();
    decisions
        .iter()
        .filter_map(|d| Some((d.dry_run(), d.plan_step()?)))
        .filter(|(dry_run, step)| {
            !dry_run
                || told.insert((
                    step.detail_type.clone(),
                    step.app.clone(),
                    step.what.clone(),
                ))
        })
        .map(|(_, step)| step)
        .collect()
}

/// The problems `version` of the plan was refused for, if it was.
pub fn refusal(decisions: &[Decision], version: &str) -> Option<Vec<String>> {
    decisions
        .iter()
        .find(|d| d.detail_type == "PlanRejected" && d.text("planVersion") == version)
        .map(|d| d.list("problems"))
}

/// The versions of the plan the planner's decisions name, each at the first time one
/// named it, with its refusal (for a reader who did not see the plans put in place).
pub fn plan_versions(decisions: &[Decision]) -> Vec<PlacedVersion> {
    let mut seen = BTreeSet::new();
    decisions
        .iter()
        .filter(|d| PLANNER_EVENTS.contains(&d.detail_type.as_str()))
        .filter_map(|d| {
            let version = d.detail["planVersion"].as_str()?;
            seen.insert(version).then(|| PlacedVersion {
                time: d.time.clone(),
                version: version.to_owned(),
                refused: refusal(decisions, version),
            })
        })
        .collect()
}

/// Each failure alerted, with what the watcher did after it; `final_state` says where
/// a job stands now ("gone" when it no longer exists).
pub fn failures(
    decisions: &[Decision],
    final_state: impl Fn(&str) -> String,
) -> Vec<FailureOutcome> {
    let mut failures: Vec<FailureOutcome> = Vec::new();
    for decision in decisions {
        let job = decision.text("replicationJobId");
        match decision.detail_type.as_str() {
            "ReplicationJobFailed" => failures.push(FailureOutcome {
                job_id: job.to_owned(),
                server_id: decision.text("serverId").to_owned(),
                vm_name: decision.detail["vmName"].as_str().map(str::to_owned),
                app_name: decision.detail["appName"].as_str().map(str::to_owned),
                state: decision.text("state").to_owned(),
                alerted_at: decision.time.clone(),
                actions: Vec::new(),
                final_state: String::new(),
            }),
            "ReplicationJobRemediated" => {
                if let Some(actions) = latest_actions(&mut failures, job) {
                    let reason = decision.detail["reason"]
                        .as_str()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    actions.push(format!(
                        "{} {}{reason}",
                        decision.time,
                        decision.text("action")
                    ));
                }
            }
            "ReplicationJobRecovered" => {
                if let Some(actions) = latest_actions(&mut failures, job) {
                    actions.push(format!("{} recovered", decision.time));
                }
            }
            _ => {}
        }
    }
    for failure in &mut failures {
        failure.final_state = final_state(&failure.job_id);
    }
    failures
}

/// The actions of the latest failure of `job`.
fn latest_actions<'a>(
    failures: &'a mut [FailureOutcome],
    job: &str,
) -> Option<&'a mut Vec<String>> {
    failures
        .iter_mut()
        .rev()
        .find(|f| f.job_id == job)
        .map(|f| &mut f.actions)
}

/// The `ReplicationExpiring` warnings.
pub fn expiry_warnings(decisions: &[Decision]) -> Vec<ExpiryWarning> {
    decisions
        .iter()
        .filter(|d| d.detail_type == "ReplicationExpiring")
        .map(|d| {
            let text = |key: &str| d.detail[key].as_str().unwrap_or("?").to_owned();
            let server = match d.detail["vmName"].as_str() {
                Some(vm) => format!("{vm} ({})", text("serverId")),
                None => text("serverId"),
            };
            ExpiryWarning {
                warned_at: d.time.clone(),
                server,
                expires_at: text("expiresAt"),
                days_left: d.detail["daysLeft"].to_string(),
            }
        })
        .collect()
}

/// The first time a decision of `detail_type` named each value of `key`.
pub fn first_times(
    decisions: &[Decision],
    detail_type: &str,
    key: &str,
) -> BTreeMap<String, String> {
    let mut times = BTreeMap::new();
    for decision in decisions.iter().filter(|d| d.detail_type == detail_type) {
        if let Some(value) = decision.detail[key].as_str() {
            times
                .entry(value.to_owned())
                .or_insert_with(|| decision.time.clone());
        }
    }
    times
}

/// By application id, the latest thing the launcher said about an application it has
/// not launched: why it holds it, or how its launch failed.
pub fn launcher_notes(decisions: &[Decision]) -> BTreeMap<String, String> {
    let mut notes = BTreeMap::new();
    for decision in decisions.iter().filter(|d| !d.dry_run()) {
        let note = match decision.detail_type.as_str() {
            "AppLaunchHeld" => decision.text("reason").to_owned(),
            "AppLaunchFailed" => {
                let next = if decision.detail["retrying"] == true {
                    "tried again"
                } else {
                    "left to a person"
                };
                format!(
                    "launch failed ({}): {}; {next}",
                    decision.text("errorCode"),
                    decision.text("message")
                )
            }
            "AppLaunched" => String::new(),
            _ => continue,
        };
        notes.insert(decision.text("appId").to_owned(), note);
    }
    notes.retain(|_, note| !note.is_empty());
    notes
}
