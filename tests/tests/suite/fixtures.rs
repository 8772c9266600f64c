//! Real-shaped events kept as fixtures (`tests/fixtures/`, written after the envelopes
//! AWS documents for EventBridge scheduled events and SMS job state changes), round-
//! tripped through the aws_lambda_events types the functions parse them with, through
//! `autopilot_core::trigger::Incoming`, and through the emulator's own event type, so
//! the local stand-in emits exactly the shape the functions accept.

use autopilot_core::trigger::{Incoming, SCHEDULE_DETAIL_TYPE, SMS_JOB_STATE_CHANGE, SMS_SOURCE};
use autopilot_local::SmsEvent;
use aws_lambda_events::cloudwatch_events::sms::JobStateChange;
use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{TimeZone, Utc};
use serde_json::Value;

const SCHEDULED: &[u8] = include_bytes!("../../fixtures/eventbridge-scheduled-event.json");
const SMS_JOB_STATE: &[u8] = include_bytes!("../../fixtures/sms-job-state-change.json");

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixtures are JSON")
}

#[test]
fn scheduled_event_round_trips() {
    let parsed: EventBridgeEvent = serde_json::from_slice(SCHEDULED).expect("EventBridgeEvent");
    assert_eq!(parsed.source, "aws.events");
    assert_eq!(parsed.detail_type, SCHEDULE_DETAIL_TYPE);
    assert_eq!(
        parsed.time,
        Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 15, 0).unwrap())
    );
    assert_eq!(parsed.detail, serde_json::json!({}));
    assert_eq!(parsed.resources.as_ref().map(Vec::len), Some(1));

    let written = serde_json::to_vec(&parsed).expect("serializes");
    let reparsed: EventBridgeEvent = serde_json::from_slice(&written).expect("reparses");
    assert_eq!(parsed, reparsed);
    assert_eq!(json(&written), json(SCHEDULED), "nothing lost or added");

    let incoming = Incoming::parse(json(SCHEDULED)).expect("Incoming");
    assert!(incoming.is_schedule());
    assert!(incoming.sms_job_state_change().is_none());
    assert_eq!(incoming.time, parsed.time);
}

#[test]
fn sms_job_state_change_round_trips() {
    let parsed: CloudWatchEvent<JobStateChange> =
        serde_json::from_slice(SMS_JOB_STATE).expect("CloudWatchEvent<JobStateChange>");
    assert_eq!(parsed.source.as_deref(), Some(SMS_SOURCE));
    assert_eq!(parsed.detail_type.as_deref(), Some(SMS_JOB_STATE_CHANGE));
    assert_eq!(parsed.account_id.as_deref(), Some("123456789012"));
    assert_eq!(
        parsed.time,
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 32, 0).unwrap()
    );
    let detail = parsed.detail.clone().expect("detail");
    assert_eq!(
        detail.state, "Completed",
        "title case, as the CloudWatch Events samples"
    );
    assert_eq!(detail.replication_job_id, "sms-job-0a1b2c3d4e5f60718");
    assert_eq!(detail.replication_run_id, "sms-run-0c7a4d0b2e1f3a5b6");
    assert_eq!(detail.ami_id.as_deref(), Some("ami-0f1e2d3c4b5a69788"));
    assert_eq!(detail.version, "1.0");

    let written = serde_json::to_vec(&parsed).expect("serializes");
    let reparsed: CloudWatchEvent<JobStateChange> =
        serde_json::from_slice(&written).expect("reparses");
    assert_eq!(parsed, reparsed);
    assert_eq!(json(&written), json(SMS_JOB_STATE), "nothing lost or added");

    // The same bytes through the EventBridge envelope type the trigger parser uses.
    let bridged: EventBridgeEvent<JobStateChange> =
        serde_json::from_slice(SMS_JOB_STATE).expect("EventBridgeEvent<JobStateChange>");
    assert_eq!(bridged.detail, detail);

    let incoming = Incoming::parse(json(SMS_JOB_STATE)).expect("Incoming");
    assert!(!incoming.is_schedule());
    let change = incoming
        .sms_job_state_change()
        .expect("an SMS job state change")
        .expect("a well-formed detail");
    assert_eq!(change, detail);
}

#[test]
fn the_emulator_emits_the_documented_sms_shape() {
    let event: SmsEvent = serde_json::from_slice(SMS_JOB_STATE).expect("SmsEvent");
    assert!(event.is_run_completion());
    let emitted = serde_json::to_value(&event).expect("serializes");
    assert_eq!(emitted, json(SMS_JOB_STATE));

    // A job state change without a run completion carries no ami-id at all.
    let mut pending = json(SMS_JOB_STATE);
    pending["detail"]["state"] = "Failed".into();
    pending["detail"]
        .as_object_mut()
        .expect("detail")
        .remove("ami-id");
    let event: SmsEvent = serde_json::from_value(pending.clone()).expect("SmsEvent");
    assert!(!event.is_run_completion());
    let change = Incoming::parse(serde_json::to_value(&event).expect("serializes"))
        .expect("Incoming")
        .sms_job_state_change()
        .expect("an SMS job state change")
        .expect("a well-formed detail");
    assert_eq!(change.ami_id, None);
    assert_eq!(change.state, "Failed");
}

#[test]
fn malformed_events_are_rejected_before_any_side_effect() {
    let mut no_job = json(SMS_JOB_STATE);
    no_job["detail"]
        .as_object_mut()
        .expect("detail")
        .remove("replication-job-id");
    let error = Incoming::parse(no_job)
        .expect("the envelope is fine")
        .sms_job_state_change()
        .expect("an SMS job state change")
        .expect_err("the detail is not");
    assert!(error.to_string().contains("malformed detail"), "{error}");

    let mut no_source = json(SCHEDULED);
    no_source
        .as_object_mut()
        .expect("envelope")
        .remove("source");
    let error = Incoming::parse(no_source).expect_err("no source");
    assert!(
        error.to_string().contains("not an EventBridge event"),
        "{error}"
    );
}
