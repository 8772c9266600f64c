//! Unit tests of the planner against mocked SMS and a bucket in memory: no plan, a
//! refused plan reported once, a fresh account planned, drift reported once, a
//! notification for another object refused.

use super::*;
use autopilot_core::config::CommonConfig;
use autopilot_core::error::Retryability;
use autopilot_core::plan::resolved::RESOLVED_KEY;
use autopilot_core::testing::{self, schedule_event, MemoryBucket};
use aws_sdk_sms::operation::create_app::CreateAppOutput;
use aws_sdk_sms::operation::get_app::GetAppOutput;
use aws_sdk_sms::operation::get_app_launch_configuration::GetAppLaunchConfigurationOutput;
use aws_sdk_sms::operation::get_servers::GetServersOutput;
use aws_sdk_sms::operation::list_apps::ListAppsOutput;
use aws_sdk_sms::operation::put_app_launch_configuration::PutAppLaunchConfigurationOutput;
use aws_sdk_sms::operation::put_app_replication_configuration::PutAppReplicationConfigurationOutput;
use aws_sdk_sms::operation::start_app_replication::StartAppReplicationOutput;
use aws_sdk_sms::operation::update_app::UpdateAppOutput;
use aws_sdk_sms::types::{
    AppLaunchStatus, AppSummary, Server as SmsServer, ServerCatalogStatus, ServerGroup, Tag,
    VmServer,
};
use aws_smithy_mocks::{mock, Rule};

fn config() -> AppPlannerConfig {
    AppPlannerConfig {
        common: CommonConfig {
            event_bus_name: "autopilot".into(),
            dry_run: false,
            max_attempts: 3,
        },
        artifacts_bucket: "artifacts".into(),
        plan_key: "plan/wave-plan.yaml".into(),
        app_role_name: None,
        launch_role_name: None,
    }
}

const PLAN: &str = "version: 1
defaults: { launch: { instanceType: t3.small, subnet: subnet-1, securityGroup: sg-1 } }
applications:
  - name: shop
    replicatedBy: app
    groups: [{ name: web, launchOrder: 1, servers: [web-01, web-02] }]
";

fn bucket_with(plan: &str) -> MemoryBucket {
    let bucket = MemoryBucket::default();
    bucket.put("plan/wave-plan.yaml", plan.as_bytes().to_vec());
    bucket
}

fn sms_server(id: &str, name: &str) -> SmsServer {
    SmsServer::builder()
        .server_id(id)
        .vm_server(VmServer::builder().vm_name(name).build())
        .build()
}

fn catalog() -> Rule {
    mock!(aws_sdk_sms::Client::get_servers).then_output(|| {
        GetServersOutput::builder()
            .server_catalog_status(ServerCatalogStatus::Available)
            .server_list(sms_server("s-1", "web-01"))
            .server_list(sms_server("s-2", "web-02"))
            .build()
    })
}

fn no_apps() -> Rule {
    mock!(aws_sdk_sms::Client::list_apps).then_output(|| ListAppsOutput::builder().build())
}

async fn invoke(
    bucket: &MemoryBucket,
    rules: &[&Rule],
) -> (Result<Summary, AutopilotError>, testing::PublishedEvents) {
    let (context, events) =
        testing::context::<_, AppCache>(config(), testing::mock_sms(rules), bucket.client().0);
    (handle(schedule_event(), context).await, events)
}

#[tokio::test]
async fn without_a_plan_there_is_nothing_to_do() {
    let servers = catalog();
    let (summary, events) = invoke(&MemoryBucket::default(), &[&servers]).await;
    assert!(summary.unwrap().no_plan);
    assert_eq!(servers.num_calls(), 0);
    assert!(events.all().is_empty());
}

