//! Unit tests of the job-creator against a mocked SMS and a bucket in memory.

use super::*;
use autopilot_core::config::{CommonConfig, JobParameters};
use autopilot_core::error::Retryability;
use autopilot_core::plan::resolved::RESOLVED_KEY;
use autopilot_core::testing::{self, schedule_event};
use autopilot_core::wave_policy::WavePolicy;
use aws_sdk_sms::operation::create_replication_job::CreateReplicationJobOutput;
use aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput;
use aws_sdk_sms::operation::get_servers::GetServersOutput;
use aws_sdk_sms::types::{
    ReplicationJob, ReplicationJobState, Server as SmsServer, ServerCatalogStatus as Status,
    VmServer,
};
use aws_smithy_mocks::{mock, Rule};

fn config(dry_run: bool, cap: usize) -> JobCreatorConfig {
    JobCreatorConfig {
        common: CommonConfig {
            event_bus_name: "autopilot".into(),
            dry_run,
            max_attempts: 3,
        },
        artifacts_bucket: "artifacts".into(),
        policy: WavePolicy {
            include: vec!["vmName:web-*".parse().unwrap()],
            max_active_jobs: cap,
            ..WavePolicy::default()
        },
        job: JobParameters {
            frequency_hours: 12,
            run_once: false,
            license_type: None,
            role_name: Some("sms-role".into()),
            amis_to_keep: Some(2),
            encrypted: false,
            kms_key_id: None,
            seed_offset_minutes: 30,
        },
        create_concurrency: 3,
        plan_key: autopilot_core::config::DEFAULT_PLAN_KEY.into(),
    }
}

fn bucket() -> aws_sdk_s3::Client {
    testing::MemoryBucket::default().client().0
}

fn sms_server(id: &str, name: &str, job: Option<&str>) -> SmsServer {
    SmsServer::builder()
        .server_id(id)
        .vm_server(VmServer::builder().vm_name(name).build())
        .set_replication_job_id(job.map(str::to_owned))
        .build()
}

/// Two pages of catalog: servers split across them as the paginator would see.
fn catalog(status: Status) -> Rule {
    mock!(aws_sdk_sms::Client::get_servers)
        .match_requests(|req| req.next_token().is_none())
        .then_output(move || {
            GetServersOutput::builder()
                .server_catalog_status(status.clone())
                .server_list(sms_server("s-1", "web-1", None))
                .server_list(sms_server("s-2", "web-2", Some("sms-job-2")))
                .server_list(sms_server("s-3", "db-3", None))
                .next_token("page-2")
                .build()
        })
}

fn catalog_page_two() -> Rule {
    mock!(aws_sdk_sms::Client::get_servers)
        .match_requests(|req| req.next_token() == Some("page-2"))
        .then_output(|| {
            GetServersOutput::builder()
                .server_catalog_status(Status::Available)
                .server_list(sms_server("s-4", "web-4", None))
                .server_list(sms_server("s-5", "web-5", None))
                .build()
        })
}

fn create_by_server() -> Rule {
    mock!(aws_sdk_sms::Client::create_replication_job).then_compute_response(|req| {
        match req.server_id() {
            Some("s-4") => aws_smithy_mocks::MockResponse::Http(testing::sms_error(
                400,
                "ReplicationJobAlreadyExistsException",
                "exists",
            )),
            Some("s-5") => aws_smithy_mocks::MockResponse::Http(testing::sms_error(
                400,
                "ServerCannotBeReplicatedException",
                "unsupported OS",
            )),
            Some(id) => aws_smithy_mocks::MockResponse::Output(
                CreateReplicationJobOutput::builder()
                    .replication_job_id(format!("sms-job-{id}"))
                    .build(),
            ),
            None => panic!("serverId missing"),
        }
    })
}

