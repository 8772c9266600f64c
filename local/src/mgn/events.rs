//! `aws.mgn` events in the EventBridge envelope, as the MGN user guide's samples show
//! them. Of the seven detail-types EventBridge lists for MGN, three are documented, and
//! only those are sent:
//!
//! - `MGN Source Server Launch Result`: a test or cutover launch of a server completed,
//!   `state` TEST_LAUNCH_SUCCEEDED, TEST_LAUNCH_FAILED, CUTOVER_LAUNCH_SUCCEEDED or
//!   CUTOVER_LAUNCH_FAILED, with the launch's `job-id`;
//! - `MGN Source Server Lifecycle State Change`: a server reached READY_FOR_TEST for the
//!   first time (`state` READY_FOR_TEST);
//! - `MGN Source Server Data Replication Stalled Change`: replication became STALLED,
//!   or is no longer (`state` STALLED or NOT_STALLED).
//!
//! `resources` holds the source server's ARN; `time` is the simulated clock, RFC 3339
//! in UTC with whole seconds. EventBridge delivers them best effort.

use serde::{Deserialize, Serialize};

/// The `source` of every MGN event.
pub const SOURCE: &str = "aws.mgn";
pub const LAUNCH_RESULT: &str = "MGN Source Server Launch Result";
pub const LIFECYCLE_STATE_CHANGE: &str = "MGN Source Server Lifecycle State Change";
pub const STALLED_CHANGE: &str = "MGN Source Server Data Replication Stalled Change";

/// One `aws.mgn` event in its EventBridge envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgnEvent {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub time: String,
    pub region: String,
    /// The source server's ARN.
    pub resources: Vec<String>,
    pub detail: MgnEventDetail,
}

/// The `detail` of an MGN event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MgnEventDetail {
    pub state: String,
    /// A launch result's job.
    #[serde(rename = "job-id", default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

impl MgnEvent {
    /// The event as the JSON text EventBridge would deliver.
    pub fn to_json(&self) -> String {
        // Serialising plain strings into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
