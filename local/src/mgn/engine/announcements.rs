//! What the engine announces on EventBridge (`mgn::events` says which events and when):
//! each event recorded, and handed to every live subscriber unless the scenario's share
//! of lost events takes it.

use tokio::sync::mpsc::UnboundedSender;

use crate::mgn::events::{
    MgnEvent, MgnEventDetail, LAUNCH_RESULT, LIFECYCLE_STATE_CHANGE, SOURCE, STALLED_CHANGE,
};
use crate::mgn::model::DataReplicationState;
use crate::scenario::uuid_like;

use super::{rfc3339, Engine, LaunchKind};

impl Engine {
    fn announce(&mut self, server: usize, detail_type: &str, state: &str, job_id: Option<String>) {
        let event = MgnEvent {
            version: "0".into(),
            id: uuid_like(&mut self.event_ids),
            detail_type: detail_type.into(),
            source: SOURCE.into(),
            account: self.account.clone(),
            time: rfc3339(self.now),
            region: self.region.clone(),
            resources: vec![self.servers[server].arn.clone()],
            detail: MgnEventDetail {
                state: state.into(),
                job_id,
            },
        };
        if self.delivery.delivers() {
            self.subscribers.retain(|tx| tx.send(event.clone()).is_ok());
        }
        self.events.push(event);
    }

    /// A test or cutover launch of `server` by `job` completed.
    pub(super) fn announce_launch(
        &mut self,
        server: usize,
        kind: LaunchKind,
        job: &str,
        launched: bool,
    ) {
        let state = match (kind, launched) {
            (LaunchKind::Test, true) => "TEST_LAUNCH_SUCCEEDED",
            (LaunchKind::Test, false) => "TEST_LAUNCH_FAILED",
            (LaunchKind::Cutover, true) => "CUTOVER_LAUNCH_SUCCEEDED",
            (LaunchKind::Cutover, false) => "CUTOVER_LAUNCH_FAILED",
        };
        self.announce(server, LAUNCH_RESULT, state, Some(job.to_owned()));
    }

    /// `server` reached READY_FOR_TEST: announced the first time only.
    pub(super) fn announce_ready_for_test(&mut self, server: usize) {
        if !self.servers[server].announced_ready {
            self.servers[server].announced_ready = true;
            self.announce(server, LIFECYCLE_STATE_CHANGE, "READY_FOR_TEST", None);
        }
    }

    /// Announces `server`'s replication becoming STALLED, or no longer being so, when it
    /// changed since the last announcement.
    pub(super) fn announce_stall_change(&mut self, server: usize) {
        let s = &mut self.servers[server];
        let stalled = s.replication.state == DataReplicationState::Stalled;
        if stalled != s.announced_stalled {
            s.announced_stalled = stalled;
            let state = if stalled { "STALLED" } else { "NOT_STALLED" };
            self.announce(server, STALLED_CHANGE, state, None);
        }
    }

    /// Registers a subscriber; it receives the events announced from now on.
    pub(crate) fn subscribe(&mut self, tx: UnboundedSender<MgnEvent>) {
        self.subscribers.push(tx);
    }

    /// Every event announced so far (delivered or not).
    pub(crate) fn events(&self) -> &[MgnEvent] {
        &self.events
    }

    /// Events announced and never delivered.
    pub(crate) fn events_dropped(&self) -> u64 {
        self.delivery.dropped()
    }
}
