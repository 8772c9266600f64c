//! SMS's states in the project's words: the one place that knows what a job state, an
//! app launch status or an app replication status means for the decisions. The
//! service's own word is kept beside each phase, for the events and the reports.

use aws_sdk_sms::types as sms;

use crate::migration::LicenseType;
use crate::migration::{
    AppReplicationPhase, LaunchPhase, LaunchState, ReplicationPhase, ReplicationState,
};
use crate::model::{AppLaunchStatus, AppReplicationStatus, ReplicationJobState};

/// Where a job in `state` leaves its server's replication.
pub fn replication_phase(state: &ReplicationJobState) -> ReplicationPhase {
    use ReplicationJobState as S;
    match state {
        S::Pending => ReplicationPhase::Starting,
        S::Active => ReplicationPhase::Replicating,
        S::Failing => ReplicationPhase::Faltering,
        // StartOnDemandReplicationRun resumes a paused job; a FAILED one never runs again.
        S::PausedOnFailure => ReplicationPhase::Stalled,
        S::Failed => ReplicationPhase::Failed,
        S::Completed => ReplicationPhase::Completed,
        S::Deleting => ReplicationPhase::Removing,
        S::Deleted => ReplicationPhase::Removed,
        S::Unknown(_) => ReplicationPhase::Unrecognized,
    }
}

/// A job state as the core keeps it: its phase, and SMS's word for it.
pub fn replication_state(state: ReplicationJobState) -> ReplicationState {
    ReplicationState {
        phase: replication_phase(&state),
        status: state.to_string(),
    }
}

impl From<ReplicationJobState> for ReplicationState {
    fn from(state: ReplicationJobState) -> Self {
        replication_state(state)
    }
}

/// Where an app with launch status `status` stands.
pub fn launch_phase(status: &AppLaunchStatus) -> LaunchPhase {
    use AppLaunchStatus as S;
    match status {
        S::ReadyForConfiguration => LaunchPhase::NeedsConfiguration,
        S::ConfigurationInvalid => LaunchPhase::ConfigurationInvalid,
        S::ConfigurationInProgress | S::ValidationInProgress => LaunchPhase::Validating,
        S::ReadyForLaunch => LaunchPhase::Launchable,
        S::LaunchFailed => LaunchPhase::LaunchFailed,
        S::LaunchPending | S::LaunchInProgress => LaunchPhase::Launching,
        S::Launched => LaunchPhase::Launched,
        // A delta launch updates a launched app: it runs in AWS all along.
        S::PartiallyLaunched | S::DeltaLaunchInProgress | S::DeltaLaunchFailed => {
            LaunchPhase::PartlyLaunched
        }
        S::TerminateInProgress => LaunchPhase::Terminating,
        S::Terminated => LaunchPhase::Terminated,
        S::TerminateFailed => LaunchPhase::TerminationFailed,
        S::Unknown(_) => LaunchPhase::Unrecognized,
    }
}

/// An app launch status as the core keeps it: its phase, and SMS's word for it.
pub fn launch_state(status: AppLaunchStatus) -> LaunchState {
    LaunchState {
        phase: launch_phase(&status),
        status: status.to_string(),
    }
}

impl From<AppLaunchStatus> for LaunchState {
    fn from(status: AppLaunchStatus) -> Self {
        launch_state(status)
    }
}

/// A launch status as ListApps or GetApp words it.
pub fn launch_state_of(wire: &sms::AppLaunchStatus) -> LaunchState {
    launch_state(AppLaunchStatus::from_wire(wire.as_str()))
}

/// Where an app's replication as a whole stands; `None` (nothing said) is not started.
pub fn app_replication_phase(status: Option<&AppReplicationStatus>) -> AppReplicationPhase {
    use AppReplicationStatus as S;
    match status {
        None | Some(S::ReadyForConfiguration | S::ReadyForReplication) => {
            AppReplicationPhase::NotStarted
        }
        Some(S::ConfigurationInvalid) => AppReplicationPhase::ConfigurationInvalid,
        Some(S::ReplicationStopping) => AppReplicationPhase::Stopping,
        Some(S::ReplicationStopped) => AppReplicationPhase::Stopped,
        // Configuring, validating, replicating, replicated, failed, a stop that failed,
        // or a status the model does not list: the app's jobs may run.
        Some(_) => AppReplicationPhase::Running,
    }
}

impl From<AppReplicationStatus> for AppReplicationPhase {
    fn from(status: AppReplicationStatus) -> Self {
        app_replication_phase(Some(&status))
    }
}

/// SMS's license type as the plan names it; `None` for one the model does not list.
pub fn license(value: &sms::LicenseType) -> Option<LicenseType> {
    match value {
        sms::LicenseType::Aws => Some(LicenseType::Aws),
        sms::LicenseType::Byol => Some(LicenseType::Byol),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_launch_status_has_its_phase_and_keeps_its_word() {
        for wire in AppLaunchStatus::WIRE_VALUES {
            let state = launch_state(AppLaunchStatus::from_wire(wire));
            assert_ne!(state.phase, LaunchPhase::Unrecognized, "{wire}");
            assert_eq!(state.status, *wire);
        }
        let unknown = launch_state(AppLaunchStatus::from_wire("LAUNCHING_ON_MARS"));
        assert_eq!(unknown.phase, LaunchPhase::Unrecognized);
        assert_eq!(unknown.status, "LAUNCHING_ON_MARS");
    }

    #[test]
    fn every_listed_job_state_has_its_phase() {
        for wire in ReplicationJobState::WIRE_VALUES {
            let state = replication_state(ReplicationJobState::from_wire(wire));
            assert_ne!(state.phase, ReplicationPhase::Unrecognized, "{wire}");
            assert_eq!(state.status, *wire);
        }
    }

    #[test]
    fn app_replication_is_running_not_started_or_ending_as_smss_statuses_say() {
        use AppReplicationStatus as S;
        let phase = |s: S| app_replication_phase(Some(&s));
        for (status, running, not_started, ending) in [
            (S::ReadyForConfiguration, false, true, true),
            (S::ReadyForReplication, false, true, true),
            (S::ConfigurationInvalid, false, false, false),
            (S::ReplicationInProgress, true, false, false),
            (S::Replicated, true, false, false),
            (S::ReplicationStopping, true, false, true),
            (S::ReplicationStopped, false, true, true),
            (S::ReplicationFailed, true, false, false),
        ] {
            let p = phase(status.clone());
            assert_eq!(
                (p.is_running(), p.is_not_started(), p.is_ending()),
                (running, not_started, ending),
                "{status}"
            );
        }
        assert!(app_replication_phase(None).is_not_started());
    }
}
