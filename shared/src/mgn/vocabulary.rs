//! MGN's states in the project's words: the one place that knows what a source
//! server's data replication state and life-cycle state mean for the decisions. The
//! service's own word is kept beside each phase, for the events and the reports.

use aws_sdk_mgn::types::{DataReplicationState, LaunchStatus, LifeCycleState};

use crate::migration::{CutoverPhase, CutoverState, ReplicationPhase, ReplicationState};
use crate::model::CopyLaunch;

/// Where a server in life-cycle `state` stands in its move.
pub fn cutover_phase(state: &LifeCycleState) -> CutoverPhase {
    use LifeCycleState as S;
    match state {
        // DISCOVERED: found by an agentless discovery, no agent yet.
        S::PendingInstallation | S::Discovered => CutoverPhase::AwaitingAgent,
        S::NotReady => CutoverPhase::NotReady,
        S::ReadyForTest => CutoverPhase::ReadyToTest,
        S::Testing => CutoverPhase::Testing,
        S::ReadyForCutover => CutoverPhase::ReadyToCutOver,
        S::CuttingOver => CutoverPhase::CuttingOver,
        S::Cutover => CutoverPhase::CutOver,
        S::Disconnected => CutoverPhase::Released,
        S::Stopped => CutoverPhase::Stopped,
        _ => CutoverPhase::Unrecognized,
    }
}

/// A life-cycle state as the core keeps it: its phase, and MGN's word for it.
pub fn cutover_state(state: &LifeCycleState) -> CutoverState {
    CutoverState {
        phase: cutover_phase(state),
        status: state.as_str().to_owned(),
    }
}

/// Where a server whose data replication is in `state`, and whose move is in
/// `cutover`, leaves its replication.
pub fn replication_phase(state: &DataReplicationState, cutover: CutoverPhase) -> ReplicationPhase {
    use DataReplicationState as S;
    match state {
        S::Initiating
        | S::InitialSync
        | S::CreatingSnapshot
        | S::PendingSnapshotShipping
        | S::ShippingSnapshot => ReplicationPhase::Starting,
        // A backlog or a rescan is worked through by itself; its lag is what is watched.
        S::Continuous | S::Backlog | S::Rescan => ReplicationPhase::Replicating,
        S::Paused => ReplicationPhase::Paused,
        // RetryDataReplication restarts a stalled replication.
        S::Stalled => ReplicationPhase::Stalled,
        S::Stopped => ReplicationPhase::Completed,
        // FinalizeCutover and DisconnectFromService end replication as asked; a server
        // disconnected otherwise lost its agent, which only the agent's return mends.
        S::Disconnected if cutover.is_done() => ReplicationPhase::Completed,
        S::Disconnected => ReplicationPhase::Failed,
        _ => ReplicationPhase::Unrecognized,
    }
}

/// A data replication state as the core keeps it: its phase, and MGN's word for it.
pub fn replication_state(state: &DataReplicationState, cutover: CutoverPhase) -> ReplicationState {
    ReplicationState {
        phase: replication_phase(state, cutover),
        status: state.as_str().to_owned(),
    }
}

/// Where a server's copy stands in a launch job whose launch status is `status`.
pub fn copy_launch(status: &LaunchStatus) -> CopyLaunch {
    match status {
        LaunchStatus::Pending | LaunchStatus::InProgress => CopyLaunch::Pending,
        LaunchStatus::Launched => CopyLaunch::Launched,
        LaunchStatus::Failed => CopyLaunch::Failed,
        LaunchStatus::Terminated => CopyLaunch::Terminated,
        _ => CopyLaunch::Unrecognized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_state_has_a_phase() {
        for state in LifeCycleState::values() {
            let phase = cutover_phase(&LifeCycleState::from(*state));
            assert_ne!(phase, CutoverPhase::Unrecognized, "{state}");
        }
        for state in DataReplicationState::values() {
            let phase =
                replication_phase(&DataReplicationState::from(*state), CutoverPhase::NotReady);
            assert_ne!(phase, ReplicationPhase::Unrecognized, "{state}");
        }
        let future = LifeCycleState::from("BEAMED_UP");
        assert_eq!(cutover_phase(&future), CutoverPhase::Unrecognized);
        assert_eq!(cutover_state(&future).status, "BEAMED_UP");
    }

    #[test]
    fn a_disconnection_is_a_failure_only_before_the_move_ends() {
        let lost = replication_phase(
            &DataReplicationState::Disconnected,
            CutoverPhase::ReadyToTest,
        );
        assert!(lost.is_failure());
        for done in [CutoverPhase::CutOver, CutoverPhase::Released] {
            let ended = replication_phase(&DataReplicationState::Disconnected, done);
            assert_eq!(ended, ReplicationPhase::Completed, "{done:?}");
        }
        let stalled = replication_state(&DataReplicationState::Stalled, CutoverPhase::NotReady);
        assert_eq!(
            (stalled.phase, stalled.status.as_str()),
            (ReplicationPhase::Stalled, "STALLED")
        );
        assert!(
            !replication_phase(&DataReplicationState::Backlog, CutoverPhase::Testing).is_failure()
        );
    }
}
