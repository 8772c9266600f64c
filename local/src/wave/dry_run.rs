//! A wave played in dry run is a rehearsal: the functions decide and announce as usual
//! and change nothing in SMS, so nothing replicates and nothing becomes ready. It is
//! complete once every version of the plan is in place and the job-creator (and the
//! app-planner, with a plan) has decided on the catalog as last imported; its outcome
//! is the list of what would have been done, and when it was decided.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::outcome::{bus_events, LogEntry};
use crate::harness::payloads::stamp;
use crate::sms::protocol::CatalogStatus;
use crate::StateSnapshot;

/// What a rehearsal decided, each first time it was decided.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rehearsal {
    /// (time, VM name) of each server the job-creator would give a job.
    pub jobs: Vec<(String, String)>,
    /// (time, application) of each launch the launcher would make.
    pub launches: Vec<(String, String)>,
    /// (time, application) of each application announced ready for a person.
    pub ready: Vec<(String, String)>,
}

impl Rehearsal {
    /// The dry-run decisions in `log`, each once.
    pub(super) fn of(log: &[LogEntry]) -> Self {
        let mut rehearsal = Self::default();
        let mut seen = BTreeSet::new();
        for seen_event in bus_events(log) {
            let event = seen_event.event;
            let detail = &event["detail"];
            if detail["dryRun"] != true {
                continue;
            }
            let (list, key) = match event["detail-type"].as_str() {
                Some("ReplicationJobCreated") => (&mut rehearsal.jobs, "vmName"),
                Some("AppLaunched") => (&mut rehearsal.launches, "appName"),
                Some("AppReady") => (&mut rehearsal.ready, "appName"),
                _ => continue,
            };
            let subject = detail[key]
                .as_str()
                .or_else(|| detail["serverId"].as_str())
                .or_else(|| detail["appId"].as_str())
                .unwrap_or("?")
                .to_owned();
            let kind = event["detail-type"].as_str().unwrap_or_default();
            if seen.insert((kind.to_owned(), subject.clone())) {
                list.push((seen_event.time.to_owned(), subject));
            }
        }
        rehearsal
    }
}

/// Whether the rehearsal is complete: the catalog is AVAILABLE, and since it was last
/// imported and since the last plan version (`plan_placed_at`, None without a plan) the
/// job-creator and, with a plan, the app-planner have each decided successfully.
pub(super) fn complete(
    state: &StateSnapshot,
    log: &[LogEntry],
    plan_placed_at: Option<&str>,
    plan_expected: bool,
) -> bool {
    if state.catalog.status != CatalogStatus::Available {
        return false;
    }
    let Some(imported) = state
        .catalog
        .last_modified
        .and_then(DateTime::from_timestamp_millis)
        .map(stamp)
    else {
        return false;
    };
    let since = match plan_placed_at {
        Some(placed) if placed > imported.as_str() => placed.to_owned(),
        _ => imported,
    };
    let decided = |function: &str| {
        log.iter().any(|entry| {
            matches!(entry, LogEntry::Invocation { time, function: f, outcome, summary, .. }
                if f == function && outcome == "ok" && *time >= since
                    && summary["catalogNotAvailable"] != true)
        })
    };
    decided("job-creator") && (!plan_expected || decided("app-planner"))
}

/// One line saying whether the rehearsal completed.
pub(super) fn verdict(complete: bool, now: DateTime<Utc>) -> String {
    if complete {
        "rehearsal complete: every decision below was made in dry run, and nothing was changed in SMS".to_owned()
    } else {
        format!(
            "the rehearsal did not complete by {}: the catalog was never available, or the job-creator or the app-planner never decided on it",
            stamp(now)
        )
    }
}
