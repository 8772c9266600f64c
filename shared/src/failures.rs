//! Failure bookkeeping for the job watcher: which jobs newly failed or recovered since
//! the previous snapshot (so each failure is alerted exactly once), and whether a
//! failed job may be remediated within its retry budget and the service's daily limit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{JobId, ReplicationJob, RunId, ServerId};

use crate::migration::{ReplicationPhase, ReplicationState};

/// What the watcher remembers between invocations; stored as JSON in the artifacts
/// bucket. Unknown fields are ignored so an older function reads a newer snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureSnapshot {
    /// Jobs currently in a failure state that were already alerted.
    #[serde(default)]
    pub failures: BTreeMap<JobId, FailureRecord>,
    /// Remediation attempts per server (a recreated job has a new id, the server keeps
    /// its budget).
    #[serde(default)]
    pub remediations: BTreeMap<ServerId, Vec<DateTime<Utc>>>,
    /// The latest completed run already announced per job, so a run completion seen
    /// both through SMS's event and a sweep is announced once.
    #[serde(default)]
    pub announced_runs: BTreeMap<JobId, RunId>,
    /// Events decided but not yet published. They are stored before the watcher acts or
    /// publishes, so an invocation cut off half way loses none of them: the next one
    /// publishes what is left here.
    #[serde(default)]
    pub outbox: Vec<crate::events::OutgoingEvent>,
    /// Servers whose FAILED job the watcher deleted and that still wait for their new
    /// job: SMS refuses CreateReplicationJob while the old job is DELETING.
    #[serde(default)]
    pub pending_recreations: BTreeMap<ServerId, PendingRecreation>,
    /// Servers already warned that their replication ends soon.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub expiry_warned: BTreeSet<ServerId>,
    /// When replication began for servers whose job the watcher deleted: the new job's
    /// own seed time is later than SMS's 90-day count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replication_started: BTreeMap<ServerId, DateTime<Utc>>,
    /// Jobs whose settings are being changed to the wave plan's, or were found holding
    /// what no call can change (`crate::job_settings`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_settings: BTreeMap<JobId, crate::job_settings::SettingsRecord>,
}

/// A recreation half done: the old job is deleted (or being deleted), the new one not
/// created yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRecreation {
    /// The FAILED job that was deleted; claimed before DeleteReplicationJob is called,
    /// so it may still be listed FAILED while the deletion is retried.
    pub old_job: JobId,
    /// Its server's VM name, for the event announcing the new job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_name: Option<String>,
    /// When its deletion was decided (the attempt recorded against the budget).
    pub since: DateTime<Utc>,
}

/// What to do now about a pending recreation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecreationStep {
    /// The old job is gone: CreateReplicationJob now.
    Create,
    /// The old job is still DELETING, or this observation does not say.
    Wait,
    /// The server has a job again (another function made it): nothing left to do.
    Done,
}

/// A run that completed and was not announced yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedRun {
    pub job_id: JobId,
    pub server_id: ServerId,
    pub run_id: RunId,
    pub ami_id: Option<String>,
}

/// A failure that has been alerted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub server_id: ServerId,
    /// The service's word for the state the job is in.
    pub state: String,
    pub first_seen: DateTime<Utc>,
    /// A remediation decision for this failure was published (or is in the outbox); an
    /// invocation cut off between alerting and deciding leaves it false, so the next one
    /// decides.
    #[serde(default)]
    pub remediation_decided: bool,
}

/// How much of the account's jobs an observation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// A full GetReplicationJobs sweep: a remembered job missing from it is gone.
    Complete,
    /// Only some jobs (e.g. the one an event named): say nothing about the others.
    Partial,
}

/// The changes between a snapshot and what was observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureChanges {
    /// Jobs in a failure state that were not alerted yet: alert each once.
    pub newly_failed: Vec<ReplicationJob>,
    /// Alerted jobs that are healthy again (or, on a complete sweep, gone).
    pub recovered: Vec<Recovery>,
    /// Alerted jobs still failing: no new alert.
    pub still_failed: Vec<JobId>,
}

