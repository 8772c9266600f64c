//! `aws.sms` job state change events, in the EventBridge envelope the real service used.
//!
//! The JSON is exactly what
//! `aws_lambda_events::cloudwatch_events::CloudWatchEvent<cloudwatch_events::sms::JobStateChange>`
//! deserializes:
//!
//! ```json
//! {"version":"0","id":"…","detail-type":"Server Migration Job State Change",
//!  "source":"aws.sms","account":"123456789012","time":"2024-01-01T00:32:00Z",
//!  "region":"us-east-1",
//!  "resources":["arn:aws:sms:us-east-1:123456789012:sms-job-…",
//!               "arn:aws:sms:us-east-1:123456789012:sms-job-…/sms-run-…"],
//!  "detail":{"state":"Completed","replication-job-id":"sms-job-…",
//!            "replication-run-id":"sms-run-…","ami-id":"ami-…","version":"1.0"}}
//! ```
//!
//! Which event means what, as the CloudWatch Events guide's samples and the SMS guide's
//! notifications ("completed, failed, or deleted") have it; `state` is in title case:
//! - `Failed` when a job ends FAILED, `Deleted` when a deletion finishes; no `ami-id`.
//!   Nothing is sent for PENDING, ACTIVE, FAILING, PAUSED_ON_FAILURE or DELETING: a
//!   consumer finds those only by asking (GetReplicationJobs);
//! - `Completed` with `ami-id` each time a run completes and makes an AMI, while the job
//!   itself usually stays ACTIVE; for a `runOnce` job the same event also marks the
//!   job's own move to COMPLETED (no second event is sent).
//!
//! EventBridge delivers service events best effort: [`crate::delivery::Delivery`] drops
//! the scenario's share of them (`faults.dropped_sms_events`), with its own seeded dice.
//!
//! `resources` holds the job's ARN (`arn:aws:sms:REGION:ACCOUNT:JOB`), and the run's
//! (`JOB-ARN/RUN`) beside it on a run completion, as the CloudWatch Events guide's
//! samples show. `replication-run-id` is the job's current (latest) run, `"N/A"` on a
//! deletion (as the guide's sample), or the empty string for a job that never ran,
//! because the consumer type declares it as a plain string.
//! `time` is the simulated clock, RFC 3339 in UTC with whole seconds.

use serde::{Deserialize, Serialize};

use crate::sms::protocol::JobState;

/// The `detail-type` of every SMS event.
pub const DETAIL_TYPE: &str = "Server Migration Job State Change";
/// The `source` of every SMS event.
pub const SOURCE: &str = "aws.sms";
/// `detail.state` of a run completion (with `ami-id`) or a run-once job's completion.
pub const COMPLETED: &str = "Completed";

/// The `detail.state` SMS sent for a job entering `state`, if it sent an event at all.
pub(crate) fn announced(state: JobState) -> Option<&'static str> {
    match state {
        JobState::Completed => Some(COMPLETED),
        JobState::Failed => Some("Failed"),
        JobState::Deleted => Some("Deleted"),
        _ => None,
    }
}

/// One `aws.sms` event in its EventBridge envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsEvent {
    /// Envelope version, always "0".
    pub version: String,
    /// Event id (UUID-shaped, deterministic under the scenario seed).
    pub id: String,
    /// Always [`DETAIL_TYPE`].
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// Always [`SOURCE`].
    pub source: String,
    /// Account from the scenario.
    pub account: String,
    /// Simulated time, RFC 3339.
    pub time: String,
    /// Region from the scenario.
    pub region: String,
    /// The job's ARN, and the run's on a run completion.
    pub resources: Vec<String>,
    /// The job state change.
    pub detail: JobStateChangeDetail,
}

/// The `detail` of an SMS event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStateChangeDetail {
    /// `Completed`, `Failed` or `Deleted`.
    pub state: String,
    /// The job.
    #[serde(rename = "replication-job-id")]
    pub replication_job_id: String,
    /// The job's latest run, or "".
    #[serde(rename = "replication-run-id")]
    pub replication_run_id: String,
    /// The AMI a just-completed run produced.
    #[serde(rename = "ami-id", default, skip_serializing_if = "Option::is_none")]
    pub ami_id: Option<String>,
    /// Detail schema version, "1.0".
    pub version: String,
}

impl SmsEvent {
    /// The event as the JSON text EventBridge would deliver.
    pub fn to_json(&self) -> String {
        // Serialising plain strings into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether this announces a completed run (state Completed with an AMI).
    pub fn is_run_completion(&self) -> bool {
        self.detail.state == COMPLETED && self.detail.ami_id.is_some()
    }
}
