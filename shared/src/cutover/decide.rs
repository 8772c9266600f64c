//! The next step of one application's move, from its books, its members as the service
//! lists them, the launch it waits on, and the books of the applications it depends on.

use chrono::{DateTime, Utc};

use super::{
    AppMove, CheckStatus, CutoverLedger, InstanceCheck, Launch, LaunchKind, LaunchLimits,
    LaunchProgress, MovePolicy, MoveStage,
};
use crate::migration::{CutoverPhase, ReplicationPhase};
use crate::model::{ServerId, SourceServer};
use crate::plan::LaunchMode;

/// What to do about one application now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet; why.
    Wait(Blocker),
    /// Claim, then ask for, a launch of its servers.
    Start { kind: LaunchKind, attempt: u32 },
    /// A launch runs, or its copies wait for their status checks; `first_launched`: every
    /// copy was just seen launched (the time limit starts now).
    Watch { first_launched: bool },
    /// The launch passed. A test: mark the servers ready for cutover and terminate the
    /// copies. A cutover: finalize it.
    Pass {
        kind: LaunchKind,
        instances: Vec<String>,
    },
    /// The launch failed: alert it once, revert the servers and terminate what was
    /// launched; then launch again, or leave it to a person when `give_up`.
    Fail {
        kind: LaunchKind,
        attempt: u32,
        server: Option<ServerId>,
        reason: String,
        give_up: bool,
    },
    /// Its test stands no more (a server was reverted to ready for testing): test again.
    Retest { server: ServerId },
    /// Archive its servers, as the plan asks.
    Archive,
    /// Left to a person: report it once per reason.
    Hold(String),
    /// Nothing more to do.
    Done,
}

/// Why an application waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// The plan places no server in it that the service lists.
    NoMembers,
    /// Servers not ready for this launch yet (replicating their first copy, no agent,
    /// or not listed by the service).
    MembersNotReady { waiting: usize },
    /// A member's replication is not healthy (stalled, paused, lost).
    Replication { server: ServerId, state: String },
    /// Applications whose test (or cutover) must pass first.
    Dependencies(Vec<String>),
    /// Its window for this launch is closed.
    OutsideWindow(LaunchKind),
    /// Members whose launch settings the planner has not put in place yet: launched
    /// now, they would start from what their templates held before the plan.
    SettingsPending { members: usize },
}

/// One application as an invocation sees it.
pub struct Subject<'a> {
    pub name: &'a str,
    pub policy: &'a MovePolicy,
    /// Its members the service lists (archived ones left out).
    pub members: &'a [SourceServer],
    /// Its planned members the service does not list.
    pub missing: usize,
    /// What the service and EC2 say of the launch it waits on, if it waits on one.
    pub progress: Option<LaunchProgress>,
}

/// The next step for `subject`, by the books of every application in `ledger`.
pub fn decide(
    subject: &Subject<'_>,
    ledger: &CutoverLedger,
    limits: &LaunchLimits,
    now: DateTime<Utc>,
) -> Step {
    let books = ledger.apps.get(subject.name).cloned().unwrap_or_default();
    if let Some(why) = &books.given_up {
        return Step::Hold(why.clone());
    }
    match &books.stage {
        MoveStage::Archived => Step::Done,
        MoveStage::CutOver if subject.policy.archive => Step::Archive,
        MoveStage::CutOver => Step::Done,
        MoveStage::Testing(launch) => judge(LaunchKind::Test, launch, subject, limits, now),
        MoveStage::CuttingOver(launch) => judge(LaunchKind::Cutover, launch, subject, limits, now),
        MoveStage::AwaitingTest => next_launch(LaunchKind::Test, &books, subject, ledger, now),
        MoveStage::TestPassed => next_launch(LaunchKind::Cutover, &books, subject, ledger, now),
    }
}

/// The verdict on a launch under way.
fn judge(
    kind: LaunchKind,
    launch: &Launch,
    subject: &Subject<'_>,
    limits: &LaunchLimits,
    now: DateTime<Utc>,
) -> Step {
    let fail = |server: Option<ServerId>, reason: String| Step::Fail {
        kind,
        attempt: launch.attempt,
        server,
        reason,
        give_up: launch.attempt >= limits.max_attempts,
    };
    match &subject.progress {
        None | Some(LaunchProgress::Running) => Step::Watch {
            first_launched: false,
        },
        Some(LaunchProgress::Lost) => {
            fail(None, "the service no longer knows its launch job".into())
        }
        Some(LaunchProgress::Failed { server, reason }) => {
            fail(Some(server.clone()), reason.clone())
        }
        Some(LaunchProgress::Launched(checks)) => {
            if let Some((check, why)) = failed_check(checks) {
                return fail(Some(check.server.clone()), why.to_owned());
            }
            if checks
                .iter()
                .all(|check| check.status == CheckStatus::Passed)
            {
                let instances = checks.iter().map(|c| c.instance_id.clone()).collect();
                return Step::Pass { kind, instances };
            }
            let Some(launched_at) = launch.launched_at else {
                return Step::Watch {
                    first_launched: true,
                };
            };
            if now - launched_at > limits.status_checks_within {
                let pending = checks.iter().find(|c| c.status == CheckStatus::Pending);
                let minutes = limits.status_checks_within.num_minutes();
                let reason = format!(
                    "its status checks did not pass within {minutes} minutes{}",
                    pending.map_or(String::new(), |c| format!(" ({})", c.instance_id))
                );
                return fail(pending.map(|c| c.server.clone()), reason);
            }
            Step::Watch {
                first_launched: false,
            }
        }
    }
}

