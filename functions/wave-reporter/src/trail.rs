//! The decision trail: every decision published on the project's bus, kept in the
//! artifacts bucket. Each decision arrives in its own invocation and is written as its
//! own object under [`PENDING_PREFIX`], named after its time and EventBridge id, so
//! deliveries running at once never write the same object and a redelivery overwrites
//! its first copy. The scheduled run folds the pending objects into [`TRAIL_KEY`] and
//! only then deletes them: a run cut short between the two folds them again, and the
//! ids keep the trail free of repeats.

use std::collections::BTreeSet;

use autopilot_core::artifacts;
use autopilot_core::paging::MAX_PAGES;
use autopilot_core::report::{Decision, Progress};
use autopilot_core::{AutopilotError, AwsCallError};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

/// Where decisions wait to be folded into the trail.
pub const PENDING_PREFIX: &str = "state/wave-reporter/pending/";
/// The trail: every decision folded so far, and the wave's counts at each report.
pub const TRAIL_KEY: &str = "state/wave-reporter/trail.json";
/// Pending objects read at once.
const READ_CONCURRENCY: usize = 8;
/// Keys DeleteObjects takes in one call.
const DELETE_BATCH: usize = 1_000;
/// Timeline points kept: a point is added only when a count changes.
const MAX_SAMPLES: usize = 5_000;

/// The stored trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trail {
    /// When the reporter first saw the wave (its earliest decision or first run).
    pub started: Option<DateTime<Utc>>,
    /// Every decision, in time order.
    pub decisions: Vec<Decision>,
    /// The wave's counts whenever they changed, oldest first.
    pub samples: Vec<Progress>,
}

impl Trail {
    /// The samples so far, with `current` after them unless its counts are the last's.
    pub fn timeline(&self, current: &Progress) -> Vec<Progress> {
        let mut timeline = self.samples.clone();
        if timeline
            .last()
            .is_none_or(|last| !last.same_counts(current))
        {
            timeline.push(current.clone());
        }
        timeline
    }

    /// Applications the planner created, changed or configured so far.
    pub fn plan_changes(&self) -> usize {
        self.decisions
            .iter()
            .filter(|d| matches!(d.detail_type.as_str(), "AppPlanned" | "AppConfigured"))
            .filter(|d| !d.dry_run())
            .count()
    }

    /// Adds the decisions not yet in the trail, keeping time order; returns how many
    /// were new.
    pub fn merge(&mut self, arrived: Vec<Decision>) -> usize {
        let known: BTreeSet<(String, String)> = self
            .decisions
            .iter()
            .map(|d| (d.id.clone(), d.time.clone()))
            .collect();
        let before = self.decisions.len();
        for decision in arrived {
            if !known.contains(&(decision.id.clone(), decision.time.clone())) {
                self.decisions.push(decision);
            }
        }
        self.decisions
            .sort_by(|a, b| (&a.time, &a.id).cmp(&(&b.time, &b.id)));
        self.decisions
            .dedup_by(|a, b| a.id == b.id && a.time == b.time);
        let earliest = self
            .decisions
            .first()
            .and_then(|d| DateTime::parse_from_rfc3339(&d.time).ok())
            .map(|t| t.with_timezone(&Utc));
        self.started = match (self.started, earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.decisions.len() - before
    }

    /// When the wave started, as far as the reporter knows, given that it is `now`.
    pub fn start(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        *self.started.get_or_insert(now)
    }

    /// Adds a timeline point when a count differs from the last one.
    pub fn sample(&mut self, progress: Progress) {
        if self
            .samples
            .last()
            .is_some_and(|last| last.same_counts(&progress))
        {
            return;
        }
        self.samples.push(progress);
        if self.samples.len() > MAX_SAMPLES {
            let excess = self.samples.len() - MAX_SAMPLES;
            self.samples.drain(..excess);
        }
    }
}

/// The pending object of a decision: its time then its id, so keys list in time order.
pub fn pending_key(decision: &Decision) -> String {
    let time: String = decision
        .time
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let id: String = decision
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{PENDING_PREFIX}{time}-{id}.json")
}

/// Writes one arrived decision as its pending object.
pub async fn record(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    decision: &Decision,
) -> Result<(), AutopilotError> {
    artifacts::store_json(s3, bucket, &pending_key(decision), decision).await
}

/// What was found pending.
#[derive(Debug, Default)]
pub struct Pending {
    pub decisions: Vec<Decision>,
    /// Keys read, to delete once the trail holding them is stored.
    pub keys: Vec<String>,
    /// Keys whose object is not a decision: left in place and reported.
    pub unreadable: Vec<String>,
}

/// One pending object's bytes, None when it is gone.
type ObjectRead = Result<Option<Vec<u8>>, AwsCallError>;

/// Every pending decision.
pub async fn pending(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Pending, AutopilotError> {
    let keys = list(s3, bucket, PENDING_PREFIX).await?;
    let read: Vec<(String, ObjectRead)> = stream::iter(keys)
        .map(|key| async move {
            let bytes = artifacts::load_bytes(s3, bucket, &key).await;
            (key, bytes)
        })
        .buffered(READ_CONCURRENCY)
        .collect()
        .await;
    let mut found = Pending::default();
    for (key, bytes) in read {
        // Gone since the listing: another run folded it.
        let Some(bytes) = bytes? else { continue };
        match serde_json::from_slice::<Decision>(&bytes) {
            Ok(decision) => {
                found.decisions.push(decision);
                found.keys.push(key);
            }
            Err(error) => {
                tracing::error!(%key, %error, "a pending decision is unreadable; left in place");
                found.unreadable.push(key);
            }
        }
    }
    Ok(found)
}

/// Every key under `prefix`, page by page (ListObjectsV2).
async fn list(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, AwsCallError> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|error| AwsCallError::from_sdk("S3", "ListObjectsV2", &error))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => return Ok(keys),
        }
    }
    let message = format!("s3://{bucket}/{prefix}: more than {MAX_PAGES} pages");
    Err(AwsCallError::unusable_answer(
        "S3",
        "ListObjectsV2",
        "EndlessPages",
        message,
    ))
}

/// Deletes folded pending objects, a thousand a call.
pub async fn delete(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[String],
) -> Result<(), AwsCallError> {
    for batch in keys.chunks(DELETE_BATCH) {
        let objects = batch
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| unbuildable(&error))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|error| unbuildable(&error))?;
        let answer = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|error| AwsCallError::from_sdk("S3", "DeleteObjects", &error))?;
        if let Some(failed) = answer.errors().first() {
            let message = format!(
                "{} of {} objects not deleted; first {}: {}",
                answer.errors().len(),
                batch.len(),
                failed.key().unwrap_or("?"),
                failed.message().unwrap_or("no message")
            );
            let code = failed.code().unwrap_or("DeleteFailed");
            return Err(AwsCallError::unusable_answer(
                "S3",
                "DeleteObjects",
                code,
                message,
            ));
        }
    }
    Ok(())
}

fn unbuildable(error: &impl std::fmt::Display) -> AwsCallError {
    AwsCallError::unusable_answer("S3", "DeleteObjects", "Unbuildable", error.to_string())
}
