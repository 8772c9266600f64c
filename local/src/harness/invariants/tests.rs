//! Unit tests of the wave invariants.

use serde_json::json;

use super::{key_breaches, SeenEvent};

fn published(detail_type: &str, detail: serde_json::Value) -> serde_json::Value {
    json!({"source": "sms-autopilot", "detail-type": detail_type, "detail": detail})
}

#[test]
fn one_key_must_name_one_decision() {
    let alert = published(
        "AppLaunchFailed",
        json!({"key": "app-1/1/LAUNCH_FAILED", "message": "a"}),
    );
    let repeat = alert.clone();
    let other = published(
        "AppLaunchFailed",
        json!({"key": "app-1/1/LAUNCH_FAILED", "message": "b"}),
    );
    let template = |generated: &str| {
        published(
            "TemplateGenerated",
            json!({"key": "app-1/apps/t.json", "generated": {"key": generated}}),
        )
    };
    let (first, again) = (template("one.json"), template("two.json"));
    let unkeyed = published("AppReady", json!({"appId": "app-1"}));
    let seen = |event| SeenEvent { time: "t", event };
    let fine = [seen(&alert), seen(&repeat), seen(&first), seen(&again)];
    assert_eq!(key_breaches(&fine), Vec::<String>::new());
    let broken = key_breaches(&[seen(&alert), seen(&other), seen(&unkeyed)]);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("names two decisions"), "{broken:?}");
    assert!(broken[1].contains("AppReady at t has no key"), "{broken:?}");
}

#[tokio::test]
async fn a_launch_begun_before_its_dependency_was_launched_is_a_breach() {
    use super::{launched_before_dependencies, AppLaunchStatus};
    let emulator = crate::Emulator::start(
        crate::Scenario::hand_made_apps(),
        crate::EmulatorOptions::default(),
    )
    .await
    .expect("emulator starts");
    let mut state = emulator.state();
    emulator.shutdown().await;
    assert!(state.apps.len() >= 2, "the scenario brings applications");
    let (shop, payments) = (state.apps[0].name.clone(), state.apps[1].name.clone());
    let depends_on = [(shop.clone(), vec![payments.clone()])]
        .into_iter()
        .collect();
    state.apps[0].launch_status = AppLaunchStatus::LaunchPending;
    state.apps[1].launch_status = AppLaunchStatus::LaunchInProgress;
    let mut seen = std::collections::BTreeSet::new();
    let early = launched_before_dependencies(&state, &depends_on, &mut seen);
    assert_eq!(early.len(), 1, "{early:?}");
    assert!(early[0].contains(&payments), "{early:?}");
    // Seen once: the same launch is not reported again.
    assert!(launched_before_dependencies(&state, &depends_on, &mut seen).is_empty());
    state.apps[1].launch_status = AppLaunchStatus::Launched;
    let mut fresh = std::collections::BTreeSet::new();
    assert!(launched_before_dependencies(&state, &depends_on, &mut fresh).is_empty());
}

#[test]
fn only_launches_sms_refused_are_breaches() {
    let refusals = [
        (
            "CreateReplicationJob ReplicationJobAlreadyExistsException".to_owned(),
            3,
        ),
        ("LaunchApp OperationNotPermittedException".to_owned(), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        super::refused_launches(&refusals),
        vec!["1 calls refused by SMS: LaunchApp OperationNotPermittedException".to_owned()]
    );
}
