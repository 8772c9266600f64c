//! The reporter's own rules: a decision kept once, its object named after it, bad
//! deliveries refused without a write, and a report that says why each application
//! is not launched.

use std::collections::BTreeMap;

use autopilot_core::config::{CommonConfig, WaveReporterConfig};
use autopilot_core::model::{
    App, AppId, AppLaunchStatus, JobId, ReplicationJob, ReplicationJobState, ReplicationRun, RunId,
    Server, ServerGroup, ServerId, VmServer,
};
use autopilot_core::plan::resolved::{AppPolicy, ResolvedPlan};
use autopilot_core::plan::LaunchMode;
use autopilot_core::report::{Decision, Progress};
use autopilot_core::testing::{self, MemoryBucket};
use aws_sdk_sms::types::{AppLaunchStatus as WireLaunchStatus, AppSummary};
use serde_json::{json, Value};

use crate::status::{self, JobFacts, Observed};
use crate::trail::{self, Trail};

/// The wave's counts now, as the scheduled run computes them before the report.
fn now_of(observed: &Observed, trail: &Trail) -> Progress {
    let now = testing::test_now();
    status::progress(observed, trail, trail.started.unwrap_or(now), now)
}

fn decision(id: &str, time: &str, detail_type: &str, detail: Value) -> Decision {
    Decision {
        id: id.into(),
        time: time.into(),
        detail_type: detail_type.into(),
        detail,
    }
}

fn config() -> WaveReporterConfig {
    WaveReporterConfig {
        common: CommonConfig {
            event_bus_name: "bus".into(),
            dry_run: false,
            max_attempts: 1,
        },
        artifacts_bucket: "artifacts".into(),
        wave_name: "wave-3".into(),
        decisions_shown: 500,
        backend: autopilot_core::config::Backend::Sms,
    }
}

#[test]
fn a_redelivered_decision_is_kept_once_and_the_trail_stays_in_time_order() {
    let mut trail = Trail::default();
    let late = decision("b", "2026-11-22T10:05:00Z", "AppLaunched", json!({}));
    let early = decision("a", "2026-11-22T10:00:00Z", "AppReady", json!({}));
    assert_eq!(trail.merge(vec![late.clone(), early.clone()]), 2);
    assert_eq!(trail.merge(vec![late.clone(), early, late]), 0);
    let ids: Vec<&str> = trail.decisions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(
        trail
            .started
            .map(autopilot_core::events::detail_time)
            .as_deref(),
        Some("2026-11-22T10:00:00Z")
    );
}

#[test]
fn pending_objects_list_in_time_order_and_name_their_event() {
    let key = trail::pending_key(&decision(
        "6a7e8feb-b491/x",
        "2026-11-22T10:00:00Z",
        "AppReady",
        json!({}),
    ));
    assert_eq!(
        key,
        "state/wave-reporter/pending/20261122T100000Z-6a7e8feb-b491_x.json"
    );
}

#[test]
fn the_timeline_gains_a_point_only_when_a_count_changes() {
    let mut trail = Trail::default();
    let at = |minute: u64, replicated: usize| Progress {
        time: format!("t{minute}"),
        elapsed_minutes: minute,
        replicated,
        ..Progress::default()
    };
    trail.sample(at(0, 0));
    trail.sample(at(30, 0));
    trail.sample(at(60, 2));
    let minutes: Vec<u64> = trail.samples.iter().map(|p| p.elapsed_minutes).collect();
    assert_eq!(minutes, [0, 60]);
}

#[tokio::test]
async fn a_delivered_decision_is_written_as_its_own_object() {
    let bucket = MemoryBucket::default();
    let (s3, _get, _put) = bucket.client();
    let (context, _) = testing::context::<_, autopilot_core::app_cache::AppCache>(
        config(),
        testing::mock_sms(&[]),
        s3,
    );
    let event = testing::project_event(
        "AppLaunched",
        json!({"version": 1, "dryRun": false, "appId": "app-1", "appName": "shop", "servers": 2}),
    );
    let summary = crate::handle(event, context).await.expect("recorded");
    assert_eq!(summary.decisions_recorded, 1);
    let key =
        "state/wave-reporter/pending/20261122T100000Z-6a7e8feb-b491-4cf7-a9f1-bf3703467718.json";
    let kept: Decision = bucket.json(key).expect("the decision's object");
    assert_eq!(kept.detail_type, "AppLaunched");
    assert_eq!(kept.detail["appName"], "shop");
}

