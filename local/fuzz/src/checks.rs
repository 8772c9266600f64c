//! The fuzzed properties. `event`: any bytes that are JSON go through
//! `Incoming::parse`, `project_detail::<T>()` for every detail type,
//! `sms_job_state_change` and `unexpected` without a panic, and every error is an
//! `InvalidEvent` whose message stays short (no payload echoed into the logs).
//! `scenario`: any UTF-8 text goes through `Scenario::from_text` without a panic, and a
//! scenario it accepts survives a YAML round trip.

use autopilot_core::events::{
    AppConfigured, AppLaunchFailed, AppLaunchHeld, AppLaunched, AppPlanned, AppReady,
    CatalogImportSkipped, CatalogImportStarted, ChangeSetGenerated, ImportCatalogRequested,
    PlanDrift, PlanRejected, ReplicationJobCreated, ReplicationJobFailed, ReplicationJobRecovered,
    ReplicationJobRemediated, ReplicationRunCompleted, ServerSkipped, TemplateGenerated,
};
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use autopilot_local::Scenario;

/// Longest error message an event may produce.
const MAX_MESSAGE: usize = 1_000;

fn check_error(error: &AutopilotError) {
    assert!(
        matches!(error, AutopilotError::InvalidEvent(_)),
        "not an InvalidEvent: {error:?}"
    );
    let message = error.to_string();
    assert!(
        message.len() <= MAX_MESSAGE,
        "a {} byte message: {}",
        message.len(),
        &message[..200]
    );
}

fn check<T>(parsed: Option<Result<T, AutopilotError>>) {
    if let Some(Err(error)) = parsed {
        check_error(&error);
    }
}

/// Event parsing, as every handler starts.
pub fn event(data: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return; // The Lambda runtime refuses what is not JSON before any handler runs.
    };
    let incoming = match Incoming::parse(payload) {
        Ok(incoming) => incoming,
        Err(error) => return check_error(&error),
    };
    let _ = incoming.is_schedule();
    check(incoming.project_detail::<ImportCatalogRequested>());
    check(incoming.project_detail::<CatalogImportStarted>());
    check(incoming.project_detail::<CatalogImportSkipped>());
    check(incoming.project_detail::<ReplicationJobCreated>());
    check(incoming.project_detail::<ServerSkipped>());
    check(incoming.project_detail::<ReplicationJobFailed>());
    check(incoming.project_detail::<ReplicationJobRemediated>());
    check(incoming.project_detail::<ReplicationJobRecovered>());
    check(incoming.project_detail::<ReplicationRunCompleted>());
    check(incoming.project_detail::<AppReady>());
    check(incoming.project_detail::<TemplateGenerated>());
    check(incoming.project_detail::<ChangeSetGenerated>());
    check(incoming.project_detail::<AppLaunched>());
    check(incoming.project_detail::<AppLaunchFailed>());
    check(incoming.project_detail::<AppLaunchHeld>());
    check(incoming.project_detail::<AppPlanned>());
    check(incoming.project_detail::<AppConfigured>());
    check(incoming.project_detail::<PlanDrift>());
    check(incoming.project_detail::<PlanRejected>());
    check(incoming.s3_object_created());
    check(incoming.sms_job_state_change());
    check_error(&incoming.unexpected("fuzzed events"));
}

/// Scenario parsing, as `autopilot-local run --scenario` starts.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // Scenario::load refuses non-UTF-8 files before parsing.
    };
    if let Ok(scenario) = Scenario::from_text(text) {
        let yaml = scenario.to_yaml().expect("an accepted scenario serializes");
        let again = Scenario::from_text(&yaml).expect("a serialized scenario parses");
        assert_eq!(again.servers.len(), scenario.servers.len());
        assert_eq!(again.apps.len(), scenario.apps.len());
    }
}
