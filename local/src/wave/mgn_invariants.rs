//! What an MGN wave must never do, checked from the decisions the functions published
//! and what MGN and EC2 hold at the end: no application cut over twice, every decision
//! key naming one decision, no test instance left running, no launch MGN had to refuse.
//! The launch guards (tests and cutovers in dependency order, inside their windows, a
//! cutover only after a passed test) are checked on MGN's own record in
//! [`super::mgn_launches`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::outcome::{bus_events, LogEntry};
use crate::harness::invariants::{key_breaches, SeenEvent};
use crate::mgn::InstanceView;

/// The decisions made (not a dry run's), in the order they were published.
fn decided(log: &[LogEntry]) -> Vec<SeenEvent<'_>> {
    bus_events(log)
        .filter(|seen| seen.event["detail"]["dryRun"] == false)
        .collect()
}

fn detail_type(event: &Value) -> &str {
    event["detail-type"].as_str().unwrap_or_default()
}

/// Breaches of the guards the decisions published show: an application cut over twice,
/// a key naming two decisions.
pub fn breaches(log: &[LogEntry]) -> Vec<String> {
    let decided = decided(log);
    let mut cut_over: BTreeMap<&str, &str> = BTreeMap::new();
    let mut breaches = key_breaches(&decided);
    for seen in decided
        .iter()
        .filter(|s| detail_type(s.event) == "AppCutOver")
    {
        let app = seen.event["detail"]["appName"].as_str().unwrap_or_default();
        if let Some(first) = cut_over.insert(app, seen.time) {
            breaches.push(format!(
                "{}: {app} cut over again (first at {first})",
                seen.time
            ));
        }
    }
    breaches
}

/// Test instances still running at the wave's end: a decided test terminates its own.
pub fn left_running(instances: &[InstanceView]) -> Vec<String> {
    instances
        .iter()
        .filter(|i| i.test && !i.terminated)
        .map(|i| format!("test instance {} of {} left running", i.id, i.server_id))
        .collect()
}

/// Launches, finalizations and archivings MGN refused: the autopilot asked for what
/// the service does not allow.
pub fn refused(refusals: &BTreeMap<String, u64>) -> Vec<String> {
    const GUARDED: [&str; 5] = [
        "StartTest",
        "StartCutover",
        "FinalizeCutover",
        "MarkAsArchived",
        "ChangeServerLifeCycleState",
    ];
    refusals
        .iter()
        .filter(|(call, _)| GUARDED.iter().any(|op| call.starts_with(&format!("{op} "))))
        .map(|(call, count)| format!("MGN refused {call} {count} times"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cut_over(time: &str, app: &str, key: &str) -> LogEntry {
        LogEntry::Event {
            time: time.to_owned(),
            bus: "sms-autopilot".to_owned(),
            event: json!({
                "detail-type": "AppCutOver",
                "detail": { "appName": app, "dryRun": false, "key": key },
            }),
        }
    }

    #[test]
    fn an_application_cut_over_twice_is_named() {
        let log = [
            cut_over("2024-01-06T02:00:00Z", "db", "AppCutOver/db/1"),
            cut_over("2024-01-06T02:30:00Z", "web", "AppCutOver/web/1"),
            cut_over("2024-01-06T03:00:00Z", "db", "AppCutOver/db/2"),
        ];
        assert_eq!(
            breaches(&log),
            ["2024-01-06T03:00:00Z: db cut over again (first at 2024-01-06T02:00:00Z)"]
        );
        assert_eq!(breaches(&log[..2]), Vec::<String>::new());
    }

    #[test]
    fn test_instances_left_running_and_refused_launches_are_named() {
        let left = [
            InstanceView {
                id: "i-1".into(),
                server_id: "s-1".into(),
                test: true,
                terminated: false,
                ..InstanceView::default()
            },
            InstanceView {
                id: "i-2".into(),
                server_id: "s-1".into(),
                test: false,
                terminated: false,
                ..InstanceView::default()
            },
        ];
        assert_eq!(
            left_running(&left),
            ["test instance i-1 of s-1 left running"]
        );
        let refusals = BTreeMap::from([
            ("StartCutover ConflictException".to_owned(), 1),
            ("ListWaves ValidationException".to_owned(), 1),
        ]);
        assert_eq!(
            refused(&refusals),
            ["MGN refused StartCutover ConflictException 1 times"]
        );
    }
}
