//! What a played wave leaves: the event log, the progress timeline, one outcome per app
//! and per failure, and the report that gathers them (the `report` module renders it).

use std::collections::BTreeMap;

use autopilot_core::readiness::OptOutTag;
use autopilot_core::report::{self, AppOutcome, Decision, FailureOutcome, PlanOutcome, Progress};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::harness::invariants::{self, GivenUp, SeenEvent};
use crate::harness::payloads::stamp;
use crate::sms::protocol::{AppLaunchStatus, RunState};
use crate::sms::Millis;
use crate::{EmulatorHandle, StateSnapshot};

/// One line of the event log: everything that crossed a bus, and every invocation.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LogEntry {
    #[serde(rename_all = "camelCase")]
    Event {
        time: String,
        bus: String,
        event: Value,
    },
    #[serde(rename_all = "camelCase")]
    Invocation {
        time: String,
        function: String,
        trigger: String,
        attempt: u32,
        outcome: String,
        summary: Value,
    },
}

impl LogEntry {
    /// The event, with the time it crossed the bus, if this entry is one.
    pub fn as_event(&self) -> Option<SeenEvent<'_>> {
        match self {
            LogEntry::Event { time, event, .. } => Some(SeenEvent { time, event }),
            LogEntry::Invocation { .. } => None,
        }
    }
}

/// The events in a log (SMS's and the project's), with the time each crossed a bus.
pub fn bus_events(log: &[LogEntry]) -> impl Iterator<Item = SeenEvent<'_>> {
    log.iter().filter_map(LogEntry::as_event)
}

/// The project's decisions in a log, each at the time it crossed the bus.
pub fn decisions(log: &[LogEntry]) -> Vec<Decision> {
    bus_events(log)
        .filter_map(|seen| Decision::from_event(seen.event, seen.time))
        .collect()
}

/// How long failures waited for their alert: from a job entering FAILED or
/// PAUSED_ON_FAILURE in the emulator to the watcher's `ReplicationJobFailed`, in
/// simulated minutes. SMS announces FAILED only, and EventBridge may lose that, so the
/// watcher's schedule bounds the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectionDelay {
    /// Failure episodes alerted (each paired with its alert).
    pub alerted: usize,
    pub max_minutes: f64,
    pub mean_minutes: f64,
}

impl DetectionDelay {
    /// Each failure episode's start paired with the job's alerts in order.
    pub(super) fn of(log: &[LogEntry], state: &StateSnapshot) -> Self {
        let mut alerts: BTreeMap<&str, Vec<Millis>> = BTreeMap::new();
        for seen in bus_events(log).filter(|s| s.event["detail-type"] == "ReplicationJobFailed") {
            let job = seen.event["detail"]["replicationJobId"]
                .as_str()
                .unwrap_or_default();
            let at = DateTime::parse_from_rfc3339(seen.time).map_or(0, |t| t.timestamp_millis());
            alerts.entry(job).or_default().push(at);
        }
        let mut delays = Vec::new();
        for (job, starts) in invariants::failure_episodes(state) {
            let alerted = alerts.get(job).map_or(&[][..], Vec::as_slice);
            for (start, alert) in starts.iter().zip(alerted) {
                delays.push((alert - start).max(0) as f64 / 60_000.0);
            }
        }
        let alerted = delays.len();
        let max_minutes = delays.iter().copied().fold(0.0, f64::max);
        let mean_minutes = if alerted == 0 {
            0.0
        } else {
            delays.iter().sum::<f64>() / alerted as f64
        };
        Self {
            alerted,
            max_minutes,
            mean_minutes,
        }
    }
}

/// The result of a wave.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveReport {
    pub scenario: String,
    pub converged: bool,
    pub verdict: String,
    pub started: String,
    pub ended: String,
    pub simulated_minutes: u64,
    pub apps: Vec<AppOutcome>,
    pub failures: Vec<FailureOutcome>,
    pub detection_delay: DetectionDelay,
    /// The migration service the wave played on (`SMS`, `MGN`).
    pub service: String,
    /// Calls the service received, by operation (on MGN, EC2's as `ec2:Action`).
    pub sms_calls: BTreeMap<String, u64>,
    pub invocations: BTreeMap<String, u64>,
    pub dead_lettered: Vec<String>,
    /// Invariants seen broken while playing (e.g. two live jobs for one server).
    pub invariant_breaches: Vec<String>,
    /// Faults injected, by kind (empty without chaos).
    pub faults: BTreeMap<String, u64>,
    pub timeline: Vec<Progress>,
    /// What the app-planner did (empty when the wave had no plan).
    pub plan: PlanOutcome,
    /// When SMS first showed each app LAUNCHED, by app id, as the runner saw it step by
    /// step (to the minute).
    pub first_launched: BTreeMap<String, DateTime<Utc>>,
    /// In a dry run, what would have been done.
    pub rehearsal: Option<super::Rehearsal>,
    #[serde(skip)]
    pub log: Vec<LogEntry>,
    /// Templates and change sets archived in the artifacts bucket: (key, content).
    #[serde(skip)]
    pub archived_templates: Vec<(String, Vec<u8>)>,
    /// The report the stack itself wrote (`reports/latest.html` of the artifacts
    /// bucket) at the wave's end, when the template deploys the wave-reporter.
    #[serde(skip)]
    pub deployed_report: Option<Vec<u8>>,
}

