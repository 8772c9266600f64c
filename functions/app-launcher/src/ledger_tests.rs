//! Unit tests of what the launcher remembers across invocations (holds reported once,
//! failed launches alerted once and tried again within the budget, claims given back)
//! and of what the accepted wave plan asks of it (manual applications, dependencies,
//! windows).

use super::*;
use autopilot_core::testing::{self, schedule_event, MemoryBucket};
use aws_sdk_sms::operation::get_app::GetAppOutput;
use aws_sdk_sms::operation::launch_app::LaunchAppOutput;
use aws_sdk_sms::operation::list_apps::ListAppsOutput;
use aws_sdk_sms::types::{AppLaunchStatus as Status, AppSummary, Server, ServerGroup};
use aws_smithy_mocks::{mock, Rule};

fn config(launch_max_attempts: u32) -> AppLauncherConfig {
    AppLauncherConfig {
        launch_max_attempts,
        ..crate::fixtures::config()
    }
}

/// app-1 as ListApps and GetApp show it; each status and message moves its
/// lastModified, as each change of the app does in SMS.
fn summary(status: Status, message: Option<&str>) -> AppSummary {
    let change = status.as_str().len() + message.map_or(0, str::len);
    let modified = testing::test_now().timestamp() - 3600 + change as i64;
    AppSummary::builder()
        .app_id("app-1")
        .name("billing")
        .launch_status(status)
        .set_launch_status_message(message.map(str::to_owned))
        .last_modified(aws_sdk_sms::primitives::DateTime::from_secs(modified))
        .build()
}

/// The SMS answers of one invocation: app-1 (members s-1 and s-2, both replicated) in
/// `status`, and LaunchApp accepted.
fn sms(status: Status, message: Option<&'static str>) -> (Vec<Rule>, Rule) {
    let listing = {
        let status = status.clone();
        mock!(aws_sdk_sms::Client::list_apps).then_output(move || {
            ListAppsOutput::builder()
                .apps(summary(status.clone(), message))
                .build()
        })
    };
    let get = mock!(aws_sdk_sms::Client::get_app).then_output(move || {
        GetAppOutput::builder()
            .app_summary(summary(status.clone(), message))
            .server_groups(
                ServerGroup::builder()
                    .server_list(Server::builder().server_id("s-1").build())
                    .server_list(Server::builder().server_id("s-2").build())
                    .build(),
            )
            .build()
    });
    let jobs = crate::fixtures::all_replicated(&["s-1", "s-2"]);
    let launch =
        mock!(aws_sdk_sms::Client::launch_app).then_output(|| LaunchAppOutput::builder().build());
    (vec![listing, get, jobs], launch)
}