fn failed_check(checks: &[InstanceCheck]) -> Option<(&InstanceCheck, &str)> {
    checks.iter().find_map(|check| match &check.status {
        CheckStatus::Failed(why) => Some((check, why.as_str())),
        _ => None,
    })
}

/// Whether the next launch (`kind`) may start now, and if not, why.
fn next_launch(
    kind: LaunchKind,
    books: &AppMove,
    subject: &Subject<'_>,
    ledger: &CutoverLedger,
    now: DateTime<Utc>,
) -> Step {
    match subject.policy.launch {
        LaunchMode::Manual => {
            return Step::Hold(format!("a person launches its {}", kind.as_str()))
        }
        LaunchMode::Rollback => return Step::Hold("the wave plan rolls it back".into()),
        LaunchMode::Automatic => {}
    }
    if let Some(problem) = &subject.policy.launch_settings_problem {
        return Step::Hold(format!("its launch settings cannot be used: {problem}"));
    }
    if subject.policy.settings_pending > 0 {
        return Step::Wait(Blocker::SettingsPending {
            members: subject.policy.settings_pending,
        });
    }
    if subject.members.is_empty() {
        return Step::Wait(Blocker::NoMembers);
    }
    if let Some(step) = members_stand_in_the_way(kind, subject) {
        return step;
    }
    if let Some(step) = dependencies_stand_in_the_way(kind, subject.policy, ledger) {
        return step;
    }
    let window = match kind {
        LaunchKind::Test => &subject.policy.test_window,
        LaunchKind::Cutover => &subject.policy.cutover_window,
    };
    if window.as_ref().is_some_and(|window| !window.contains(now)) {
        return Step::Wait(Blocker::OutsideWindow(kind));
    }
    let done = match kind {
        LaunchKind::Test => books.test_attempts,
        LaunchKind::Cutover => books.cutover_attempts,
    };
    Step::Start {
        kind,
        attempt: done + 1,
    }
}

/// Members not ready for `kind`, unhealthy, launched outside the books, or (before a
/// cutover) no longer holding the passed test.
fn members_stand_in_the_way(kind: LaunchKind, subject: &Subject<'_>) -> Option<Step> {
    let ready = |phase: CutoverPhase| match kind {
        LaunchKind::Test => matches!(
            phase,
            CutoverPhase::ReadyToTest | CutoverPhase::ReadyToCutOver
        ),
        LaunchKind::Cutover => phase == CutoverPhase::ReadyToCutOver,
    };
    for server in subject.members {
        let phase = server.cutover.phase;
        if kind == LaunchKind::Cutover && phase == CutoverPhase::ReadyToTest {
            return Some(Step::Retest {
                server: server.id.clone(),
            });
        }
        if phase.is_launching() || phase.is_done() {
            let name = server.name().unwrap_or(server.id.as_str());
            return Some(Step::Hold(format!(
                "server {name} is {} outside the autopilot's books",
                server.cutover.status
            )));
        }
    }
    let waiting = subject.missing
        + subject
            .members
            .iter()
            .filter(|server| !ready(server.cutover.phase))
            .count();
    if waiting > 0 {
        return Some(Step::Wait(Blocker::MembersNotReady { waiting }));
    }
    let unhealthy = subject
        .members
        .iter()
        .find(|server| server.replication.phase != ReplicationPhase::Replicating)?;
    Some(Step::Wait(Blocker::Replication {
        server: unhealthy.id.clone(),
        state: unhealthy.replication.status.clone(),
    }))
}

/// Dependencies whose test (for a test) or cutover (for a cutover) has not passed, or
/// that are left to a person.
fn dependencies_stand_in_the_way(
    kind: LaunchKind,
    policy: &MovePolicy,
    ledger: &CutoverLedger,
) -> Option<Step> {
    let mut pending = Vec::new();
    for dependency in &policy.depends_on {
        let books = ledger.apps.get(dependency);
        if let Some(why) = books.and_then(|b| b.given_up.as_deref().or(b.held.as_deref())) {
            return Some(Step::Hold(format!(
                "waits for {dependency}, left to a person: {why}"
            )));
        }
        let stage = books.map(|b| &b.stage);
        let passed = match kind {
            LaunchKind::Test => stage.is_some_and(MoveStage::test_passed),
            LaunchKind::Cutover => stage.is_some_and(MoveStage::cut_over),
        };
        if !passed {
            pending.push(dependency.clone());
        }
    }
    (!pending.is_empty()).then_some(Step::Wait(Blocker::Dependencies(pending)))
}