#[tokio::test]
async fn creates_jobs_for_chosen_servers_with_each_outcome_reported() {
    let (page1, page2, create) = (
        catalog(Status::Available),
        catalog_page_two(),
        create_by_server(),
    );
    let sms = testing::mock_sms(&[&page1, &page2, &create]);
    let (context, events) = testing::context(config(false, 50), sms, bucket());
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.servers, 5);
    assert_eq!(
        (
            summary.created,
            summary.already_existed,
            summary.cannot_replicate
        ),
        (1, 1, 1)
    );
    assert_eq!(
        summary.not_selected, 2,
        "s-2 has a job, s-3 is not a web server"
    );
    assert_eq!(create.num_calls(), 3);
    let created = events.of_type("ReplicationJobCreated");
    assert_eq!(created.len(), 2);
    assert!(created
        .iter()
        .any(|e| e["replicationJobId"] == "sms-job-s-1"));
    assert!(created
        .iter()
        .any(|e| e["serverId"] == "s-4" && e["alreadyExisted"] == true));
    let skipped = events.of_type("ServerSkipped");
    assert_eq!(skipped[0]["reason"], "unsupported OS");
}

#[tokio::test]
async fn the_wave_plan_adds_its_servers_with_their_settings_and_keeps_app_replicated_ones() {
    let plan = "version: 1
defaults: { replication: { frequency: 6 } }
applications:
  - { name: shop, groups: [{ name: db, servers: [db-3] }] }
  - { name: web, replicatedBy: app, groups: [{ name: web, servers: [web-1] }] }
";
    let store = testing::MemoryBucket::default();
    store.put(
        autopilot_core::config::DEFAULT_PLAN_KEY,
        plan.as_bytes().to_vec(),
    );
    let (page1, page2) = (catalog(Status::Available), catalog_page_two());
    let planned = mock!(aws_sdk_sms::Client::create_replication_job)
        .match_requests(|req| req.server_id() == Some("s-3") && req.frequency() == Some(6))
        .then_output(|| {
            CreateReplicationJobOutput::builder()
                .replication_job_id("j-3")
                .build()
        });
    let others = create_by_server();
    let sms = testing::mock_sms(&[&page1, &page2, &planned, &others]);
    let (context, events) = testing::context(config(false, 50), sms, store.client().0);
    handle(schedule_event(), context).await.unwrap();
    assert_eq!(
        planned.num_calls(),
        1,
        "db-3 is in the plan, whatever the selectors say"
    );
    let created: Vec<String> = events
        .of_type("ReplicationJobCreated")
        .iter()
        .map(|e| e["serverId"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !created.contains(&"s-1".to_owned()),
        "app replication makes s-1's job: {created:?}"
    );
}

#[tokio::test]
async fn a_refused_plan_leaves_the_last_accepted_one_in_force() {
    use autopilot_core::plan::resolved::ServerPolicy;
    use autopilot_core::plan::ReplicationRoute;
    let store = testing::MemoryBucket::default();
    store.put(
        autopilot_core::config::DEFAULT_PLAN_KEY,
        b"version: 1\nbroken: [".to_vec(),
    );
    let mut accepted = ResolvedPlan::default();
    let policy = ServerPolicy {
        app: "web".into(),
        route: ReplicationRoute::App,
        replication: Default::default(),
        launch_template: None,
    };
    accepted.servers.insert("s-1".into(), policy);
    store.put(RESOLVED_KEY, serde_json::to_vec(&accepted).unwrap());
    let (page1, page2, create) = (
        catalog(Status::Available),
        catalog_page_two(),
        create_by_server(),
    );
    let sms = testing::mock_sms(&[&page1, &page2, &create]);
    let (context, events) = testing::context(config(false, 50), sms, store.client().0);
    handle(schedule_event(), context).await.unwrap();
    let created: Vec<String> = events
        .of_type("ReplicationJobCreated")
        .iter()
        .map(|e| e["serverId"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !created.contains(&"s-1".to_owned()),
        "still replicated by its app: {created:?}"
    );
}

#[tokio::test]
async fn a_refused_server_is_tried_and_reported_once_per_catalog_import() {
    let store = testing::MemoryBucket::default();
    for _ in 0..2 {
        let (page1, page2, create) = (
            catalog(Status::Available),
            catalog_page_two(),
            create_by_server(),
        );
        let sms = testing::mock_sms(&[&page1, &page2, &create]);
        let (s3, _, _) = store.client();
        let (context, events) = testing::context(config(false, 50), sms, s3);
        handle(schedule_event(), context).await.unwrap();
        let tried_s5 = events.of_type("ServerSkipped").len();
        let memory: CreatorMemory = store.json(MEMORY_KEY).expect("memory stored");
        assert!(memory.unreplicable.contains_key(&"s-5".into()));
        if create.num_calls() == 3 {
            assert_eq!(tried_s5, 1, "first tick reports the refusal");
        } else {
            assert_eq!(create.num_calls(), 2, "second tick skips s-5");
            assert_eq!(tried_s5, 0);
        }
    }
    // A new import (a different lastModifiedOn) brings the server back.
    let newer = mock!(aws_sdk_sms::Client::get_servers)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            GetServersOutput::builder()
                .server_catalog_status(Status::Available)
                .last_modified_on(aws_smithy_types::DateTime::from_secs(1_795_400_000))
                .server_list(sms_server("s-5", "web-5", None))
                .build()
        });
    let create = create_by_server();
    let sms = testing::mock_sms(&[&newer, &create]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false, 50), sms, s3);
    handle(schedule_event(), context).await.unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(events.of_type("ServerSkipped").len(), 1);
}

