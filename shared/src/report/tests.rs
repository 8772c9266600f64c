//! The trail read as sections, and the page: what each section makes of decisions, and
//! that nothing a name or a message carries can break out of the page.

use serde_json::json;

use super::decisions::{self, Decision};
use super::{html, AppOutcome, WaveStatus};

fn decision(time: &str, detail_type: &str, detail: serde_json::Value) -> Decision {
    Decision {
        id: time.into(),
        time: time.into(),
        detail_type: detail_type.into(),
        detail,
    }
}

#[test]
fn a_dry_run_tells_each_would_be_change_once_and_a_real_run_every_change() {
    let created = json!({"appName": "shop", "change": "created", "servers": 2, "dryRun": true});
    let real = json!({"appName": "shop", "configuration": "launch", "dryRun": false});
    let trail = [
        decision("t1", "AppPlanned", created.clone()),
        decision("t2", "AppPlanned", created),
        decision("t3", "AppConfigured", real.clone()),
        decision("t4", "AppConfigured", real),
        decision("t5", "AppReady", json!({"appId": "app-1"})),
    ];
    let steps = decisions::plan_steps(&trail);
    let told: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s.time.as_str(), s.what.as_str()))
        .collect();
    assert_eq!(
        told,
        [
            ("t1", "created with 2 servers"),
            ("t3", "launch configuration put"),
            ("t4", "launch configuration put")
        ]
    );
}

#[test]
fn plan_versions_are_named_once_with_their_refusal() {
    let trail = [
        decision(
            "t1",
            "AppPlanned",
            json!({"planVersion": "v1", "appName": "a"}),
        ),
        decision(
            "t2",
            "PlanRejected",
            json!({"planVersion": "v2", "problems": ["line 3: no servers"]}),
        ),
        decision(
            "t3",
            "AppConfigured",
            json!({"planVersion": "v1", "appName": "a"}),
        ),
    ];
    let versions = decisions::plan_versions(&trail);
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (versions[0].version.as_str(), versions[0].refused.clone()),
        ("v1", None)
    );
    assert_eq!(
        versions[1].refused,
        Some(vec!["line 3: no servers".to_owned()])
    );
}

#[test]
fn the_launchers_latest_word_on_an_app_is_its_note_and_a_launch_clears_it() {
    let trail = [
        decision(
            "t1",
            "AppLaunchHeld",
            json!({"appId": "app-1", "reason": "waits for payments"}),
        ),
        decision(
            "t2",
            "AppLaunchFailed",
            json!({"appId": "app-1", "errorCode": "LAUNCH_FAILED", "message": "stack failed", "retrying": true}),
        ),
        decision(
            "t3",
            "AppLaunchHeld",
            json!({"appId": "app-2", "reason": "no subnet"}),
        ),
        decision("t4", "AppLaunched", json!({"appId": "app-2"})),
        decision(
            "t5",
            "AppLaunchHeld",
            json!({"appId": "app-3", "reason": "rehearsed", "dryRun": true}),
        ),
    ];
    let notes = decisions::launcher_notes(&trail);
    assert_eq!(
        notes.into_iter().collect::<Vec<_>>(),
        [(
            "app-1".to_owned(),
            "launch failed (LAUNCH_FAILED): stack failed; tried again".to_owned()
        )]
    );
}

#[test]
fn nothing_in_a_name_or_a_message_can_break_out_of_the_page() {
    let hostile = "<script>alert(1)</script>\"&";
    let status = WaveStatus {
        title: hostile.into(),
        verdict: hostile.into(),
        apps: vec![AppOutcome {
            name: hostile.into(),
            member_names: vec![hostile.into()],
            depends_on: vec![hostile.into()],
            held_by: Some(hostile.into()),
            ..AppOutcome::default()
        }],
        decisions: vec![decision("t1", "AppLaunchHeld", json!({"reason": hostile}))],
        ..WaveStatus::default()
    };
    let page = html::render(&status);
    assert!(!page.contains("<script"), "{page}");
    // Title and heading, verdict, name, member, dependency, note, decision.
    assert_eq!(page.matches("&lt;script&gt;").count(), 8, "{page}");
}