#[tokio::test]
async fn a_malformed_delivery_is_refused_naming_what_it_lacks_and_writes_nothing() {
    let event = |mutate: &dyn Fn(&mut Value)| {
        let mut event = testing::project_event("AppReady", json!({"version": 1}));
        mutate(&mut event);
        event
    };
    let cases: [(Value, &str); 4] = [
        (event(&|e| e["id"] = Value::Null), "no `id`"),
        (event(&|e| e["time"] = json!("")), "no `time`"),
        (
            event(&|e| e["detail"] = json!("text")),
            "no `detail` object",
        ),
        (
            testing::sms_state_change("sms-job-1", "sms-run-1", "COMPLETED", Some("ami-1")),
            "accepts the schedule and the project's decisions",
        ),
    ];
    for (event, expected) in cases {
        // Any S3 call would fail the test: nothing may be written.
        let (context, _) = testing::context::<_, autopilot_core::app_cache::AppCache>(
            config(),
            testing::mock_sms(&[]),
            testing::unused_s3(),
        );
        let error = crate::handle(event, context).await.expect_err("refused");
        assert!(error.to_string().contains(expected), "{error}");
    }
}

fn server(id: &str, vm: &str) -> Server {
    Server {
        id: ServerId::from(id),
        vm: VmServer {
            vm_name: Some(vm.into()),
            ..VmServer::default()
        },
        replication_job_id: None,
        replication_job_terminated: false,
    }
}

fn vm_names(servers: &[Server]) -> BTreeMap<ServerId, String> {
    servers
        .iter()
        .filter_map(|s| Some((s.id.clone(), s.vm.vm_name.clone()?)))
        .collect()
}

/// The facts the reporter keeps of a job with one run, completed or not.
fn job(server: &str, state: ReplicationJobState, completed: bool) -> JobFacts {
    let runs = completed.then(|| ReplicationRun {
        id: RunId::from(format!("sms-run-{server}").as_str()),
        completed: true,
        ami_id: Some("ami-1".into()),
        status_message: None,
        scheduled_start: None,
        completed_at: None,
    });
    JobFacts::from(&ReplicationJob {
        id: JobId::from(format!("sms-job-{server}").as_str()),
        server_id: ServerId::from(server),
        vm_name: None,
        state: state.into(),
        status_message: None,
        latest_ami_id: completed.then(|| "ami-1".to_owned()),
        frequency_hours: None,
        run_once: false,
        seed_replication_time: None,
        settings: Default::default(),
        runs: runs.into_iter().collect(),
    })
}

fn app(
    id: &str,
    name: &str,
    status: &str,
    members: &[Server],
) -> (
    AppSummary,
    Result<std::sync::Arc<App>, autopilot_core::AwsCallError>,
) {
    let summary = AppSummary::builder()
        .app_id(id)
        .name(name)
        .launch_status(WireLaunchStatus::from(status))
        .build();
    let app = App {
        id: AppId::from(id),
        name: Some(name.into()),
        description: None,
        launch_status: AppLaunchStatus::from_wire(status).into(),
        launch_status_message: None,
        last_modified: None,
        replication_status: Default::default(),
        server_groups: vec![ServerGroup {
            id: None,
            name: None,
            servers: members.to_vec(),
        }],
        tags: Vec::new(),
    };
    (summary, Ok(std::sync::Arc::new(app)))
}

