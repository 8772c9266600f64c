//! The wave plan as a wave plays it: the versions of the plan an engineer puts in the
//! artifacts bucket over the wave, each written at its time with the notification S3
//! sends to the default bus, and which applications the plan in force leaves to a
//! person (for when a wave may call itself done).

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use autopilot_core::plan::{LaunchMode, Plan};
use chrono::{DateTime, Utc};

use crate::bus::LocalBus;
use crate::harness::payloads::s3_object_created;

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

    /// Whether every version was put in place and every application the one in force
    /// names exists among `live` (app names): until then the wave is not done.
    pub(super) fn in_place(&self, live: &BTreeSet<&str>) -> bool {
        self.due.is_empty() && self.named.iter().all(|name| live.contains(name.as_str()))
    }
}
