//! Replication runs: what a job does on its own as the clock moves. The seed run at
//! `seedReplicationTime`, one run per `frequency`, PENDING -> ACTIVE -> COMPLETED with a
//! new AMI, or FAILED -> job FAILING -> a retry or the final PAUSED_ON_FAILURE / FAILED
//! the scenario asks for.

use serde::{Deserialize, Serialize};

use super::{secs, Action, Engine, Millis, DAY, HOUR};
use crate::scenario::AfterFailures;
use crate::sms::protocol::{JobState, RunState, RunType};

/// A replication run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Run id.
    pub id: String,
    /// State.
    pub state: RunState,
    /// AUTOMATIC or ON_DEMAND.
    pub run_type: RunType,
    /// When it was scheduled to start.
    pub scheduled_start: Millis,
    /// When it went ACTIVE.
    pub active_since: Option<Millis>,
    /// When it will finish (complete or fail).
    pub finish_at: Option<Millis>,
    /// When it completed.
    pub completed: Option<Millis>,
    /// AMI produced.
    pub ami_id: Option<String>,
    /// Caller's description (on-demand runs).
    pub description: Option<String>,
    /// Status message.
    pub status_message: Option<String>,
    /// Decided at creation from the scenario's fail_runs.
    pub will_fail: bool,
    /// Encryption setting inherited from the job.
    pub encrypted: bool,
    /// KMS key inherited from the job.
    pub kms_key_id: Option<String>,
}

impl Engine {
    /// The seed time came: a PENDING job goes ACTIVE with its first run.
    pub(super) fn seed_job(&mut self, job: usize, epoch: u32) {
        let j = &self.jobs[job];
        if j.schedule_epoch == epoch && j.state == JobState::Pending {
            self.jobs[job].next_run_start = None;
            self.set_job_state(job, JobState::Active, None);
            self.start_run(job, RunType::Automatic, None);
        }
    }

    /// A frequency slot came for an ACTIVE job.
    pub(super) fn next_run(&mut self, job: usize, epoch: u32) {
        let j = &self.jobs[job];
        if j.schedule_epoch != epoch || j.state != JobState::Active {
            return;
        }
        self.jobs[job].next_run_start = None;
        if self.jobs[job].run_in_progress().is_some() {
            // An on-demand run is still going: this slot is skipped, the next one kept.
            self.schedule_next_run(job, self.now);
        } else {
            self.start_run(job, RunType::Automatic, None);
        }
    }

    /// A FAILING job's wait is over: retry, or give up as the scenario says.
    pub(super) fn failing_over(&mut self, job: usize, epoch: u32) {
        let j = &self.jobs[job];
        if j.fail_epoch != epoch || j.state != JobState::Failing {
            return;
        }
        let server = &self.servers[j.server_idx];
        if j.failed_runs >= server.fail_runs {
            let (state, message) = match server.after_failures {
                AfterFailures::Paused => (
                    JobState::PausedOnFailure,
                    "Replication paused after repeated run failures; start an on-demand run to resume",
                ),
                AfterFailures::Failed => (
                    JobState::Failed,
                    "Replication failed: the server could not be replicated after repeated attempts",
                ),
            };
            self.jobs[job].next_run_start = None;
            self.jobs[job].schedule_epoch += 1;
            if state == JobState::Failed {
                // The model: `replicationJobTerminated` "Indicates whether the
                // replication job is deleted or failed."
                let server = self.jobs[job].server_idx;
                self.servers[server].job_terminated = true;
            }
            self.set_job_state(job, state, Some(message.into()));
        } else {
            self.start_run(job, RunType::Automatic, None);
        }
    }

    /// Adds a PENDING run to a job; returns its id.
    pub(super) fn start_run(
        &mut self,
        job: usize,
        run_type: RunType,
        description: Option<String>,
    ) -> String {
        let id = self.new_id("sms-run-", 17);
        let j = &mut self.jobs[job];
        let fail_runs = self.servers[j.server_idx].fail_runs;
        let pending_failures = j
            .runs
            .iter()
            .filter(|r| r.will_fail && matches!(r.state, RunState::Pending | RunState::Active))
            .count() as u32;
        let will_fail = j.failed_runs + pending_failures < fail_runs;
        j.runs.push(Run {
            id: id.clone(),
            state: RunState::Pending,
            run_type,
            scheduled_start: self.now,
            active_since: None,
            finish_at: None,
            completed: None,
            ami_id: None,
            description,
            status_message: None,
            will_fail,
            encrypted: j.encrypted,
            kms_key_id: j.kms_key_id.clone(),
        });
        let run = j.runs.len() - 1;
        let at = self.now + secs(self.cfg.timing.run_start_delay_secs);
        self.schedule(at, Action::RunActivate { job, run });
        id
    }