/// A job that left its failure state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub job_id: JobId,
    pub server_id: ServerId,
    /// The state it is in now; `None` when a complete sweep no longer lists it.
    pub state: Option<ReplicationState>,
    /// When the failure episode that ended was first seen.
    pub failed_since: DateTime<Utc>,
}

impl FailureSnapshot {
    /// Compares the observed jobs with the snapshot and returns the changes and the
    /// snapshot to store next. A job seen twice in `observed` counts once (last wins).
    /// Faltering is neither a new failure nor a recovery: it always ends stalled or
    /// failed, which is when the alert goes out.
    pub fn observe(
        &self,
        observed: &[ReplicationJob],
        coverage: Coverage,
        now: DateTime<Utc>,
    ) -> (FailureChanges, FailureSnapshot) {
        let observed: BTreeMap<&JobId, &ReplicationJob> =
            observed.iter().map(|job| (&job.id, job)).collect();
        let mut changes = FailureChanges::default();
        let mut next = self.clone();

        for (id, job) in &observed {
            let remembered = self.failures.contains_key(*id);
            if job.state.is_failure() {
                if remembered {
                    changes.still_failed.push((*id).clone());
                    if let Some(record) = next.failures.get_mut(*id) {
                        record.state.clone_from(&job.state.status);
                    }
                } else {
                    changes.newly_failed.push((*job).clone());
                    next.failures.insert(
                        (*id).clone(),
                        FailureRecord {
                            server_id: job.server_id.clone(),
                            state: job.state.status.clone(),
                            first_seen: now,
                            remediation_decided: false,
                        },
                    );
                }
            } else if remembered && job.state.phase != ReplicationPhase::Faltering {
                let failed_since = next.failures.remove(*id).map_or(now, |r| r.first_seen);
                changes.recovered.push(Recovery {
                    job_id: (*id).clone(),
                    server_id: job.server_id.clone(),
                    state: Some(job.state.clone()),
                    failed_since,
                });
            } else if remembered {
                changes.still_failed.push((*id).clone());
            }
        }

        if coverage == Coverage::Complete {
            for (id, record) in &self.failures {
                if !observed.contains_key(id) {
                    next.failures.remove(id);
                    changes.recovered.push(Recovery {
                        job_id: id.clone(),
                        server_id: record.server_id.clone(),
                        state: None,
                        failed_since: record.first_seen,
                    });
                }
            }
        }
        (changes, next)
    }

    /// Runs whose completion is not announced yet (the latest completed run per job),
    /// and marks them announced in `self`.
    pub fn take_completed_runs(&mut self, observed: &[ReplicationJob]) -> Vec<CompletedRun> {
        let mut fresh = Vec::new();
        for job in observed {
            let Some(run) = job.latest_completed_run() else {
                continue;
            };
            if self.announced_runs.get(&job.id) == Some(&run.id) {
                continue;
            }
            self.announced_runs.insert(job.id.clone(), run.id.clone());
            fresh.push(CompletedRun {
                job_id: job.id.clone(),
                server_id: job.server_id.clone(),
                run_id: run.id.clone(),
                ami_id: run.ami_id.clone().or_else(|| job.latest_ami_id.clone()),
            });
        }
        fresh
    }

    /// The next step of every pending recreation, given what was observed: a server that
    /// has a job again is done; one whose old job is DELETED, or missing from a complete
    /// sweep, gets its new job now; otherwise it waits (a DELETING job still holds the
    /// server, and a partial observation says nothing about other jobs).
    pub fn recreation_steps(
        &self,
        observed: &[ReplicationJob],
        coverage: Coverage,
    ) -> Vec<(ServerId, RecreationStep)> {
        self.pending_recreations
            .iter()
            .map(|(server, pending)| {
                let jobs = observed.iter().filter(|j| &j.server_id == server);
                let mut old_state = None;
                for job in jobs {
                    if job.id == pending.old_job {
                        old_state = Some(&job.state);
                    } else if !job.state.is_removed() {
                        return (server.clone(), RecreationStep::Done);
                    }
                }
                let step = match old_state.map(|state| state.phase) {
                    Some(ReplicationPhase::Removed) => RecreationStep::Create,
                    None if coverage == Coverage::Complete => RecreationStep::Create,
                    _ => RecreationStep::Wait,
                };
                (server.clone(), step)
            })
            .collect()
    }

