//! The wave plan as a wave plays it: the versions of the plan an engineer puts in the
//! artifacts bucket over the wave, each written at its time with the notification S3
//! sends to the default bus, and which applications the plan in force leaves to a
//! person or finalizes after their launch (for when a wave may call itself done).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use autopilot_core::plan::{digest, LaunchMode, Plan};
use chrono::{DateTime, Utc};

use autopilot_core::report::{self, PlacedVersion, PlanOutcome};

use super::LogEntry;
use crate::bus::LocalBus;
use crate::harness::payloads::{s3_object_created, stamp};

/// Attempts the engineer's client makes to put a plan version. An engineer whose upload
/// S3 refuses runs it again; the SDK's standard three attempts alone lost one plan edit
/// in the 1,000 chaos waves of a soak to three refusals in a row.
pub(super) const ENGINEER_ATTEMPTS: u32 = 10;

/// One version of the plan and when, from the wave's start, it is put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersion {
    pub after: Duration,
    /// The plan's text (YAML or JSON), as the engineer wrote it; it may be invalid.
    pub text: String,
}

/// Why a plan version could not be put in place.
#[derive(Debug, thiserror::Error)]
#[error("the plan could not be written to s3://{bucket}/{key}: {message}")]
pub struct PlanWriteError {
    pub bucket: String,
    pub key: String,
    pub message: String,
}

/// The versions still to place, and where they go.
pub(super) struct PlanFeed {
    due: VecDeque<PlanVersion>,
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    /// Applications the plan in force leaves to a person.
    manual: BTreeSet<String>,
    /// Every application the plan in force names.
    named: BTreeSet<String>,
    /// What each application of the plan in force depends on.
    depends_on: BTreeMap<String, Vec<String>>,
    /// Applications of the plan in force whose replication ends after their launch.
    finalizing: BTreeSet<String>,
    /// Applications the plan in force rolls back.
    rolled_back: BTreeSet<String>,
    /// When each version was put in place, and its digest, in order.
    placed: Vec<(String, String)>,
    /// The plan in force: the last version placed that reads as a plan.
    in_force: Option<Plan>,
}

impl PlanFeed {
    pub(super) fn new(
        mut versions: Vec<PlanVersion>,
        s3: aws_sdk_s3::Client,
        bucket: String,
        key: String,
    ) -> Self {
        versions.sort_by_key(|v| v.after);
        Self {
            due: versions.into(),
            s3,
            bucket,
            key,
            manual: BTreeSet::new(),
            named: BTreeSet::new(),
            depends_on: BTreeMap::new(),
            finalizing: BTreeSet::new(),
            rolled_back: BTreeSet::new(),
            placed: Vec::new(),
            in_force: None,
        }
    }

    /// Writes each version due by `elapsed` and announces it on the default bus.
    pub(super) async fn place_due(
        &mut self,
        elapsed: Duration,
        now: DateTime<Utc>,
        bus: &LocalBus,
    ) -> Result<(), PlanWriteError> {
        while self.due.front().is_some_and(|v| v.after <= elapsed) {
            let Some(version) = self.due.pop_front() else {
                break;
            };
            let size = version.text.len();
            self.s3
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(version.text.clone().into_bytes().into())
                .send()
                .await
                .map_err(|error| PlanWriteError {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    message: autopilot_core::AwsCallError::from_sdk("S3", "PutObject", &error)
                        .to_string(),
                })?;
            bus.inject(
                "default",
                s3_object_created(now, &self.bucket, &self.key, size),
            );
            self.placed
                .push((stamp(now), digest(version.text.as_bytes())));
            // A refused version changes nothing, so the one before stays in force.
            if let Ok(plan) = Plan::parse(&version.text) {
                self.in_force = Some(plan.clone());
                self.named = plan.applications.iter().map(|a| a.name.clone()).collect();
                self.depends_on = plan
                    .applications
                    .iter()
                    .map(|a| (a.name.clone(), a.depends_on.clone()))
                    .collect();
                self.manual = plan
                    .applications
                    .iter()
                    .filter(|app| app.launch == LaunchMode::Manual)
                    .map(|app| app.name.clone())
                    .collect();
                self.rolled_back = plan
                    .applications
                    .iter()
                    .filter(|app| app.launch == LaunchMode::Rollback)
                    .map(|app| app.name.clone())
                    .collect();
                self.finalizing = plan
                    .applications
                    .iter()
                    .filter(|app| app.finalize.after().is_some())
                    .map(|app| app.name.clone())
                    .collect();
            }
        }
        Ok(())
    }

