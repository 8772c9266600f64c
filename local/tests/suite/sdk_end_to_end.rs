//! The "done when" walk-through, driven only by the real aws-sdk-sms and aws-sdk-s3 clients:
//! connector check, catalog import, discovery, job creation (and AlreadyExists), runs to
//! COMPLETED, a paused job resumed, an app launched, a template and a change set in S3.

use crate::common;

use std::time::Duration;

use autopilot_local::Scenario;
use aws_lambda_events::cloudwatch_events::sms::JobStateChange;
use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use aws_sdk_sms::types::{
    ConnectorStatus, ReplicationJobState, ReplicationRunState, ServerCatalogStatus,
};
use aws_smithy_types_convert_shim::now_secs;

mod aws_smithy_types_convert_shim {
    /// Epoch seconds of the emulator's simulated clock as an SDK DateTime.
    pub fn now_secs(emu: &autopilot_local::EmulatorHandle) -> aws_sdk_sms::primitives::DateTime {
        aws_sdk_sms::primitives::DateTime::from_secs(emu.now().timestamp())
    }
}

async fn job_state(sms: &aws_sdk_sms::Client, id: &str) -> aws_sdk_sms::types::ReplicationJob {
    let out = sms
        .get_replication_jobs()
        .replication_job_id(id)
        .send()
        .await
        .expect("GetReplicationJobs");
    out.replication_job_list()
        .first()
        .cloned()
        .expect("job listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_flow_through_the_real_sdk() {
    let emu = common::start(Scenario::hand_made_apps()).await;
    let mut events = emu.subscribe_events();
    let sms = common::sms(&emu).await;
    let s3 = common::s3(&emu).await;

    // Connectors.
    let connectors = sms.get_connectors().send().await.expect("GetConnectors");
    assert_eq!(connectors.connector_list().len(), 2);
    assert!(connectors
        .connector_list()
        .iter()
        .all(|c| c.status() == Some(&ConnectorStatus::Healthy)));

    // Catalog import and discovery.
    let before = sms.get_servers().send().await.expect("GetServers");
    assert_eq!(
        before.server_catalog_status(),
        Some(&ServerCatalogStatus::NotImported)
    );
    assert!(before.server_list().is_empty());
    sms.import_server_catalog()
        .send()
        .await
        .expect("ImportServerCatalog");
    let importing = sms.get_servers().send().await.expect("GetServers");
    assert_eq!(
        importing.server_catalog_status(),
        Some(&ServerCatalogStatus::Importing)
    );
    emu.advance(Duration::from_secs(121));
    let servers: Vec<_> = sms
        .get_servers()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("paginate servers");
    let scenario = Scenario::hand_made_apps();
    let visible_now = scenario
        .servers
        .iter()
        .filter(|s| s.appears_at_secs == 0)
        .count();
    assert_eq!(servers.len(), visible_now);
    let first_modified = sms
        .get_servers()
        .send()
        .await
        .expect("GetServers")
        .last_modified_on()
        .cloned();
    assert!(first_modified.is_some());

    // Job creation, and AlreadyExists on repeat.
    let web = common::server_id(&emu, "shop-web-01");
    let job = sms
        .create_replication_job()
        .server_id(&web)
        .seed_replication_time(now_secs(&emu))
        .frequency(12)
        .number_of_recent_amis_to_keep(1)
        .send()
        .await
        .expect("CreateReplicationJob")
        .replication_job_id()
        .map(str::to_string)
        .expect("job id");
    let again = sms
        .create_replication_job()
        .server_id(&web)
        .seed_replication_time(now_secs(&emu))
        .send()
        .await
        .expect_err("second job for the same server");
    assert!(
        again
            .as_service_error()
            .is_some_and(|e| e.is_replication_job_already_exists_exception()),
        "{again:?}"
    );
    let listed = sms
        .get_servers()
        .vm_server_address_list(
            servers
                .iter()
                .find(|s| s.server_id() == Some(web.as_str()))
                .and_then(|s| s.vm_server().and_then(|v| v.vm_server_address()))
                .cloned()
                .expect("address"),
        )
        .send()
        .await
        .expect("filtered GetServers");
    assert_eq!(listed.server_list().len(), 1);
    assert_eq!(
        listed.server_list()[0].replication_job_id(),
        Some(job.as_str())
    );

    // Run to COMPLETED.
    emu.advance(Duration::from_secs(60 + 600));
    let mid = job_state(&sms, &job).await;
    assert_eq!(mid.state(), Some(&ReplicationJobState::Active));
    let run = &mid.replication_run_list()[0];
    assert_eq!(run.state(), Some(&ReplicationRunState::Active));
    assert!(run.stage_details().and_then(|d| d.stage()).is_some());
    emu.advance(Duration::from_secs(700));
    let done = job_state(&sms, &job).await;
    let run = &done.replication_run_list()[0];
    assert_eq!(run.state(), Some(&ReplicationRunState::Completed));
    assert!(run.ami_id().is_some_and(|a| a.starts_with("ami-")));
    assert_eq!(done.latest_ami_id(), run.ami_id());

    // A paused job resumed by an on-demand run.
    let pay = common::server_id(&emu, "pay-db-02");
    let paused = sms
        .create_replication_job()
        .server_id(&pay)
        .seed_replication_time(now_secs(&emu))
        .send()
        .await
        .expect("job for pay-db-02")
        .replication_job_id()
        .map(str::to_string)
        .expect("id");
    emu.advance(Duration::from_secs(60 + 2100 + 1));
    assert_eq!(
        job_state(&sms, &paused).await.state(),
        Some(&ReplicationJobState::Failing)
    );
    emu.advance(Duration::from_secs(300));
    assert_eq!(
        job_state(&sms, &paused).await.state(),
        Some(&ReplicationJobState::PausedOnFailure)
    );
    sms.start_on_demand_replication_run()
        .replication_job_id(&paused)
        .description("resume after pause")
        .send()
        .await
        .expect("StartOnDemandReplicationRun");
    assert_eq!(
        job_state(&sms, &paused).await.state(),
        Some(&ReplicationJobState::Active)
    );
    emu.advance(Duration::from_secs(60 + 4200 + 1));
    let resumed = job_state(&sms, &paused).await;
    assert_eq!(resumed.state(), Some(&ReplicationJobState::Active));
    assert!(resumed.latest_ami_id().is_some());
    let runs = sms
        .get_replication_runs()
        .replication_job_id(&paused)
        .send()
        .await
        .expect("GetReplicationRuns");
    let states: Vec<_> = runs
        .replication_run_list()
        .iter()
        .filter_map(|r| r.state().cloned())
        .collect();
    assert_eq!(
        states,
        [ReplicationRunState::Failed, ReplicationRunState::Completed]
    );

    // An app launched once every member has a completed run.
    let apps = sms.list_apps().send().await.expect("ListApps");
    let shop = apps
        .apps()
        .iter()
        .find(|a| a.name() == Some("shop"))
        .and_then(|a| a.app_id())
        .map(str::to_string)
        .expect("shop app");
    let refused = sms
        .launch_app()
        .app_id(&shop)
        .send()
        .await
        .expect_err("members not replicated");
    let message = refused
        .as_service_error()
        .and_then(|e| e.meta().message())
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains(&common::server_id(&emu, "shop-db-01")),
        "{message}"
    );
    for name in ["shop-web-02", "shop-app-01", "shop-app-02", "shop-db-01"] {
        sms.create_replication_job()
            .server_id(common::server_id(&emu, name))
            .seed_replication_time(now_secs(&emu))
            .send()
            .await
            .expect("member job");
    }
    emu.advance(Duration::from_secs(60 + 3600 + 1));
    sms.launch_app()
        .app_id(&shop)
        .send()
        .await
        .expect("LaunchApp");
    let status = |v: aws_sdk_sms::operation::get_app::GetAppOutput| {
        v.app_summary()
            .and_then(|s| s.launch_status().cloned())
            .expect("launch status")
    };
    use aws_sdk_sms::types::AppLaunchStatus;
    assert_eq!(
        status(sms.get_app().app_id(&shop).send().await.expect("GetApp")),
        AppLaunchStatus::LaunchPending
    );
    emu.advance(Duration::from_secs(61));
    assert_eq!(
        status(sms.get_app().app_id(&shop).send().await.expect("GetApp")),
        AppLaunchStatus::LaunchInProgress
    );
    emu.advance(Duration::from_secs(601));
    let app = sms.get_app().app_id(&shop).send().await.expect("GetApp");
    let summary = app.app_summary().expect("summary");
    assert_eq!(summary.launch_status(), Some(&AppLaunchStatus::Launched));
    let details = summary.launch_details().expect("launch details");
    assert!(
        details.stack_name().is_some()
            && details
                .stack_id()
                .is_some_and(|s| s.starts_with("arn:aws:cloudformation:"))
    );

    // Template in S3.
    let loc = sms
        .generate_template()
        .app_id(&shop)
        .template_format(aws_sdk_sms::types::OutputFormat::Json)
        .send()
        .await
        .expect("GenerateTemplate")
        .s3_location()
        .cloned()
        .expect("location");
    let body = s3
        .get_object()
        .bucket(loc.bucket().expect("bucket"))
        .key(loc.key().expect("key"))
        .send()
        .await
        .expect("GetObject template")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    let template: serde_json::Value = serde_json::from_slice(&body).expect("template JSON");
    let resources = template["Resources"].as_object().expect("resources");
    assert_eq!(resources.len(), 5);
    assert!(resources
        .values()
        .all(|r| r["Type"] == "AWS::EC2::Instance"));
    assert_eq!(
        resources["ShopWeb01"]["Properties"]["InstanceType"],
        "m5.large"
    );
    assert_eq!(
        resources["ShopWeb01"]["DependsOn"],
        serde_json::json!(["ShopApp01", "ShopApp02"])
    );
    assert!(resources["ShopDb01"].get("DependsOn").is_none());
    let web_ami = job_state(&sms, &job)
        .await
        .latest_ami_id()
        .map(str::to_string);
    assert_eq!(
        resources["ShopWeb01"]["Properties"]["ImageId"].as_str(),
        web_ami.as_deref()
    );

    // Newer AMIs after the next scheduled runs, then a change set.
    emu.advance(Duration::from_secs(12 * 3600 + 3600));
    let newer = job_state(&sms, &job).await;
    assert_ne!(newer.latest_ami_id().map(str::to_string), web_ami);
    let cs = sms
        .generate_change_set()
        .app_id(&shop)
        .changeset_format(aws_sdk_sms::types::OutputFormat::Yaml)
        .send()
        .await
        .expect("GenerateChangeSet")
        .s3_location()
        .cloned()
        .expect("location");
    let body = s3
        .get_object()
        .bucket(cs.bucket().expect("bucket"))
        .key(cs.key().expect("key"))
        .send()
        .await
        .expect("GetObject change set")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    let change_set: serde_json::Value = serde_yaml_ng::from_slice(&body).expect("change set YAML");
    let changes = change_set["Changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 5, "every member got a newer AMI");
    assert_eq!(
        changes[0]["ResourceChange"]["Details"][0]["Target"]["Name"],
        "ImageId"
    );
    // numberOfRecentAmisToKeep = 1 pruned the first AMI of shop-web-01.
    assert!(emu
        .state()
        .pruned_amis
        .iter()
        .any(|a| Some(a.as_str()) == web_ami.as_deref()));

    // The listing of objects works through the SDK too.
    let listed = s3
        .list_objects_v2()
        .bucket("sms-app-templates")
        .send()
        .await
        .expect("ListObjectsV2");
    assert_eq!(listed.contents().len(), 2);
    s3.put_object()
        .bucket("sms-autopilot-artifacts")
        .key("reports/wave.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"{\"ok\":true}",
        ))
        .send()
        .await
        .expect("PutObject with arbitrary credentials");

    // Events: every one deserialises as the Lambda event type the functions use.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        let typed: CloudWatchEvent<JobStateChange> =
            serde_json::from_str(&e.to_json()).expect("typed event");
        assert_eq!(typed.source.as_deref(), Some("aws.sms"));
        assert_eq!(
            typed.detail_type.as_deref(),
            Some("Server Migration Job State Change")
        );
        seen.push(typed.detail.expect("detail"));
    }
    // Nothing was announced for the paused job but its completed run (SMS announced
    // completed, failed and deleted only, in title case).
    let for_paused: Vec<&str> = seen
        .iter()
        .filter(|d| d.replication_job_id == paused)
        .map(|d| d.state.as_str())
        .collect();
    assert!(!for_paused.is_empty());
    assert!(
        for_paused.iter().all(|s| *s == "Completed"),
        "{for_paused:?}"
    );
    assert!(seen
        .iter()
        .any(|d| d.replication_job_id == paused && d.state == "Completed" && d.ami_id.is_some()));

    let counts = emu.call_counts();
    assert_eq!(counts.get("LaunchApp"), Some(&2));
    assert_eq!(counts.get("ImportServerCatalog"), Some(&1));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_paginator_walks_120_plus_servers() {
    let emu = common::start(Scenario::generate(130, 5, 11)).await;
    let sms = common::sms(&emu).await;
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(8 * 3600));
    sms.import_server_catalog()
        .send()
        .await
        .expect("re-import sees late servers");
    emu.advance(Duration::from_secs(121));
    emu.reset_call_counts();
    let servers: Vec<_> = sms
        .get_servers()
        .into_paginator()
        .page_size(50)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("paginate");
    assert_eq!(servers.len(), 130);
    let ids: std::collections::BTreeSet<_> = servers.iter().filter_map(|s| s.server_id()).collect();
    assert_eq!(ids.len(), 130, "no duplicates across pages");
    assert_eq!(emu.call_counts().get("GetServers"), Some(&3));
    // Default page size is 50 as documented.
    let first = sms.get_servers().send().await.expect("first page");
    assert_eq!(first.server_list().len(), 50);
    assert!(first.next_token().is_some());
    let bad = sms
        .get_servers()
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(
        bad.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidParameterException")
    );
    let too_big = sms
        .get_servers()
        .max_results(101)
        .send()
        .await
        .expect_err("too big");
    assert_eq!(
        too_big.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidParameterException")
    );
    // ListApps paginates too (the Rust SDK has no paginator for it, so by hand).
    let mut apps = Vec::new();
    let mut token = None;
    for _ in 0..10 {
        let page = sms
            .list_apps()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .expect("ListApps");
        apps.extend(page.apps().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(apps.len(), 5);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_times_count_the_latency_as_slept_per_operation() {
    let emu = common::start(Scenario::generate(20, 2, 5)).await;
    let sms = common::sms(&emu).await;
    emu.set_faults(autopilot_local::Faults {
        latency_ms: 30,
        ..Default::default()
    });
    for _ in 0..3 {
        sms.get_connectors().send().await.expect("GetConnectors");
    }
    let times = emu.service_times();
    let connectors = times.get("GetConnectors").copied().unwrap_or_default();
    assert!(
        connectors > Duration::from_millis(90),
        "three calls at 30 ms took {connectors:?} to answer"
    );
    assert_eq!(times.len(), 1, "only the operation called: {times:?}");
    emu.reset_call_counts();
    assert!(emu.service_times().is_empty());
    assert!(emu.call_counts().is_empty());
    emu.shutdown().await;
}
