//! Replication's detours, as the scenario plays them: a stall whose cause fails the
//! initiation step it names (or the data transfer) and holds replication STALLED until
//! the cause ends or a retry; a backlog that makes a continuous replication fall behind
//! for a while; an agent lost for good.

use crate::mgn::model::{DataReplicationError, DataReplicationState, InitiationStepStatus};
use crate::scenario::StallSpec;

use super::servers::{is_replicating, StallCause, GIB};
use super::{secs, Action, Engine};

impl Engine {
    pub(super) fn stall_starts(&mut self, server: usize, stall: usize) {
        let now = self.now;
        let s = &mut self.servers[server];
        let Some(StallSpec {
            error, for_secs, ..
        }) = s.plan.stalls.get(stall).cloned()
        else {
            return;
        };
        let Some(error) = DataReplicationError::parse(&error) else {
            return;
        };
        let until = for_secs.map(|d| now + secs(d));
        s.replication.cause = Some(StallCause {
            stall,
            error,
            until,
        });
        if let Some(until) = until {
            self.schedule_at(until, Action::StallCauseEnds { server, stall });
        }
        let r = &mut self.servers[server].replication;
        if !is_replicating(r.state) {
            return;
        }
        r.interrupt(now);
        r.epoch += 1;
        if let Some(k) = r.step_in_progress() {
            if let Some((_, steps)) = r.initiation.as_mut() {
                steps[k].1 = InitiationStepStatus::Failed;
            }
        }
        r.state = DataReplicationState::Stalled;
        r.error = Some(error);
    }

    pub(super) fn stall_cause_ends(&mut self, server: usize, stall: usize) {
        let r = &mut self.servers[server].replication;
        if r.cause.as_ref().is_none_or(|c| c.stall != stall) {
            return;
        }
        r.cause = None;
        if r.state == DataReplicationState::Stalled {
            self.begin_initiation(server);
        }
    }

    pub(super) fn agent_lost(&mut self, server: usize) {
        let now = self.now;
        let s = &mut self.servers[server];
        if s.agent_lost.is_some() || s.replication.state == DataReplicationState::Disconnected {
            return;
        }
        s.agent_lost = Some(now);
        let r = &mut s.replication;
        r.interrupt(now);
        r.epoch += 1;
        r.state = DataReplicationState::Disconnected;
    }
    /// Writes outrun replication: a CONTINUOUS replication goes BACKLOG, its lag growing.
    pub(super) fn backlog_starts(&mut self, server: usize, backlog: usize) {
        let now = self.now;
        let s = &mut self.servers[server];
        let Some(spec) = s.plan.backlogs.get(backlog) else {
            return;
        };
        let bytes = u64::from(spec.gib) * GIB;
        let r = &mut s.replication;
        if r.state != DataReplicationState::Continuous {
            return;
        }
        r.interrupt(now);
        r.state = DataReplicationState::Backlog;
        r.backlogged = bytes;
    }

    /// Replication caught up: CONTINUOUS again.
    pub(super) fn backlog_ends(&mut self, server: usize, _backlog: usize) {
        let now = self.now;
        let r = &mut self.servers[server].replication;
        if r.state == DataReplicationState::Backlog {
            r.state = DataReplicationState::Continuous;
            r.consistent_at = Some(now);
            r.backlogged = 0;
        }
    }
}