    /// Whether the MGN functions have acted on the last version placed: the planner
    /// read it (and refused it, or made MGN hold it without an error), and the launcher
    /// ran on its resolution afterwards; until then a hold may be one the new version
    /// lifts.
    pub(super) fn followed_on_mgn(&self, log: &[LogEntry]) -> bool {
        if !self.due.is_empty() {
            return false;
        }
        let Some((placed, version)) = self.placed.last() else {
            return true;
        };
        let latest = |wanted: &str| {
            log.iter().rev().find_map(|entry| match entry {
                LogEntry::Invocation {
                    time,
                    function,
                    summary,
                    ..
                } if function == wanted && time >= placed && !summary.is_null() => {
                    Some((time, summary))
                }
                _ => None,
            })
        };
        let Some((planned_at, planned)) = latest("mgn-planner") else {
            return false;
        };
        if planned["planVersion"] != version.as_str() {
            return false;
        }
        if planned["rejected"] == true {
            return true;
        }
        planned["errors"] == 0
            && latest("mgn-launcher").is_some_and(|(launched_at, launched)| {
                launched_at >= planned_at && launched["planVersion"] == version.as_str()
            })
    }

    /// Whether every version has been put in place.
    pub(super) fn all_placed(&self) -> bool {
        self.due.is_empty()
    }

    /// When the last version placed was put in place.
    pub(super) fn last_placed_at(&self) -> Option<&str> {
        self.placed.last().map(|(time, _)| time.as_str())
    }

    /// How many versions have been put in place so far.
    pub(super) fn versions_placed(&self) -> usize {
        self.placed.len()
    }

    /// What the planner made of each version placed, from the events in `log`.
    pub(super) fn outcome(&self, log: &[LogEntry]) -> PlanOutcome {
        let decisions = super::outcome::decisions(log);
        let versions = self
            .placed
            .iter()
            .map(|(time, version)| PlacedVersion {
                time: time.clone(),
                version: version.clone(),
                refused: report::decisions::refusal(&decisions, version),
            })
            .collect();
        PlanOutcome {
            versions,
            steps: report::decisions::plan_steps(&decisions),
        }
    }

    /// The plan in force: the last version placed that reads as a plan.
    pub(super) fn in_force(&self) -> Option<&Plan> {
        self.in_force.as_ref()
    }

    /// What each application of the plan in force depends on.
    pub(super) fn depends_on(&self) -> &BTreeMap<String, Vec<String>> {
        &self.depends_on
    }

    /// Applications the plan in force leaves to a person.
    pub(super) fn manual(&self) -> &BTreeSet<String> {
        &self.manual
    }

    /// Applications the plan in force rolls back.
    pub(super) fn rolled_back(&self) -> &BTreeSet<String> {
        &self.rolled_back
    }

    /// Whether the plan is in place: every version was written, the planner has since
    /// run on a complete catalog and found nothing left to change for the last one (or
    /// refused it), and every application the plan in force names exists among `live`.
    pub(super) fn in_place(
        &self,
        (live, launched): (&BTreeSet<&str>, &BTreeSet<&str>),
        log: &[LogEntry],
    ) -> bool {
        if !self.due.is_empty() {
            return false;
        }
        let Some((placed, version)) = self.placed.last() else {
            return true;
        };
        let planned = log.iter().rev().find_map(|entry| match entry {
            LogEntry::Invocation {
                time,
                function,
                summary,
                ..
            } if function == "app-planner" && time >= placed && !summary.is_null() => Some(summary),
            _ => None,
        });
        let settled = planned.is_some_and(|summary| {
            summary["planVersion"] == version.as_str()
                && (summary["rejected"] == true
                    || (summary["catalogNotAvailable"] == false
                        && summary["changes"] == 0
                        && summary["errors"] == 0))
        });
        settled
            && self.named.iter().all(|name| live.contains(name.as_str()))
            && self.finalized_once_launched(launched, log)
    }

    /// Whether every application the plan finalizes that is LAUNCHED has been
    /// finalized since (the wave waits out its `finalize.after`).
    fn finalized_once_launched(&self, launched: &BTreeSet<&str>, log: &[LogEntry]) -> bool {
        let finalized: BTreeSet<&str> = log
            .iter()
            .filter_map(|entry| match entry {
                LogEntry::Event { event, .. } if event["detail-type"] == "AppFinalized" => {
                    event["detail"]["appName"].as_str()
                }
                _ => None,
            })
            .collect();
        self.finalizing
            .iter()
            .filter(|app| launched.contains(app.as_str()))
            .all(|app| finalized.contains(app.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use autopilot_core::plan::Plan;

    use crate::Scenario;

    /// The default wave's plan versions are plans the planner accepts; only SMS's
    /// launch check finds fault with the first.
    #[test]
    fn the_default_plan_versions_are_valid_plans() {
        for (at, text) in Scenario::default_scenario().plan_versions() {
            if let Err(rejected) = Plan::parse(&text) {
                panic!("the version put in place at {at} s is refused: {rejected}");
            }
        }
    }
}
