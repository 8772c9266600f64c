//! Replication health where agents replicate servers by themselves (MGN): which
//! servers' replication went wrong since the last look — stalled (with the service's
//! reason), its agent lost, lagging past a threshold, its first copy past its expected
//! end — each alerted once per episode; which episodes ended (recovery announced once);
//! and when a stalled replication is retried, within the wave's budget and no sooner
//! than an interval after the last try.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::failures::{Coverage, HoldReason, Remediation, RemediationPolicy};
use crate::migration::{ReplicationPhase, ReplicationState};
use crate::model::{ServerId, SourceServer};

/// What counts as a problem, and how stalled replications are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// A replica further behind than this is lagging.
    pub lag_threshold: Duration,
    /// A first copy still running this long after its expected end is overdue.
    pub sync_grace: Duration,
    /// Retries of one server over the whole wave.
    pub max_retries_per_server: u32,
    /// Between two retries of a replication that stays stalled.
    pub retry_interval: Duration,
}

pub use crate::migration::ProblemKind;

/// A problem as observed, with what says how bad it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// In words, for the alert: the service's reason, the lag, the missed end.
    pub detail: String,
}

/// One episode of one problem on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Episode {
    /// When it was first seen: the episode's name in every event about it.
    pub since: DateTime<Utc>,
}

/// What the replication watcher remembers between invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthSnapshot {
    /// The open episodes, by server and kind.
    #[serde(default)]
    pub episodes: BTreeMap<ServerId, BTreeMap<ProblemKind, Episode>>,
    /// Retries of each server over the wave (claimed before the call is made).
    #[serde(default)]
    pub retries: BTreeMap<ServerId, Vec<DateTime<Utc>>>,
    /// Stalled episodes whose exhausted budget was announced, by when they began.
    #[serde(default)]
    pub held: BTreeMap<ServerId, DateTime<Utc>>,
    /// Events decided but not yet published (`crate::outbox`).
    #[serde(default)]
    pub outbox: Vec<crate::events::OutgoingEvent>,
}

/// A problem seen for the first time in its episode: alert it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub server: ServerId,
    pub name: Option<String>,
    pub problem: Problem,
    pub state: ReplicationState,
    pub since: DateTime<Utc>,
}

/// An episode that ended: announce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    pub server: ServerId,
    pub name: Option<String>,
    pub kind: ProblemKind,
    /// The replication now; `None` when a complete sweep no longer lists the server.
    pub state: Option<ReplicationState>,
    pub since: DateTime<Utc>,
}

/// What one observation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthChanges {
    pub raised: Vec<Raised>,
    pub cleared: Vec<Cleared>,
    /// Episodes that go on, already alerted.
    pub ongoing: usize,
}

/// What to do about a stalled server now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    /// Call RetryDataReplication; this is the server's `attempt`-th retry.
    Retry { attempt: u32 },
    /// The budget is spent: say so once for the episode.
    GiveUp { attempts: u32 },
}

impl HealthPolicy {
    /// The problems `server` shows at `now`.
    pub fn problems(&self, server: &SourceServer, now: DateTime<Utc>) -> Vec<Problem> {
        let mut problems = Vec::new();
        match server.replication.phase {
            ReplicationPhase::Stalled => problems.push(Problem {
                kind: ProblemKind::Stalled,
                detail: server
                    .replication_error
                    .clone()
                    .unwrap_or_else(|| "no reason given".to_owned()),
            }),
            ReplicationPhase::Failed => problems.push(Problem {
                kind: ProblemKind::Disconnected,
                detail: format!("replication {}", server.replication.status),
            }),
            ReplicationPhase::Replicating => {
                let threshold = self.lag_threshold.num_seconds();
                if let Some(lag) = server.lag_seconds.filter(|lag| *lag > threshold) {
                    problems.push(Problem {
                        kind: ProblemKind::Lagging,
                        detail: format!("{lag} s behind (threshold {threshold} s)"),
                    });
                }
            }
            ReplicationPhase::Starting => {
                if let Some(eta) = server.sync_eta.filter(|eta| now > *eta + self.sync_grace) {
                    problems.push(Problem {
                        kind: ProblemKind::SyncOverdue,
                        detail: format!("expected to end by {}", eta.to_rfc3339()),
                    });
                }
            }
            _ => {}
        }
        problems
    }

