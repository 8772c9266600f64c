//! Unit tests of the scenario module.

use super::*;

#[test]
fn the_built_in_scenarios_are_valid() {
    let planned = Scenario::default_scenario();
    assert!(planned.servers.len() >= 24, "a few dozen servers");
    assert!(planned.apps.is_empty(), "the plan brings the applications");
    assert_eq!(planned.plan_versions().len(), 2);
    let hand_made = Scenario::hand_made_apps();
    assert_eq!(hand_made.servers, planned.servers, "one estate");
    assert!((3..=5).contains(&hand_made.apps.len()));
    assert!(hand_made.plans.is_empty());
}

#[test]
fn committed_schema_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/scenario.schema.json"
    );
    let current = serde_json::to_string_pretty(&Scenario::json_schema()).expect("schema") + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &current).expect("write schema");
    }
    // Compared as JSON values: key order depends on serde_json features that
    // other crates of the build may switch on.
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default();
    let current: serde_json::Value = serde_json::from_str(&current).expect("schema");
    assert_eq!(
        committed, current,
        "run with UPDATE_SCHEMA=1 to refresh {path}"
    );
}
