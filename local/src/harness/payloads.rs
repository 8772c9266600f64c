//! The payloads the functions are invoked with, built in one place: EventBridge's
//! scheduled events for the template's schedules (and when each fires next), and the
//! envelopes of project events a test or the bench hands a function directly.

use std::collections::BTreeMap;

use autopilot_core::events::EVENT_SOURCE;
use autopilot_core::trigger::{S3_OBJECT_CREATED, S3_SOURCE};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::wiring::{FunctionWiring, ScheduleWiring, Wiring, LOCAL_ACCOUNT, LOCAL_REGION};
use crate::bus::RuleState;

/// RFC 3339 in UTC with whole seconds, as EventBridge stamps `time`.
pub fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The scheduled event the rule SAM creates for `schedule` of `function` delivers: the
/// rule is named as the template names it, else after the function and the event.
pub fn scheduled_event(
    now: DateTime<Utc>,
    function: &FunctionWiring,
    schedule: &ScheduleWiring,
) -> Value {
    match &schedule.rule_name {
        Some(rule) => rule_event(now, rule),
        None => rule_event(now, &format!("{}-{}", function.logical_id, schedule.name)),
    }
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
    /// by its rate. A schedule deployed enabled fires at the first call, as a fresh
    /// deployment's soon would. A named rule follows the state `rules` gives it: none
    /// while disabled, and once enabled, a rate's time after that (a rate counts from
    /// when its rule was created or enabled).
    pub fn due(
        &mut self,
        wiring: &Wiring,
        now: DateTime<Utc>,
        rules: &dyn Fn(&str) -> Option<RuleState>,
    ) -> Vec<(usize, Value)> {
        let mut due = Vec::new();
        for (index, function) in wiring.functions.iter().enumerate() {
            for (slot, schedule) in function.schedules.iter().enumerate() {
                let every = chrono::Duration::from_std(schedule.every)
                    .unwrap_or(chrono::Duration::hours(1));
                let first = match schedule.rule_name.as_deref().and_then(rules) {
                    Some(state) if !state.enabled => {
                        self.next.remove(&(index, slot));
                        continue;
                    }
                    Some(state) => state.since + every,
                    None if !schedule.enabled => continue,
                    None => now,
                };
                let next = self.next.entry((index, slot)).or_insert(first);
                if *next <= now {
                    *next = now + every;
                    due.push((index, scheduled_event(now, function, schedule)));
                }
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The job-watcher's sweep every 5 minutes, and a named one-minute re-check
    /// deployed disabled.
    fn wiring() -> Wiring {
        Wiring {
            functions: vec![FunctionWiring {
                logical_id: "JobWatcherFunction".into(),
                binary: "job-watcher".into(),
                environment: BTreeMap::new(),
                reserved_concurrency: None,
                timeout: Duration::from_secs(300),
                schedules: vec![
                    ScheduleWiring {
                        name: "Sweep".into(),
                        every: Duration::from_secs(300),
                        rule_name: None,
                        enabled: true,
                    },
                    ScheduleWiring {
                        name: "Recheck".into(),
                        every: Duration::from_secs(60),
                        rule_name: Some("stack-recheck".into()),
                        enabled: false,
                    },
                ],
                rules: Vec::new(),
            }],
            project_bus: "bus".into(),
            artifacts_bucket: "bucket".into(),
        }
    }

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_704_067_200, 0).expect("time")
    }

    fn minutes(n: i64) -> DateTime<Utc> {
        start() + chrono::Duration::minutes(n)
    }

    fn no_rules(_: &str) -> Option<RuleState> {
        None
    }

    #[test]
    fn schedules_fire_at_once_then_at_their_rate() {
        let wiring = wiring();
        let mut schedules = Schedules::default();
        let first = schedules.due(&wiring, start(), &no_rules);
        assert_eq!(first.len(), 1, "the disabled re-check does not fire");
        assert_eq!(
            first[0].1["detail-type"],
            autopilot_core::trigger::SCHEDULE_DETAIL_TYPE
        );
        assert_eq!(
            first[0].1["resources"][0],
            "arn:aws:events:us-east-1:123456789012:rule/JobWatcherFunction-Sweep"
        );
        assert!(schedules.due(&wiring, minutes(4), &no_rules).is_empty());
        assert_eq!(schedules.due(&wiring, minutes(5), &no_rules).len(), 1);
    }

    #[test]
    fn a_named_rule_fires_a_rate_after_it_was_enabled_and_stops_when_disabled() {
        let wiring = wiring();
        let mut schedules = Schedules::default();
        let state = |enabled: bool, since: DateTime<Utc>| {
            move |name: &str| (name == "stack-recheck").then_some(RuleState { enabled, since })
        };
        let rechecks = |due: Vec<(usize, Value)>| {
            due.iter()
                .filter(|(_, event)| {
                    event["resources"][0]
                        == "arn:aws:events:us-east-1:123456789012:rule/stack-recheck"
                })
                .count()
        };
        assert_eq!(
            rechecks(schedules.due(&wiring, start(), &state(false, start()))),
            0
        );
        let enabled = state(true, minutes(2));
        assert_eq!(rechecks(schedules.due(&wiring, minutes(2), &enabled)), 0);
        assert_eq!(rechecks(schedules.due(&wiring, minutes(3), &enabled)), 1);
        assert_eq!(rechecks(schedules.due(&wiring, minutes(4), &enabled)), 1);
        let disabled = state(false, minutes(4));
        assert_eq!(rechecks(schedules.due(&wiring, minutes(5), &disabled)), 0);
        let again = state(true, minutes(7));
        assert_eq!(rechecks(schedules.due(&wiring, minutes(7), &again)), 0);
        assert_eq!(rechecks(schedules.due(&wiring, minutes(8), &again)), 1);
    }
}