#[tokio::test]
async fn the_seed_time_and_job_parameters_are_sent() {
    let (page1, page2) = (catalog(Status::Available), catalog_page_two());
    let create = mock!(aws_sdk_sms::Client::create_replication_job)
        .match_requests(|req| {
            req.frequency() == Some(12)
                && req.role_name() == Some("sms-role")
                && req.number_of_recent_amis_to_keep() == Some(2)
                && req.seed_replication_time().map(|t| t.secs())
                    == Some(testing::test_now().timestamp() + 30 * 60)
        })
        .then_output(|| {
            CreateReplicationJobOutput::builder()
                .replication_job_id("sms-job-x")
                .build()
        });
    let sms = testing::mock_sms(&[&page1, &page2, &create]);
    let (context, _) = testing::context(config(false, 50), sms, bucket());
    handle(schedule_event(), context).await.unwrap();
    assert_eq!(create.num_calls(), 3);
}

/// A server whose old job is still DELETING gets its new job at a later tick: SMS
/// would refuse it now (with ReplicationJobAlreadyExists or OperationNotPermitted).
#[tokio::test]
async fn a_server_whose_old_job_is_still_deleting_waits_for_a_later_tick() {
    let page = mock!(aws_sdk_sms::Client::get_servers).then_output(|| {
        let mut replaced = sms_server("s-1", "web-1", Some("sms-job-old"));
        replaced.replication_job_terminated = Some(true);
        GetServersOutput::builder()
            .server_catalog_status(Status::Available)
            .server_list(replaced)
            .server_list(sms_server("s-2", "web-2", None))
            .build()
    });
    let jobs = mock!(aws_sdk_sms::Client::get_replication_jobs).then_output(|| {
        let old = ReplicationJob::builder()
            .replication_job_id("sms-job-old")
            .server_id("s-1")
            .state(ReplicationJobState::Deleting)
            .build();
        GetReplicationJobsOutput::builder()
            .replication_job_list(old)
            .build()
    });
    let refused = mock!(aws_sdk_sms::Client::create_replication_job)
        .match_requests(|req| req.server_id() == Some("s-1"))
        .then_http_response(|| {
            testing::sms_error(400, "OperationNotPermittedException", "being deleted")
        });
    let create = create_by_server();
    let sms = testing::mock_sms(&[&page, &jobs, &refused, &create]);
    let mut config = config(false, 50);
    config.policy.recreate_terminated = true;
    let (context, events) = testing::context(config, sms, bucket());
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(jobs.num_calls(), 1);
    assert_eq!((refused.num_calls(), create.num_calls()), (0, 1));
    assert_eq!((summary.created, summary.deferred_by_cap), (1, 1));
    assert_eq!(events.of_type("ReplicationJobCreated").len(), 1);
}

#[tokio::test]
async fn the_cap_is_checked_against_the_exact_number_of_live_jobs() {
    let (page1, page2, create) = (
        catalog(Status::Available),
        catalog_page_two(),
        create_by_server(),
    );
    // The catalog shows one job, but it has completed: nothing is live.
    let jobs = mock!(aws_sdk_sms::Client::get_replication_jobs).then_output(|| {
        GetReplicationJobsOutput::builder()
            .replication_job_list(
                ReplicationJob::builder()
                    .replication_job_id("sms-job-2")
                    .server_id("s-2")
                    .state(ReplicationJobState::Completed)
                    .build(),
            )
            .build()
    });
    let sms = testing::mock_sms(&[&page1, &page2, &create, &jobs]);
    let (context, _) = testing::context(config(false, 2), sms, bucket());
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(jobs.num_calls(), 1);
    assert_eq!(summary.active_jobs, 0);
    assert_eq!(
        create.num_calls(),
        2,
        "room for two of the three candidates"
    );
    assert_eq!(summary.deferred_by_cap, 1);
}

