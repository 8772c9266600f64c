//! The calls that steer a server's data replication: PauseReplication keeps what was
//! copied and ResumeReplication goes on from there; StopReplication deletes it (the
//! agent stays) and StartReplication initiates again from nothing; RetryDataReplication
//! initiates a STALLED replication again; DisconnectFromService ends replication for good.

use crate::mgn::error::MgnError;
use crate::mgn::model::{DataReplicationState, LifeCycleState};

use super::servers::is_replicating;
use super::Engine;

const SOURCE_SERVER: &str = "SOURCE_SERVER";

impl Engine {
    /// The server `id` for a call that steers its replication: refused once archived or
    /// disconnected, when nothing is left to steer.
    fn steerable(&self, id: &str, call: &str) -> Result<usize, MgnError> {
        let index = self.server_index(id)?;
        let s = &self.servers[index];
        if s.archived {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{call}: source server {id} is archived"),
            ));
        }
        if s.replication.state == DataReplicationState::Disconnected {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{call}: source server {id} is disconnected from the service"),
            ));
        }
        Ok(index)
    }

    pub(crate) fn pause_replication(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.steerable(id, "PauseReplication")?;
        let now = self.now;
        let r = &mut self.servers[index].replication;
        if !is_replicating(r.state) && r.state != DataReplicationState::Stalled {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!(
                    "PauseReplication: replication of {id} is {}, not under way",
                    r.state
                ),
            ));
        }
        r.interrupt(now);
        r.epoch += 1;
        r.paused_in = Some(r.state);
        r.state = DataReplicationState::Paused;
        self.announce_stall_change(index);
        Ok(())
    }

    pub(crate) fn resume_replication(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.steerable(id, "ResumeReplication")?;
        let r = &mut self.servers[index].replication;
        if r.state != DataReplicationState::Paused {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!(
                    "ResumeReplication: replication of {id} is {}, not PAUSED",
                    r.state
                ),
            ));
        }
        r.paused_in = None;
        // Replication servers were kept: it initiates again and goes on where it was.
        self.begin_initiation(index);
        self.announce_stall_change(index);
        Ok(())
    }

    pub(crate) fn stop_replication(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.steerable(id, "StopReplication")?;
        let s = &mut self.servers[index];
        if s.replication.state == DataReplicationState::Stopped {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("StopReplication: replication of {id} is already STOPPED"),
            ));
        }
        let r = &mut s.replication;
        r.epoch += 1;
        r.forget_data();
        r.state = DataReplicationState::Stopped;
        r.initiation = None;
        r.error = None;
        if matches!(
            s.life_cycle,
            LifeCycleState::NotReady | LifeCycleState::ReadyForTest
        ) {
            s.life_cycle = LifeCycleState::Stopped;
        }
        self.announce_stall_change(index);
        Ok(())
    }

    pub(crate) fn start_replication(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.steerable(id, "StartReplication")?;
        let s = &mut self.servers[index];
        if s.replication.state != DataReplicationState::Stopped {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!(
                    "StartReplication: replication of {id} is {}, not STOPPED",
                    s.replication.state
                ),
            ));
        }
        if s.life_cycle == LifeCycleState::Stopped {
            s.life_cycle = LifeCycleState::NotReady;
        }
        self.begin_initiation(index);
        self.announce_stall_change(index);
        Ok(())
    }

    /// RetryDataReplication: only a STALLED replication (the model's condition); its
    /// refusal is the ValidationException the operation's errors allow. A stall whose
    /// cause lasts until retried is over; one whose cause lasts a while stalls again.
    pub(crate) fn retry_data_replication(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let state = self.servers[index].replication.state;
        if state != DataReplicationState::Stalled {
            return Err(MgnError::field(
                "sourceServerID",
                format!("replication of {id} is {state}: only a STALLED replication is retried"),
            ));
        }
        let r = &mut self.servers[index].replication;
        if r.cause.as_ref().is_some_and(|c| c.until.is_none()) {
            r.cause = None;
        }
        self.begin_initiation(index);
        self.announce_stall_change(index);
        Ok(())
    }

    /// DisconnectFromService: replication DISCONNECTED at once, disks' totals zero, the
    /// lag cleared (the model's list); the life cycle DISCONNECTED. Launched instances stay.
    pub(crate) fn disconnect_from_service(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let s = &mut self.servers[index];
        if s.life_cycle == LifeCycleState::Disconnected {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("DisconnectFromService: {id} is already disconnected"),
            ));
        }
        s.life_cycle = LifeCycleState::Disconnected;
        self.end_replication(index);
        self.announce_stall_change(index);
        Ok(())
    }

    /// Replication ended for good (disconnected, or cut over and finalized).
    pub(super) fn end_replication(&mut self, index: usize) {
        let r = &mut self.servers[index].replication;
        r.epoch += 1;
        r.forget_data();
        r.state = DataReplicationState::Disconnected;
        r.totals_cleared = true;
        r.initiation = None;
        r.error = None;
        r.cause = None;
        r.paused_in = None;
    }
}