    /// Records a remediation attempt for a server.
    pub fn record_remediation(&mut self, server: &ServerId, at: DateTime<Utc>) {
        self.remediations
            .entry(server.clone())
            .or_default()
            .push(at);
    }
}

/// How the watcher may remediate failed jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemediationPolicy {
    /// Attempts per server over the whole wave.
    pub max_attempts_per_server: u32,
    /// On-demand runs the service allows per job in 24 hours; never exceeded.
    pub daily_on_demand_limit: u32,
    /// Delete and recreate a job that ended FAILED (it cannot be resumed).
    pub recreate_failed: bool,
}

/// What to do about one failed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remediation {
    /// Act on the job now.
    Act(RemediationStep),
    /// Nothing now; the reason says why.
    Hold(HoldReason),
}

/// An action on a failed replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemediationStep {
    /// Resume the stalled replication (SMS: StartOnDemandReplicationRun).
    Resume,
    /// Remove it and replicate the server anew (SMS: DeleteReplicationJob, then
    /// CreateReplicationJob).
    Recreate,
}

/// Why a failed job is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    BudgetExhausted { attempts: u32 },
    DailyLimitReached { retry_after: DateTime<Utc> },
    RecreateDisabled,
    NotFailed,
}

impl RemediationPolicy {
    /// Decides the remediation for a replication in `phase` given the server's earlier
    /// attempts.
    pub fn decide(
        &self,
        phase: ReplicationPhase,
        attempts: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Remediation {
        let used = u32::try_from(attempts.len()).unwrap_or(u32::MAX);
        let step = match phase {
            ReplicationPhase::Stalled => RemediationStep::Resume,
            ReplicationPhase::Failed if self.recreate_failed => RemediationStep::Recreate,
            ReplicationPhase::Failed => return Remediation::Hold(HoldReason::RecreateDisabled),
            _ => return Remediation::Hold(HoldReason::NotFailed),
        };
        if used >= self.max_attempts_per_server {
            return Remediation::Hold(HoldReason::BudgetExhausted { attempts: used });
        }
        if step == RemediationStep::Resume {
            let window_start = now - Duration::hours(24);
            let mut recent: Vec<_> = attempts.iter().filter(|at| **at > window_start).collect();
            recent.sort();
            if recent.len() >= self.daily_on_demand_limit as usize {
                // The oldest attempt inside the window decides when a slot frees up.
                let retry_after = recent
                    .first()
                    .map_or(now, |oldest| **oldest + Duration::hours(24));
                return Remediation::Hold(HoldReason::DailyLimitReached { retry_after });
            }
        }
        Remediation::Act(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReplicationJobState;
    use proptest::prelude::*;

    fn job(id: &str, state: ReplicationJobState) -> ReplicationJob {
        ReplicationJob {
            id: id.into(),
            server_id: format!("s-{id}").into(),
            vm_name: None,
            state: state.into(),
            status_message: None,
            latest_ami_id: None,
            frequency_hours: Some(12),
            run_once: false,
            seed_replication_time: None,
            settings: Default::default(),
            runs: Vec::new(),
        }
    }

    fn at(hour: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + hour * 3600, 0).unwrap()
    }

    #[test]
    fn each_failure_is_reported_once_and_recovery_is_seen() {
        use ReplicationJobState::*;
        let empty = FailureSnapshot::default();
        let (changes, snapshot) = empty.observe(
            &[
                job("a", PausedOnFailure),
                job("b", Active),
                job("c", Failing),
            ],
            Coverage::Complete,
            at(0),
        );
        assert_eq!(changes.newly_failed.len(), 1);
        assert_eq!(changes.newly_failed[0].id, JobId::from("a"));

        // The same failure on the next sweep is not new.
        let (changes, snapshot) = snapshot.observe(
            &[
                job("a", PausedOnFailure),
                job("b", Active),
                job("c", Failed),
            ],
            Coverage::Complete,
            at(1),
        );
        assert_eq!(changes.still_failed, [JobId::from("a")]);
        assert_eq!(changes.newly_failed.len(), 1);
        assert_eq!(changes.newly_failed[0].id, JobId::from("c"));

        // A partial observation of "b" says nothing about a or c.
        let (changes, snapshot) = snapshot.observe(&[job("b", Active)], Coverage::Partial, at(2));
        assert_eq!(changes, FailureChanges::default());

        // a recovers, c vanishes from a complete sweep.
        let (changes, snapshot) = snapshot.observe(
            &[job("a", Active), job("b", Active)],
            Coverage::Complete,
            at(3),
        );
        assert!(changes.newly_failed.is_empty());
        assert_eq!(changes.recovered.len(), 2);
        assert_eq!(changes.recovered[0].state, Some(Active.into()));
        assert_eq!(changes.recovered[1].state, None);
        assert!(snapshot.failures.is_empty());

        // A second failure of the same job is a new failure, alerted again.
        let (changes, _) = snapshot.observe(&[job("a", Failed)], Coverage::Partial, at(4));
        assert_eq!(changes.newly_failed.len(), 1);
    }

    #[test]
    fn each_completed_run_is_announced_once() {
        use crate::model::ReplicationRun;
        let run = |id: &str, hour: i64| ReplicationRun {
            id: id.into(),
            completed: true,
            ami_id: Some(format!("ami-{id}")),
            status_message: None,
            scheduled_start: None,
            completed_at: Some(at(hour)),
        };
        let mut active = job("a", ReplicationJobState::Active);
        active.runs = vec![run("r1", 1)];
        let mut snapshot = FailureSnapshot::default();
        let fresh = snapshot.take_completed_runs(std::slice::from_ref(&active));
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].ami_id.as_deref(), Some("ami-r1"));
        assert!(snapshot
            .take_completed_runs(std::slice::from_ref(&active))
            .is_empty());
        active.runs.push(run("r2", 13));
        let fresh = snapshot.take_completed_runs(&[active]);
        assert_eq!(fresh[0].run_id, RunId::from("r2"));
    }

