//! Unit tests of the app launcher against a mocked SMS.

use super::*;
use autopilot_core::app_cache::AppCache;
use autopilot_core::error::Retryability;
use autopilot_core::testing::{self, schedule_event, MemoryBucket};
use aws_sdk_sms::operation::get_app::GetAppOutput;
use aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput;
use aws_sdk_sms::operation::launch_app::LaunchAppOutput;
use aws_sdk_sms::operation::list_apps::ListAppsOutput;
use aws_sdk_sms::types::{
    AppLaunchStatus as Status, AppSummary, ReplicationJob as SmsJob, ReplicationJobState, Server,
    ServerGroup, Tag,
};
use aws_smithy_mocks::{mock, Rule};

fn config(dry_run: bool, window: Option<&str>) -> AppLauncherConfig {
    let mut config = crate::fixtures::config();
    config.common.dry_run = dry_run;
    config.launch_window = window.map(|w| w.parse().unwrap());
    config
}

/// An app last modified an hour before the tests' "now".
fn summary(id: &str, status: Status) -> AppSummary {
    summary_modified(id, status, 3600)
}

fn summary_modified(id: &str, status: Status, seconds_ago: i64) -> AppSummary {
    let modified = testing::test_now().timestamp() - seconds_ago;
    AppSummary::builder()
        .app_id(id)
        .name(format!("{id}-name"))
        .launch_status(status)
        .last_modified(aws_sdk_sms::primitives::DateTime::from_secs(modified))
        .build()
}

/// Two pages of apps through the hand-rolled nextToken loop.
fn list_apps() -> (Rule, Rule) {
    let first = mock!(aws_sdk_sms::Client::list_apps)
        .match_requests(|req| req.next_token().is_none())
        .then_output(|| {
            ListAppsOutput::builder()
                .apps(summary("app-ready", Status::ReadyForLaunch))
                .apps(summary("app-waiting", Status::ReadyForLaunch))
                .next_token("2")
                .build()
        });
    let second = mock!(aws_sdk_sms::Client::list_apps)
        .match_requests(|req| req.next_token() == Some("2"))
        .then_output(|| {
            ListAppsOutput::builder()
                .apps(summary("app-optout", Status::ReadyForLaunch))
                .apps(summary("app-launched", Status::Launched))
                .build()
        });
    (first, second)
}

fn get_app() -> Rule {
    mock!(aws_sdk_sms::Client::get_app).then_compute_output(|req| {
        let id = req.app_id().unwrap().to_owned();
        let members: &[&str] = match id.as_str() {
            "app-ready" => &["s-1", "s-2"],
            "app-waiting" => &["s-1", "s-3"],
            _ => &["s-1"],
        };
        let mut group = ServerGroup::builder().server_group_id("sg-1");
        for member in members {
            group = group.server_list(Server::builder().server_id(*member).build());
        }
        let mut output = GetAppOutput::builder()
            .app_summary(summary(&id, Status::ReadyForLaunch))
            .server_groups(group.build());
        if id == "app-optout" {
            output = output.tags(
                Tag::builder()
                    .key("autopilot:launch")
                    .value("false")
                    .build(),
            );
        }
        output.build()
    })
}

fn jobs() -> Rule {
    let job = |server: &str, ami: Option<&str>| {
        SmsJob::builder()
            .replication_job_id(format!("job-{server}"))
            .server_id(server)
            .state(ReplicationJobState::Active)
            .set_latest_ami_id(ami.map(str::to_owned))
            .build()
    };
    mock!(aws_sdk_sms::Client::get_replication_jobs).then_output(move || {
        GetReplicationJobsOutput::builder()
            .replication_job_list(job("s-1", Some("ami-1")))
            .replication_job_list(job("s-2", Some("ami-2")))
            .replication_job_list(job("s-3", None))
            .build()
    })
}

/// The next invocation in the same warm environment as `context`: its remembered apps
/// move over, the clients are new.
fn warm_again(
    context: &LauncherContext,
    sms: aws_sdk_sms::Client,
    s3: aws_sdk_s3::Client,
) -> Arc<LauncherContext> {
    Arc::new(autopilot_core::runtime::Context {
        config: config(false, None),
        sms,
        mgn: testing::unused_mgn(),
        ec2: testing::unused_ec2(),
        s3,
        publisher: context.publisher.clone(),
        clock: testing::fixed_clock(testing::test_now()),
        warm: context.warm.take(),
    })
}

fn launch_ok() -> Rule {
    mock!(aws_sdk_sms::Client::launch_app).then_output(|| LaunchAppOutput::builder().build())
}