    /// Whether to retry a server stalled since `since`, given its retries so far.
    pub fn retry(
        &self,
        retries: &[DateTime<Utc>],
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<RetryDecision> {
        let budget = RemediationPolicy {
            max_attempts_per_server: self.max_retries_per_server,
            // MGN sets no daily limit of its own: the budget is the only bound.
            daily_on_demand_limit: u32::MAX,
            recreate_failed: false,
        };
        match budget.decide(ReplicationPhase::Stalled, retries, now) {
            Remediation::Hold(HoldReason::BudgetExhausted { attempts }) => {
                Some(RetryDecision::GiveUp { attempts })
            }
            Remediation::Hold(_) => None,
            Remediation::Act(_) => {
                let last = retries.iter().filter(|at| **at >= since).max();
                let due = last.is_none_or(|last| now - *last >= self.retry_interval);
                let attempt = u32::try_from(retries.len()).unwrap_or(u32::MAX) + 1;
                due.then_some(RetryDecision::Retry { attempt })
            }
        }
    }
}

impl HealthSnapshot {
    /// Compares what was observed with the open episodes: the changes, and the snapshot
    /// to store next. A server observed twice counts once (the last wins).
    pub fn observe(
        &self,
        observed: &[SourceServer],
        coverage: Coverage,
        policy: &HealthPolicy,
        now: DateTime<Utc>,
    ) -> (HealthChanges, HealthSnapshot) {
        let observed: BTreeMap<&ServerId, &SourceServer> =
            observed.iter().map(|server| (&server.id, server)).collect();
        let mut changes = HealthChanges::default();
        let mut next = self.clone();
        for (id, server) in &observed {
            let problems = policy.problems(server, now);
            let open = next.episodes.remove(*id).unwrap_or_default();
            let (kept, cleared) = split_episodes(open, &problems);
            for (kind, episode) in cleared {
                changes.cleared.push(Cleared {
                    server: (*id).clone(),
                    name: server.name().map(str::to_owned),
                    kind,
                    state: Some(server.replication.clone()),
                    since: episode.since,
                });
            }
            changes.ongoing += kept.len();
            let mut episodes = kept;
            for problem in problems {
                if episodes.contains_key(&problem.kind) {
                    continue;
                }
                episodes.insert(problem.kind, Episode { since: now });
                changes.raised.push(Raised {
                    server: (*id).clone(),
                    name: server.name().map(str::to_owned),
                    problem,
                    state: server.replication.clone(),
                    since: now,
                });
            }
            if !episodes.contains_key(&ProblemKind::Stalled) {
                next.held.remove(*id);
            }
            if !episodes.is_empty() {
                next.episodes.insert((*id).clone(), episodes);
            }
        }
        if coverage == Coverage::Complete {
            next.forget_unlisted(&observed, &mut changes);
        }
        (changes, next)
    }

    /// On a complete sweep, the episodes of servers no longer listed end (archived or
    /// deleted servers are out of the wave).
    fn forget_unlisted(
        &mut self,
        observed: &BTreeMap<&ServerId, &SourceServer>,
        changes: &mut HealthChanges,
    ) {
        let gone: Vec<ServerId> = self
            .episodes
            .keys()
            .filter(|id| !observed.contains_key(id))
            .cloned()
            .collect();
        for id in gone {
            self.held.remove(&id);
            for (kind, episode) in self.episodes.remove(&id).unwrap_or_default() {
                changes.cleared.push(Cleared {
                    server: id.clone(),
                    name: None,
                    kind,
                    state: None,
                    since: episode.since,
                });
            }
        }
    }

    /// The stalled servers to retry or give up on now, each with when its episode began.
    pub fn retries_due(
        &self,
        policy: &HealthPolicy,
        now: DateTime<Utc>,
    ) -> Vec<(ServerId, DateTime<Utc>, RetryDecision)> {
        let mut due = Vec::new();
        for (id, episodes) in &self.episodes {
            let Some(stalled) = episodes.get(&ProblemKind::Stalled) else {
                continue;
            };
            let retries = self.retries.get(id).map_or(&[][..], Vec::as_slice);
            match policy.retry(retries, stalled.since, now) {
                Some(RetryDecision::GiveUp { .. }) if self.held.contains_key(id) => {}
                Some(decision) => due.push((id.clone(), stalled.since, decision)),
                None => {}
            }
        }
        due
    }

    /// Claims a retry of `server` (counted against its budget before the call is
    /// made, so a run cut off after the call cannot retry past the budget), or records
    /// that its spent budget was announced.
    pub fn claim(
        &mut self,
        server: &ServerId,
        since: DateTime<Utc>,
        decision: &RetryDecision,
        now: DateTime<Utc>,
    ) {
        match decision {
            RetryDecision::Retry { .. } => {
                self.retries.entry(server.clone()).or_default().push(now)
            }
            RetryDecision::GiveUp { .. } => {
                self.held.insert(server.clone(), since);
            }
        }
    }
}

/// The open episodes whose problem is still there, and those that ended.
fn split_episodes(
    open: BTreeMap<ProblemKind, Episode>,
    problems: &[Problem],
) -> (BTreeMap<ProblemKind, Episode>, Vec<(ProblemKind, Episode)>) {
    let mut kept = BTreeMap::new();
    let mut cleared = Vec::new();
    for (kind, episode) in open {
        if problems.iter().any(|p| p.kind == kind) {
            kept.insert(kind, episode);
        } else {
            cleared.push((kind, episode));
        }
    }
    (kept, cleared)
}

#[cfg(test)]
#[path = "replication_health_tests.rs"]
mod tests;