pub(super) fn failure_outcomes(log: &[LogEntry], state: &StateSnapshot) -> Vec<FailureOutcome> {
    report::decisions::failures(&decisions(log), |job| {
        state
            .jobs
            .iter()
            .find(|j| j.id == job)
            .map_or_else(|| "gone".to_owned(), |j| j.state.as_str().to_owned())
    })
}

/// Objects under `apps/` in the artifacts bucket of the local S3, read before the
/// emulator (and its temporary directory) goes away.
pub(super) fn archived_objects(emulator: &EmulatorHandle, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let root = emulator.s3_root().join(bucket);
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(key) = path.strip_prefix(&root) {
                let key = key.to_string_lossy().replace('\\', "/");
                if key.starts_with("apps/") {
                    if let Ok(content) = std::fs::read(&path) {
                        found.push((key, content));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// Where each live app ended, and why it is not launched when it is not.
pub(super) fn app_outcomes(
    state: &StateSnapshot,
    log: &[LogEntry],
    opt_out: &OptOutTag,
    given_up: &GivenUp,
    depends_on: &BTreeMap<String, Vec<String>>,
) -> Vec<AppOutcome> {
    let decided = decisions(log);
    let launch_times = report::decisions::first_times(&decided, "AppLaunched", "appId");
    let finalized = report::decisions::first_times(&decided, "AppFinalized", "appId");
    invariants::live_apps(state)
        .map(|app| {
            let members: Vec<&String> = app.server_ids().collect();
            let completed_runs = state
                .jobs
                .iter()
                .filter(|j| members.contains(&&j.server_id))
                .map(|j| {
                    j.runs
                        .iter()
                        .filter(|r| r.state == RunState::Completed)
                        .count()
                })
                .sum();
            let launched = app.launch_status == AppLaunchStatus::Launched;
            AppOutcome {
                id: app.id.clone(),
                name: app.name.clone(),
                members: members.len(),
                server_ids: members.iter().map(|m| (*m).clone()).collect(),
                member_names: members.iter().map(|m| vm_name(state, m)).collect(),
                depends_on: depends_on.get(&app.name).cloned().unwrap_or_default(),
                completed_runs,
                launch_status: app.launch_status.as_str().to_owned(),
                launched_at: launch_times.get(&app.id).cloned(),
                finalized_at: finalized.get(&app.id).cloned(),
                held_by: (!launched).then(|| {
                    invariants::settled_without_launch(state, app, opt_out, given_up)
                        .unwrap_or_else(|| "still waiting".into())
                }),
            }
        })
        .collect()
}

/// The VM name of server `id`, or its id when the scenario gave none.
fn vm_name(state: &StateSnapshot, id: &str) -> String {
    state
        .servers
        .iter()
        .find(|s| s.id == id && !s.vm_name.is_empty())
        .map_or_else(|| id.to_owned(), |s| s.vm_name.clone())
}

/// One line saying whether the wave converged, or which apps it still waits for.
pub(super) fn verdict(
    converged: bool,
    state: &StateSnapshot,
    opt_out: &OptOutTag,
    given_up: &GivenUp,
    now: DateTime<Utc>,
) -> String {
    if converged {
        return "converged: every app is launched, opted out or planned manual, held by a failure the watcher gave up on, given up after failed launches, replicated but without a valid launch configuration and reported, or waiting for an app that is one of those".to_owned();
    }
    let waiting: Vec<String> = invariants::live_apps(state)
        .filter(|a| a.launch_status != AppLaunchStatus::Launched)
        .filter(|a| invariants::settled_without_launch(state, a, opt_out, given_up).is_none())
        .map(|a| format!("{} ({})", a.name, a.launch_status))
        .collect();
    format!(
        "did not converge by {}: still waiting for {}",
        stamp(now),
        waiting.join(", ")
    )
}