#[tokio::test]
async fn launches_only_the_app_whose_members_all_completed() {
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &launch]);
    let (context, events) = testing::context::<_, AppCache>(
        config(false, None),
        sms,
        MemoryBucket::default().client().0,
    );
    let event = testing::project_event(
        "ReplicationRunCompleted",
        serde_json::json!({"version": 1, "dryRun": false, "replicationJobId": "job-s-2",
            "replicationRunId": "r", "serverId": "s-2", "amiId": "ami-2"}),
    );
    let summary = handle(event, context).await.unwrap();
    assert_eq!(launch.num_calls(), 1);
    assert_eq!(summary.launched, 1);
    assert_eq!(summary.counts.waiting, 1);
    assert_eq!(summary.counts.not_launchable, 1, "opted out by tag");
    assert_eq!(get.num_calls(), 3, "the launched app needs no GetApp");
    assert_eq!(sweep.num_calls(), 1, "one job sweep for every app");
    assert_eq!(
        events.detail_types(),
        ["AppReady", "AppReady", "AppLaunched"]
    );
    assert_eq!(
        events.of_type("AppReady")[0]["appId"],
        "app-optout",
        "a person launches it, and wants its template"
    );
    assert_eq!(events.of_type("AppLaunched")[0]["appId"], "app-ready");
}

#[tokio::test]
async fn a_refused_launch_is_published_with_the_service_message() {
    let ((first, second), get, sweep) = (list_apps(), get_app(), jobs());
    let refused = mock!(aws_sdk_sms::Client::launch_app).then_http_response(|| {
        testing::sms_error(
            400,
            "OperationNotPermittedException",
            "app is already launching",
        )
    });
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &refused]);
    let (context, events) = testing::context::<_, AppCache>(
        config(false, None),
        sms,
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.launch_refused, 1);
    let failed = events.of_type("AppLaunchFailed");
    assert_eq!(failed[0]["message"], "app is already launching");
    assert_eq!(failed[0]["errorCode"], "OperationNotPermitted");
}

#[tokio::test]
async fn throttled_launches_are_retried_and_reported_retryable() {
    let ((first, second), get, sweep) = (list_apps(), get_app(), jobs());
    let throttled = mock!(aws_sdk_sms::Client::launch_app)
        .then_http_response(|| testing::sms_error(400, "ThrottlingException", "Rate exceeded"));
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &throttled]);
    let (context, events) = testing::context::<_, AppCache>(
        config(false, None),
        sms,
        MemoryBucket::default().client().0,
    );
    let error = handle(schedule_event(), context).await.unwrap_err();
    assert_eq!(error.retryability(), Retryability::Retryable);
    assert_eq!(throttled.num_calls(), 3);
    assert!(events.of_type("AppLaunched").is_empty());
}

#[tokio::test]
async fn outside_the_launch_window_nothing_launches() {
    // The tests' clock is Sunday 10:00 UTC.
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &launch]);
    let (context, events) = testing::context(
        config(false, Some("mon-fri 22:00-06:00")),
        sms,
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.counts.outside_launch_window, 1);
    assert_eq!(launch.num_calls(), 0);
    assert_eq!(
        events.detail_types(),
        ["AppReady"],
        "only the opted-out app's, once"
    );
}

#[tokio::test]
async fn dry_run_publishes_the_decision_without_launching() {
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &launch]);
    let (context, events) = testing::context::<_, AppCache>(
        config(true, None),
        sms,
        MemoryBucket::default().client().0,
    );
    handle(schedule_event(), context).await.unwrap();
    assert_eq!(launch.num_calls(), 0);
    assert_eq!(events.of_type("AppLaunched")[0]["dryRun"], true);
}

/// ListApps after the first sweep: app-ready is launching, the others unchanged.
fn after_the_launch() -> Rule {
    mock!(aws_sdk_sms::Client::list_apps).then_output(|| {
        ListAppsOutput::builder()
            .apps(summary_modified("app-ready", Status::LaunchPending, 10))
            .apps(summary("app-waiting", Status::ReadyForLaunch))
            .apps(summary("app-optout", Status::ReadyForLaunch))
            .build()
    })
}