    pub(super) fn activate_run(&mut self, job: usize, run: usize) {
        let duration = self.servers[self.jobs[job].server_idx].replication_ms;
        let now = self.now;
        let Some(r) = self.jobs[job].runs.get_mut(run) else {
            return;
        };
        if r.state != RunState::Pending {
            return;
        }
        r.state = RunState::Active;
        r.active_since = Some(now);
        let server = self.jobs[job].server_idx;
        if self.servers[server].replication_began.is_none() {
            // The guide's 90 days per server run from its first replication.
            self.servers[server].replication_began = Some(now);
            let days = Millis::try_from(self.cfg.limits.replication_days_per_server)
                .unwrap_or(Millis::MAX);
            let at = now.saturating_add(days.saturating_mul(DAY));
            self.schedule(at, Action::UsageOver { server });
        }
        let Some(r) = self.jobs[job].runs.get_mut(run) else {
            return;
        };
        // Injected failures strike halfway, after some progress, as real ones did.
        let finish = if r.will_fail {
            now + (duration / 2).max(1)
        } else {
            now + duration
        };
        r.finish_at = Some(finish);
        self.schedule(finish, Action::RunFinish { job, run });
    }

    pub(super) fn finish_run(&mut self, job: usize, run: usize) {
        let Some(r) = self.jobs[job].runs.get(run) else {
            return;
        };
        if r.state != RunState::Active {
            return;
        }
        if r.will_fail {
            self.fail_run(job, run);
        } else {
            self.complete_run(job, run);
        }
    }

    fn fail_run(&mut self, job: usize, run: usize) {
        let now = self.now;
        let j = &mut self.jobs[job];
        j.runs[run].state = RunState::Failed;
        j.runs[run].status_message =
            Some("Replication run failed: the connector lost the VM snapshot (injected)".into());
        j.failed_runs += 1;
        j.fail_epoch += 1;
        let epoch = j.fail_epoch;
        self.set_job_state(
            job,
            JobState::Failing,
            Some("The latest replication run failed".into()),
        );
        let at = now + secs(self.cfg.timing.failing_secs);
        self.schedule(at, Action::FailingOver { job, epoch });
    }

    fn complete_run(&mut self, job: usize, run: usize) {
        let now = self.now;
        let ami = self.new_id("ami-", 17);
        let j = &mut self.jobs[job];
        let r = &mut j.runs[run];
        r.state = RunState::Completed;
        r.completed = Some(now);
        r.ami_id = Some(ami.clone());
        r.status_message = None;
        let scheduled_start = r.scheduled_start;
        j.latest_ami = Some(ami.clone());
        j.amis.push(ami.clone());
        if j.keep_amis > 0 {
            let keep = j.keep_amis as usize;
            while j.amis.len() > keep {
                let old = j.amis.remove(0);
                self.pruned_amis.push(old);
            }
        }
        let j = &mut self.jobs[job];
        if j.run_once {
            j.state = JobState::Completed;
            j.history.push((now, JobState::Completed));
            j.status_message = None;
            j.next_run_start = None;
            j.schedule_epoch += 1;
            // The run's event also announces the job's COMPLETED: no second event.
            self.emit(job, JobState::Completed, Some(ami));
            return;
        }
        self.emit(job, JobState::Completed, Some(ami));
        if self.jobs[job].state == JobState::Failing {
            self.jobs[job].fail_epoch += 1;
            self.set_job_state(job, JobState::Active, None);
        } else {
            self.jobs[job].status_message = None;
        }
        if self.jobs[job].next_run_start.is_none() {
            self.schedule_next_run(job, scheduled_start);
        }
    }

    /// The server's days of replication are used up: its ongoing job is terminated
    /// (FAILED, with the reason as status message, its runs in progress FAILED too) and
    /// it takes no new job.
    pub(super) fn end_usage(&mut self, server: usize) {
        self.servers[server].usage_over = true;
        let current = self.servers[server].job_id.as_ref();
        let Some(job) = current.and_then(|id| self.job_by_id.get(id)).copied() else {
            return;
        };
        if !self.jobs[job].state.is_live() {
            return;
        }
        let days = self.cfg.limits.replication_days_per_server;
        let message = format!(
            "Replication terminated: the server reached the limit of {days} days of replication"
        );
        let j = &mut self.jobs[job];
        for r in &mut j.runs {
            if matches!(r.state, RunState::Pending | RunState::Active) {
                r.state = RunState::Failed;
                r.status_message = Some(message.clone());
            }
        }
        j.schedule_epoch += 1;
        j.fail_epoch += 1;
        j.next_run_start = None;
        self.servers[server].job_terminated = true;
        self.set_job_state(job, JobState::Failed, Some(message));
    }

    fn schedule_next_run(&mut self, job: usize, from: Millis) {
        let j = &mut self.jobs[job];
        let freq = Millis::from(j.frequency_hours.max(1)) * HOUR;
        let mut at = from + freq;
        // A run longer than the frequency pushes the next slot out rather than stacking runs.
        while at <= self.now {
            at += freq;
        }
        j.next_run_start = Some(at);
        let epoch = j.schedule_epoch;
        self.schedule(at, Action::NextRun { job, epoch });
    }
}
