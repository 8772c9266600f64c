//! Unit tests of the model module.

use super::*;

#[test]
fn enums_round_trip_known_and_unknown_values() {
    for wire in ReplicationJobState::WIRE_VALUES {
        let state = ReplicationJobState::from_wire(wire);
        assert!(!state.is_unknown(), "{wire} should be known");
        assert_eq!(state.as_str(), *wire);
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{wire}\""));
    }
    let later: AppLaunchStatus = serde_json::from_str("\"LAUNCH_QUEUED\"").unwrap();
    assert_eq!(later, AppLaunchStatus::Unknown("LAUNCH_QUEUED".into()));
    assert_eq!(serde_json::to_string(&later).unwrap(), "\"LAUNCH_QUEUED\"");
}

#[test]
fn loose_parsing_accepts_event_spellings() {
    assert_eq!(
        ReplicationJobState::from_wire("Completed"),
        ReplicationJobState::Completed
    );
    assert_eq!(
        ReplicationJobState::from_wire("paused on failure"),
        ReplicationJobState::PausedOnFailure
    );
    assert_eq!(
        ReplicationJobState::from_wire("Exploded"),
        ReplicationJobState::Unknown("Exploded".into())
    );
}

/// The user guide's sample outputs spell values as the console shows them; answers
/// spelled so are read as the model's values, never as unknown.
#[test]
fn wire_values_are_read_whatever_their_case_and_separators() {
    assert_eq!(
        ReplicationJobState::from_wire("PausedOnFailure"),
        ReplicationJobState::PausedOnFailure
    );
    assert_eq!(
        ReplicationJobState::from_wire("Active"),
        ReplicationJobState::Active
    );
    assert_eq!(
        ServerCatalogStatus::from_wire("NOT IMPORTED"),
        ServerCatalogStatus::NotImported
    );
    assert_eq!(
        AppLaunchStatus::from_wire("ready-for-launch"),
        AppLaunchStatus::ReadyForLaunch
    );
    let unknown = AppLaunchStatus::from_wire("Launch Queued");
    assert_eq!(unknown, AppLaunchStatus::Unknown("Launch Queued".into()));
    assert_eq!(unknown.as_str(), "Launch Queued");
}

#[test]
fn completed_run_is_seen_through_latest_ami_or_run_list() {
    let mut job = ReplicationJob {
        id: "sms-job-1".into(),
        server_id: "s-1".into(),
        vm_name: None,
        state: ReplicationJobState::Active.into(),
        status_message: None,
        latest_ami_id: None,
        frequency_hours: Some(12),
        run_once: false,
        seed_replication_time: None,
        settings: Default::default(),
        runs: vec![ReplicationRun {
            id: "sms-run-1".into(),
            completed: false,
            ami_id: None,
            status_message: None,
            scheduled_start: None,
            completed_at: None,
        }],
    };
    assert!(!job.has_completed_run());
    job.runs[0].completed = true;
    assert!(job.has_completed_run());
    job.runs.clear();
    job.latest_ami_id = Some("ami-1".into());
    assert!(job.has_completed_run());
}