    #[test]
    fn a_remembered_job_going_through_failing_is_not_a_recovery() {
        use ReplicationJobState::*;
        let (_, snapshot) = FailureSnapshot::default().observe(
            &[job("a", PausedOnFailure)],
            Coverage::Complete,
            at(0),
        );
        let (changes, snapshot) = snapshot.observe(&[job("a", Failing)], Coverage::Complete, at(1));
        assert!(changes.recovered.is_empty());
        assert!(changes.newly_failed.is_empty());
        let (changes, _) = snapshot.observe(&[job("a", Failed)], Coverage::Complete, at(2));
        assert!(changes.newly_failed.is_empty(), "same failure episode");
    }

    #[test]
    fn remediation_respects_budget_daily_limit_and_policy() {
        use ReplicationPhase::{Failed, Replicating as Active, Stalled as PausedOnFailure};
        let policy = RemediationPolicy {
            max_attempts_per_server: 3,
            daily_on_demand_limit: 2,
            recreate_failed: false,
        };
        assert_eq!(
            policy.decide(PausedOnFailure, &[], at(0)),
            Remediation::Act(RemediationStep::Resume)
        );
        assert_eq!(
            policy.decide(PausedOnFailure, &[at(0), at(1)], at(2)),
            Remediation::Hold(HoldReason::DailyLimitReached {
                retry_after: at(24)
            })
        );
        assert_eq!(
            policy.decide(PausedOnFailure, &[at(0), at(1)], at(25)),
            Remediation::Act(RemediationStep::Resume)
        );
        assert_eq!(
            policy.decide(PausedOnFailure, &[at(0), at(1), at(30)], at(90)),
            Remediation::Hold(HoldReason::BudgetExhausted { attempts: 3 })
        );
        assert_eq!(
            policy.decide(Failed, &[], at(0)),
            Remediation::Hold(HoldReason::RecreateDisabled)
        );
        let recreate = RemediationPolicy {
            recreate_failed: true,
            ..policy
        };
        assert_eq!(
            recreate.decide(Failed, &[at(0), at(1)], at(2)),
            Remediation::Act(RemediationStep::Recreate)
        );
        assert_eq!(
            recreate.decide(Active, &[], at(0)),
            Remediation::Hold(HoldReason::NotFailed)
        );
    }