#[tokio::test]
async fn a_refused_plan_changes_nothing_and_is_reported_once_per_version() {
    let bucket = bucket_with(
        "version: 1\napplications:\n  - name: shop\n    groups: []\n    colour: blue\n",
    );
    let servers = catalog();
    let (summary, events) = invoke(&bucket, &[&servers]).await;
    let summary = summary.expect("a refused plan is not an invocation error");
    assert!(summary.rejected);
    assert_eq!(
        summary.problems, 1,
        "the unknown key (the rules wait for a sound shape)"
    );
    assert_eq!(servers.num_calls(), 0, "nothing read or changed in SMS");
    let rejected = events.of_type("PlanRejected");
    assert_eq!(rejected.len(), 1);
    let problems = rejected[0]["problems"].as_array().unwrap();
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .starts_with("line 5, applications[0].colour"),
        "{problems:?}"
    );

    let (_, events) = invoke(&bucket, &[&servers]).await;
    assert!(
        events.all().is_empty(),
        "the same version is not reported again"
    );
    bucket.put("plan/wave-plan.yaml", b"version: 2\n".to_vec());
    let (_, events) = invoke(&bucket, &[&servers]).await;
    assert_eq!(
        events.of_type("PlanRejected").len(),
        1,
        "a new version is news"
    );
}

