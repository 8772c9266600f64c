//! What must hold of any wave, faults or not, checked from the emulator's state (its
//! jobs' state histories: SMS announced only some states, and EventBridge may lose
//! those) and the project's events: never two live jobs for one server; an app
//! launched again only after a launch failed, never before every member had a completed
//! run and never without a launch configuration; each failure episode of a job and
//! each failed launch alerted exactly once, each hold reported once; and when a wave
//! may call itself done (every app launched, opted out by the launcher's tag, held by
//! a failure the watcher gave up on, its launch given up after failures, or replicated
//! but without a valid launch configuration and reported). The wave runner, the chaos
//! suite and the integration tests all judge waves with these functions.

use std::collections::{BTreeMap, BTreeSet};

use autopilot_core::readiness::OptOutTag;
use chrono::DateTime;
use serde_json::Value;

use crate::sms::protocol::{AppLaunchStatus, AppStatus, JobState};
use crate::sms::{App, Job, Millis};
use crate::StateSnapshot;

/// Apps that are not DELETED.
pub fn live_apps(state: &StateSnapshot) -> impl Iterator<Item = &App> {
    state.apps.iter().filter(|a| a.status != AppStatus::Deleted)
}

/// Whether the app carries the launcher's opt-out tag.
pub fn opted_out(app: &App, tag: &OptOutTag) -> bool {
    app.tags
        .iter()
        .any(|(k, v)| *k == tag.key && *v == tag.value)
}

/// Whether the app's launch has begun or finished.
pub fn launch_started(app: &App) -> bool {
    matches!(
        app.launch_status,
        AppLaunchStatus::LaunchPending
            | AppLaunchStatus::LaunchInProgress
            | AppLaunchStatus::Launched
    )
}

/// What the functions gave up on or reported as stuck, from their events, each with
/// the reason they gave.
#[derive(Debug, Clone, Default)]
pub struct GivenUp {
    /// Jobs the watcher holds (`ReplicationJobRemediated` with action `held`).
    pub jobs: BTreeMap<String, String>,
    /// Apps the launcher stopped launching (`AppLaunchFailed`, not retrying).
    pub launches: BTreeMap<String, String>,
    /// Apps the launcher reported held (`AppLaunchHeld`: no valid launch configuration,
    /// or waiting for an application it will not launch), with the latest reason.
    pub held: BTreeMap<String, String>,
    /// Apps announced ready (`AppReady`), by id.
    pub ready: BTreeSet<String>,
    /// Names of the applications the wave plan in force leaves to a person (set by the
    /// wave, which knows the plan).
    pub manual: BTreeSet<String>,
    /// Names of the applications the wave plan in force rolls back (set by the wave).
    pub rolled_back: BTreeSet<String>,
    /// The applications each application of the plan in force depends on, by name (set
    /// by the wave).
    pub depends_on: BTreeMap<String, Vec<String>>,
}

impl GivenUp {
    pub fn from_events<'a>(project_events: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut given_up = Self::default();
        for event in project_events {
            let detail = &event["detail"];
            let text = |field: &str| detail[field].as_str().unwrap_or_default().to_owned();
            match event["detail-type"].as_str() {
                Some("ReplicationJobRemediated") if detail["action"] == "held" => {
                    given_up
                        .jobs
                        .insert(text("replicationJobId"), text("reason"));
                }
                Some("AppLaunchFailed") if detail["retrying"] == false => {
                    given_up.launches.insert(text("appId"), text("message"));
                }
                Some("AppLaunched") => {
                    given_up.launches.remove(&text("appId"));
                }
                Some("AppLaunchHeld") => {
                    given_up.held.insert(text("appId"), text("reason"));
                }
                Some("AppReady") => {
                    given_up.ready.insert(text("appId"));
                }
                _ => {}
            }
        }
        given_up
    }
}

