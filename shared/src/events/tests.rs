//! The events' log lines, keys on the wire, and the committed schemas kept current.

use super::*;

#[test]
fn an_events_log_line_names_what_it_decides_and_not_the_rest() {
    let held = OutgoingEvent::new(
        AppLaunchHeld {
            app_id: "app-1".into(),
            app_name: Some("shop".into()),
            launch_status: "CONFIGURATION_INVALID".into(),
            reason: "server s-1: subnet subnet-1 does not exist".into(),
        },
        false,
    );
    assert_eq!(
        held.about(),
        serde_json::json!({
            "key": held.key(),
            "appId": "app-1",
            "appName": "shop",
            "dryRun": false
        })
    );
}
use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn rendered(schema: &Schema) -> String {
    serde_json::to_string_pretty(schema).expect("schemas serialize") + "\n"
}

/// Regenerate with `UPDATE_SCHEMAS=1 cargo test -p autopilot-core committed_schemas`.
#[test]
fn committed_schemas_match_the_structs() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    let schemas = all_schemas();
    for (name, schema) in &schemas {
        let path = schema_dir().join(format!("{name}.json"));
        let fresh = rendered(schema);
        if update {
            std::fs::write(&path, &fresh).expect("schema dir is writable");
        } else {
            // Compared as JSON values: key order depends on serde_json features
            // that other crates of the build may switch on.
            let committed: Option<serde_json::Value> = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            if committed.as_ref() != Some(&serde_json::to_value(schema).expect("schema")) {
                stale.push(name.to_string());
            }
        }
    }
    let committed = std::fs::read_dir(schema_dir())
        .expect("shared/schemas exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        // The plan's schema lives beside the events' (checked by `plan::tests`).
        .filter(|file| file != "plan.schema.json")
        .filter(|file| {
            !schemas
                .iter()
                .any(|(name, _)| file == &format!("{name}.json"))
        })
        .collect::<Vec<_>>();
    assert!(
        stale.is_empty() && committed.is_empty(),
        "stale schemas {stale:?}, orphaned files {committed:?}; run UPDATE_SCHEMAS=1 cargo test -p autopilot-core committed_schemas"
    );
}

#[test]
fn details_carry_version_and_dry_run_flat() {
    let event = OutgoingEvent::new(
        ReplicationJobRemediated {
            replication_job_id: "sms-job-1".into(),
            server_id: "s-1".into(),
            vm_name: None,
            app_name: Some("office".into()),
            subject: server_subject(Some("fax-01"), &"s-1".into(), Some("office")),
            failed_since: None,
            attempt: 2,
            action: RemediationAction::OnDemandRunStarted,
        },
        true,
    );
    assert_eq!(event.detail_type, "ReplicationJobRemediated");
    let value: serde_json::Value = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["dryRun"], true);
    assert_eq!(value["replicationJobId"], "sms-job-1");
    assert_eq!(value["action"], "onDemandRunStarted");
    assert_eq!(
        value["subject"],
        "VM fax-01 (server s-1) of application office"
    );
    let back: Detail<ReplicationJobRemediated> = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(back.body.attempt, 2);
}

#[test]
fn a_server_is_named_by_what_is_known_of_it() {
    let server = ServerId::from("s-1");
    assert_eq!(server_subject(None, &server, None), "server s-1");
    assert_eq!(
        server_subject(Some("web-01"), &server, None),
        "VM web-01 (server s-1)"
    );
    assert_eq!(
        server_subject(None, &server, Some("shop")),
        "server s-1 of application shop"
    );
}
