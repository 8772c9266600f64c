//! The wave plan as a wave plays it: the versions of the plan an engineer puts in the
//! artifacts bucket over the wave, each written at its time with the notification S3
//! sends to the default bus, and which applications the plan in force leaves to a
//! person (for when a wave may call itself done).

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use autopilot_core::plan::{digest, LaunchMode, Plan};
use chrono::{DateTime, Utc};

use super::LogEntry;
use crate::bus::LocalBus;
use crate::harness::payloads::{s3_object_created, stamp};

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
    /// When the last version was put in place, and its digest.
    last_placed: Option<(String, String)>,
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
            last_placed: None,
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
            self.last_placed = Some((stamp(now), digest(version.text.as_bytes())));
            // A refused version changes nothing, so the one before stays in force.
            if let Ok(plan) = Plan::parse(&version.text) {
                self.named = plan.applications.iter().map(|a| a.name.clone()).collect();
                self.manual = plan
                    .applications
                    .iter()
                    .filter(|app| app.launch == LaunchMode::Manual)
                    .map(|app| app.name.clone())
                    .collect();
            }
        }
        Ok(())
    }

    /// Applications the plan in force leaves to a person.
    pub(super) fn manual(&self) -> &BTreeSet<String> {
        &self.manual
    }

    /// Whether the plan is in place: every version was written, the planner has since
    /// run on a complete catalog and found nothing left to change for the last one (or
    /// refused it), and every application the plan in force names exists among `live`.
    pub(super) fn in_place(&self, live: &BTreeSet<&str>, log: &[LogEntry]) -> bool {
        if !self.due.is_empty() {
            return false;
        }
        let Some((placed, version)) = &self.last_placed else {
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
        settled && self.named.iter().all(|name| live.contains(name.as_str()))
    }
}
