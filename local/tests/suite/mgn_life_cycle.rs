//! A source server's whole life cycle on the MGN stand-in through aws-sdk-mgn, on the
//! simulated clock: the agent's replication initiating, syncing and going continuous,
//! a test launch, marked ready for cutover, its instance terminated, the cutover,
//! finalized and archived; with every refusal the model documents on the way, a stall
//! retried, a test launch that fails, and the listings' filters and pages.

use std::time::Duration;

use crate::common;

use autopilot_local::mgn::{MgnHandle, MgnOptions};
use autopilot_local::Scenario;
use aws_sdk_mgn::error::ProvideErrorMetadata;
use aws_sdk_mgn::operation::describe_source_servers::DescribeSourceServersError;
use aws_sdk_mgn::operation::start_test::StartTestError;
use aws_sdk_mgn::types::{
    ChangeServerLifeCycleStateSourceServerLifecycle as LifeCycleRequest,
    ChangeServerLifeCycleStateSourceServerLifecycleState as Changeable, DataReplicationState,
    DescribeSourceServersRequestFilters as Filters, JobLogEvent, JobStatus, LaunchStatus,
    LifeCycleState, SourceServer,
};
use aws_sdk_mgn::Client;

/// Three servers: `web` goes the whole way, `db` stalls until retried, `app` fails its
/// first test launch. Initiation takes 11 steps of 30 s, the initial sync 600 s.
const SCENARIO: &str = r#"
name: mgn-life-cycle
connectors: [{vm_manager_name: vc}]
servers:
  - {vm_name: web, volumes: [{size_gb: 10}, {size_gb: 30}]}
  - {vm_name: db}
  - {vm_name: app}
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    web: {hostname: web-01, vmware_uuid: 4210aaaa-bbbb-cccc-dddd-eeeeffff0001}
    db:
      stalls: [{at_secs: 500, error: UNSTABLE_NETWORK}]
    app: {test_launch_failures: 1}
"#;

fn scenario() -> Scenario {
    Scenario::from_text(SCENARIO).expect("the life-cycle scenario")
}

async fn servers(client: &Client) -> Vec<SourceServer> {
    client
        .describe_source_servers()
        .send()
        .await
        .expect("DescribeSourceServers")
        .items()
        .to_vec()
}

async fn server(client: &Client, hostname: &str) -> SourceServer {
    servers(client)
        .await
        .into_iter()
        .find(|s| {
            s.source_properties()
                .and_then(|p| p.identification_hints())
                .and_then(|h| h.hostname())
                == Some(hostname)
        })
        .unwrap_or_else(|| panic!("no source server {hostname}"))
}

fn id(s: &SourceServer) -> String {
    s.source_server_id().expect("an id").to_owned()
}

fn life_cycle(s: &SourceServer) -> LifeCycleState {
    s.life_cycle()
        .and_then(|l| l.state())
        .cloned()
        .expect("a life cycle")
}

fn replication(s: &SourceServer) -> DataReplicationState {
    s.data_replication_info()
        .and_then(|r| r.data_replication_state())
        .cloned()
        .expect("a replication state")
}

fn lag(s: &SourceServer) -> Option<String> {
    s.data_replication_info()
        .and_then(|r| r.lag_duration())
        .map(str::to_owned)
}

async fn change(client: &Client, id: &str, to: Changeable) -> Result<(), String> {
    let life_cycle = LifeCycleRequest::builder()
        .state(to)
        .build()
        .expect("a state");
    client
        .change_server_life_cycle_state()
        .source_server_id(id)
        .life_cycle(life_cycle)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.into_service_error().code().unwrap_or_default().to_owned())
}