/// The failed job the watcher holds that keeps `app` from ever becoming ready, if any.
pub fn holding_job<'a>(state: &'a StateSnapshot, app: &App, given_up: &GivenUp) -> Option<&'a Job> {
    app.server_ids().find_map(|server| {
        state.jobs.iter().find(|j| {
            &j.server_id == server
                && matches!(j.state, JobState::Failed | JobState::PausedOnFailure)
                && j.latest_ami.is_none()
                && given_up.jobs.contains_key(&j.id)
        })
    })
}

/// Why `app` is settled without being launched, if it is.
pub fn settled_without_launch(
    state: &StateSnapshot,
    app: &App,
    tag: &OptOutTag,
    given_up: &GivenUp,
) -> Option<String> {
    if opted_out(app, tag) {
        return Some(format!("opted out by tag {tag}"));
    }
    if let Some(job) = holding_job(state, app, given_up) {
        return Some(format!(
            "server {}: job {} {} ({})",
            job.server_id, job.id, job.state, given_up.jobs[&job.id]
        ));
    }
    if given_up.manual.contains(&app.name) && given_up.ready.contains(&app.id) {
        return Some("planned manual: announced ready, a person launches it".to_owned());
    }
    let stackless = !matches!(
        app.launch_status,
        AppLaunchStatus::Launched
            | AppLaunchStatus::LaunchPending
            | AppLaunchStatus::LaunchInProgress
            | AppLaunchStatus::TerminateInProgress
    );
    if given_up.rolled_back.contains(&app.name) && stackless {
        return Some("planned rollback: no stack, held until the plan says automatic".into());
    }
    if app.launch_status == AppLaunchStatus::LaunchFailed {
        let message = given_up.launches.get(&app.id)?;
        return Some(format!(
            "launch failed {} times, left to an operator ({message})",
            app.launches_failed
        ));
    }
    unconfigured_and_reported(state, app, given_up)
        .or_else(|| waits_for_what_will_not_launch(state, app, tag, given_up))
}

/// Why an app ready to launch waits for ever, once the launcher reported it held: an
/// application it depends on is itself settled without a launch (manual, given up,
/// held), so nothing in the wave launches it.
fn waits_for_what_will_not_launch(
    state: &StateSnapshot,
    app: &App,
    tag: &OptOutTag,
    given_up: &GivenUp,
) -> Option<String> {
    if app.launch_status != AppLaunchStatus::ReadyForLaunch {
        return None;
    }
    // The launcher must have said so: a dependent waiting in silence is not settled.
    given_up.held.get(&app.id)?;
    // The plan's dependencies have no cycle (the planner refuses one), so this ends.
    let stuck: Vec<String> = given_up
        .depends_on
        .get(&app.name)?
        .iter()
        .filter_map(|name| {
            let dependency = live_apps(state).find(|a| &a.name == name)?;
            if dependency.launch_status == AppLaunchStatus::Launched {
                return None;
            }
            settled_without_launch(state, dependency, tag, given_up)
                .map(|why| format!("{name}: {why}"))
        })
        .collect();
    (!stuck.is_empty()).then(|| format!("waits for {}", stuck.join("; ")))
}

/// Why an app whose every member is replicated cannot launch for want of a valid launch
/// configuration, once the launcher reported it: nothing in the wave will configure it
/// (until a plan does).
fn unconfigured_and_reported(
    state: &StateSnapshot,
    app: &App,
    given_up: &GivenUp,
) -> Option<String> {
    let unconfigured = matches!(
        app.launch_status,
        AppLaunchStatus::ReadyForConfiguration | AppLaunchStatus::ConfigurationInvalid
    );
    let completions = first_completions(state);
    let replicated = app.server_ids().all(|s| completions.contains_key(s));
    if !(unconfigured && replicated) {
        return None;
    }
    given_up.held.get(&app.id)?;
    Some(match &app.launch_status_message {
        Some(message) => format!(
            "no valid launch configuration ({}: {message})",
            app.launch_status
        ),
        None => format!("no launch configuration ({})", app.launch_status),
    })
}

