//! Moving applications where a service launches test copies before it cuts over (MGN):
//! what the launcher remembers of each planned application ([`CutoverLedger`]), what it
//! observes of a launch ([`LaunchProgress`]), and what it does next ([`decide`]): a test
//! once every member replicates and is ready, its dependencies' tests passed and its
//! test window open; the test checked (the launch job's result per server, then the
//! instances' status checks within a time limit); passed, the servers marked ready for
//! cutover and the test copies terminated; failed, alerted once, reverted, retried
//! within a budget, then left to a person; then the cutover, in dependency order inside
//! its window and only after a passed test, checked the same way, finalized, and
//! archived when the plan asks.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CopyLaunch, JobServer, LaunchJob, ServerId};
use crate::plan::LaunchMode;
use crate::readiness::LaunchWindow;

mod decide;

pub use decide::{decide, Blocker, Step, Subject};

pub use crate::migration::LaunchKind;

/// Where an application's move stands in the launcher's books.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "stage")]
pub enum MoveStage {
    /// Its test is still to be launched (first, or again after a failed one).
    #[default]
    AwaitingTest,
    /// A test launch claimed, asked for or running.
    Testing(Launch),
    /// Its test passed: its servers are ready for cutover.
    TestPassed,
    /// A cutover launch claimed, asked for or running.
    CuttingOver(Launch),
    /// Cut over and finalized.
    CutOver,
    /// Cut over, finalized and archived.
    Archived,
}

impl MoveStage {
    /// The application's test passed (and stands).
    pub fn test_passed(&self) -> bool {
        matches!(
            self,
            Self::TestPassed | Self::CuttingOver(_) | Self::CutOver | Self::Archived
        )
    }

    /// The application is cut over.
    pub fn cut_over(&self) -> bool {
        matches!(self, Self::CutOver | Self::Archived)
    }
}

/// One launch of an application's servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Launch {
    /// Launches of this kind for the application, this one included.
    pub attempt: u32,
    /// When it was claimed (stored before the service was asked).
    pub claimed_at: DateTime<Utc>,
    /// The service's launch job, once it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// When every server's copy was first seen launched: the status checks' time limit
    /// counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched_at: Option<DateTime<Utc>>,
}

/// What the launcher remembers of one application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppMove {
    #[serde(flatten)]
    pub stage: MoveStage,
    #[serde(default)]
    pub test_attempts: u32,
    #[serde(default)]
    pub cutover_attempts: u32,
    /// The hold reported last (reported again only when the reason changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// Left to a person: its launch budget is spent, and nothing more is tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_up: Option<String>,
}

/// What the MGN launcher keeps between invocations, in the artifacts bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CutoverLedger {
    /// By the plan's application name.
    #[serde(default)]
    pub apps: BTreeMap<String, AppMove>,
    /// Events decided but not yet published (`crate::outbox`).
    #[serde(default)]
    pub outbox: Vec<crate::events::OutgoingEvent>,
}

/// How the plan and the launcher's configuration let one application move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovePolicy {
    pub launch: LaunchMode,
    pub test_window: Option<LaunchWindow>,
    pub cutover_window: Option<LaunchWindow>,
    pub depends_on: Vec<String>,
    /// Archive its servers once cut over.
    pub archive: bool,
    /// Why its launch settings cannot be used, as the planner found: it is held.
    pub launch_settings_problem: Option<String>,
    /// Members whose launch settings the planner has not put in place yet: it waits.
    pub settings_pending: usize,
}

/// The launcher's own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchLimits {
    /// Launches of each kind per application before it is left to a person.
    pub max_attempts: u32,
    /// How long launched copies have to pass their status checks.
    pub status_checks_within: Duration,
}

/// What the service and EC2 say of the launch an application waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchProgress {
    /// The launch job is still pending or running.
    Running,
    /// A server's copy could not be launched.
    Failed { server: ServerId, reason: String },
    /// Every server's copy is launched; their status checks so far.
    Launched(Vec<InstanceCheck>),
    /// The service no longer knows the job.
    Lost,
}

/// A launched copy's EC2 status checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceCheck {
    pub server: ServerId,
    pub instance_id: String,
    pub status: CheckStatus,
}

/// How a copy's status checks stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    /// Still initializing, or not reported yet.
    Pending,
    Passed,
    /// Impaired, or the instance is not running; the reason in words.
    Failed(String),
}

/// What a launch job says of an application's copies, before EC2 is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobReading {
    /// Not ended yet.
    Running,
    /// The service no longer lists it.
    Lost,
    /// It ended without launching this member's copy.
    Failed(ServerId),
    /// Every member's copy launched: each member with its instance.
    Launched(Vec<(ServerId, String)>),
}

/// Reads `job` for the application whose members are `members`: a member the ended
/// job left out, or launched without an instance, failed as much as one it failed.
pub fn read_job(job: Option<&LaunchJob>, members: &[ServerId]) -> JobReading {
    let Some(job) = job else {
        return JobReading::Lost;
    };
    if !job.finished {
        return JobReading::Running;
    }
    let mut launched = Vec::with_capacity(members.len());
    for member in members {
        let copy = job.servers.iter().find(|server| &server.server == member);
        match copy {
            Some(JobServer {
                copy: CopyLaunch::Launched,
                instance_id: Some(instance),
                ..
            }) => launched.push((member.clone(), instance.clone())),
            _ => return JobReading::Failed(member.clone()),
        }
    }
    JobReading::Launched(launched)
}

#[cfg(test)]
mod tests;
