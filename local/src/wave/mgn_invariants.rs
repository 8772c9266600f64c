//! What an MGN wave must never do, checked from the decisions the functions published
//! and what MGN and EC2 hold at the end: no cutover without a passed test of that
//! application; no test before the tests of the applications it depends on passed, no
//! cutover before their cutovers; none outside its window; no application cut over
//! twice; no server cut over without a test since an operator reverted its passed one;
//! no test instance left running; no launch MGN had to refuse; every decision key naming
//! one decision.

use std::collections::BTreeMap;

use autopilot_core::plan::{Plan, PlannedApp};
use autopilot_core::readiness::LaunchWindow;
use chrono::{DateTime, Utc};
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

/// Breaches of the guards, from the decisions published.
pub fn breaches(log: &[LogEntry], plan: &Plan) -> Vec<String> {
    let decided = decided(log);
    let apps: BTreeMap<&str, &PlannedApp> = plan
        .applications
        .iter()
        .map(|a| (a.name.as_str(), a))
        .collect();
    let mut passed_test: BTreeMap<&str, &str> = BTreeMap::new();
    let mut cut_over: BTreeMap<&str, &str> = BTreeMap::new();
    let mut breaches = key_breaches(&decided);
    for seen in &decided {
        let detail = &seen.event["detail"];
        let app = detail["appName"].as_str().unwrap_or_default();
        let kind = detail["kind"].as_str().unwrap_or_default();
        match (detail_type(seen.event), kind) {
            ("AppLaunchPassed", "test") => {
                passed_test.entry(app).or_insert(seen.time);
            }
            ("AppCutOver", _) => {
                if let Some(first) = cut_over.insert(app, seen.time) {
                    breaches.push(format!(
                        "{}: {app} cut over again (first at {first})",
                        seen.time
                    ));
                }
            }
            ("AppLaunchStarted", _) => {
                let planned = apps.get(app).copied();
                breaches.extend(start_breaches(
                    seen,
                    app,
                    kind,
                    planned,
                    (&passed_test, &cut_over),
                ));
            }
            _ => {}
        }
    }
    breaches
}

/// What a launch started at `seen` breaks: a cutover without a passed test or after its
/// cutover, a dependency not yet tested (for a test) or cut over (for a cutover), a
/// closed window.
fn start_breaches(
    seen: &SeenEvent<'_>,
    app: &str,
    kind: &str,
    planned: Option<&PlannedApp>,
    (passed_test, cut_over): (&BTreeMap<&str, &str>, &BTreeMap<&str, &str>),
) -> Vec<String> {
    let mut breaches = Vec::new();
    let at = seen.time;
    if kind == "cutover" && !passed_test.contains_key(app) {
        breaches.push(format!("{at}: {app} cutover started without a passed test"));
    }
    if kind == "cutover" && cut_over.contains_key(app) {
        breaches.push(format!("{at}: {app} cutover started after its cutover"));
    }
    let Some(planned) = planned else {
        return breaches;
    };
    for dependency in &planned.depends_on {
        let done = match kind {
            "test" => passed_test.contains_key(dependency.as_str()),
            _ => cut_over.contains_key(dependency.as_str()),
        };
        if !done {
            breaches.push(format!("{at}: {app} {kind} started before {dependency}'s"));
        }
    }
    let window = match kind {
        "test" => planned.test_window.as_ref().or(planned.window.as_ref()),
        _ => planned.window.as_ref(),
    };
    let started: Option<DateTime<Utc>> = at.parse().ok();
    let closed = window
        .and_then(|w| w.parse::<LaunchWindow>().ok())
        .zip(started)
        .is_some_and(|(window, at)| !window.contains(at));
    if closed {
        breaches.push(format!("{at}: {app} {kind} started outside its window"));
    }
    breaches
}