/// Every live app is launched, or settled without a launch (see
/// [`settled_without_launch`]).
pub fn every_app_settled(state: &StateSnapshot, tag: &OptOutTag, given_up: &GivenUp) -> bool {
    live_apps(state).all(|app| {
        app.launch_status == AppLaunchStatus::Launched
            || settled_without_launch(state, app, tag, given_up).is_some()
    })
}

/// When each server's first replication run completed, if one did.
pub fn first_completions(state: &StateSnapshot) -> BTreeMap<String, Millis> {
    let mut first: BTreeMap<String, Millis> = BTreeMap::new();
    for job in &state.jobs {
        for completed in job.runs.iter().filter_map(|r| r.completed) {
            first
                .entry(job.server_id.clone())
                .and_modify(|t| *t = (*t).min(completed))
                .or_insert(completed);
        }
    }
    first
}

/// Servers holding more than one job that is not DELETING or DELETED, with those jobs.
pub fn servers_with_two_live_jobs(state: &StateSnapshot) -> BTreeMap<String, Vec<String>> {
    let mut live: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in state.jobs.iter().filter(|j| !j.state.is_deleted()) {
        live.entry(job.server_id.clone())
            .or_default()
            .push(job.id.clone());
    }
    live.retain(|_, jobs| jobs.len() > 1);
    live
}

/// Names borne by more than one live app, with their ids: the planner makes one SMS
/// application per planned one, whatever its retries and overlapping runs.
pub fn apps_sharing_a_name(state: &StateSnapshot) -> BTreeMap<String, Vec<String>> {
    let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for app in live_apps(state) {
        named
            .entry(app.name.clone())
            .or_default()
            .push(app.id.clone());
    }
    named.retain(|_, ids| ids.len() > 1);
    named
}

/// Records, for each app, the simulated time its launch was first seen started, and
/// checks at that moment that every member had a completed run no later than that.
#[derive(Debug, Default)]
pub struct LaunchWatch {
    pub started_at: BTreeMap<String, Millis>,
    pub violations: Vec<String>,
}

impl LaunchWatch {
    pub fn observe(&mut self, state: &StateSnapshot) {
        let completions = first_completions(state);
        for app in live_apps(state).filter(|a| launch_started(a)) {
            if self.started_at.contains_key(&app.id) {
                continue;
            }
            self.started_at.insert(app.id.clone(), state.now_ms);
            for member in app.server_ids() {
                match completions.get(member) {
                    Some(done) if *done <= state.now_ms => {}
                    other => self.violations.push(format!(
                        "app {} ({}) launched at {} while member {member} had first completed at {:?}",
                        app.id, app.name, state.now, other
                    )),
                }
            }
        }
    }
}

/// Apps whose launch began (first seen since `seen` was last updated) while an
/// application they depend on, by the plan in force (`depends_on`, by name), was not
/// LAUNCHED. Called once a step: the simulated clock stands still within one, so an
/// application seen LAUNCHED then was LAUNCHED when the launch began.
pub fn launched_before_dependencies(
    state: &StateSnapshot,
    depends_on: &BTreeMap<String, Vec<String>>,
    seen: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut breaches = Vec::new();
    let started: Vec<&App> = live_apps(state)
        .filter(|a| launch_started(a) && !seen.contains(&a.id))
        .collect();
    for app in started {
        seen.insert(app.id.clone());
        for dependency in depends_on.get(&app.name).into_iter().flatten() {
            let launched = live_apps(state)
                .any(|d| &d.name == dependency && d.launch_status == AppLaunchStatus::Launched);
            if !launched {
                breaches.push(format!(
                    "app {} ({}) launched while {dependency}, which it depends on, was not LAUNCHED",
                    app.id, app.name
                ));
            }
        }
    }
    breaches
}

/// LaunchApp calls SMS itself refused (injected faults left out): the launcher tried to
/// launch an app that was launching already, not replicated, or without a valid launch
/// configuration.
pub fn refused_launches(refusals: &BTreeMap<String, u64>) -> Vec<String> {
    refusals
        .iter()
        .filter(|(call, _)| call.starts_with("LaunchApp "))
        .map(|(call, count)| format!("{count} calls refused by SMS: {call}"))
        .collect()
}

