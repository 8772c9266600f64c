//! Parsing of what invokes a function: EventBridge scheduled events, SMS's own job
//! state change events and this project's events. The envelope is checked first, then
//! the detail is parsed into the type its detail-type promises; anything else is
//! rejected with an error that says what was wrong, before any side effect.

use aws_lambda_events::cloudwatch_events::sms::JobStateChange;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AutopilotError;
use crate::events::{Detail, DetailType, EVENT_SOURCE};

/// `source` and `detail-type` of EventBridge scheduled events.
pub const SCHEDULE_SOURCE: &str = "aws.events";
pub const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";
/// `source` and `detail-type` of SMS job state changes.
pub const SMS_SOURCE: &str = "aws.sms";
pub const SMS_JOB_STATE_CHANGE: &str = "Server Migration Job State Change";
/// `source` and `detail-type`s of MGN's events about one source server.
pub const MGN_SOURCE: &str = "aws.mgn";
pub const MGN_STALLED_CHANGE: &str = "MGN Source Server Data Replication Stalled Change";
pub const MGN_LIFECYCLE_STATE_CHANGE: &str = "MGN Source Server Lifecycle State Change";
pub const MGN_LAUNCH_RESULT: &str = "MGN Source Server Launch Result";

/// An `aws.mgn` event about one source server: the server its `resources` ARN names,
/// and what the detail says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgnServerEvent {
    pub server_id: crate::model::ServerId,
    /// The detail's `state` (`STALLED`, `READY_FOR_TEST`, `TEST_LAUNCH_FAILED`, …).
    pub state: String,
    /// A launch result's job.
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct MgnDetail {
    state: String,
    #[serde(rename = "job-id", default)]
    job_id: Option<String>,
}

/// `source` and `detail-type` of S3's EventBridge notifications of new objects.
pub const S3_SOURCE: &str = "aws.s3";
pub const S3_OBJECT_CREATED: &str = "Object Created";

/// The object an S3 "Object Created" notification names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ObjectCreated {
    pub bucket: ObjectBucket,
    pub object: ObjectKey,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ObjectBucket {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ObjectKey {
    pub key: String,
}

/// EventBridge refuses events larger than this (256 KB), so a bigger payload did not come
/// through it and is refused before its ids reach SMS or S3.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// A scheduled event as EventBridge delivers one (`resources` names the rule; a run the
/// function starts itself names none).
pub fn scheduled_event(id: &str, time: DateTime<Utc>, rule_arn: Option<&str>) -> Value {
    serde_json::json!({
        "version": "0",
        "id": id,
        "detail-type": SCHEDULE_DETAIL_TYPE,
        "source": SCHEDULE_SOURCE,
        "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "resources": rule_arn.into_iter().collect::<Vec<_>>(),
        "detail": {}
    })
}

/// Whether a Lambda payload is a scheduled event.
pub fn is_scheduled(payload: &Value) -> bool {
    payload["source"] == SCHEDULE_SOURCE && payload["detail-type"] == SCHEDULE_DETAIL_TYPE
}

/// The run a payload starts, in words for the logs: `source detail-type id`.
pub fn run_name(payload: &Value) -> String {
    let field = |name: &str| clip(payload[name].as_str().unwrap_or("?"));
    format!(
        "{} {} {}",
        field("source"),
        field("detail-type"),
        field("id")
    )
}

/// A parsed EventBridge envelope whose detail is not yet interpreted.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub source: String,
    pub detail_type: String,
    pub time: Option<DateTime<Utc>>,
    /// The ARNs the event concerns (a scheduled event's names its rule).
    pub resources: Vec<String>,
    detail: Value,
}

impl Incoming {
    /// Checks the envelope of a Lambda payload.
    pub fn parse(payload: Value) -> Result<Self, AutopilotError> {
        if let Some(size) = oversized(&payload) {
            return Err(AutopilotError::InvalidEvent(format!(
                "the event is larger than EventBridge's {MAX_EVENT_BYTES}-byte limit \
                 (at least {size} bytes)"
            )));
        }
        let envelope: EventBridgeEvent<Value> =
            serde_json::from_value(payload).map_err(|error| {
                AutopilotError::InvalidEvent(format!("not an EventBridge event: {}", brief(&error)))
            })?;
        Ok(Self {
            source: envelope.source,
            detail_type: envelope.detail_type,
            time: envelope.time,
            resources: envelope.resources.unwrap_or_default(),
            detail: envelope.detail,
        })
    }

    pub fn is_schedule(&self) -> bool {
        self.source == SCHEDULE_SOURCE && self.detail_type == SCHEDULE_DETAIL_TYPE
    }

    /// Whether this is a scheduled event of the rule named `rule` (its ARN ends in
    /// `:rule/NAME` on the default bus, `:rule/BUS/NAME` on another).
    pub fn is_schedule_of(&self, rule: &str) -> bool {
        self.is_schedule()
            && self.resources.iter().any(|arn| {
                arn.rsplit_once(":rule/")
                    .is_some_and(|(_, path)| path.rsplit('/').next() == Some(rule))
            })
    }