/// A server whose passed test an operator reverted at `at` must be tested again before
/// its next cutover. From MGN's jobs: a cutover launched with it after the revert needs
/// a test launched with it since the revert. A cutover asked for in the revert's own
/// instant is let be: MGN has no conditional launch, so a run that read the server ready
/// just before the revert races it in any client.
pub fn retested(jobs: &[Value], reverted: Option<&(String, DateTime<Utc>)>) -> Vec<String> {
    let Some((server, at)) = reverted else {
        return Vec::new();
    };
    let launched_with = |initiated_by: &str| -> Vec<DateTime<Utc>> {
        jobs.iter()
            .filter(|job| job["type"] == "LAUNCH" && job["initiatedBy"] == initiated_by)
            .filter(|job| {
                job["participatingServers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["sourceServerID"] == server.as_str())
            })
            .filter_map(|job| job["creationDateTime"].as_str()?.parse().ok())
            .collect()
    };
    let tests = launched_with("START_TEST");
    launched_with("START_CUTOVER")
        .into_iter()
        .filter(|cutover| cutover > at)
        .filter(|cutover| !tests.iter().any(|test| test >= at && test < cutover))
        .map(|cutover| {
            format!("{cutover}: {server} cut over without a test since its passed test was reverted at {at}")
        })
        .collect()
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

    fn event(time: &str, detail_type: &str, detail: Value) -> LogEntry {
        let mut detail = detail;
        detail["dryRun"] = json!(false);
        detail["key"] = json!(format!("{detail_type}/{time}"));
        LogEntry::Event {
            time: time.to_owned(),
            bus: "sms-autopilot".to_owned(),
            event: json!({ "detail-type": detail_type, "detail": detail }),
        }
    }

    fn started(time: &str, app: &str, kind: &str) -> LogEntry {
        event(
            time,
            "AppLaunchStarted",
            json!({ "appName": app, "kind": kind }),
        )
    }

    fn plan() -> Plan {
        Plan::parse(
            "version: 1\napplications:\n  - name: db\n    window: \"sat 00:00-24:00\"\n    groups: [{name: g, servers: [db-01]}]\n  - name: web\n    dependsOn: [db]\n    groups: [{name: g, servers: [web-01]}]\n",
        )
        .expect("plan")
    }

    #[test]
    fn every_guard_is_named_when_broken() {
        // 2024-01-01 was a Monday; db's window is Saturdays.
        let log = [
            started("2024-01-01T00:00:00Z", "web", "test"),
            started("2024-01-06T01:00:00Z", "db", "cutover"),
            event(
                "2024-01-06T02:00:00Z",
                "AppCutOver",
                json!({ "appName": "db" }),
            ),
            event(
                "2024-01-06T03:00:00Z",
                "AppCutOver",
                json!({ "appName": "db" }),
            ),
            started("2024-01-01T04:00:00Z", "db", "test"),
        ];
        let found = breaches(&log, &plan());
        let expected = [
            "2024-01-01T00:00:00Z: web test started before db's",
            "2024-01-06T01:00:00Z: db cutover started without a passed test",
            "2024-01-06T03:00:00Z: db cut over again (first at 2024-01-06T02:00:00Z)",
            "2024-01-01T04:00:00Z: db test started outside its window",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn a_reverted_test_must_be_run_again_before_the_cutover() {
        let job = |initiated_by: &str, at: &str, server: &str| {
            json!({
                "type": "LAUNCH",
                "initiatedBy": initiated_by,
                "creationDateTime": at,
                "participatingServers": [{ "sourceServerID": server }],
            })
        };
        let reverted = (
            "s-1".to_owned(),
            "2024-01-01T01:00:00Z".parse().expect("time"),
        );
        let early = job("START_TEST", "2024-01-01T00:10:00Z", "s-1");
        let racing = job("START_CUTOVER", "2024-01-01T01:00:00Z", "s-1");
        let unretested = job("START_CUTOVER", "2024-01-01T01:30:00Z", "s-1");
        let other = job("START_CUTOVER", "2024-01-01T01:30:00Z", "s-2");
        let retest = job("START_TEST", "2024-01-01T01:10:00Z", "s-1");
        let before = [early.clone(), racing.clone(), unretested.clone(), other];
        assert_eq!(
            retested(&before, Some(&reverted)),
            ["2024-01-01 01:30:00 UTC: s-1 cut over without a test since its passed test was reverted at 2024-01-01 01:00:00 UTC"]
        );
        let after = [early, racing, retest, unretested];
        assert!(retested(&after, Some(&reverted)).is_empty());
        assert!(retested(&before, None).is_empty());
    }

    #[test]
    fn a_wave_in_order_breaks_nothing() {
        let passed = |time: &str, app: &str| {
            event(
                time,
                "AppLaunchPassed",
                json!({ "appName": app, "kind": "test" }),
            )
        };
        let log = [
            started("2024-01-06T00:00:00Z", "db", "test"),
            passed("2024-01-06T01:00:00Z", "db"),
            started("2024-01-06T01:00:00Z", "web", "test"),
            started("2024-01-06T02:00:00Z", "db", "cutover"),
            event(
                "2024-01-06T03:00:00Z",
                "AppCutOver",
                json!({ "appName": "db" }),
            ),
            passed("2024-01-06T03:00:00Z", "web"),
            started("2024-01-06T04:00:00Z", "web", "cutover"),
        ];
        assert_eq!(breaches(&log, &plan()), Vec::<String>::new());
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