/// An event that crossed a bus, with the time it did.
pub struct SeenEvent<'a> {
    pub time: &'a str,
    pub event: &'a Value,
}

/// Breaches of the end-of-wave invariants: each app launched at most once and never
/// before every member had a completed run; each failure episode of a job (entering
/// FAILED or PAUSED_ON_FAILURE from a healthy state) alerted exactly once. Dry-run
/// events decide nothing and are left out.
pub fn final_breaches<'a>(
    state: &StateSnapshot,
    bus_events: impl IntoIterator<Item = SeenEvent<'a>>,
) -> Vec<String> {
    let decided: Vec<SeenEvent<'a>> = bus_events
        .into_iter()
        .filter(|seen| seen.event["detail"]["dryRun"] == false)
        .collect();
    let mut breaches = launch_breaches(state, &decided);
    breaches.extend(launch_report_breaches(state, &decided));
    breaches.extend(alert_breaches(&decided, state));
    breaches.extend(key_breaches(&decided));
    breaches
}

/// Fields that may differ between two publications of one decision: a template
/// generated again for the same archived object (a retried generation) lands where SMS
/// chooses, but the archived object is the decision.
const INCIDENTAL: [(&str, &str); 2] = [
    ("TemplateGenerated", "generated"),
    ("ChangeSetGenerated", "generated"),
];