    pub fn is(&self, source: &str, detail_type: &str) -> bool {
        self.source == source && self.detail_type == detail_type
    }

    /// This project's event of detail-type `T`, if that is what arrived.
    pub fn project_detail<T: DetailType>(&self) -> Option<Result<Detail<T>, AutopilotError>> {
        self.is(EVENT_SOURCE, T::DETAIL_TYPE).then(|| {
            self.reject_empty_ids()?;
            self.detail_as::<Detail<T>>()
        })
    }

    /// This project's identifiers (`appId`, `serverId`, `replicationJobId`, …) are never
    /// empty: an event carrying an empty one would send an empty id to SMS.
    fn reject_empty_ids(&self) -> Result<(), AutopilotError> {
        let empty = self
            .detail
            .as_object()
            .into_iter()
            .flatten()
            .find(|(key, value)| key.ends_with("Id") && value.as_str() == Some(""));
        match empty {
            Some((key, _)) => Err(AutopilotError::InvalidEvent(format!(
                "{} event from {} has an empty {key}",
                clip(&self.detail_type),
                clip(&self.source)
            ))),
            None => Ok(()),
        }
    }

    /// SMS's job state change, if that is what arrived.
    pub fn sms_job_state_change(&self) -> Option<Result<JobStateChange, AutopilotError>> {
        self.is(SMS_SOURCE, SMS_JOB_STATE_CHANGE)
            .then(|| self.detail_as::<JobStateChange>())
    }

    /// S3's notification that the plan object (`key` in `bucket`) was written, if an S3
    /// notification arrived: one for another object is refused (the rule should not
    /// send it).
    pub fn plan_changed(&self, bucket: &str, key: &str) -> Option<Result<(), AutopilotError>> {
        self.object_written(bucket, key, "the plan")
    }

    /// S3's notification that `what` (`key` in `bucket`) was written, if an S3
    /// notification arrived: one for another object is refused.
    pub fn object_written(
        &self,
        bucket: &str,
        key: &str,
        what: &str,
    ) -> Option<Result<(), AutopilotError>> {
        let created = self.s3_object_created()?;
        Some(created.and_then(|created| {
            if created.bucket.name == bucket && created.object.key == key {
                return Ok(());
            }
            Err(AutopilotError::InvalidEvent(format!(
                "an S3 notification for s3://{}/{}, not for {what}",
                created.bucket.name, created.object.key
            )))
        }))
    }

    /// MGN's event about one source server, if one of `detail_types` arrived.
    pub fn mgn_server_event(
        &self,
        detail_types: &[&str],
    ) -> Option<Result<MgnServerEvent, AutopilotError>> {
        let wanted = self.source == MGN_SOURCE && detail_types.contains(&self.detail_type.as_str());
        wanted.then(|| {
            let detail = self.detail_as::<MgnDetail>()?;
            let server = self
                .resources
                .iter()
                .find_map(|arn| arn.rsplit_once(":source-server/").map(|(_, id)| id))
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .ok_or_else(|| {
                    AutopilotError::InvalidEvent(format!(
                        "{} event names no source server ARN in its resources",
                        clip(&self.detail_type)
                    ))
                })?;
            Ok(MgnServerEvent {
                server_id: server.into(),
                state: detail.state,
                job_id: detail.job_id,
            })
        })
    }

    /// S3's notification of a new object (EventBridge notifications on the bucket).
    pub fn s3_object_created(&self) -> Option<Result<ObjectCreated, AutopilotError>> {
        self.is(S3_SOURCE, S3_OBJECT_CREATED)
            .then(|| self.detail_as::<ObjectCreated>())
    }

    fn detail_as<T: DeserializeOwned>(&self) -> Result<T, AutopilotError> {
        serde_json::from_value(self.detail.clone()).map_err(|error| {
            AutopilotError::InvalidEvent(format!(
                "{} event from {} has a malformed detail: {}",
                clip(&self.detail_type),
                clip(&self.source),
                brief(&error)
            ))
        })
    }

    /// The error for an event this function does not handle.
    pub fn unexpected(&self, accepted: &str) -> AutopilotError {
        AutopilotError::InvalidEvent(format!(
            "unexpected event `{}` from `{}`; this function accepts {accepted}",
            clip(&self.detail_type),
            clip(&self.source)
        ))
    }
}

/// Longest parser message quoted in an error: serde quotes the offending value, which
/// can be most of a 256 KB event, and the error ends up in the logs.
const MAX_QUOTED: usize = 200;

/// A `source` or `detail-type` as quoted in an error: at most 100 characters.
fn clip(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The parser's message, cut to `MAX_QUOTED` characters.
fn brief(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}… ({} bytes)", &message[..cut], message.len()),
        None => message,
    }
}