/// One invocation on `bucket`, SMS showing app-1 in `status`; returns its summary, the
/// events it published and the LaunchApp calls it made.
async fn invoke(
    bucket: &MemoryBucket,
    max_attempts: u32,
    status: Status,
    message: Option<&'static str>,
) -> (Summary, testing::PublishedEvents, usize) {
    let (rules, launch) = sms(status, message);
    let mut all: Vec<&Rule> = rules.iter().collect();
    all.push(&launch);
    let (context, events) = testing::context::<_, AppCache>(
        config(max_attempts),
        testing::mock_sms(&all),
        bucket.client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    (summary, events, launch.num_calls())
}

#[tokio::test]
async fn a_replicated_app_without_a_launch_configuration_is_reported_once_and_never_launched() {
    let bucket = MemoryBucket::default();
    let (summary, events, launches) = invoke(&bucket, 2, Status::ReadyForConfiguration, None).await;
    assert_eq!(launches, 0);
    assert_eq!(
        (summary.counts.unconfigured, summary.counts.holds_reported),
        (1, 1)
    );
    assert_eq!(events.detail_types(), ["AppLaunchHeld"]);
    let held = &events.of_type("AppLaunchHeld")[0];
    let reason = held["reason"].as_str().unwrap();
    assert!(
        reason.contains("no launch configuration") && reason.contains("s-1, s-2"),
        "the reason names what is missing: {reason}"
    );
    assert_eq!(held["launchStatus"], "READY_FOR_CONFIGURATION");

    let (summary, events, launches) = invoke(&bucket, 2, Status::ReadyForConfiguration, None).await;
    assert_eq!(
        (summary.counts.unconfigured, summary.counts.holds_reported),
        (1, 0)
    );
    assert!(events.all().is_empty(), "reported once: {:?}", events.all());
    assert_eq!(launches, 0);

    let invalid = Some("subnet-9 does not exist in the target account");
    let (_, events, launches) = invoke(&bucket, 2, Status::ConfigurationInvalid, invalid).await;
    assert_eq!(launches, 0);
    let held = events.of_type("AppLaunchHeld");
    assert_eq!(held.len(), 1, "a new reason is a new report");
    assert!(held[0]["reason"]
        .as_str()
        .unwrap()
        .ends_with("subnet-9 does not exist in the target account"));
}

#[tokio::test]
async fn a_failed_launch_is_alerted_once_and_tried_again_within_the_budget() {
    let bucket = MemoryBucket::default();
    let (_, events, launches) = invoke(&bucket, 2, Status::ReadyForLaunch, None).await;
    assert_eq!(launches, 1);
    assert_eq!(events.of_type("AppLaunched")[0]["attempt"], 1);

    let rolled_back = Some("CloudFormation stack rolled back");
    let (summary, events, launches) = invoke(&bucket, 2, Status::LaunchFailed, rolled_back).await;
    assert_eq!(summary.counts.launch_failures_alerted, 1);
    assert_eq!(launches, 1, "tried again");
    assert_eq!(
        events.detail_types(),
        ["AppLaunchFailed", "AppReady", "AppLaunched"]
    );
    let failed = &events.of_type("AppLaunchFailed")[0];
    assert_eq!(failed["errorCode"], "LAUNCH_FAILED");
    assert_eq!(failed["message"], "CloudFormation stack rolled back");
    assert_eq!(
        (failed["attempts"].clone(), failed["retrying"].clone()),
        (1.into(), true.into())
    );
    assert_eq!(events.of_type("AppLaunched")[0]["attempt"], 2);

    // The second launch fails too: a new failure, a new lastModified.
    let rolled_back = Some("CloudFormation stack rolled back again");
    let (_, events, launches) = invoke(&bucket, 2, Status::LaunchFailed, rolled_back).await;
    assert_eq!(launches, 0, "the budget of two launches is spent");
    let failed = events.of_type("AppLaunchFailed");
    assert_eq!(failed.len(), 1, "the second failure is alerted too");
    assert_eq!(failed[0]["retrying"], false);

    let (summary, events, launches) = invoke(&bucket, 2, Status::LaunchFailed, rolled_back).await;
    assert_eq!(launches, 0);
    assert!(events.all().is_empty(), "alerted once: {:?}", events.all());
    assert_eq!(summary.counts.launch_budget_spent, 1);
}

#[tokio::test]
async fn a_refused_launch_is_alerted_once_per_attempt_and_stops_at_the_budget() {
    let bucket = MemoryBucket::default();
    for attempt in 1..=3 {
        let (rules, _) = sms(Status::ReadyForLaunch, None);
        let refused = mock!(aws_sdk_sms::Client::launch_app).then_http_response(|| {
            testing::sms_error(400, "OperationNotPermittedException", "not now")
        });
        let mut all: Vec<&Rule> = rules.iter().collect();
        all.push(&refused);
        let (context, events) =
            testing::context::<_, AppCache>(config(2), testing::mock_sms(&all), bucket.client().0);
        let summary = handle(schedule_event(), context).await.unwrap();
        let alerts = events.of_type("AppLaunchFailed");
        if attempt <= 2 {
            assert_eq!(refused.num_calls(), 1, "attempt {attempt}");
            assert_eq!(alerts.len(), 1);
            assert_eq!(alerts[0]["retrying"], attempt < 2);
        } else {
            assert_eq!(refused.num_calls(), 0, "the budget is spent");
            assert!(alerts.is_empty());
            assert_eq!(summary.counts.launch_budget_spent, 1);
        }
    }
}

#[tokio::test]
async fn a_throttled_launch_gives_its_claim_back() {
    let bucket = MemoryBucket::default();
    let (rules, _) = sms(Status::ReadyForLaunch, None);
    let throttled = mock!(aws_sdk_sms::Client::launch_app)
        .then_http_response(|| testing::sms_error(400, "ThrottlingException", "Rate exceeded"));
    let mut all: Vec<&Rule> = rules.iter().collect();
    all.push(&throttled);
    let (context, _) =
        testing::context::<_, AppCache>(config(1), testing::mock_sms(&all), bucket.client().0);
    handle(schedule_event(), context).await.unwrap_err();
    let ledger: LaunchLedger = bucket.json(LEDGER_KEY).expect("the claim was stored");
    assert_eq!(ledger.apps[&AppId::from("app-1")].launches, 0);

    let (_, _, launches) = invoke(&bucket, 1, Status::ReadyForLaunch, None).await;
    assert_eq!(launches, 1, "the budget of one launch is intact");
}

#[tokio::test]
async fn an_app_being_deleted_is_neither_launched_nor_reported() {
    let listing = mock!(aws_sdk_sms::Client::list_apps).then_output(|| {
        let deleting = AppSummary::builder()
            .app_id("app-1")
            .launch_status(Status::ReadyForLaunch)
            .status(aws_sdk_sms::types::AppStatus::from("Deleting"))
            .build();
        ListAppsOutput::builder().apps(deleting).build()
    });
    let (rules, launch) = sms(Status::ReadyForLaunch, None);
    let (context, events) = testing::context::<_, AppCache>(
        config(2),
        testing::mock_sms(&[&listing, &rules[2], &launch]),
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(
        summary.candidates, 0,
        "status read loosely: Deleting is DELETING"
    );
    assert_eq!(launch.num_calls(), 0);
    assert!(events.all().is_empty());
}

/// A resolved plan with one policy for `billing`.
fn plan_with(policy: autopilot_core::plan::resolved::AppPolicy) -> MemoryBucket {
    let bucket = MemoryBucket::default();
    let mut plan = autopilot_core::plan::resolved::ResolvedPlan::default();
    plan.apps.insert("billing".into(), policy);
    bucket.put(
        autopilot_core::plan::resolved::RESOLVED_KEY,
        serde_json::to_vec(&plan).unwrap(),
    );
    bucket
}

#[tokio::test]
async fn a_manual_application_is_announced_ready_once_and_never_launched() {
    let bucket = plan_with(autopilot_core::plan::resolved::AppPolicy {
        launch: autopilot_core::plan::LaunchMode::Manual,
        ..Default::default()
    });
    let (summary, events, launches) = invoke(&bucket, 2, Status::ReadyForLaunch, None).await;
    assert_eq!((launches, summary.counts.manual), (0, 1));
    assert_eq!(events.detail_types(), ["AppReady"]);
    let (_, events, launches) = invoke(&bucket, 2, Status::ReadyForLaunch, None).await;
    assert_eq!(launches, 0);
    assert!(events.all().is_empty(), "announced once");
}

#[tokio::test]
async fn an_application_waits_for_the_ones_it_depends_on() {
    let bucket = plan_with(autopilot_core::plan::resolved::AppPolicy {
        depends_on: vec!["payments".into()],
        ..Default::default()
    });
    let (waiting, _, launches) = invoke(&bucket, 2, Status::ReadyForLaunch, None).await;
    assert_eq!((launches, waiting.counts.waiting_for_dependencies), (0, 1));

    // Once payments is launched, billing goes.
    let (rules, launch) = sms(Status::ReadyForLaunch, None);
    let listing = mock!(aws_sdk_sms::Client::list_apps).then_output(|| {
        let payments = AppSummary::builder()
            .app_id("app-2")
            .name("payments")
            .launch_status(Status::Launched)
            .build();
        ListAppsOutput::builder()
            .apps(summary(Status::ReadyForLaunch, None))
            .apps(payments)
            .build()
    });
    let (context, _) = testing::context::<_, AppCache>(
        config(2),
        testing::mock_sms(&[&listing, &rules[1], &rules[2], &launch]),
        bucket.client().0,
    );
    let launched = handle(schedule_event(), context).await.unwrap();
    assert_eq!((launch.num_calls(), launched.launched), (1, 1));
}

#[tokio::test]
async fn the_plans_window_for_an_application_wins_over_the_launchers() {
    // The tests' clock is Sunday 10:00 UTC, and the launcher itself has no window.
    let bucket = plan_with(autopilot_core::plan::resolved::AppPolicy {
        window: Some("mon-fri 22:00-06:00".into()),
        ..Default::default()
    });
    let (summary, _, launches) = invoke(&bucket, 2, Status::ReadyForLaunch, None).await;
    assert_eq!((launches, summary.counts.outside_launch_window), (0, 1));
}

#[tokio::test]
async fn an_app_the_planner_made_but_the_accepted_plan_no_longer_names_is_not_launched() {
    let (rules, launch) = sms(Status::ReadyForLaunch, None);
    let tagged = mock!(aws_sdk_sms::Client::get_app).then_output(|| {
        GetAppOutput::builder()
            .app_summary(summary(Status::ReadyForLaunch, None))
            .server_groups(
                ServerGroup::builder()
                    .server_list(Server::builder().server_id("s-1").build())
                    .server_list(Server::builder().server_id("s-2").build())
                    .build(),
            )
            .tags(
                aws_sdk_sms::types::Tag::builder()
                    .key("autopilot:plan")
                    .value("billing")
                    .build(),
            )
            .build()
    });
    let (context, _) = testing::context::<_, AppCache>(
        config(2),
        testing::mock_sms(&[&rules[0], &tagged, &rules[2], &launch]),
        MemoryBucket::default().client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!((launch.num_calls(), summary.counts.manual), (0, 1));
}

#[tokio::test]
async fn a_launch_a_cut_off_launcher_made_is_announced_by_the_next_once() {
    let bucket = MemoryBucket::default();
    let mut ledger = LaunchLedger::default();
    ledger.claim_launch(&AppId::from("app-1"));
    bucket.put(LEDGER_KEY, serde_json::to_vec(&ledger).unwrap());
    // LaunchApp went through, then the invocation was cut off: SMS shows it launching.
    let (summary, events, launches) = invoke(&bucket, 2, Status::LaunchPending, None).await;
    assert_eq!((launches, summary.launches_recovered), (0, 1));
    assert_eq!(events.detail_types(), ["AppReady", "AppLaunched"]);
    assert_eq!(events.of_type("AppLaunched")[0]["attempt"], 1);
    let (_, events, _) = invoke(&bucket, 2, Status::Launched, None).await;
    assert!(
        events.all().is_empty(),
        "announced once: {:?}",
        events.all()
    );
}

/// billing (ready, app-1) and the application it depends on, `reporting`, planned
/// manual and shown in `status`; returns the summary, events and LaunchApp calls.
async fn invoke_beside_manual_dependency(
    bucket: &MemoryBucket,
    status: Status,
) -> (Summary, testing::PublishedEvents, usize) {
    let (rules, launch) = sms(Status::ReadyForLaunch, None);
    let listing = mock!(aws_sdk_sms::Client::list_apps).then_output(move || {
        let reporting = AppSummary::builder()
            .app_id("app-2")
            .name("reporting")
            .launch_status(status.clone())
            .build();
        ListAppsOutput::builder()
            .apps(summary(Status::ReadyForLaunch, None))
            .apps(reporting)
            .build()
    });
    let (context, events) = testing::context::<_, AppCache>(
        config(2),
        testing::mock_sms(&[&listing, &rules[1], &rules[2], &launch]),
        bucket.client().0,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    (summary, events, launch.num_calls())
}

#[tokio::test]
async fn an_application_waiting_for_one_left_to_a_person_is_reported_held_once() {
    use autopilot_core::plan::resolved::{AppPolicy, ResolvedPlan, RESOLVED_KEY};
    let bucket = MemoryBucket::default();
    let mut plan = ResolvedPlan::default();
    plan.apps.insert(
        "billing".into(),
        AppPolicy {
            depends_on: vec!["reporting".into()],
            ..Default::default()
        },
    );
    plan.apps.insert(
        "reporting".into(),
        AppPolicy {
            launch: autopilot_core::plan::LaunchMode::Manual,
            ..Default::default()
        },
    );
    bucket.put(RESOLVED_KEY, serde_json::to_vec(&plan).unwrap());

    let (summary, events, launches) =
        invoke_beside_manual_dependency(&bucket, Status::LaunchPending).await;
    assert_eq!((launches, summary.counts.holds_reported), (0, 1));
    let held = events.of_type("AppLaunchHeld");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["appName"], "billing");
    assert_eq!(
        held[0]["reason"],
        "it waits for applications the autopilot will not launch: reporting (a person launches it)"
    );
    let (_, events, launches) =
        invoke_beside_manual_dependency(&bucket, Status::LaunchPending).await;
    assert_eq!(launches, 0);
    assert!(events.all().is_empty(), "reported once");

    // The person launched reporting: billing goes.
    let (summary, _, launches) = invoke_beside_manual_dependency(&bucket, Status::Launched).await;
    assert_eq!((launches, summary.launched), (1, 1));
}
