//! Convergence latency of the default wave: per app, the simulated time from the moment
//! it became launchable (its last member's first completed run, the `aws.sms` event's
//! own time, and every application it depends on LAUNCHED; the default wave sets no
//! launch window) to its `AppLaunched` event, and which invocation launched it.

use std::collections::BTreeMap;
use std::path::Path;

use autopilot_local::wave::{LogEntry, Wave, WaveOptions};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::Measured;

/// When an app became launchable and when it was launched, in simulated time.
pub struct Convergence {
    pub app: String,
    pub members: usize,
    /// Its last member's first completed run.
    pub replicated_at: Option<DateTime<Utc>>,
    /// The last of the applications it depends on reached LAUNCHED (none: it depends
    /// on none).
    pub dependencies_launched_at: Option<DateTime<Utc>>,
    /// How many applications it depends on.
    pub depends_on: usize,
    /// When both held.
    pub ready_at: Option<DateTime<Utc>>,
    pub launched_at: Option<DateTime<Utc>>,
    pub launched_by: Option<String>,
    pub held_by: Option<String>,
}

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Plays the default wave and reads, per app, the time of its last member's first
/// completed run (the `aws.sms` event's own time) and of its `AppLaunched` event, and
/// which invocation launched it.
pub async fn convergence(template: &Path) -> Measured<Vec<Convergence>> {
    let wave = Wave::start(WaveOptions {
        template: template.to_path_buf(),
        ..WaveOptions::default()
    })
    .await?;
    let report = wave.play(|_| {}).await?;
    let first_completed = first_completed_runs(&report.log);
    let launched_by_name: BTreeMap<&str, DateTime<Utc>> = report
        .apps
        .iter()
        .filter_map(|app| Some((app.name.as_str(), *report.first_launched.get(&app.id)?)))
        .collect();
    // The apps as the wave left them: a wave plan makes them as it plays.
    Ok(report
        .apps
        .iter()
        .map(|app| {
            let members = &app.server_ids;
            let replicated_at = members
                .iter()
                .map(|m| first_completed.get(m.as_str()).copied())
                .collect::<Option<Vec<_>>>()
                .and_then(|times| times.into_iter().max());
            let dependencies = app
                .depends_on
                .iter()
                .map(|name| launched_by_name.get(name.as_str()).copied())
                .collect::<Option<Vec<_>>>();
            let dependencies_launched_at =
                dependencies.as_ref().and_then(|t| t.iter().max().copied());
            let ready_at = match (replicated_at, dependencies) {
                (Some(replicated), Some(_)) => {
                    Some(dependencies_launched_at.map_or(replicated, |d| d.max(replicated)))
                }
                _ => None,
            };
            let (launched_at, launched_by) = launch_of(&report.log, &app.id);
            Convergence {
                app: app.name.clone(),
                members: members.len(),
                replicated_at,
                dependencies_launched_at,
                depends_on: app.depends_on.len(),
                ready_at,
                launched_at,
                launched_by,
                held_by: app.held_by.clone(),
            }
        })
        .collect())
}

/// When each server's first run completed, by server id: the times come from SMS's
/// events, the servers of their jobs from the project's.
fn first_completed_runs(log: &[LogEntry]) -> BTreeMap<String, DateTime<Utc>> {
    let mut server_of_job: BTreeMap<String, String> = BTreeMap::new();
    let mut completions: Vec<(String, DateTime<Utc>)> = Vec::new();
    for entry in log {
        let LogEntry::Event { event, .. } = entry else {
            continue;
        };
        let detail = &event["detail"];
        if event["source"] == "aws.sms" {
            if detail["state"] == "Completed" && detail["ami-id"].is_string() {
                if let (Some(job), Some(at)) = (
                    detail["replication-job-id"].as_str(),
                    parse_time(&event["time"]),
                ) {
                    completions.push((job.to_owned(), at));
                }
            }
        } else if let (Some(job), Some(server)) = (
            detail["replicationJobId"].as_str(),
            detail["serverId"].as_str(),
        ) {
            server_of_job.insert(job.to_owned(), server.to_owned());
        }
    }
    let mut first_completed: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for (job, at) in &completions {
        if let Some(server) = server_of_job.get(job) {
            let first = first_completed.entry(server.clone()).or_insert(*at);
            *first = (*first).min(*at);
        }
    }
    first_completed
}

/// When app `id` was announced launched, and the trigger of the launcher invocation
/// that launched it.
fn launch_of(log: &[LogEntry], id: &str) -> (Option<DateTime<Utc>>, Option<String>) {
    let launch = log.iter().position(|entry| {
        matches!(entry, LogEntry::Event { event, .. }
            if event["detail-type"] == "AppLaunched" && event["detail"]["appId"] == id)
    });
    let launched_at = launch.and_then(|i| match &log[i] {
        LogEntry::Event { time, .. } => parse_time(&json!(time)),
        LogEntry::Invocation { .. } => None,
    });
    let launched_by = launch.and_then(|i| {
        log[..i].iter().rev().find_map(|entry| match entry {
            LogEntry::Invocation {
                function,
                trigger,
                summary,
                ..
            } if function == "app-launcher" && summary["launched"].as_u64().unwrap_or(0) > 0 => {
                // The launcher names its re-check rule's runs, which the envelope does not.
                Some(match summary["trigger"].as_str() {
                    Some(own @ "launch re-check") => format!("{own} ({trigger})"),
                    _ => trigger.clone(),
                })
            }
            _ => None,
        })
    });
    (launched_at, launched_by)
}