#[tokio::test]
async fn a_fresh_account_gets_its_application_created_configured_and_replicating() {
    let bucket = bucket_with(PLAN);
    let (servers, apps) = (catalog(), no_apps());
    let create = mock!(aws_sdk_sms::Client::create_app)
        .match_requests(|req| {
            req.client_token()
                .is_some_and(|t| t.starts_with("autopilot-plan-"))
                && req
                    .tags()
                    .iter()
                    .any(|t| t.key() == Some("autopilot:plan") && t.value() == Some("shop"))
                && req.server_groups()[0].server_list().len() == 2
        })
        .then_output(|| {
            CreateAppOutput::builder()
                .app_summary(AppSummary::builder().app_id("app-1").name("shop").build())
                .server_groups(
                    ServerGroup::builder()
                        .server_group_id("sg-9")
                        .name("web")
                        .build(),
                )
                .build()
        });
    let launch = mock!(aws_sdk_sms::Client::put_app_launch_configuration)
        .match_requests(|req| {
            let group = &req.server_group_launch_configurations()[0];
            req.auto_launch() == Some(false)
                && group.server_group_id() == Some("sg-9")
                && group.launch_order() == Some(1)
                && group.server_launch_configurations()[0].logical_id() == Some("Web01")
                && group.server_launch_configurations()[0].instance_type() == Some("t3.small")
        })
        .then_output(|| PutAppLaunchConfigurationOutput::builder().build());
    let replication = mock!(aws_sdk_sms::Client::put_app_replication_configuration)
        .then_output(|| PutAppReplicationConfigurationOutput::builder().build());
    let start = mock!(aws_sdk_sms::Client::start_app_replication)
        .then_output(|| StartAppReplicationOutput::builder().build());
    let (summary, events) = invoke(
        &bucket,
        &[&servers, &apps, &create, &launch, &replication, &start],
    )
    .await;
    let summary = summary.unwrap();
    assert_eq!((summary.changes, summary.applications), (1, 1));
    assert_eq!(
        (
            create.num_calls(),
            launch.num_calls(),
            replication.num_calls(),
            start.num_calls()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        events.detail_types(),
        [
            "AppPlanned",
            "AppConfigured",
            "AppConfigured",
            "AppConfigured"
        ]
    );
    assert_eq!(events.of_type("AppPlanned")[0]["change"], "created");
    assert_eq!(events.of_type("AppPlanned")[0]["appId"], "app-1");
    let resolved: ResolvedPlan = bucket
        .json(RESOLVED_KEY)
        .expect("the accepted plan, resolved");
    assert!(resolved.replicated_by_app(&"s-2".into()), "{resolved:?}");
    assert_eq!(
        resolved.apps["shop"].launch,
        autopilot_core::plan::LaunchMode::Automatic
    );
}

/// shop, LAUNCHED, holding web-01 only: the plan's web-02 is drift.
fn launched_shop() -> (Rule, Rule, Rule) {
    let summary = || {
        AppSummary::builder()
            .app_id("app-1")
            .name("shop")
            .launch_status(AppLaunchStatus::Launched)
            .build()
    };
    let listing = mock!(aws_sdk_sms::Client::list_apps)
        .then_output(move || ListAppsOutput::builder().apps(summary()).build());
    let get = mock!(aws_sdk_sms::Client::get_app).then_output(move || {
        GetAppOutput::builder()
            .app_summary(summary())
            .server_groups(
                ServerGroup::builder()
                    .server_group_id("sg-9")
                    .name("web")
                    .server_list(sms_server("s-1", "web-01"))
                    .build(),
            )
            .tags(Tag::builder().key("autopilot:plan").value("shop").build())
            .build()
    });
    let launch = mock!(aws_sdk_sms::Client::get_app_launch_configuration)
        .then_output(|| GetAppLaunchConfigurationOutput::builder().build());
    (listing, get, launch)
}

#[tokio::test]
async fn a_launched_application_that_differs_is_reported_once_and_left_alone() {
    let bucket = bucket_with(&PLAN.replace("replicatedBy: app", "replicatedBy: jobs"));
    let (listing, get, launch) = launched_shop();
    let servers = catalog();
    let update =
        mock!(aws_sdk_sms::Client::update_app).then_output(|| UpdateAppOutput::builder().build());
    let rules: [&Rule; 5] = [&servers, &listing, &get, &launch, &update];
    let (summary, events) = invoke(&bucket, &rules).await;
    assert_eq!(summary.unwrap().drifting, 1);
    assert_eq!(update.num_calls(), 0);
    let drift = events.of_type("PlanDrift");
    assert_eq!(drift.len(), 1);
    assert!(drift[0]["reason"].as_str().unwrap().contains("LAUNCHED"));
    let (_, events) = invoke(&bucket, &rules).await;
    assert!(events.of_type("PlanDrift").is_empty(), "reported once");
}

#[tokio::test]
async fn a_notification_for_another_object_is_refused() {
    let (context, _) = testing::context::<_, AppCache>(
        config(),
        testing::mock_sms(&[]),
        MemoryBucket::default().client().0,
    );
    let event = serde_json::json!({
        "version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"bucket": {"name": "artifacts"}, "object": {"key": "apps/x.json"}}
    });
    let error = handle(event, context).await.unwrap_err();
    assert_eq!(error.retryability(), Retryability::Permanent);
    assert!(error.to_string().contains("apps/x.json"), "{error}");
}

/// A dry run makes no change, so every run finds the same ones to make: it announces
/// each once per plan version, and calls nothing that changes SMS.
#[tokio::test]
async fn a_dry_run_announces_each_change_once() {
    let bucket = bucket_with(PLAN);
    let (servers, apps) = (catalog(), no_apps());
    let create = mock!(aws_sdk_sms::Client::create_app)
        .then_output(|| aws_sdk_sms::operation::create_app::CreateAppOutput::builder().build());
    let mut dry = config();
    dry.common.dry_run = true;
    let mut announced = Vec::new();
    for _ in 0..2 {
        let (context, events) = testing::context::<_, AppCache>(
            dry.clone(),
            testing::mock_sms(&[&servers, &apps, &create]),
            bucket.client().0,
        );
        let summary = handle(schedule_event(), context).await.unwrap();
        assert!(summary.changes > 0, "the changes are still decided");
        announced.push(events.detail_types());
    }
    assert_eq!(create.num_calls(), 0);
    assert!(
        announced[0].contains(&"AppPlanned".to_owned()),
        "{announced:?}"
    );
    assert!(announced[1].is_empty(), "announced once: {announced:?}");
}

#[tokio::test]
async fn a_run_near_its_deadline_leaves_its_changes_to_the_next() {
    let bucket = bucket_with(PLAN);
    let (servers, apps) = (catalog(), no_apps());
    let create =
        mock!(aws_sdk_sms::Client::create_app).then_output(|| CreateAppOutput::builder().build());
    let (context, events) = testing::context::<_, AppCache>(
        config(),
        testing::mock_sms(&[&servers, &apps, &create]),
        bucket.client().0,
    );
    // Past the publishing margin, short of the change margin.
    let left = CHANGE_MARGIN + outbox::PUBLISH_MARGIN - std::time::Duration::from_secs(1);
    let deadline = std::time::Instant::now() + left;
    let summary = runtime::with_deadline(deadline, handle(schedule_event(), context))
        .await
        .unwrap();
    assert_eq!((summary.changes, summary.changes_deferred), (1, 1));
    assert_eq!(summary.errors, 0, "a deferred change is no error");
    assert_eq!(create.num_calls(), 0);
    assert!(events.of_type("AppPlanned").is_empty());
}

#[tokio::test]
async fn the_listings_replication_status_wins_over_the_apps_read_before() {
    use aws_sdk_sms::operation::get_app_replication_configuration::GetAppReplicationConfigurationOutput;
    use aws_sdk_sms::types::AppReplicationStatus;
    let bucket = bucket_with(PLAN);
    let summary = |status: AppReplicationStatus| {
        AppSummary::builder()
            .app_id("app-1")
            .name("shop")
            .launch_status(AppLaunchStatus::ReadyForLaunch)
            .replication_status(status)
            .build()
    };
    // An operator stopped the replication: the listing says so, while the app as read
    // (or remembered) still says it is stopping.
    let listing = mock!(aws_sdk_sms::Client::list_apps).then_output(move || {
        ListAppsOutput::builder()
            .apps(summary(AppReplicationStatus::ReplicationStopped))
            .build()
    });
    let get = mock!(aws_sdk_sms::Client::get_app).then_output(move || {
        GetAppOutput::builder()
            .app_summary(summary(AppReplicationStatus::ReplicationStopping))
            .server_groups(
                ServerGroup::builder()
                    .server_group_id("sg-9")
                    .name("web")
                    .server_list(sms_server("s-1", "web-01"))
                    .server_list(sms_server("s-2", "web-02"))
                    .build(),
            )
            .tags(Tag::builder().key("autopilot:plan").value("shop").build())
            .build()
    });
    let launch = mock!(aws_sdk_sms::Client::get_app_launch_configuration)
        .then_output(|| GetAppLaunchConfigurationOutput::builder().build());
    let replication = mock!(aws_sdk_sms::Client::get_app_replication_configuration)
        .then_output(|| GetAppReplicationConfigurationOutput::builder().build());
    let put_launch = mock!(aws_sdk_sms::Client::put_app_launch_configuration)
        .then_output(|| PutAppLaunchConfigurationOutput::builder().build());
    let put_replication = mock!(aws_sdk_sms::Client::put_app_replication_configuration)
        .then_output(|| PutAppReplicationConfigurationOutput::builder().build());
    let start = mock!(aws_sdk_sms::Client::start_app_replication)
        .then_output(|| StartAppReplicationOutput::builder().build());
    let servers = catalog();
    let rules: [&Rule; 8] = [
        &servers,
        &listing,
        &get,
        &launch,
        &replication,
        &put_launch,
        &put_replication,
        &start,
    ];
    let (summary, _) = invoke(&bucket, &rules).await;
    summary.unwrap();
    assert_eq!(
        start.num_calls(),
        1,
        "a stopped replication is started again"
    );
}

#[tokio::test]
async fn an_unreadable_resolved_plan_is_written_again_from_the_accepted_plan() {
    let bucket = bucket_with(&PLAN.replace("replicatedBy: app", "replicatedBy: jobs"));
    bucket.put(RESOLVED_KEY, b"{\"apps\": [".to_vec());
    let (listing, get, launch) = launched_shop();
    let servers = catalog();
    let rules: [&Rule; 4] = [&servers, &listing, &get, &launch];
    let (summary, _) = invoke(&bucket, &rules).await;
    summary.expect("the planner replaces the copy it cannot read");
    let resolved: ResolvedPlan = bucket.json(RESOLVED_KEY).expect("a readable resolved plan");
    assert!(resolved.apps.contains_key("shop"), "{resolved:?}");
}
