//! Which launched applications have their replication ended, and how: only those the
//! plan asks to, once their time has come, once per launch.

use chrono::{DateTime, Duration, Utc};

use super::desired::{self, DesiredWave};
use super::finalize::{due, Ending};
use super::reconcile::{ExistingApp, Held};
use super::rules::MANAGED_TAG;
use super::Plan;
use crate::model::{
    AppId, AppLaunchStatus, AppReplicationStatus, JobId, Server, ServerId, VmServer,
};

const PLAN: &str = "version: 1
applications:
  - name: shop
    replicatedBy: app
    finalize: { after: 24h }
    groups: [{ name: web, servers: [web-01] }]
  - name: base
    finalize: { after: 90m }
    groups: [{ name: db, servers: [db-01, db-02] }]
  - name: kept
    finalize: manual
    groups: [{ name: all, servers: [keep-01] }]
";

fn wave() -> DesiredWave {
    let catalog: Vec<Server> = ["web-01", "db-01", "db-02", "keep-01"]
        .iter()
        .enumerate()
        .map(|(i, name)| Server {
            id: ServerId::from(format!("s-{i}").as_str()),
            vm: VmServer {
                vm_name: Some((*name).into()),
                ..VmServer::default()
            },
            // db-02's job was deleted already.
            replication_job_id: Some(JobId::from(format!("job-{i}").as_str())),
            replication_job_terminated: *name == "db-02",
        })
        .collect();
    desired::resolve(&Plan::parse(PLAN).unwrap(), &catalog)
}

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(hours)
}

fn app(name: &str, launched: Option<i64>, replication: AppReplicationStatus) -> ExistingApp {
    ExistingApp {
        id: AppId::from(format!("app-{name}").as_str()),
        name: name.into(),
        description: None,
        tags: [(MANAGED_TAG.to_owned(), name.to_owned())].into(),
        deleted: false,
        launch_status: if launched.is_some() {
            AppLaunchStatus::Launched.into()
        } else {
            AppLaunchStatus::ReadyForLaunch.into()
        },
        replication_status: replication.into(),
        groups: Vec::new(),
        launch: Held::Unknown,
        replication: Held::Unknown,
        last_modified: None,
        launched_at: launched.map(at),
        launch_put: None,
    }
}

fn launched_at_0() -> Vec<ExistingApp> {
    vec![
        app("shop", Some(0), AppReplicationStatus::DeltaReplicated),
        app("base", Some(0), AppReplicationStatus::ReadyForConfiguration),
        app("kept", Some(0), AppReplicationStatus::ReadyForConfiguration),
    ]
}

#[test]
fn each_application_ends_when_its_time_has_come_and_never_by_default() {
    let none = |_: &str| false;
    let names = |hours: i64| -> Vec<String> {
        due(
            &wave(),
            &launched_at_0(),
            &none,
            at(0) + Duration::minutes(hours),
        )
        .into_iter()
        .map(|f| f.name)
        .collect()
    };
    assert!(names(60).is_empty());
    assert_eq!(names(90), ["base"]);
    assert_eq!(names(24 * 60), ["shop", "base"]);
    let found = due(&wave(), &launched_at_0(), &none, at(24));
    assert_eq!(found[0].ending, Ending::StopAppReplication);
    let jobs = vec![(ServerId::from("s-1"), JobId::from("job-1"))];
    assert_eq!(
        found[1].ending,
        Ending::DeleteJobs(jobs),
        "db-02's job is gone"
    );
}

#[test]
fn an_application_is_finalized_once_per_launch_and_only_when_launched_and_managed() {
    let found = due(&wave(), &launched_at_0(), &|_: &str| false, at(48));
    let done: Vec<String> = found.iter().map(|f| f.key()).collect();
    let finalized = |key: &str| done.iter().any(|d| d == key);
    assert!(due(&wave(), &launched_at_0(), &finalized, at(48)).is_empty());

    // Relaunched after a rollback: its new launch is finalized in its turn.
    let mut relaunched = launched_at_0();
    relaunched[1].launched_at = Some(at(30));
    let again = due(&wave(), &relaunched, &finalized, at(48));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].name, "base");

    let mut others = launched_at_0();
    others[0].launch_status = AppLaunchStatus::TerminateInProgress.into();
    others[1].tags.clear();
    assert!(due(&wave(), &others, &|_: &str| false, at(48)).is_empty());
    let stopped = vec![app(
        "shop",
        Some(0),
        AppReplicationStatus::ReplicationStopped,
    )];
    let found = due(&wave(), &stopped, &|_: &str| false, at(48));
    assert_eq!(
        found[0].ending,
        Ending::AlreadyEnded,
        "announced, nothing to call"
    );
}

#[test]
fn a_finalize_that_is_not_a_duration_or_manual_is_refused_where_it_is_written() {
    for (written, path) in [
        ("{ after: soon }", "applications[0].finalize.after"),
        ("{ after: 0h }", "applications[0].finalize.after"),
        ("{ after: 24h, at: noon }", "applications[0].finalize.at"),
        ("never", "applications[0].finalize"),
    ] {
        let text = format!(
            "version: 1\napplications:\n  - name: a\n    finalize: {written}\n    groups: [{{ name: g, servers: [x] }}]\n"
        );
        let problems = Plan::parse(&text).unwrap_err().problems;
        assert_eq!(problems[0].path, path, "{written}: {problems:?}");
        assert_eq!(problems[0].line, Some(4), "{written}");
    }
    assert_eq!(
        super::parse_duration("36h").unwrap(),
        Duration::hours(36),
        "a duration"
    );
}