#[tokio::test]
async fn a_warm_environment_reads_each_version_of_an_app_once() {
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &launch]);
    let bucket = MemoryBucket::default();
    let (s3, _, stored) = bucket.client();
    let (context, _) = testing::context::<_, AppCache>(config(false, None), sms, s3);
    let cold = handle(schedule_event(), Arc::clone(&context))
        .await
        .unwrap();
    assert_eq!((cold.counts.apps_read, cold.counts.apps_remembered), (3, 0));
    assert_eq!(
        stored.num_calls(),
        4,
        "the apps read are shared; the ledger is written with the claim, the launch's events, and after publishing"
    );

    let (listing, get2, sweep2, launch2) = (after_the_launch(), get_app(), jobs(), launch_ok());
    let (s3, index_read, index_written) = bucket.client();
    let warm = warm_again(
        &context,
        testing::mock_sms(&[&listing, &get2, &sweep2, &launch2]),
        s3,
    );
    let warm = handle(schedule_event(), warm).await.unwrap();
    assert_eq!((warm.counts.apps_read, warm.counts.apps_remembered), (0, 2));
    assert_eq!(get2.num_calls(), 0);
    assert_eq!(launch2.num_calls(), 0);
    assert_eq!(
        (index_read.num_calls(), index_written.num_calls()),
        (2, 0),
        "only the ledger and the resolved plan are read: memory vouched for every app, and nothing changed"
    );
}

#[tokio::test]
async fn a_remembered_app_found_ready_is_read_again_before_launching() {
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &launch]);
    let (context, _) = testing::context::<_, AppCache>(
        config(false, None),
        sms,
        MemoryBucket::default().client().0,
    );
    handle(schedule_event(), Arc::clone(&context))
        .await
        .unwrap();
    // s-3 has completed its run since: app-waiting is ready now.
    let all_replicated = crate::fixtures::all_replicated(&["s-1", "s-2", "s-3"]);
    let (listing, get2, launch2) = (after_the_launch(), get_app(), launch_ok());
    let warm = warm_again(
        &context,
        testing::mock_sms(&[&listing, &get2, &all_replicated, &launch2]),
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), warm).await.unwrap();
    assert_eq!(
        get2.num_calls(),
        1,
        "app-waiting, read again before its launch"
    );
    assert_eq!(launch2.num_calls(), 1);
    assert_eq!(
        (summary.counts.apps_read, summary.counts.apps_remembered),
        (1, 1)
    );
    assert_eq!(summary.launched, 1);
}

#[tokio::test]
async fn a_cold_environment_takes_the_apps_other_invocations_read() {
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let bucket = MemoryBucket::default();
    let (s3, _, _) = bucket.client();
    let (context, _) = testing::context::<_, AppCache>(
        config(false, None),
        testing::mock_sms(&[&first, &second, &get, &sweep, &launch]),
        s3,
    );
    handle(schedule_event(), context).await.unwrap();

    let (listing, get2, sweep2, launch2) = (after_the_launch(), get_app(), jobs(), launch_ok());
    let (s3, index_read, _) = bucket.client();
    let (cold, _) = testing::context::<_, AppCache>(
        config(false, None),
        testing::mock_sms(&[&listing, &get2, &sweep2, &launch2]),
        s3,
    );
    let summary = handle(schedule_event(), cold).await.unwrap();
    assert_eq!(
        index_read.num_calls(),
        3,
        "the ledger, the index and the resolved plan"
    );
    assert_eq!(
        (summary.counts.apps_read, summary.counts.apps_remembered),
        (0, 2)
    );
    assert_eq!(get2.num_calls(), 0);
    assert_eq!(summary.counts.waiting, 1);
    assert_eq!(
        summary.counts.not_launchable, 1,
        "the opt-out tag is remembered too"
    );
}

#[tokio::test]
async fn an_unreadable_index_costs_calls_not_the_sweep() {
    let ((first, second), get, sweep, launch) = (list_apps(), get_app(), jobs(), launch_ok());
    let bucket = MemoryBucket::default();
    bucket.put(autopilot_core::app_cache::INDEX_KEY, b"{ cut off".to_vec());
    let (s3, _, _) = bucket.client();
    let (context, events) = testing::context::<_, AppCache>(
        config(false, None),
        testing::mock_sms(&[&first, &second, &get, &sweep, &launch]),
        s3,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.counts.apps_read, 3);
    assert_eq!(summary.launched, 1);
    assert_eq!(events.of_type("AppLaunched")[0]["appId"], "app-ready");
    let rewritten: serde_json::Value = bucket
        .json(autopilot_core::app_cache::INDEX_KEY)
        .expect("a sound index written over the broken one");
    assert_eq!(rewritten["apps"].as_object().map(|a| a.len()), Some(3));
}

