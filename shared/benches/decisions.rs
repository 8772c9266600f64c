//! Criterion benchmarks of the core's pure decisions at wave scale (10,000 servers,
//! 10,000 jobs, 500 apps): `WavePolicy::plan`, `FailureSnapshot::observe` and
//! `app_readiness` over every app with `ServerStandings`. Run by `scripts/bench.sh`
//! (or `cargo bench -p autopilot-core --bench decisions`); `autopilot-local bench`
//! reads the estimates criterion leaves under `target/criterion/` into BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use autopilot_core::failures::{Coverage, FailureSnapshot};
use autopilot_core::model::{
    App, AppId, AppLaunchStatus, JobId, ReplicationJob, ReplicationJobState, ReplicationRun, RunId,
    Server, ServerGroup, ServerId, VmServer,
};
use autopilot_core::readiness::{app_readiness, OptOutTag, ServerStandings};
use autopilot_core::wave_policy::WavePolicy;
use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

const SERVERS: usize = 10_000;
const APPS: usize = 500;

fn server_id(i: usize) -> ServerId {
    ServerId(format!("s-{i:08x}"))
}

/// The catalog: every third server already has a job, the rest wait for one.
fn catalog() -> Vec<Server> {
    (0..SERVERS)
        .map(|i| Server {
            id: server_id(i),
            vm: VmServer {
                vm_name: Some(format!("vm-{i:05}")),
                vm_path: Some(format!("/vcenter-east/vm/vm-{i:05}")),
                vm_manager_name: Some("vcenter-east".into()),
                ..VmServer::default()
            },
            replication_job_id: (i % 3 == 0).then(|| JobId(format!("sms-job-{i:08x}"))),
            replication_job_terminated: false,
        })
        .collect()
}

/// One job per server: most completed, 2 % failed or paused, the rest replicating.
fn jobs() -> Vec<ReplicationJob> {
    (0..SERVERS)
        .map(|i| {
            let state = match i % 100 {
                0 => ReplicationJobState::Failed,
                1 => ReplicationJobState::PausedOnFailure,
                2..=19 => ReplicationJobState::Active,
                _ => ReplicationJobState::Completed,
            };
            let completed = state == ReplicationJobState::Completed;
            ReplicationJob {
                id: JobId(format!("sms-job-{i:08x}")),
                server_id: server_id(i),
                vm_name: Some(format!("vm-{i:05}")),
                state: state.into(),
                status_message: None,
                latest_ami_id: completed.then(|| format!("ami-{i:017x}")),
                frequency_hours: Some(12),
                run_once: false,
                seed_replication_time: None,
                settings: Default::default(),
                runs: vec![ReplicationRun {
                    id: RunId(format!("sms-run-{i:08x}")),
                    completed,
                    ami_id: completed.then(|| format!("ami-{i:017x}")),
                    status_message: None,
                    scheduled_start: None,
                    completed_at: None,
                }],
            }
        })
        .collect()
}

/// 500 apps of 20 servers in two groups; every tenth opted out.
fn apps(catalog: &[Server]) -> Vec<App> {
    let per_app = SERVERS / APPS;
    (0..APPS)
        .map(|a| {
            let members = &catalog[a * per_app..(a + 1) * per_app];
            let (first, second) = members.split_at(per_app / 2);
            App {
                id: AppId(format!("app-{a:04}")),
                name: Some(format!("app-{a:04}")),
                description: None,
                launch_status: AppLaunchStatus::ReadyForLaunch.into(),
                launch_status_message: None,
                last_modified: None,
                replication_status: Default::default(),
                server_groups: vec![
                    ServerGroup {
                        id: Some(format!("sg-{a}-1")),
                        name: Some("tier-1".into()),
                        servers: first.to_vec(),
                    },
                    ServerGroup {
                        id: Some(format!("sg-{a}-2")),
                        name: Some("tier-2".into()),
                        servers: second.to_vec(),
                    },
                ],
                tags: if a % 10 == 9 {
                    vec![autopilot_core::model::Tag {
                        key: "autopilot:launch".into(),
                        value: "false".into(),
                    }]
                } else {
                    vec![]
                },
            }
        })
        .collect()
}

fn decisions(c: &mut Criterion) {
    let servers = catalog();
    let jobs = jobs();
    let apps = apps(&servers);
    let now: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    let policy = WavePolicy {
        include: vec!["vmName:vm-*".parse().expect("a valid selector")],
        max_active_jobs: 1000,
        ..WavePolicy::default()
    };
    let opt_out: OptOutTag = "autopilot:launch=false".parse().expect("a valid tag");
    // The snapshot as a previous sweep left it: the failures already alerted.
    let (_, previous) = FailureSnapshot::default().observe(&jobs, Coverage::Complete, now);

    c.bench_function("wave_policy_plan_10000_servers", |b| {
        b.iter(|| black_box(policy.plan(black_box(&servers), 3334)))
    });
    c.bench_function("failure_snapshot_observe_10000_jobs", |b| {
        b.iter(|| black_box(previous.observe(black_box(&jobs), Coverage::Complete, now)))
    });
    c.bench_function("app_readiness_500_apps_10000_jobs", |b| {
        b.iter(|| {
            let index: ServerStandings = black_box(&jobs).iter().collect();
            let ready = apps
                .iter()
                .map(|app| app_readiness(app, &index, &opt_out))
                .filter(|r| *r == autopilot_core::readiness::AppReadiness::Ready)
                .count();
            black_box(ready)
        })
    });
}

criterion_group! {
    name = benches;
    // Small samples: the whole `cargo bench` stays around a minute on two busy cores.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = decisions
}
criterion_main!(benches);