/// The JSON size of a payload when it exceeds `MAX_EVENT_BYTES`; counting stops there.
fn oversized(payload: &Value) -> Option<usize> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            if self.0 > MAX_EVENT_BYTES {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, payload)
        .is_err()
        .then_some(counter.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::AppReady;
    use serde_json::json;

    fn envelope(source: &str, detail_type: &str, detail: Value) -> Value {
        json!({
            "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": detail_type, "source": source, "account": "123456789012",
            "time": "2026-11-22T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        })
    }

    #[test]
    fn schedules_sms_events_and_project_events_are_recognised() {
        let schedule =
            Incoming::parse(envelope(SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE, json!({}))).unwrap();
        assert!(schedule.is_schedule());

        let sms = Incoming::parse(envelope(
            SMS_SOURCE,
            SMS_JOB_STATE_CHANGE,
            json!({"state": "COMPLETED", "replication-run-id": "sms-run-1",
                   "replication-job-id": "sms-job-1", "ami-id": "ami-1", "version": "1.0"}),
        ))
        .unwrap();
        let change = sms.sms_job_state_change().unwrap().unwrap();
        assert_eq!(change.replication_job_id, "sms-job-1");
        assert!(sms.project_detail::<AppReady>().is_none());

        let ready = Incoming::parse(envelope(
            EVENT_SOURCE,
            "AppReady",
            json!({"version": 1, "dryRun": false, "appId": "app-1", "appName": null, "servers": 3}),
        ))
        .unwrap();
        assert_eq!(
            ready
                .project_detail::<AppReady>()
                .unwrap()
                .unwrap()
                .body
                .servers,
            3
        );
    }

    #[test]
    fn a_schedule_is_told_apart_by_the_rule_its_resources_name() {
        let of = |resources: Value| {
            let mut event = envelope(SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE, json!({}));
            event["resources"] = resources;
            Incoming::parse(event).unwrap()
        };
        let recheck = of(json!([
            "arn:aws:events:us-east-1:1:rule/stack-launch-recheck"
        ]));
        assert!(recheck.is_schedule_of("stack-launch-recheck"));
        assert!(!recheck.is_schedule_of("launch-recheck"));
        let on_a_bus = of(json!([
            "arn:aws:events:us-east-1:1:rule/bus/stack-launch-recheck"
        ]));
        assert!(on_a_bus.is_schedule_of("stack-launch-recheck"));
        assert!(!of(json!([])).is_schedule_of("stack-launch-recheck"));
        let mut event = envelope(EVENT_SOURCE, "AppReady", json!({}));
        event["resources"] = json!(["arn:aws:events:us-east-1:1:rule/stack-launch-recheck"]);
        assert!(!Incoming::parse(event)
            .unwrap()
            .is_schedule_of("stack-launch-recheck"));
    }

    #[test]
    fn malformed_events_are_rejected_with_what_was_wrong() {
        let error = Incoming::parse(json!({"detail": {}})).unwrap_err();
        assert!(
            error.to_string().contains("not an EventBridge event"),
            "{error}"
        );
        let wrong =
            Incoming::parse(envelope(EVENT_SOURCE, "AppReady", json!({"appId": 7}))).unwrap();
        let error = wrong.project_detail::<AppReady>().unwrap().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("AppReady event from sms-autopilot has a malformed detail"),
            "{error}"
        );
        let error = wrong.unexpected("schedules");
        assert!(error.to_string().contains("accepts schedules"));
    }

    #[test]
    fn an_mgn_event_names_its_source_server_or_is_refused() {
        let mut payload = envelope(MGN_SOURCE, MGN_STALLED_CHANGE, json!({"state": "STALLED"}));
        payload["resources"] =
            json!(["arn:aws:mgn:us-east-1:123456789012:source-server/s-1234567890abcdef0"]);
        let incoming = Incoming::parse(payload.clone()).unwrap();
        let event = incoming
            .mgn_server_event(&[MGN_STALLED_CHANGE])
            .unwrap()
            .unwrap();
        assert_eq!(event.server_id.as_str(), "s-1234567890abcdef0");
        assert_eq!((event.state.as_str(), event.job_id), ("STALLED", None));
        assert!(
            incoming.mgn_server_event(&[MGN_LAUNCH_RESULT]).is_none(),
            "not asked for"
        );

        payload["resources"] = json!(["arn:aws:mgn:us-east-1:123456789012:job/mgnjob-1"]);
        let error = Incoming::parse(payload.clone())
            .unwrap()
            .mgn_server_event(&[MGN_STALLED_CHANGE]);
        let error = error.unwrap().unwrap_err().to_string();
        assert!(error.contains("names no source server ARN"), "{error}");

        payload["detail"] = json!({"status": "STALLED"});
        let error = Incoming::parse(payload)
            .unwrap()
            .mgn_server_event(&[MGN_STALLED_CHANGE]);
        let error = error.unwrap().unwrap_err().to_string();
        assert!(error.contains("malformed detail"), "{error}");
    }
}