#[test]
fn the_report_says_where_each_application_stands_and_why() {
    let servers = ["db", "api", "web", "fax", "bi", "crm"]
        .map(|n| server(&format!("s-{n}"), &format!("{n}-01")));
    let plan = ResolvedPlan {
        plan_version: "v1".into(),
        apps: BTreeMap::from([
            (
                "shop".to_owned(),
                AppPolicy {
                    depends_on: vec!["payments".into()],
                    ..AppPolicy::default()
                },
            ),
            (
                "crm".to_owned(),
                AppPolicy {
                    depends_on: vec!["office".into()],
                    ..AppPolicy::default()
                },
            ),
            (
                "reporting".to_owned(),
                AppPolicy {
                    launch: LaunchMode::Manual,
                    ..AppPolicy::default()
                },
            ),
        ]),
        servers: BTreeMap::new(),
    };
    let observed = Observed {
        jobs: vec![
            job("s-db", ReplicationJobState::Active, true),
            job("s-api", ReplicationJobState::Active, true),
            job("s-web", ReplicationJobState::Active, false),
            job("s-fax", ReplicationJobState::Failed, false),
            job("s-bi", ReplicationJobState::Active, true),
            job("s-crm", ReplicationJobState::Active, true),
        ],
        apps: vec![
            app("app-1", "payments", "LAUNCHED", &servers[0..2]),
            app("app-2", "shop", "READY_FOR_LAUNCH", &servers[2..3]),
            app("app-3", "office", "READY_FOR_LAUNCH", &servers[3..4]),
            app("app-4", "reporting", "READY_FOR_LAUNCH", &servers[4..5]),
            app("app-5", "crm", "READY_FOR_LAUNCH", &servers[5..6]),
        ],
        discovered: servers.len(),
        vm_names: vm_names(&servers),
        plan,
    };
    let mut trail = Trail::default();
    trail.merge(vec![
        decision("1", "2026-11-22T08:00:00Z", "ReplicationJobFailed",
            json!({"replicationJobId": "sms-job-s-fax", "serverId": "s-fax", "vmName": "fax-01", "state": "FAILED"})),
        decision("2", "2026-11-22T08:01:00Z", "ReplicationJobRemediated",
            json!({"replicationJobId": "sms-job-s-fax", "action": "held", "reason": "budget spent"})),
        decision("3", "2026-11-22T09:00:00Z", "AppLaunched", json!({"appId": "app-1", "appName": "payments"})),
    ]);
    let status = status::wave_status(
        "wave-3",
        &observed,
        &trail,
        &now_of(&observed, &trail),
        500,
        testing::test_now(),
    );
    let row = |name: &str| {
        status
            .apps
            .iter()
            .find(|a| a.name == name)
            .expect(name)
            .clone()
    };
    let payments = row("payments");
    assert_eq!(payments.member_names, ["db-01", "api-01"]);
    assert_eq!(payments.completed_runs, 2);
    assert_eq!(
        payments.launched_at.as_deref(),
        Some("2026-11-22T09:00:00Z")
    );
    assert_eq!(payments.held_by, None);
    let shop = row("shop");
    assert_eq!(shop.depends_on, ["payments"]);
    assert_eq!(
        row("crm").held_by.as_deref(),
        Some("replicated; waits for office to be launched first")
    );
    assert_eq!(
        shop.held_by.as_deref(),
        Some("1 of 1 members not replicated yet")
    );
    assert_eq!(
        row("office").held_by.as_deref(),
        Some("its members' replication failed: fax-01 (job FAILED)")
    );
    assert_eq!(
        row("reporting").held_by.as_deref(),
        Some("the wave plan leaves its launch to a person")
    );
    assert_eq!(status.failures.len(), 1);
    let failure = &status.failures[0];
    assert_eq!(failure.vm_name.as_deref(), Some("fax-01"));
    assert_eq!(failure.final_state, "FAILED");
    assert_eq!(failure.actions, ["2026-11-22T08:01:00Z held: budget spent"]);
    assert!(!status.settled);
    assert!(
        status.verdict.starts_with("1 of 5 applications launched; 4 servers replicated, 1 replicating, 1 failed; not launched: shop (READY_FOR_LAUNCH)"),
        "{}",
        status.verdict
    );
    assert_eq!(status.title, "wave-3");
    assert_eq!(status.timeline.last().map(|p| p.launched), Some(1));
}

#[test]
fn the_launchers_own_word_comes_before_what_the_reporter_infers() {
    let servers = [server("s-1", "web-01")];
    let observed = Observed {
        jobs: vec![job("s-1", ReplicationJobState::Active, true)],
        apps: vec![app("app-1", "shop", "CONFIGURATION_INVALID", &servers)],
        discovered: servers.len(),
        vm_names: vm_names(&servers),
        plan: ResolvedPlan::default(),
    };
    let mut trail = Trail::default();
    trail.merge(vec![decision(
        "1",
        "2026-11-22T08:00:00Z",
        "AppLaunchHeld",
        json!({"appId": "app-1", "reason": "no valid launch configuration: subnet-9 does not exist"}),
    )]);
    let status = status::wave_status(
        "w",
        &observed,
        &trail,
        &now_of(&observed, &trail),
        500,
        testing::test_now(),
    );
    assert_eq!(
        status.apps[0].held_by.as_deref(),
        Some("no valid launch configuration: subnet-9 does not exist")
    );
}

#[test]
fn the_report_lists_only_the_latest_decisions_it_is_told_to() {
    let mut trail = Trail::default();
    trail.merge(
        (0..10)
            .map(|i| {
                decision(
                    &i.to_string(),
                    &format!("2026-11-22T08:0{i}:00Z"),
                    "AppReady",
                    json!({}),
                )
            })
            .collect(),
    );
    let status = status::wave_status(
        "w",
        &Observed::default(),
        &trail,
        &now_of(&Observed::default(), &trail),
        3,
        testing::test_now(),
    );
    let ids: Vec<&str> = status.decisions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["7", "8", "9"]);
    assert!(
        status.period.contains("the 10 decisions"),
        "{}",
        status.period
    );
}