/// Waits `secs` simulated seconds.
fn wait(mgn: &MgnHandle, secs: u64) {
    mgn.advance(Duration::from_secs(secs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_replicates_is_tested_cut_over_finalized_and_archived() {
    let (mgn, client) = common::mgn_account(scenario(), MgnOptions::default()).await;
    let web_id = replicates_to_continuous(&mgn, &client).await;
    is_tested_then_its_instance_terminated(&mgn, &client, &web_id).await;
    is_cut_over_finalized_and_archived(&mgn, &client, &web_id).await;
    mgn.shutdown().await;
}

/// Added with the agent, initiating, syncing (no lag, so no launch), then continuous.
async fn replicates_to_continuous(mgn: &MgnHandle, client: &Client) -> String {
    // Added with the agent: NOT_READY, initiating step by step.
    let web = server(client, "web-01").await;
    let web_id = id(&web);
    assert_eq!(life_cycle(&web), LifeCycleState::NotReady);
    assert_eq!(replication(&web), DataReplicationState::Initiating);
    let hints = web
        .source_properties()
        .and_then(|p| p.identification_hints())
        .expect("hints");
    assert_eq!(
        hints.vm_ware_uuid(),
        Some("4210aaaa-bbbb-cccc-dddd-eeeeffff0001")
    );
    assert_eq!(hints.fqdn(), Some("web-01.corp.example.com"));
    let steps = web
        .data_replication_info()
        .and_then(|r| r.data_replication_initiation())
        .map(|i| i.steps().len());
    assert_eq!(steps, Some(11), "every initiation step of the model");

    // Syncing: bytes move, an ETA, no lag yet, so no life-cycle change and no launch.
    wait(mgn, 11 * 30 + 300);
    let web = server(client, "web-01").await;
    assert_eq!(replication(&web), DataReplicationState::InitialSync);
    let info = web.data_replication_info().expect("info");
    assert!(info.eta_date_time().is_some());
    let disks = info.replicated_disks();
    assert_eq!(disks.len(), 2);
    assert_eq!(disks[1].total_storage_bytes(), 30 << 30);
    assert_eq!(disks[1].replicated_storage_bytes(), 15 << 30, "half way");
    assert_eq!(lag(&web), None);
    assert_eq!(
        change(client, &web_id, Changeable::ReadyForTest)
            .await
            .err()
            .as_deref(),
        Some("ConflictException"),
        "no lag yet"
    );
    let refused = client
        .start_test()
        .source_server_ids(&web_id)
        .send()
        .await
        .expect_err("not replicating continuously yet")
        .into_service_error();
    let StartTestError::ConflictException(conflict) = refused else {
        panic!("a ConflictException: {refused:?}");
    };
    assert_eq!(conflict.errors().len(), 1);
    assert_eq!(conflict.errors()[0].resource_id(), Some(web_id.as_str()));

    // Continuous: a lag, READY_FOR_TEST.
    wait(mgn, 300);
    let web = server(client, "web-01").await;
    assert_eq!(replication(&web), DataReplicationState::Continuous);
    assert_eq!(life_cycle(&web), LifeCycleState::ReadyForTest);
    assert_eq!(lag(&web).as_deref(), Some("PT1S"));
    web_id
}

/// Tested: TESTING at once, nothing else allowed meanwhile, the job's course and log,
/// marked ready for cutover, its instance terminated.
async fn is_tested_then_its_instance_terminated(mgn: &MgnHandle, client: &Client, web_id: &str) {
    // The test: TESTING at once, its job PENDING, STARTED, COMPLETED with the instance.
    let job = client
        .start_test()
        .source_server_ids(web_id)
        .send()
        .await
        .expect("StartTest")
        .job()
        .cloned()
        .expect("a job");
    assert_eq!(job.status(), Some(&JobStatus::Pending));
    assert_eq!(
        life_cycle(&server(client, "web-01").await),
        LifeCycleState::Testing
    );
    for refused in [
        client
            .terminate_target_instances()
            .source_server_ids(web_id)
            .send()
            .await
            .err()
            .map(|e| e.into_service_error().code().map(str::to_owned)),
        client
            .mark_as_archived()
            .source_server_id(web_id)
            .send()
            .await
            .err()
            .map(|e| e.into_service_error().code().map(str::to_owned)),
        client
            .start_cutover()
            .source_server_ids(web_id)
            .send()
            .await
            .err()
            .map(|e| e.into_service_error().code().map(str::to_owned)),
    ] {
        assert_eq!(refused, Some(Some("ConflictException".to_owned())));
    }
    wait(mgn, 30);
    let started = describe_job(client, job.job_id()).await;
    assert_eq!(started.status(), Some(&JobStatus::Started));
    wait(mgn, 600);
    let done = describe_job(client, job.job_id()).await;
    assert_eq!(done.status(), Some(&JobStatus::Completed));
    assert_eq!(
        done.participating_servers()[0].launch_status(),
        Some(&LaunchStatus::Launched)
    );
    let web = server(client, "web-01").await;
    let test_instance = web
        .launched_instance()
        .and_then(|i| i.ec2_instance_id())
        .map(str::to_owned)
        .expect("the test instance");
    let events = log_events(client, job.job_id()).await;
    assert_eq!(events.first(), Some(&JobLogEvent::JobStart));
    assert_eq!(events.last(), Some(&JobLogEvent::JobEnd));
    assert!(events.contains(&JobLogEvent::ConversionEnd));

    // Marked ready for cutover by a call (the default reading), then the test instance
    // terminated by a TERMINATE job.
    change(client, web_id, Changeable::ReadyForCutover)
        .await
        .expect("marked");
    let marked = server(client, "web-01").await;
    assert_eq!(life_cycle(&marked), LifeCycleState::ReadyForCutover);
    let finalized_test = marked
        .life_cycle()
        .and_then(|l| l.last_test())
        .and_then(|t| t.finalized())
        .is_some();
    assert!(finalized_test, "the test is recorded as finalized");
    let terminate = client
        .terminate_target_instances()
        .source_server_ids(web_id)
        .send()
        .await
        .expect("TerminateTargetInstances")
        .job()
        .cloned()
        .expect("a job");
    wait(mgn, 30 + 120);
    let terminated = describe_job(client, terminate.job_id()).await;
    assert_eq!(
        terminated.participating_servers()[0].launch_status(),
        Some(&LaunchStatus::Terminated)
    );
    let web = server(client, "web-01").await;
    assert!(web.launched_instance().is_none(), "{test_instance} is gone");
}

/// Cut over, finalized once its instance launched, archived, and then listed as archived.
async fn is_cut_over_finalized_and_archived(mgn: &MgnHandle, client: &Client, web_id: &str) {
    // The cutover: not finalized before its instance launched, then CUTOVER, replication
    // DISCONNECTED with nothing left to count, then archived.
    client
        .start_cutover()
        .source_server_ids(web_id)
        .send()
        .await
        .expect("StartCutover");
    let early = client
        .finalize_cutover()
        .source_server_id(web_id)
        .send()
        .await
        .expect_err("nothing launched yet");
    assert_eq!(early.into_service_error().code(), Some("ConflictException"));
    wait(mgn, 30 + 600);
    client
        .finalize_cutover()
        .source_server_id(web_id)
        .send()
        .await
        .expect("FinalizeCutover");
    let cut_over = server(client, "web-01").await;
    assert_eq!(life_cycle(&cut_over), LifeCycleState::Cutover);
    assert_eq!(replication(&cut_over), DataReplicationState::Disconnected);
    assert_eq!(lag(&cut_over), None);
    let totals: Vec<i64> = cut_over
        .data_replication_info()
        .map(|r| {
            r.replicated_disks()
                .iter()
                .map(|d| d.total_storage_bytes())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(totals, vec![0, 0]);
    client
        .mark_as_archived()
        .source_server_id(web_id)
        .send()
        .await
        .expect("MarkAsArchived");
    let live = client
        .describe_source_servers()
        .filters(Filters::builder().is_archived(false).build())
        .send()
        .await
        .expect("filtered");
    assert!(live
        .items()
        .iter()
        .all(|s| s.source_server_id() != Some(web_id)));
    assert_eq!(live.items().len(), 2);
}

async fn describe_job(client: &Client, job_id: &str) -> aws_sdk_mgn::types::Job {
    let filters = aws_sdk_mgn::types::DescribeJobsRequestFilters::builder()
        .job_ids(job_id)
        .build();
    client
        .describe_jobs()
        .filters(filters)
        .send()
        .await
        .expect("DescribeJobs")
        .items()
        .first()
        .cloned()
        .expect("the job")
}

async fn log_events(client: &Client, job_id: &str) -> Vec<JobLogEvent> {
    let mut events = Vec::new();
    let mut pages = client
        .describe_job_log_items()
        .job_id(job_id)
        .max_results(3)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        events.extend(item.expect("a log item").event().cloned());
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_retried_and_a_failed_test_launch_is_launched_again() {
    let (mgn, client) = common::mgn_account(scenario(), MgnOptions::default()).await;

    let db_id = id(&server(&client, "db").await);
    let retried_too_soon = client
        .retry_data_replication()
        .source_server_id(&db_id)
        .send()
        .await
        .expect_err("only a stalled replication is retried")
        .into_service_error();
    assert!(
        retried_too_soon.is_validation_exception(),
        "{retried_too_soon:?}"
    );

    wait(&mgn, 500);
    let db = server(&client, "db").await;
    assert_eq!(replication(&db), DataReplicationState::Stalled);
    let error = db
        .data_replication_info()
        .and_then(|r| r.data_replication_error())
        .and_then(|e| e.error())
        .map(|e| e.as_str().to_owned());
    assert_eq!(error.as_deref(), Some("UNSTABLE_NETWORK"));
    wait(&mgn, 3600);
    assert_eq!(
        replication(&server(&client, "db").await),
        DataReplicationState::Stalled,
        "it lasts until retried"
    );
    client
        .retry_data_replication()
        .source_server_id(&db_id)
        .send()
        .await
        .expect("RetryDataReplication");
    assert_eq!(
        replication(&server(&client, "db").await),
        DataReplicationState::Initiating
    );
    wait(&mgn, 11 * 30 + 600);
    let db = server(&client, "db").await;
    assert_eq!(replication(&db), DataReplicationState::Continuous);
    assert_eq!(life_cycle(&db), LifeCycleState::ReadyForTest);

    // `app` fails its first test launch: the job COMPLETES with the server FAILED.
    let app_id = id(&server(&client, "app").await);
    let first = client
        .start_test()
        .source_server_ids(&app_id)
        .send()
        .await
        .expect("StartTest")
        .job()
        .map(|j| j.job_id().to_owned())
        .expect("a job");
    wait(&mgn, 30 + 600);
    let failed = describe_job(&client, &first).await;
    assert_eq!(failed.status(), Some(&JobStatus::Completed));
    assert_eq!(
        failed.participating_servers()[0].launch_status(),
        Some(&LaunchStatus::Failed)
    );
    assert!(log_events(&client, &first)
        .await
        .contains(&JobLogEvent::LaunchFailed));
    assert!(server(&client, "app").await.launched_instance().is_none());
    client
        .start_test()
        .source_server_ids(&app_id)
        .send()
        .await
        .expect("a test is launched again from TESTING");
    wait(&mgn, 30 + 600);
    assert!(server(&client, "app").await.launched_instance().is_some());
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_filter_and_page_as_the_model_says() {
    let (mgn, client) = common::mgn_account(scenario(), MgnOptions::default()).await;
    wait(&mgn, 11 * 30 + 600 + 1);

    let mut seen = Vec::new();
    let mut pages = client
        .describe_source_servers()
        .max_results(1)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("a page");
        assert!(page.items().len() <= 1);
        seen.extend(page.items().iter().map(id));
    }
    assert_eq!(seen.len(), 3, "every server once: {seen:?}");

    let ready = client
        .describe_source_servers()
        .filters(
            Filters::builder()
                .life_cycle_states(LifeCycleState::ReadyForTest)
                .build(),
        )
        .send()
        .await
        .expect("filtered");
    assert_eq!(ready.items().len(), 2, "db is still stalled");
    let by_id = client
        .describe_source_servers()
        .filters(Filters::builder().source_server_ids(&seen[0]).build())
        .send()
        .await
        .expect("by id");
    assert_eq!(by_id.items().len(), 1);

    let stale = client
        .describe_source_servers()
        .max_results(1)
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("a token it never handed out")
        .into_service_error();
    let DescribeSourceServersError::ValidationException(validation) = stale else {
        panic!("a ValidationException: {stale:?}");
    };
    assert_eq!(validation.field_list()[0].name(), Some("nextToken"));
    mgn.shutdown().await;
}