/// Decisions published with the same key that are not the same decision: a subscriber
/// dropping repeats by detail-type and key would lose one of them. A repeat (same key,
/// same detail but for its incidental fields) is what the key is for and no breach.
pub fn key_breaches(decided: &[SeenEvent<'_>]) -> Vec<String> {
    let mut first: BTreeMap<(&str, &str), Value> = BTreeMap::new();
    let mut breaches = Vec::new();
    for seen in decided {
        let detail_type = seen.event["detail-type"].as_str().unwrap_or_default();
        let mut detail = seen.event["detail"].clone();
        if let Some(fields) = detail.as_object_mut() {
            for (_, field) in INCIDENTAL.iter().filter(|(t, _)| *t == detail_type) {
                fields.remove(*field);
            }
        }
        let Some(key) = seen.event["detail"]["key"]
            .as_str()
            .filter(|k| !k.is_empty())
        else {
            breaches.push(format!("{detail_type} at {} has no key", seen.time));
            continue;
        };
        match first.get(&(detail_type, key)) {
            None => {
                first.insert((detail_type, key), detail);
            }
            Some(earlier) if *earlier == detail => {}
            Some(earlier) => breaches.push(format!(
                "{detail_type} key {key} names two decisions: {earlier} and {detail}"
            )),
        }
    }
    breaches
}

fn launch_breaches(state: &StateSnapshot, decided: &[SeenEvent<'_>]) -> Vec<String> {
    let mut launches: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for seen in decided
        .iter()
        .filter(|s| s.event["detail-type"] == "AppLaunched")
    {
        launches
            .entry(seen.event["detail"]["appId"].as_str().unwrap_or_default())
            .or_default()
            .push(seen.time);
    }
    let completions = first_completions(state);
    let mut breaches = Vec::new();
    for (app_id, times) in &launches {
        let Some(app) = state.apps.iter().find(|a| a.id == *app_id) else {
            continue;
        };
        // A launch is made again only after one ended LAUNCH_FAILED, or after its stack
        // was terminated (a rollback).
        let allowed = 1 + app.launches_failed as usize + app.terminations as usize;
        if times.len() > allowed {
            breaches.push(format!(
                "app {app_id} launched {} times after {} failed launches and {} terminations: {times:?}",
                times.len(),
                app.launches_failed,
                app.terminations
            ));
        }
        if app.launch_config.is_none() {
            breaches.push(format!(
                "app {app_id} launched without a launch configuration"
            ));
        }
        let launched_at =
            DateTime::parse_from_rfc3339(times[0]).map_or(0, |t| t.timestamp_millis());
        for member in app.server_ids() {
            match completions.get(member) {
                Some(at) if *at <= launched_at => {}
                other => breaches.push(format!(
                    "app {app_id} launched at {} before member {member} had a completed run ({other:?})",
                    times[0]
                )),
            }
        }
    }
    breaches
}

/// Each failed launch alerted exactly once, and each hold reported at most once per
/// reason.
fn launch_report_breaches(state: &StateSnapshot, decided: &[SeenEvent<'_>]) -> Vec<String> {
    // A failed launch alerted again with the same key is one alert to a subscriber.
    let mut failures_alerted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut holds: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for seen in decided {
        let detail = &seen.event["detail"];
        let app = detail["appId"].as_str().unwrap_or_default();
        match seen.event["detail-type"].as_str() {
            Some("AppLaunchFailed") if detail["errorCode"] == "LAUNCH_FAILED" => {
                failures_alerted
                    .entry(app)
                    .or_default()
                    .insert(detail["key"].as_str().unwrap_or_default());
            }
            Some("AppLaunchHeld") => {
                let reason = detail["reason"].as_str().unwrap_or_default();
                *holds.entry((app, reason)).or_default() += 1;
            }
            _ => {}
        }
    }
    let mut breaches = Vec::new();
    for app in live_apps(state) {
        let alerted = failures_alerted
            .get(app.id.as_str())
            .map_or(0, BTreeSet::len);
        if alerted != app.launches_failed as usize {
            breaches.push(format!(
                "app {}: {} failed launches, {alerted} LAUNCH_FAILED alerts",
                app.id, app.launches_failed
            ));
        }
    }
    for ((app, reason), count) in holds {
        if count > 1 {
            breaches.push(format!("app {app}: hold reported {count} times ({reason})"));
        }
    }
    breaches
}

/// When each failure episode of each job began, from the jobs' state histories: entering
/// FAILED or PAUSED_ON_FAILURE from any state but those two (FAILING passes through).
pub fn failure_episodes(state: &StateSnapshot) -> BTreeMap<&str, Vec<Millis>> {
    let mut episodes: BTreeMap<&str, Vec<Millis>> = BTreeMap::new();
    for job in &state.jobs {
        let mut in_failure = false;
        for (at, entered) in &job.history {
            match entered {
                JobState::Failed | JobState::PausedOnFailure => {
                    if !in_failure {
                        episodes.entry(job.id.as_str()).or_default().push(*at);
                    }
                    in_failure = true;
                }
                JobState::Failing => {}
                _ => in_failure = false,
            }
        }
    }
    episodes
}

/// Each failure episode alerted exactly once, counting an alert published again with
/// the same key once (a subscriber drops the repeat).
fn alert_breaches(decided: &[SeenEvent<'_>], state: &StateSnapshot) -> Vec<String> {
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for seen in decided
        .iter()
        .filter(|s| s.event["detail-type"] == "ReplicationJobFailed")
    {
        let detail = &seen.event["detail"];
        keys.entry(detail["replicationJobId"].as_str().unwrap_or_default())
            .or_default()
            .insert(detail["key"].as_str().unwrap_or_default());
    }
    let alerts: BTreeMap<&str, usize> = keys.iter().map(|(job, k)| (*job, k.len())).collect();
    let episodes = failure_episodes(state);
    let mut breaches = Vec::new();
    for (job, starts) in &episodes {
        let count = starts.len();
        let alerted = alerts.get(job).copied().unwrap_or(0);
        if alerted != count {
            breaches.push(format!(
                "job {job}: {count} failure episodes, {alerted} ReplicationJobFailed alerts"
            ));
        }
    }
    for (job, alerted) in &alerts {
        if !episodes.contains_key(job) {
            breaches.push(format!("job {job}: {alerted} alerts without a failure"));
        }
    }
    breaches
}

#[cfg(test)]
mod tests;
