//! The launch guards of an MGN wave, checked against MGN's own record rather than the
//! order events crossed the bus (EventBridge promises none, and an entry PutEvents
//! failed is published after later ones): every launch job MGN started, when, and with
//! which servers; each server's application; and every life-cycle change a call made.
//! A test must start after the tests of the applications it depends on passed, a cutover
//! after their cutovers were finalized; a cutover only of servers whose test passed and
//! was not reverted since, never of a server already cut over; none outside its window.

use std::collections::{BTreeMap, HashMap};

use autopilot_core::plan::{Plan, PlannedApp};
use autopilot_core::readiness::LaunchWindow;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use crate::mgn::LifeCycleChangeView;

/// What MGN holds at the wave's end, as an admin reads it.
pub struct MgnRecord<'a> {
    /// DescribeJobs, every job.
    pub jobs: &'a [Value],
    /// DescribeSourceServers, archived ones too.
    pub servers: &'a [Value],
    /// ListApplications, every application.
    pub applications: &'a [Value],
    pub changes: &'a [LifeCycleChangeView],
}

/// One launch job: its kind, when MGN started it, its servers.
struct Started<'a> {
    test: bool,
    at: DateTime<Utc>,
    servers: Vec<&'a str>,
}

/// Breaches of the launch guards in `record` under `plan`.
pub fn launch_breaches(record: &MgnRecord<'_>, plan: &Plan) -> Vec<String> {
    let app_of = applications_of_servers(record);
    let mut members: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (server, app) in &app_of {
        members.entry(app.as_str()).or_default().push(server);
    }
    let planned: BTreeMap<&str, &PlannedApp> = plan
        .applications
        .iter()
        .map(|a| (a.name.as_str(), a))
        .collect();
    let mut breaches = Vec::new();
    for launch in launches(record.jobs) {
        let kind = if launch.test { "test" } else { "cutover" };
        if !launch.test {
            for server in &launch.servers {
                breaches.extend(cutover_breach(record.changes, server, launch.at));
            }
        }
        let mut apps = Vec::new();
        for server in &launch.servers {
            match app_of.get(*server) {
                Some(app) => apps.push(app.as_str()),
                // The autopilot launches planned members only, each held in its
                // application: one in none means the record was misread.
                None => breaches.push(format!(
                    "{}: {server} launched for {kind} in no MGN application",
                    launch.at
                )),
            }
        }
        apps.dedup();
        for app in apps {
            let Some(planned) = planned.get(app) else {
                continue;
            };
            for dependency in &planned.depends_on {
                let of_dependency = members
                    .get(dependency.as_str())
                    .map_or(&[][..], Vec::as_slice);
                if !dependency_done(record.changes, of_dependency, launch.test, launch.at) {
                    breaches.push(format!(
                        "{}: {app} {kind} started before {dependency}'s",
                        launch.at
                    ));
                }
            }
            if outside_window(planned, launch.test, launch.at) {
                breaches.push(format!(
                    "{}: {app} {kind} started outside its window",
                    launch.at
                ));
            }
        }
    }
    breaches
}

/// Each server's application, by the application's name.
fn applications_of_servers(record: &MgnRecord<'_>) -> HashMap<String, String> {
    let names: HashMap<&str, &str> = record
        .applications
        .iter()
        .filter_map(|a| Some((a["applicationID"].as_str()?, a["name"].as_str()?)))
        .collect();
    record
        .servers
        .iter()
        .filter_map(|s| {
            let app = names.get(s["applicationID"].as_str()?)?;
            Some((s["sourceServerID"].as_str()?.to_owned(), (*app).to_owned()))
        })
        .collect()
}

/// The launch jobs, in MGN's order.
fn launches(jobs: &[Value]) -> impl Iterator<Item = Started<'_>> {
    jobs.iter()
        .filter(|job| job["type"] == "LAUNCH")
        .filter_map(|job| {
            Some(Started {
                test: job["initiatedBy"] == "START_TEST",
                at: job["creationDateTime"].as_str()?.parse().ok()?,
                servers: job["participatingServers"]
                    .as_array()?
                    .iter()
                    .filter_map(|p| p["sourceServerID"].as_str())
                    .collect(),
            })
        })
}

/// A change as MGN's answers tell time: to the second.
fn second_of(change: &LifeCycleChangeView) -> DateTime<Utc> {
    change
        .at
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap_or(change.at)
}

/// Why a cutover of `server` started at `at` breaks a guard: its test never passed or
/// was reverted since (a revert in the cutover's own second races it in any client, MGN
/// having no conditional launch), or it was cut over already.
fn cutover_breach(
    changes: &[LifeCycleChangeView],
    server: &str,
    at: DateTime<Utc>,
) -> Option<String> {
    let of_server = || changes.iter().filter(|c| c.server_id == server);
    if let Some(done) = of_server().find(|c| c.to == "CUTOVER" && second_of(c) < at) {
        return Some(format!(
            "{at}: {server} launched for cutover after its cutover was finalized at {}",
            done.at
        ));
    }
    let last_mark = of_server()
        .filter(|c| second_of(c) <= at)
        .rfind(|c| is_test_done(c) || is_test_reverted(c));
    match last_mark {
        Some(mark) if is_test_done(mark) => None,
        Some(revert) if second_of(revert) == at => None,
        Some(revert) => Some(format!(
            "{at}: {server} cut over without a test since its passed test was reverted at {}",
            revert.at
        )),
        None => Some(format!(
            "{at}: {server} cutover started without a passed test"
        )),
    }
}

fn is_test_done(change: &LifeCycleChangeView) -> bool {
    change.from == "TESTING" && change.to == "READY_FOR_CUTOVER"
}

fn is_test_reverted(change: &LifeCycleChangeView) -> bool {
    change.from == "READY_FOR_CUTOVER" && change.to == "READY_FOR_TEST"
}

/// Whether every server of a dependency had its test passed (and not reverted since)
/// or, for a cutover, its cutover finalized by `at`. A dependency MGN holds no server
/// of has done neither.
fn dependency_done(
    changes: &[LifeCycleChangeView],
    servers: &[&str],
    test: bool,
    at: DateTime<Utc>,
) -> bool {
    !servers.is_empty()
        && servers.iter().all(|server| {
            let mut marks = changes
                .iter()
                .filter(|c| c.server_id == *server && second_of(c) <= at);
            if test {
                marks
                    .rfind(|c| is_test_done(c) || is_test_reverted(c))
                    .is_some_and(|c| is_test_done(c) || second_of(c) == at)
            } else {
                marks.any(|c| c.to == "CUTOVER")
            }
        })
}

/// Whether `at` falls outside the window the plan gives a launch of this kind.
fn outside_window(planned: &PlannedApp, test: bool, at: DateTime<Utc>) -> bool {
    let window = if test {
        planned.test_window.as_ref().or(planned.window.as_ref())
    } else {
        planned.window.as_ref()
    };
    window
        .and_then(|w| w.parse::<LaunchWindow>().ok())
        .is_some_and(|window| !window.contains(at))
}

#[cfg(test)]
#[path = "mgn_launches_tests.rs"]
mod tests;
