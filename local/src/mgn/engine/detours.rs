//! Replication's detours, as the scenario plays them: a stall whose cause fails the
//! initiation step it names (or the data transfer) and holds replication STALLED until
//! the cause ends or a retry; a backlog or a rescan that makes a continuous replication
//! fall behind for a while; an agent lost for good.

use crate::mgn::model::{DataReplicationError, DataReplicationState, InitiationStepStatus};
use crate::scenario::StallSpec;

use super::servers::{is_replicating, CatchUp, StallCause, GIB};
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

    /// Replication falls behind for a while: a CONTINUOUS replication goes BACKLOG (a
    /// backlog of writes) or RESCAN (its disks read again after a reboot), its lag
    /// growing from now.
    pub(super) fn catch_up_starts(&mut self, server: usize, kind: CatchUp, index: usize) {
        let now = self.now;
        let s = &mut self.servers[server];
        let specs = match kind {
            CatchUp::Backlog => &s.plan.backlogs,
            CatchUp::Rescan => &s.plan.rescans,
        };
        let Some(spec) = specs.get(index).cloned() else {
            return;
        };
        let r = &mut s.replication;
        if r.state != DataReplicationState::Continuous {
            return;
        }
        r.interrupt(now);
        match kind {
            CatchUp::Backlog => {
                r.state = DataReplicationState::Backlog;
                r.backlogged = u64::from(spec.gib) * GIB;
            }
            CatchUp::Rescan => {
                r.state = DataReplicationState::Rescan;
                r.rescan = Some((now, now + secs(spec.for_secs)));
            }
        }
    }

    /// Replication caught up: CONTINUOUS again.
    pub(super) fn catch_up_ends(&mut self, server: usize, kind: CatchUp) {
        let now = self.now;
        let r = &mut self.servers[server].replication;
        let caught_up = match kind {
            CatchUp::Backlog => DataReplicationState::Backlog,
            CatchUp::Rescan => DataReplicationState::Rescan,
        };
        if r.state == caught_up {
            r.state = DataReplicationState::Continuous;
            r.consistent_at = Some(now);
            r.backlogged = 0;
            r.rescan = None;
        }
    }
}