#[tokio::test]
async fn no_launchable_app_means_no_job_sweep() {
    let only_launched = mock!(aws_sdk_sms::Client::list_apps).then_output(|| {
        ListAppsOutput::builder()
            .apps(summary("a", Status::LaunchPending))
            .build()
    });
    let sweep = jobs();
    let sms = testing::mock_sms(&[&only_launched, &sweep]);
    let (context, _) = testing::context::<_, AppCache>(
        config(false, None),
        sms,
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.counts.already_launched_or_in_progress, 1);
    assert_eq!(sweep.num_calls(), 0);
}

#[tokio::test]
async fn an_app_changed_since_it_was_read_is_read_again_and_an_opt_out_added_since_is_honoured() {
    let ((first, second), get, sweep) = (list_apps(), get_app(), jobs());
    // Cold: app-ready is launched... unless LaunchApp is refused, leaving it ready.
    let refused = mock!(aws_sdk_sms::Client::launch_app).then_http_response(|| {
        testing::sms_error(400, "OperationNotPermittedException", "not now")
    });
    let sms = testing::mock_sms(&[&first, &second, &get, &sweep, &refused]);
    let (s3, _, _) = MemoryBucket::default().client();
    let (context, _) = testing::context::<_, AppCache>(config(false, None), sms, s3);
    handle(schedule_event(), Arc::clone(&context))
        .await
        .unwrap();
    // Warm: meanwhile the operator tagged app-ready autopilot:launch=false, which moved
    // its lastModified.
    let listing = mock!(aws_sdk_sms::Client::list_apps).then_output(|| {
        ListAppsOutput::builder()
            .apps(summary_modified("app-ready", Status::ReadyForLaunch, 60))
            .apps(summary("app-waiting", Status::ReadyForLaunch))
            .apps(summary("app-optout", Status::ReadyForLaunch))
            .build()
    });
    let (sweep, launch) = (jobs(), launch_ok());
    let tagged = mock!(aws_sdk_sms::Client::get_app).then_compute_output(|req| {
        let id = req.app_id().unwrap().to_owned();
        GetAppOutput::builder()
            .app_summary(summary_modified(&id, Status::ReadyForLaunch, 60))
            .server_groups(
                ServerGroup::builder()
                    .server_list(Server::builder().server_id("s-1").build())
                    .server_list(Server::builder().server_id("s-2").build())
                    .build(),
            )
            .tags(
                Tag::builder()
                    .key("autopilot:launch")
                    .value("false")
                    .build(),
            )
            .build()
    });
    let (s3, _, _) = MemoryBucket::default().client();
    let warm = warm_again(
        &context,
        testing::mock_sms(&[&listing, &tagged, &sweep, &launch]),
        s3,
    );
    let summary = handle(schedule_event(), warm).await.unwrap();
    assert_eq!(tagged.num_calls(), 1, "only the changed app is read again");
    assert_eq!(launch.num_calls(), 0);
    assert_eq!(summary.counts.not_launchable, 2);
}

#[tokio::test]
async fn losing_a_launch_race_is_not_a_failure() {
    let ((first, second), sweep) = (list_apps(), jobs());
    // The first GetApp shows the app ready; by the time LaunchApp is refused, another
    // invocation has put it in LAUNCH_PENDING.
    let get = mock!(aws_sdk_sms::Client::get_app)
        .sequence()
        .output(|| ready_app(Status::ReadyForLaunch))
        .output(|| ready_app(Status::LaunchPending))
        .build();
    let other_apps = mock!(aws_sdk_sms::Client::get_app)
        .match_requests(|req| req.app_id() != Some("app-ready"))
        .then_compute_output(|req| {
            GetAppOutput::builder()
                .app_summary(summary(req.app_id().unwrap(), Status::ReadyForLaunch))
                .build()
        });
    let refused = mock!(aws_sdk_sms::Client::launch_app).then_http_response(|| {
        testing::sms_error(
            400,
            "OperationNotPermittedException",
            "app is LAUNCH_PENDING",
        )
    });
    let sms = testing::mock_sms(&[&first, &second, &other_apps, &get, &sweep, &refused]);
    let (context, events) = testing::context::<_, AppCache>(
        config(false, None),
        sms,
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(refused.num_calls(), 1);
    assert_eq!(summary.launch_refused, 0);
    assert!(events.of_type("AppLaunchFailed").is_empty());
    assert!(
        events.of_type("AppReady").is_empty(),
        "the winner announced it"
    );
}

fn ready_app(status: Status) -> GetAppOutput {
    GetAppOutput::builder()
        .app_summary(summary("app-ready", status))
        .server_groups(
            ServerGroup::builder()
                .server_list(Server::builder().server_id("s-1").build())
                .server_list(Server::builder().server_id("s-2").build())
                .build(),
        )
        .build()
}