    fn arb_state() -> impl Strategy<Value = ReplicationJobState> {
        prop::sample::select(
            ReplicationJobState::WIRE_VALUES
                .iter()
                .map(|w| ReplicationJobState::from_wire(w))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_pending_recreation_waits_for_the_deletion_then_creates_or_sees_another_job() {
        use ReplicationJobState::*;
        let mut snapshot = FailureSnapshot::default();
        let pending = PendingRecreation {
            old_job: "a".into(),
            vm_name: None,
            since: at(0),
        };
        snapshot.pending_recreations.insert("s-a".into(), pending);
        let step = |observed: &[ReplicationJob], coverage| {
            snapshot.recreation_steps(observed, coverage)[0].1
        };
        assert_eq!(
            step(&[job("a", Deleting)], Coverage::Complete),
            RecreationStep::Wait
        );
        assert_eq!(step(&[], Coverage::Partial), RecreationStep::Wait);
        assert_eq!(
            step(&[job("a", Deleted)], Coverage::Partial),
            RecreationStep::Create
        );
        assert_eq!(step(&[], Coverage::Complete), RecreationStep::Create);
        let mut other = job("b", Pending);
        other.server_id = "s-a".into();
        assert_eq!(
            step(&[job("a", Deleted), other.clone()], Coverage::Complete),
            RecreationStep::Done
        );
        other.state = Deleting.into();
        assert_eq!(
            step(&[job("a", Deleted), other], Coverage::Complete),
            RecreationStep::Create
        );
    }

    #[test]
    fn deleting_and_deleted_jobs_are_neither_failures_nor_alerted() {
        use ReplicationJobState::*;
        let (changes, snapshot) = FailureSnapshot::default().observe(
            &[job("a", Deleting), job("b", Deleted)],
            Coverage::Complete,
            at(0),
        );
        assert_eq!(changes, FailureChanges::default());
        assert!(snapshot.failures.is_empty());
        // An alerted job being deleted leaves the failures: it is gone, not failed.
        let (_, alerted) =
            FailureSnapshot::default().observe(&[job("a", Failed)], Coverage::Complete, at(0));
        let (changes, next) = alerted.observe(&[job("a", Deleting)], Coverage::Complete, at(1));
        assert!(changes.newly_failed.is_empty());
        assert_eq!(changes.recovered.len(), 1);
        assert!(next.failures.is_empty());
    }

    proptest! {
        #[test]
        fn replaying_observations_never_realerts(
            sweeps in prop::collection::vec(prop::collection::vec((0u8..8, arb_state()), 0..12), 1..8)
        ) {
            let mut snapshot = FailureSnapshot::default();
            let mut alerts = 0usize;
            let mut episodes = 0usize;
            let mut failing: std::collections::BTreeSet<String> = Default::default();
            for (hour, sweep) in sweeps.iter().enumerate() {
                let jobs: Vec<_> = sweep.iter().map(|(n, s)| job(&format!("j{n}"), s.clone())).collect();
                // Replaying the same observation twice must not change anything.
                let (changes, next) = snapshot.observe(&jobs, Coverage::Complete, at(hour as i64));
                let (again, next_again) = next.observe(&jobs, Coverage::Complete, at(hour as i64));
                prop_assert!(again.newly_failed.is_empty());
                prop_assert_eq!(&next, &next_again);
                alerts += changes.newly_failed.len();
                // Count failure episodes independently from the observed sequence.
                let last: BTreeMap<String, ReplicationState> =
                    jobs.iter().map(|j| (j.id.0.clone(), j.state.clone())).collect();
                let mut now_failing = std::collections::BTreeSet::new();
                for (id, state) in &last {
                    let was = failing.contains(id);
                    if state.is_failure() || (was && state.phase == ReplicationPhase::Faltering) {
                        if !was && state.is_failure() { episodes += 1; }
                        if was || state.is_failure() { now_failing.insert(id.clone()); }
                    }
                }
                failing = now_failing;
                snapshot = next;
            }
            prop_assert_eq!(alerts, episodes);
        }
    }
}
