//! The report's model on MGN from listed servers, the resolved plan and the trail.

use std::sync::Arc;

use autopilot_core::migration::{CutoverPhase, ReplicationPhase};
use autopilot_core::plan::resolved::{AppPolicy, ResolvedPlan, ServerPolicy};
use autopilot_core::plan::ReplicationRoute;
use autopilot_core::report::Decision;
use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn server(name: &str, replication: ReplicationPhase, cutover: CutoverPhase) -> ServerFacts {
    ServerFacts {
        name: Some(name.to_owned()),
        replication,
        cutover,
    }
}

fn decision(time: &str, detail_type: &str, detail: serde_json::Value) -> Decision {
    let mut detail = detail;
    detail["dryRun"] = json!(false);
    Decision {
        id: format!("{detail_type}-{time}"),
        time: time.to_owned(),
        detail_type: detail_type.to_owned(),
        detail,
    }
}

fn observed() -> MgnObserved {
    let mut plan = ResolvedPlan {
        plan_version: "v1".into(),
        ..ResolvedPlan::default()
    };
    for (app, depends_on) in [("db", vec![]), ("web", vec!["db".to_owned()])] {
        let policy = AppPolicy {
            depends_on,
            ..AppPolicy::default()
        };
        plan.apps.insert(app.into(), policy);
    }
    for (id, app) in [("s-1", "db"), ("s-2", "web"), ("s-3", "web")] {
        let policy = ServerPolicy {
            app: app.into(),
            route: ReplicationRoute::Jobs,
            replication: Arc::default(),
            launch_template: None,
        };
        plan.servers.insert(id.into(), policy);
    }
    let servers = [
        (
            "s-1",
            server("db-01", ReplicationPhase::Completed, CutoverPhase::CutOver),
        ),
        (
            "s-2",
            server("web-01", ReplicationPhase::Stalled, CutoverPhase::NotReady),
        ),
    ];
    MgnObserved {
        servers: servers.into_iter().map(|(id, s)| (id.into(), s)).collect(),
        plan,
    }
}

#[test]
fn an_mgn_wave_is_reported_from_its_servers_plan_and_trail() {
    let trail = Trail {
        started: Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()),
        decisions: vec![
            decision(
                "2024-01-01T01:00:00Z",
                "AppCutOver",
                json!({ "appName": "db" }),
            ),
            decision(
                "2024-01-01T01:10:00Z",
                "ReplicationProblemDetected",
                json!({ "appName": "web", "vmName": "web-01" }),
            ),
            decision(
                "2024-01-01T01:20:00Z",
                "AppMoveHeld",
                json!({ "appName": "web", "reason": "a person launches its test" }),
            ),
        ],
        samples: Vec::new(),
    };
    let now = Utc.with_ymd_and_hms(2024, 1, 1, 2, 0, 0).unwrap();
    let observed = observed();
    let current = progress(&observed, &trail, trail.started.unwrap(), now);
    assert_eq!(
        (
            current.discovered,
            current.replicated,
            current.replicating,
            current.failed
        ),
        (2, 1, 1, 1),
        "db-01 copied and cut over; web-01 still copying, stalled"
    );
    assert_eq!(
        (current.apps, current.launched, current.elapsed_minutes),
        (2, 1, 120)
    );
    let status = wave_status("wave-1", &observed, &trail, &current, 10, now);
    assert_eq!(
        status.verdict,
        "1 of 2 applications cut over; 1 servers copied, 1 copying, 1 with a replication problem; left to a person: web"
    );
    let web = status.apps.iter().find(|a| a.name == "web").expect("web");
    assert_eq!(web.launch_status, "HELD");
    assert_eq!(
        web.member_names,
        ["web-01", "s-3"],
        "s-3 is not listed: its id stands in"
    );
    assert_eq!(web.depends_on, ["db"]);
    let db = status.apps.iter().find(|a| a.name == "db").expect("db");
    assert_eq!(db.launched_at.as_deref(), Some("2024-01-01T01:00:00Z"));
    assert_eq!(
        status.failures_note,
        "1 replication problems alerted since the start."
    );
    assert_eq!(status.plan.versions.len(), 1, "the version in force");
    assert!(!status.settled);
}
