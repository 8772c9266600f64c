//! The calls that move a source server's life cycle by hand: ChangeServerLifeCycleState
//! (a test marked done or reverted, a cutover reverted), FinalizeCutover and
//! MarkAsArchived, each refused where the model or the user guide says it does not work.

use crate::mgn::error::MgnError;
use crate::mgn::model::{ChangeableLifeCycleState, JobStatus, LaunchStatus, LifeCycleState};
use crate::scenario::ChangeToCutover;

use super::Engine;

const SOURCE_SERVER: &str = "SOURCE_SERVER";

impl Engine {
    /// ChangeServerLifeCycleState: only once the server has a lag (the model), to
    /// READY_FOR_TEST (a test or cutover reverted) or READY_FOR_CUTOVER (a test marked
    /// done, or a cutover reverted); CUTOVER as the scenario's reading says.
    pub(crate) fn change_life_cycle(
        &mut self,
        id: &str,
        to: ChangeableLifeCycleState,
    ) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let now = self.now;
        let healthy_lag = super::secs(self.settings().timing.continuous_lag_secs);
        let reading = self.settings().readings.change_to_cutover;
        let s = &mut self.servers[index];
        if to == ChangeableLifeCycleState::Cutover && reading == ChangeToCutover::Refused {
            return Err(MgnError::field(
                "lifeCycle.state",
                "the life cycle can be set to READY_FOR_TEST or READY_FOR_CUTOVER only",
            ));
        }
        if s.archived {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{id} is archived"),
            ));
        }
        if s.replication.lag(now, healthy_lag).is_none() {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{id} has no replication lag yet: its life cycle cannot be changed"),
            ));
        }
        use LifeCycleState as L;
        let from = s.life_cycle;
        match (from, to) {
            (L::Testing | L::ReadyForCutover, ChangeableLifeCycleState::ReadyForTest) => {
                s.last_test.reverted = Some(now);
                s.life_cycle = L::ReadyForTest;
            }
            (L::CuttingOver, ChangeableLifeCycleState::ReadyForTest) => {
                s.last_cutover.reverted = Some(now);
                s.life_cycle = L::ReadyForTest;
            }
            (L::Testing, ChangeableLifeCycleState::ReadyForCutover) => {
                s.last_test.finalized = Some(now);
                s.life_cycle = L::ReadyForCutover;
            }
            (L::CuttingOver, ChangeableLifeCycleState::ReadyForCutover) => {
                s.last_cutover.reverted = Some(now);
                s.life_cycle = L::ReadyForCutover;
            }
            (L::CuttingOver, ChangeableLifeCycleState::Cutover) => {
                s.last_cutover.finalized = Some(now);
                s.life_cycle = L::Cutover;
            }
            _ => {
                return Err(MgnError::conflict(
                    id,
                    SOURCE_SERVER,
                    format!("{id} is {from}: its life cycle cannot be changed to {to}"),
                ))
            }
        }
        let to = s.life_cycle;
        self.record_change(id, from, to);
        Ok(())
    }

    fn record_change(&mut self, id: &str, from: LifeCycleState, to: LifeCycleState) {
        self.life_cycle_changes.push(super::LifeCycleChange {
            at: self.now,
            server_id: id.to_owned(),
            from,
            to,
        });
    }

    /// FinalizeCutover: a server CUTTING_OVER whose cutover instance launched goes to
    /// CUTOVER, its replication DISCONNECTED with the disks' totals zero and no lag
    /// (the model's list); the instances stay.
    pub(crate) fn finalize_cutover(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let s = &self.servers[index];
        if s.life_cycle != LifeCycleState::CuttingOver {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!(
                    "{id} is {}: only a server CUTTING_OVER is finalized",
                    s.life_cycle
                ),
            ));
        }
        let launched = s
            .last_cutover
            .initiated
            .as_ref()
            .and_then(|(_, job)| self.job(job).ok())
            .and_then(|job| job.participant(id))
            .is_some_and(|p| p.launch_status == LaunchStatus::Launched);
        if !launched {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{id} has no launched cutover instance to finalize"),
            ));
        }
        let now = self.now;
        let s = &mut self.servers[index];
        s.life_cycle = LifeCycleState::Cutover;
        s.last_cutover.finalized = Some(now);
        self.record_change(id, LifeCycleState::CuttingOver, LifeCycleState::Cutover);
        self.end_replication(index);
        self.announce_stall_change(index);
        Ok(())
    }

    /// MarkAsArchived: only from DISCONNECTED or CUTOVER (the model).
    pub(crate) fn mark_as_archived(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let s = &mut self.servers[index];
        if !matches!(
            s.life_cycle,
            LifeCycleState::Disconnected | LifeCycleState::Cutover
        ) {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!(
                    "{id} is {}: only a DISCONNECTED or CUTOVER server is archived",
                    s.life_cycle
                ),
            ));
        }
        s.archived = true;
        Ok(())
    }
}

impl Engine {
    /// DeleteSourceServer: only once it is out of replication for good (DISCONNECTED,
    /// CUTOVER) or never had an agent (PENDING_INSTALLATION); it leaves its application
    /// and every listing.
    pub(crate) fn delete_source_server(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let s = &mut self.servers[index];
        let deletable = matches!(
            s.life_cycle,
            LifeCycleState::Disconnected
                | LifeCycleState::Cutover
                | LifeCycleState::PendingInstallation
        );
        if !deletable {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!(
                    "{id} is {}: disconnect it from the service first",
                    s.life_cycle
                ),
            ));
        }
        s.added = None;
        s.deleted = true;
        self.place_server(index, None);
        Ok(())
    }

    /// UpdateSourceServer's connector action (an archived server refuses).
    pub(crate) fn set_connector_action(
        &mut self,
        id: &str,
        action: Option<serde_json::Value>,
    ) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let s = &mut self.servers[index];
        if s.archived {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{id} is archived"),
            ));
        }
        if action.is_some() {
            s.connector_action = action;
        }
        Ok(())
    }

    /// DeleteJob: only a COMPLETED job; it leaves DescribeJobs.
    pub(crate) fn delete_job(&mut self, id: &str) -> Result<(), MgnError> {
        let index = self
            .job_by_id
            .get(id)
            .copied()
            .filter(|&i| !self.jobs[i].deleted)
            .ok_or_else(|| MgnError::not_found(id, "JOB"))?;
        let job = &mut self.jobs[index];
        if job.status != JobStatus::Completed {
            return Err(MgnError::conflict(
                id,
                "JOB",
                format!("{id} is {}: only a COMPLETED job is deleted", job.status),
            ));
        }
        job.deleted = true;
        Ok(())
    }
}
