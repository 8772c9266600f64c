//! The re-check rule: enabled while a ready app waits for a launch in flight, idle
//! while that launch goes on, disabled by its own run once nothing waits.

use super::*;
use autopilot_core::plan::resolved::{AppPolicy, ResolvedPlan, RESOLVED_KEY};
use autopilot_core::testing::{self, MemoryBucket, PublishedEvents};
use aws_sdk_sms::operation::get_app::GetAppOutput;
use aws_sdk_sms::operation::launch_app::LaunchAppOutput;
use aws_sdk_sms::operation::list_apps::ListAppsOutput;
use aws_sdk_sms::types::{AppLaunchStatus as Status, Server, ServerGroup};
use aws_smithy_mocks::{mock, Rule};

const RULE: &str = "stack-launch-recheck";

fn config(rule: Option<&str>) -> AppLauncherConfig {
    AppLauncherConfig {
        launch_recheck_rule: rule.map(str::to_owned),
        ..crate::fixtures::config()
    }
}

/// shop depends on payments; each has one replicated server.
fn bucket() -> MemoryBucket {
    let bucket = MemoryBucket::default();
    let mut plan = ResolvedPlan::default();
    plan.apps.insert("payments".into(), AppPolicy::default());
    let shop = AppPolicy {
        depends_on: vec!["payments".into()],
        ..AppPolicy::default()
    };
    plan.apps.insert("shop".into(), shop);
    bucket.put(RESOLVED_KEY, serde_json::to_vec(&plan).unwrap());
    bucket
}

fn listed(name: &str, status: Status) -> aws_sdk_sms::types::AppSummary {
    aws_sdk_sms::types::AppSummary::builder()
        .app_id(format!("app-{name}"))
        .name(name)
        .launch_status(status)
        .last_modified(aws_sdk_sms::primitives::DateTime::from_secs(1_700_000_000))
        .build()
}

fn listing(payments: Status, shop: Status) -> Rule {
    mock!(aws_sdk_sms::Client::list_apps).then_output(move || {
        ListAppsOutput::builder()
            .apps(listed("payments", payments.clone()))
            .apps(listed("shop", shop.clone()))
            .build()
    })
}

/// GetApp, answering with the status the listing shows.
fn get_app((payments, shop): (Status, Status)) -> Rule {
    mock!(aws_sdk_sms::Client::get_app).then_compute_output(move |req| {
        let id = req.app_id().unwrap_or_default().to_owned();
        let name = id.trim_start_matches("app-").to_owned();
        let member = Server::builder().server_id(format!("s-{name}")).build();
        let status = if name == "payments" { &payments } else { &shop };
        GetAppOutput::builder()
            .app_summary(listed(&name, status.clone()))
            .server_groups(
                ServerGroup::builder()
                    .server_group_id("sg-1")
                    .server_list(member)
                    .build(),
            )
            .build()
    })
}

/// A run of the re-check rule, as EventBridge delivers it.
fn recheck_event() -> Value {
    let mut event = testing::schedule_event();
    event["resources"] =
        serde_json::json!([format!("arn:aws:events:us-east-1:123456789012:rule/{RULE}")]);
    event
}

/// One invocation against `bucket` with apps listed as given; (summary, events,
/// LaunchApp calls, job sweeps).
async fn invoke(
    bucket: &MemoryBucket,
    rule: Option<&str>,
    event: Value,
    (payments, shop): (Status, Status),
) -> (Summary, PublishedEvents, usize, usize) {
    let statuses = (payments.clone(), shop.clone());
    let (list, get) = (listing(payments, shop), get_app(statuses));
    let sweep = crate::fixtures::all_replicated(&["s-payments", "s-shop"]);
    let launch =
        mock!(aws_sdk_sms::Client::launch_app).then_output(|| LaunchAppOutput::builder().build());
    let sms = testing::mock_sms(&[&list, &get, &sweep, &launch]);
    let (context, events) = testing::context::<_, AppCache>(config(rule), sms, bucket.client().0);
    let summary = handle(event, context).await.unwrap();
    (summary, events, launch.num_calls(), sweep.num_calls())
}

