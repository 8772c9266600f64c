//! The wave report: one model of what a wave has done so far, filled by the local run
//! from its own record and by the wave-reporter from live SMS state and the decision
//! trail, and one renderer ([`html`]) that turns it into a self-contained page.
//! [`decisions`] derives the report's sections from the project's published decisions,
//! so both fillers read the trail the same way.

pub mod decisions;
pub mod html;
pub mod moves;

use serde::{Deserialize, Serialize};

pub use decisions::Decision;

/// Counts of the wave at one moment: a point of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub time: String,
    pub elapsed_minutes: u64,
    pub discovered: usize,
    pub replicating: usize,
    pub replicated: usize,
    pub failed: usize,
    pub apps: usize,
    pub launched: usize,
    /// Versions of the wave plan put in place so far.
    #[serde(default)]
    pub plan_versions: usize,
    /// Applications the planner created, changed or configured so far.
    #[serde(default)]
    pub plan_changes: usize,
}

impl Progress {
    /// Whether anything but the time differs.
    pub fn same_counts(&self, other: &Progress) -> bool {
        let counts = |p: &Progress| {
            (
                p.discovered,
                p.replicating,
                p.replicated,
                p.failed,
                p.apps,
                p.launched,
                p.plan_versions,
                p.plan_changes,
            )
        };
        counts(self) == counts(other)
    }
}

/// Where one application stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppOutcome {
    pub id: String,
    pub name: String,
    pub members: usize,
    /// The members' server ids, group by group.
    pub server_ids: Vec<String>,
    /// The members' VM names, in the order of `server_ids` (the id when SMS names no VM).
    #[serde(default)]
    pub member_names: Vec<String>,
    /// The applications the wave plan says it waits for.
    #[serde(default)]
    pub depends_on: Vec<String>,
    pub completed_runs: usize,
    pub launch_status: String,
    pub launched_at: Option<String>,
    /// Why it is not launched, when it is not.
    pub held_by: Option<String>,
    /// When its replication was ended after its launch, as the plan asks (`finalize`).
    #[serde(default)]
    pub finalized_at: Option<String>,
}

impl AppOutcome {
    /// What a report says beside its launch: why it waits, or that its replication
    /// was ended.
    pub fn note(&self) -> String {
        match (&self.held_by, &self.finalized_at) {
            (Some(held_by), _) => held_by.clone(),
            (None, Some(at)) => format!("finalized: replication ended {at}"),
            (None, None) => String::new(),
        }
    }
}

/// A failure the watcher caught and what was done about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureOutcome {
    pub job_id: String,
    pub server_id: String,
    /// The server's VM name, when the alert named it.
    #[serde(default)]
    pub vm_name: Option<String>,
    /// The application the wave plan places the server in, when the alert named it.
    #[serde(default)]
    pub app_name: Option<String>,
    pub state: String,
    pub alerted_at: String,
    pub actions: Vec<String>,
    pub final_state: String,
}

impl FailureOutcome {
    /// The failed job's server as a person knows it: `VM legacy-fax-01 (server
    /// s-3a521b4b) of application office`.
    pub fn subject(&self) -> String {
        crate::events::server_subject(
            self.vm_name.as_deref(),
            &crate::model::ServerId::from(self.server_id.as_str()),
            self.app_name.as_deref(),
        )
    }
}

/// What the app-planner did: the versions of the plan and each change it made or
/// refused to make.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOutcome {
    pub versions: Vec<PlacedVersion>,
    pub steps: Vec<PlanStep>,
}

/// One version of the plan and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacedVersion {
    /// When it was put in place (locally), or first named by the planner (deployed).
    pub time: String,
    /// Its digest, as the planner's events name it.
    pub version: String,
    /// The problems it was refused for, if it was.
    pub refused: Option<Vec<String>>,
}

/// One event of the planner, in a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    pub time: String,
    pub detail_type: String,
    /// The application it concerns ("-" for the plan as a whole).
    pub app: String,
    pub what: String,
}

/// A `ReplicationExpiring` warning: when, the server (VM name first), when its
/// replication ends and the days left then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryWarning {
    pub warned_at: String,
    pub server: String,
    pub expires_at: String,
    pub days_left: String,
}

/// A section only one of the report's fillers has (the local run's SMS call counts,
/// injected faults, invariants), rendered as a titled table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    /// The HTML id of the table.
    pub id: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Everything the report shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveStatus {
    /// The wave's name: the scenario locally, the stack deployed.
    pub title: String,
    /// One line: converged or not, or what the wave still waits for.
    pub verdict: String,
    /// Whether the verdict is good news (shown green) or not (red).
    pub settled: bool,
    /// The period the report covers, in a sentence.
    pub period: String,
    pub timeline: Vec<Progress>,
    /// Minutes from the start the timeline spans (its right edge).
    pub timeline_minutes: u64,
    pub apps: Vec<AppOutcome>,
    pub plan: PlanOutcome,
    pub expiring: Vec<ExpiryWarning>,
    pub failures: Vec<FailureOutcome>,
    /// A sentence above the failures (how fast they were caught, how many).
    pub failures_note: String,
    pub tables: Vec<Table>,
    /// The decisions shown last, oldest first.
    pub decisions: Vec<Decision>,
}

#[cfg(test)]
mod tests;