#[tokio::test]
async fn nothing_happens_while_the_catalog_is_importing() {
    let page1 = catalog(Status::Importing);
    let page2 = catalog_page_two();
    let create = create_by_server();
    let sms = testing::mock_sms(&[&page1, &page2, &create]);
    let (context, events) = testing::context(config(false, 50), sms, bucket());
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.catalog_status, "IMPORTING");
    assert_eq!(create.num_calls(), 0);
    assert!(events.all().is_empty());
}

#[tokio::test]
async fn one_failure_does_not_stop_the_others_and_is_reported_retryable() {
    let (page1, page2) = (catalog(Status::Available), catalog_page_two());
    let failing = mock!(aws_sdk_sms::Client::create_replication_job)
        .match_requests(|req| req.server_id() == Some("s-1"))
        .then_http_response(|| testing::sms_error(500, "InternalError", "boom"));
    let create = mock!(aws_sdk_sms::Client::create_replication_job)
        .match_requests(|req| req.server_id() != Some("s-1"))
        .then_output(|| {
            CreateReplicationJobOutput::builder()
                .replication_job_id("sms-job-ok")
                .build()
        });
    let sms = testing::mock_sms(&[&page1, &page2, &failing, &create]);
    let (context, events) = testing::context(config(false, 50), sms, bucket());
    let error = handle(schedule_event(), context).await.unwrap_err();
    assert_eq!(error.retryability(), Retryability::Retryable);
    assert!(
        error
            .to_string()
            .contains("1 of 3 CreateReplicationJob calls failed"),
        "{error}"
    );
    // s-1 was tried 3 times (SDK retries on 500), the others went through.
    assert_eq!(failing.num_calls(), 3);
    assert_eq!(create.num_calls(), 2);
    assert_eq!(events.of_type("ReplicationJobCreated").len(), 2);
}

#[tokio::test]
async fn dry_run_decides_without_creating() {
    let (page1, page2, create) = (
        catalog(Status::Available),
        catalog_page_two(),
        create_by_server(),
    );
    let sms = testing::mock_sms(&[&page1, &page2, &create]);
    let (context, events) = testing::context(config(true, 50), sms, bucket());
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(create.num_calls(), 0);
    assert_eq!(summary.created, 3);
    let created = events.of_type("ReplicationJobCreated");
    assert!(created
        .iter()
        .all(|e| e["dryRun"] == true && e["replicationJobId"].is_null()));
}

#[tokio::test]
async fn non_schedule_events_are_rejected() {
    let page1 = catalog(Status::Available);
    let sms = testing::mock_sms(&[&page1]);
    let (context, _) = testing::context(config(false, 50), sms, bucket());
    let error = handle(testing::sms_state_change("j", "r", "FAILED", None), context)
        .await
        .unwrap_err();
    assert!(matches!(error, AutopilotError::InvalidEvent(_)));
    assert_eq!(page1.num_calls(), 0);
}

/// A dry run announces each job it would create once, however many ticks it lasts; a
/// real run afterwards forgets those announcements.
#[tokio::test]
async fn a_dry_run_announces_each_job_once() {
    let store = testing::MemoryBucket::default();
    let tick = |dry_run: bool| {
        let store = store.clone();
        async move {
            let (page1, page2, create) = (
                catalog(Status::Available),
                catalog_page_two(),
                create_by_server(),
            );
            let sms = testing::mock_sms(&[&page1, &page2, &create]);
            let (s3, _, _) = store.client();
            let (context, events) = testing::context(config(dry_run, 50), sms, s3);
            let summary = handle(schedule_event(), context).await.unwrap();
            (summary, events.of_type("ReplicationJobCreated").len())
        }
    };
    let (first, announced) = tick(true).await;
    assert_eq!((first.created, announced), (3, 3));
    let (second, announced) = tick(true).await;
    assert_eq!(
        (second.created, second.announced_before, announced),
        (0, 3, 0)
    );
    tick(false).await;
    let memory: CreatorMemory = store.json(MEMORY_KEY).expect("memory stored");
    assert!(memory.announced_in_dry_run.is_empty(), "{memory:?}");
}
