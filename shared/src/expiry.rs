//! SMS replicates a server for 90 days from its first replication, then terminates the
//! job. Which servers are within the warning period of that end, decided purely from
//! the jobs as listed and the starts the watcher remembers for servers whose job it
//! created again (a new job's own seed time is later than SMS's count).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::model::{JobId, ReplicationJob, ServerId};

/// Days of replication SMS allows a server, counted from its first replication.
pub const REPLICATION_DAYS: i64 = 90;

/// A server whose replication ends soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub job: JobId,
    pub server: ServerId,
    pub vm_name: Option<String>,
    pub started: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    /// Whole days left (0 on the last day).
    pub days_left: i64,
}

/// The servers among `jobs` whose replication ends within `warn_days` of `now` and
/// that were not warned about yet; at most one per server (its live job).
pub fn expiring(
    jobs: &[ReplicationJob],
    remembered_starts: &BTreeMap<ServerId, DateTime<Utc>>,
    warned: &BTreeSet<ServerId>,
    now: DateTime<Utc>,
    warn_days: u32,
) -> Vec<Expiring> {
    if warn_days == 0 {
        return Vec::new();
    }
    let mut found: BTreeMap<&ServerId, Expiring> = BTreeMap::new();
    for job in jobs.iter().filter(|j| !j.state.is_removed()) {
        if warned.contains(&job.server_id) {
            continue;
        }
        let own = job.replication_started();
        let remembered = remembered_starts.get(&job.server_id).copied();
        let Some(started) = own.into_iter().chain(remembered).min() else {
            continue;
        };
        let expires = started + Duration::days(REPLICATION_DAYS);
        if now + Duration::days(i64::from(warn_days)) < expires {
            continue;
        }
        found.entry(&job.server_id).or_insert(Expiring {
            job: job.id.clone(),
            server: job.server_id.clone(),
            vm_name: job.vm_name.clone(),
            started,
            expires,
            days_left: (expires - now).num_days().max(0),
        });
    }
    found.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReplicationJobState, ReplicationRun};

    fn job(server: &str, seed: DateTime<Utc>) -> ReplicationJob {
        ReplicationJob {
            id: format!("job-{server}").as_str().into(),
            server_id: server.into(),
            vm_name: Some(format!("vm-{server}")),
            state: ReplicationJobState::Active.into(),
            status_message: None,
            latest_ami_id: None,
            frequency_hours: Some(12),
            run_once: false,
            seed_replication_time: Some(seed),
            settings: Default::default(),
            runs: Vec::new(),
        }
    }

    fn day(n: i64) -> DateTime<Utc> {
        "2024-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::days(n)
    }

    #[test]
    fn servers_within_the_warning_period_are_found_once() {
        let jobs = [job("s-1", day(0)), job("s-2", day(10))];
        let none = BTreeMap::new();
        let found = expiring(&jobs, &none, &BTreeSet::new(), day(76), 14);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].server, ServerId::from("s-1"));
        assert_eq!((found[0].expires, found[0].days_left), (day(90), 14));
        let warned: BTreeSet<ServerId> = [ServerId::from("s-1")].into();
        assert!(expiring(&jobs, &none, &warned, day(80), 14).is_empty());
        assert!(expiring(&jobs, &none, &BTreeSet::new(), day(76), 0).is_empty());
    }

    #[test]
    fn the_earliest_start_counts_a_run_or_a_remembered_one() {
        let mut recreated = job("s-1", day(50));
        recreated.runs.push(ReplicationRun {
            id: "run-1".into(),
            completed: true,
            ami_id: None,
            status_message: None,
            scheduled_start: Some(day(49)),
            completed_at: None,
        });
        let none = BTreeMap::new();
        let by_run = expiring(&[recreated.clone()], &none, &BTreeSet::new(), day(130), 14);
        assert_eq!(by_run.len(), 1, "day 49 + 90 is within 14 days of day 130");
        assert_eq!(by_run[0].started, day(49));
        let remembered = [(ServerId::from("s-1"), day(0))].into();
        let found = expiring(&[recreated], &remembered, &BTreeSet::new(), day(80), 14);
        assert_eq!(found[0].started, day(0));
        assert_eq!(found[0].days_left, 10);
    }
}