#[tokio::test]
async fn a_dependent_is_launched_at_the_first_recheck_after_its_dependency_launched() {
    let bucket = bucket();
    let both_ready = (Status::ReadyForLaunch, Status::ReadyForLaunch);
    let (summary, events, launches, _) =
        invoke(&bucket, Some(RULE), testing::schedule_event(), both_ready).await;
    assert_eq!(launches, 1, "payments; shop waits for it");
    assert_eq!(summary.counts.waiting_for_dependencies, 1);
    assert_eq!(summary.awaited_launches, 1);
    assert_eq!(summary.recheck, Some(Switched::Enabled));
    assert_eq!(events.rule_switches(), [format!("EnableRule {RULE}")]);

    let in_flight = (Status::LaunchInProgress, Status::ReadyForLaunch);
    let (summary, events, launches, sweeps) =
        invoke(&bucket, Some(RULE), recheck_event(), in_flight).await;
    assert_eq!(summary.trigger, "launch re-check");
    assert!(summary.recheck_idle, "payments is still launching");
    assert_eq!((launches, sweeps), (0, 0), "stopped after ListApps");
    assert_eq!(summary.recheck, None, "left enabled");
    assert!(events.rule_switches().is_empty());

    let launched = (Status::Launched, Status::ReadyForLaunch);
    let (summary, events, launches, _) =
        invoke(&bucket, Some(RULE), recheck_event(), launched).await;
    assert!(!summary.recheck_idle);
    assert_eq!(
        launches, 1,
        "shop, at the re-check that saw payments LAUNCHED"
    );
    assert_eq!(summary.awaited_launches, 0);
    assert_eq!(summary.recheck, Some(Switched::Disabled));
    assert_eq!(events.rule_switches(), [format!("DisableRule {RULE}")]);
    assert_eq!(events.of_type("AppLaunched")[0]["appId"], "app-shop");
}

#[tokio::test]
async fn the_rule_is_left_alone_when_nothing_waits_or_none_is_deployed() {
    // payments still replicating: shop waits, but for no launch in flight.
    let bucket = bucket();
    let (summary, events, _, _) = invoke(
        &bucket,
        Some(RULE),
        testing::schedule_event(),
        (Status::ReadyForConfiguration, Status::ReadyForLaunch),
    )
    .await;
    assert_eq!(summary.counts.waiting_for_dependencies, 1);
    assert_eq!((summary.awaited_launches, summary.recheck), (0, None));
    assert!(events.rule_switches().is_empty());

    // Without a rule, a launch in flight changes nothing but the ledger.
    let bucket = super::recheck_tests::bucket();
    let both_ready = (Status::ReadyForLaunch, Status::ReadyForLaunch);
    let (summary, events, launches, _) =
        invoke(&bucket, None, testing::schedule_event(), both_ready).await;
    assert_eq!((launches, summary.awaited_launches), (1, 1));
    assert_eq!(summary.recheck, None);
    assert!(events.rule_switches().is_empty());
}

#[tokio::test]
async fn a_recheck_that_finds_a_launch_failed_decides_again() {
    let bucket = bucket();
    let both_ready = (Status::ReadyForLaunch, Status::ReadyForLaunch);
    invoke(&bucket, Some(RULE), testing::schedule_event(), both_ready).await;
    let failed = (Status::LaunchFailed, Status::ReadyForLaunch);
    let (summary, events, launches, sweeps) =
        invoke(&bucket, Some(RULE), recheck_event(), failed).await;
    assert!(!summary.recheck_idle);
    assert_eq!(sweeps, 1);
    assert_eq!(summary.counts.launch_failures_alerted, 1);
    assert_eq!(launches, 1, "payments again, within its budget of 2");
    assert_eq!(summary.awaited_launches, 1, "shop waits for the new launch");
    assert_eq!(summary.recheck, None, "the rule that ran is enabled");
    assert!(events.rule_switches().is_empty());
}
