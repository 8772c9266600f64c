//! The payloads the functions are invoked with, built in one place: EventBridge's
//! scheduled events for the template's schedules (and when each fires next), and the
//! envelopes of project events a test or the bench hands a function directly.

use std::collections::BTreeMap;

use autopilot_core::events::EVENT_SOURCE;
use autopilot_core::trigger::{S3_OBJECT_CREATED, S3_SOURCE};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::wiring::{FunctionWiring, Wiring, LOCAL_ACCOUNT, LOCAL_REGION};

/// RFC 3339 in UTC with whole seconds, as EventBridge stamps `time`.
pub fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The scheduled event the rule SAM creates for `schedule` of `function` delivers.
pub fn scheduled_event(now: DateTime<Utc>, function: &FunctionWiring, schedule: &str) -> Value {
    rule_event(now, &format!("{}-{schedule}", function.logical_id))
}

/// The notification S3 sends to the account's default bus when an object is written to
/// a bucket with EventBridge notifications on (the artifacts bucket).
pub fn s3_object_created(now: DateTime<Utc>, bucket: &str, key: &str, size: usize) -> Value {
    json!({
        "version": "0",
        "id": format!("s3-{bucket}-{}", now.timestamp()),
        "detail-type": S3_OBJECT_CREATED,
        "source": S3_SOURCE,
        "account": LOCAL_ACCOUNT,
        "time": stamp(now),
        "region": LOCAL_REGION,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size},
            "reason": "PutObject"
        }
    })
}

/// The scheduled event the EventBridge rule named `rule` delivers.
pub fn rule_event(now: DateTime<Utc>, rule: &str) -> Value {
    let id = format!("schedule-{rule}-{}", now.timestamp());
    let arn = format!("arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT}:rule/{rule}");
    let mut event = autopilot_core::trigger::scheduled_event(&id, now, Some(&arn));
    event["account"] = json!(LOCAL_ACCOUNT);
    event["region"] = json!(LOCAL_REGION);
    event
}

/// A project event (source `sms-autopilot`) as the bus would deliver it.
pub fn project_event(now: DateTime<Utc>, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": format!("local-{detail_type}-{}", now.timestamp_millis()),
        "detail-type": detail_type,
        "source": EVENT_SOURCE,
        "account": LOCAL_ACCOUNT,
        "time": stamp(now),
        "region": LOCAL_REGION,
        "resources": [],
        "detail": detail
    })
}

/// When each schedule of the template fires next, by (function index, schedule index).
#[derive(Debug, Default)]
pub struct Schedules {
    next: BTreeMap<(usize, usize), DateTime<Utc>>,
}

impl Schedules {
    /// The (function index, scheduled event) pairs due at `now`, each schedule moved on
    /// by its rate. Every schedule fires at the first call, as a fresh deployment's
    /// soon would.
    pub fn due(&mut self, wiring: &Wiring, now: DateTime<Utc>) -> Vec<(usize, Value)> {
        let mut due = Vec::new();
        for (index, function) in wiring.functions.iter().enumerate() {
            for (slot, schedule) in function.schedules.iter().enumerate() {
                let next = self.next.entry((index, slot)).or_insert(now);
                if *next <= now {
                    let every = chrono::Duration::from_std(schedule.every)
                        .unwrap_or(chrono::Duration::hours(1));
                    *next = now + every;
                    due.push((index, scheduled_event(now, function, &schedule.name)));
                }
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::wiring::ScheduleWiring;
    use std::time::Duration;

    fn wiring() -> Wiring {
        Wiring {
            functions: vec![FunctionWiring {
                logical_id: "JobWatcherFunction".into(),
                binary: "job-watcher".into(),
                environment: BTreeMap::new(),
                reserved_concurrency: None,
                timeout: Duration::from_secs(300),
                schedules: vec![ScheduleWiring {
                    name: "Sweep".into(),
                    every: Duration::from_secs(300),
                }],
                rules: Vec::new(),
            }],
            project_bus: "bus".into(),
            artifacts_bucket: "bucket".into(),
        }
    }

    #[test]
    fn schedules_fire_at_once_then_at_their_rate() {
        let wiring = wiring();
        let start = DateTime::from_timestamp(1_704_067_200, 0).expect("time");
        let mut schedules = Schedules::default();
        let first = schedules.due(&wiring, start);
        assert_eq!(first.len(), 1);
        assert_eq!(
            first[0].1["detail-type"],
            autopilot_core::trigger::SCHEDULE_DETAIL_TYPE
        );
        assert_eq!(
            first[0].1["resources"][0],
            "arn:aws:events:us-east-1:123456789012:rule/JobWatcherFunction-Sweep"
        );
        assert!(schedules
            .due(&wiring, start + chrono::Duration::minutes(4))
            .is_empty());
        assert_eq!(
            schedules
                .due(&wiring, start + chrono::Duration::minutes(5))
                .len(),
            1
        );
    }
}
