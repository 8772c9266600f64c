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

#[test]
fn mgn_settings_name_servers_of_the_estate_and_the_models_errors() {
    let text = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web-01}]
mgn:
  servers:
    web-01:
      stalls:
        - {at_secs: 100, for_secs: 50, error: NOT_A_MODEL_ERROR}
        - {at_secs: 120, error: AGENT_NOT_SEEN}
    db-09: {initial_sync_secs: 0}
"#;
    let Err(ScenarioError::Invalid { problems, .. }) = Scenario::from_text(text) else {
        panic!("invalid MGN settings are refused");
    };
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].contains("db-09") && problems[0].contains("no server"));
    assert!(problems[1].contains("db-09.initial_sync_secs"));
    assert!(problems[2].contains("NOT_A_MODEL_ERROR"));
    assert!(problems[3].contains("stalls[1] starts before"));
    let fine = Scenario::from_text(
        &text
            .replace("NOT_A_MODEL_ERROR", "UNSTABLE_NETWORK")
            .replace("at_secs: 120", "at_secs: 150")
            .replace("    db-09: {initial_sync_secs: 0}\n", ""),
    )
    .expect("valid MGN settings");
    assert_eq!(fine.mgn.server("web-01").stalls.len(), 2);
    assert_eq!(fine.mgn.server("other"), MgnServerSpec::default());
}
