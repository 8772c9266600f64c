//! Unexpected answers from SMS, played through `testing::mock_sms` against the shared
//! SMS helpers (`autopilot_core::sms::api`): unknown enum values and missing fields in
//! raw awsJson bodies (through the SDK's real deserializer), answers of the wrong shape,
//! an empty page that still carries a nextToken, and a nextToken that never ends — the
//! same token again and again, and a new token every time. Nothing panics, the number of
//! calls is bounded (the duplicate-token stop, the MAX_PAGES guard), unusable items are
//! skipped and counted, and a broken answer is a clear, classified error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autopilot_core::error::{AwsCallError, AwsErrorKind, Retryability};
use autopilot_core::model::{
    AppId, ConnectorStatus, ReplicationJobState, ServerCatalogStatus, ServerId,
};
use autopilot_core::paging::MAX_PAGES;
use autopilot_core::sms::api::{self, JobCreation};
use autopilot_core::testing;
use aws_sdk_sms::config::http::HttpResponse;
use aws_sdk_sms::operation::get_connectors::GetConnectorsOutput;
use aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput;
use aws_sdk_sms::operation::get_servers::GetServersOutput;
use aws_sdk_sms::operation::list_apps::ListAppsOutput;
use aws_sdk_sms::types::{AppSummary, Connector, ReplicationJob, Server};
use aws_smithy_mocks::{mock, Rule};
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};

/// A 200 answer with this awsJson body.
fn body(value: Value) -> HttpResponse {
    HttpResponse::new(
        200.try_into().expect("status"),
        SdkBody::from(value.to_string()),
    )
}

fn now() -> chrono::DateTime<chrono::Utc> {
    testing::test_now()
}

fn job_parameters() -> autopilot_core::config::JobParameters {
    autopilot_core::config::JobParameters {
        frequency_hours: 12,
        run_once: false,
        license_type: None,
        role_name: None,
        amis_to_keep: None,
        encrypted: false,
        kms_key_id: None,
        seed_offset_minutes: 0,
    }
}

fn assert_clear(error: &AwsCallError, operation: &str, code: &str) {
    assert_eq!(error.service, "SMS");
    assert_eq!(error.operation, operation, "{error}");
    assert_eq!(error.kind.name(), code, "{error}");
    let message = error.to_string();
    assert!(
        message.contains(operation) && message.len() < 2_000,
        "{message}"
    );
}

// ---- unknown enum values and missing fields --------------------------------------------

#[tokio::test]
async fn unknown_enum_values_are_carried_and_servers_without_an_id_are_skipped() {
    let rule = mock!(aws_sdk_sms::Client::get_servers).then_http_response(|| {
        body(json!({
            "serverCatalogStatus": "EXPLODING",
            "serverList": [
                {"serverId": "s-1", "serverType": "MAINFRAME",
                 "vmServer": {"vmName": "web-01", "vmManagerType": "ZX-SPECTRUM"}},
                {"serverType": "VIRTUAL_MACHINE", "vmServer": {"vmName": "no-id"}},
                {"serverId": "", "vmServer": {"vmName": "empty-id"}},
                {"serverId": "s-4"}
            ]
        }))
    });
    let sms = testing::mock_sms(&[&rule]);
    let (status, sweep) = api::servers(&sms).await.expect("a usable answer");
    assert_eq!(
        status.status,
        ServerCatalogStatus::Unknown("EXPLODING".into())
    );
    let ids: Vec<&str> = sweep.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s-1", "s-4"]);
    assert_eq!(sweep.unusable.len(), 2, "{:?}", sweep.unusable);
    assert!(sweep.unusable[0].to_string().contains("serverId"));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_job_without_state_or_with_an_unknown_one_is_kept_and_one_without_ids_skipped() {
    let rule = mock!(aws_sdk_sms::Client::get_replication_jobs).then_http_response(|| {
        body(json!({
            "replicationJobList": [
                {"replicationJobId": "sms-job-1", "serverId": "s-1"},
                {"replicationJobId": "sms-job-2", "serverId": "s-2", "state": "MELTED",
                 "replicationRunList": [
                     {"replicationRunId": "sms-run-1", "state": "EVAPORATED", "type": "TELEPATHIC"},
                     {"state": "COMPLETED"}
                 ]},
                {"serverId": "s-3", "state": "ACTIVE"},
                {"replicationJobId": "sms-job-4", "state": "FAILED"}
            ]
        }))
    });
    let sms = testing::mock_sms(&[&rule]);
    let sweep = api::replication_jobs(&sms).await.expect("usable");
    assert_eq!(sweep.items.len(), 2);
    assert_eq!(
        sweep.items[0].state,
        ReplicationJobState::Unknown(String::new()).into()
    );
    assert!(!sweep.items[0].state.is_failure(), "no state is no alert");
    assert_eq!(
        sweep.items[1].state,
        ReplicationJobState::Unknown("MELTED".into()).into()
    );
    assert_eq!(
        sweep.items[1].runs.len(),
        1,
        "the run without an id is dropped"
    );
    let missing: Vec<String> = sweep.unusable.iter().map(ToString::to_string).collect();
    assert!(missing[0].contains("replicationJobId"), "{missing:?}");
    assert!(missing[1].contains("serverId"), "{missing:?}");
}

#[tokio::test]
async fn connectors_and_apps_with_unknown_values_or_missing_ids() {
    let connectors = mock!(aws_sdk_sms::Client::get_connectors).then_http_response(|| {
        body(json!({"connectorList": [
            {"connectorId": "c-1", "status": "SLEEPY"},
            {"status": "HEALTHY"},
            {"connectorId": "c-3"}
        ]}))
    });
    let sms = testing::mock_sms(&[&connectors]);
    let sweep = api::connectors(&sms).await.expect("usable");
    assert_eq!(sweep.items.len(), 2);
    assert_eq!(
        sweep.items[0].status,
        ConnectorStatus::Unknown("SLEEPY".into())
    );
    assert_ne!(sweep.items[1].status, ConnectorStatus::Healthy);
    assert_eq!(sweep.unusable.len(), 1);

    let apps = mock!(aws_sdk_sms::Client::list_apps).then_http_response(|| {
        body(json!({"apps": [
            {"appId": "app-1", "launchStatus": "ORBITING", "status": "WEIRD"},
            {"name": "no id"}
        ]}))
    });
    let sms = testing::mock_sms(&[&apps]);
    let sweep = api::app_summaries(&sms).await.expect("usable");
    assert_eq!(sweep.items.len(), 2, "summaries are raw; callers skip ids");
    assert_eq!(
        sweep.items[0].launch_status().map(|s| s.as_str()),
        Some("ORBITING")
    );
}

#[tokio::test]
async fn get_app_without_a_summary_or_an_id_is_a_clear_permanent_error() {
    for (answer, code) in [
        (json!({}), "MissingAppSummary"),
        (json!({"serverGroups": []}), "MissingAppSummary"),
        (json!({"appSummary": {"name": "shop"}}), "MissingField"),
    ] {
        let rule =
            mock!(aws_sdk_sms::Client::get_app).then_http_response(move || body(answer.clone()));
        let sms = testing::mock_sms(&[&rule]);
        let error = api::app(&sms, &AppId::from("app-1"))
            .await
            .expect_err("refused");
        assert_clear(&error, "GetApp", code);
        assert_eq!(error.retryability(), Retryability::Permanent);
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn create_replication_job_without_a_job_id_is_an_error_not_a_success() {
    for answer in [json!({}), json!({"replicationJobId": ""})] {
        let rule = mock!(aws_sdk_sms::Client::create_replication_job)
            .then_http_response(move || body(answer.clone()));
        let sms = testing::mock_sms(&[&rule]);
        let error =
            api::create_replication_job(&sms, &ServerId::from("s-1"), &job_parameters(), now())
                .await
                .expect_err("no id is no job");
        assert_clear(&error, "CreateReplicationJob", "MissingReplicationJobId");
        assert_eq!(rule.num_calls(), 1, "not retried into a second job");
    }
    let rule = mock!(aws_sdk_sms::Client::create_replication_job)
        .then_http_response(|| body(json!({"replicationJobId": "sms-job-9"})));
    let sms = testing::mock_sms(&[&rule]);
    let created =
        api::create_replication_job(&sms, &ServerId::from("s-1"), &job_parameters(), now())
            .await
            .expect("created");
    assert_eq!(created, JobCreation::Created("sms-job-9".into()));
}

#[tokio::test]
async fn answers_of_the_wrong_shape_are_unparseable_errors() {
    let cases: [(Rule, &str); 4] = [
        (
            mock!(aws_sdk_sms::Client::get_servers)
                .then_http_response(|| body(json!({"serverList": "everything"}))),
            "GetServers",
        ),
        (
            mock!(aws_sdk_sms::Client::get_replication_jobs).then_http_response(|| {
                body(json!({"replicationJobList": [{"frequency": "daily"}]}))
            }),
            "GetReplicationJobs",
        ),
        (
            mock!(aws_sdk_sms::Client::get_connectors).then_http_response(|| {
                HttpResponse::new(200.try_into().unwrap(), SdkBody::from("<html>proxy</html>"))
            }),
            "GetConnectors",
        ),
        (
            mock!(aws_sdk_sms::Client::list_apps)
                .then_http_response(|| body(json!({"apps": [{"appId": 42}]}))),
            "ListApps",
        ),
    ];
    for (rule, operation) in cases {
        let sms = testing::mock_sms(&[&rule]);
        let error = match operation {
            "GetServers" => api::servers(&sms).await.map(drop),
            "GetReplicationJobs" => api::replication_jobs(&sms).await.map(drop),
            "GetConnectors" => api::connectors(&sms).await.map(drop),
            _ => api::app_summaries(&sms).await.map(drop),
        }
        .expect_err("refused");
        // The SDK reports a 200 it cannot parse as an unhandled service error (code
        // `HTTP200`) or a response error (`UnparseableResponse`); either is permanent.
        assert!(
            ["UnparseableResponse", "HTTP200"].contains(&error.kind.name()),
            "{error}"
        );
        assert_eq!(error.operation, operation);
        assert!(
            ["parse", "unexpected token"]
                .iter()
                .any(|what| error.to_string().contains(what)),
            "{error}"
        );
        assert_eq!(error.retryability(), Retryability::Permanent);
        assert!(
            rule.num_calls() <= 3,
            "{operation}: {} calls",
            rule.num_calls()
        );
    }
}

// ---- pagination ------------------------------------------------------------------------

/// Which sweep a pagination case drives.
#[derive(Debug, Clone, Copy)]
enum Sweep {
    Connectors,
    Servers,
    Jobs,
    Apps,
}

const SWEEPS: [Sweep; 4] = [Sweep::Connectors, Sweep::Servers, Sweep::Jobs, Sweep::Apps];

/// How the mocked service hands out tokens: `next(token sent)` is the token returned
/// (empty for the last page) and `items(token sent)` how many items the page holds.
type Pager = Arc<dyn Fn(Option<&str>) -> (usize, Option<String>) + Send + Sync>;

fn paging_rule(sweep: Sweep, pager: Pager) -> Rule {
    match sweep {
        Sweep::Connectors => {
            mock!(aws_sdk_sms::Client::get_connectors).then_compute_output(move |input| {
                let (items, next) = pager(input.next_token());
                GetConnectorsOutput::builder()
                    .set_connector_list(Some(
                        (0..items)
                            .map(|i| Connector::builder().connector_id(format!("c-{i}")).build())
                            .collect(),
                    ))
                    .set_next_token(next)
                    .build()
            })
        }
        Sweep::Servers => {
            mock!(aws_sdk_sms::Client::get_servers).then_compute_output(move |input| {
                let (items, next) = pager(input.next_token());
                GetServersOutput::builder()
                    .set_server_list(Some(
                        (0..items)
                            .map(|i| Server::builder().server_id(format!("s-{i}")).build())
                            .collect(),
                    ))
                    .set_next_token(next)
                    .build()
            })
        }
        Sweep::Jobs => {
            mock!(aws_sdk_sms::Client::get_replication_jobs).then_compute_output(move |input| {
                let (items, next) = pager(input.next_token());
                GetReplicationJobsOutput::builder()
                    .set_replication_job_list(Some(
                        (0..items)
                            .map(|i| {
                                ReplicationJob::builder()
                                    .replication_job_id(format!("sms-job-{i}"))
                                    .server_id(format!("s-{i}"))
                                    .build()
                            })
                            .collect(),
                    ))
                    .set_next_token(next)
                    .build()
            })
        }
        Sweep::Apps => mock!(aws_sdk_sms::Client::list_apps).then_compute_output(move |input| {
            let (items, next) = pager(input.next_token());
            ListAppsOutput::builder()
                .set_apps(Some(
                    (0..items)
                        .map(|i| AppSummary::builder().app_id(format!("app-{i}")).build())
                        .collect(),
                ))
                .set_next_token(next)
                .build()
        }),
    }
}

/// Items swept, or the error.
async fn run(sweep: Sweep, sms: &aws_sdk_sms::Client) -> Result<usize, AwsCallError> {
    match sweep {
        Sweep::Connectors => api::connectors(sms).await.map(|s| s.items.len()),
        Sweep::Servers => api::servers(sms).await.map(|(_, s)| s.items.len()),
        Sweep::Jobs => api::replication_jobs(sms).await.map(|s| s.items.len()),
        Sweep::Apps => api::app_summaries(sms).await.map(|s| s.items.len()),
    }
}

fn operation(sweep: Sweep) -> &'static str {
    match sweep {
        Sweep::Connectors => "GetConnectors",
        Sweep::Servers => "GetServers",
        Sweep::Jobs => "GetReplicationJobs",
        Sweep::Apps => "ListApps",
    }
}

#[tokio::test]
async fn empty_pages_that_still_carry_a_next_token_are_followed_to_the_end() {
    for sweep in SWEEPS {
        // Three empty pages with tokens, then a page of two items, then the end.
        let pager: Pager = Arc::new(|token| match token {
            None => (0, Some("t1".into())),
            Some("t1") => (0, Some("t2".into())),
            Some("t2") => (0, Some("t3".into())),
            Some("t3") => (2, None),
            Some(other) => panic!("unexpected token {other}"),
        });
        let rule = paging_rule(sweep, pager);
        let sms = testing::mock_sms(&[&rule]);
        let items = run(sweep, &sms).await.expect("complete");
        assert_eq!(items, 2, "{sweep:?}");
        assert_eq!(rule.num_calls(), 4, "{sweep:?}");
        // An empty token is the end, like none.
        let pager: Pager = Arc::new(|token| match token {
            None => (1, Some(String::new())),
            Some(other) => panic!("followed the empty token {other:?}"),
        });
        let rule = paging_rule(sweep, pager);
        let sms = testing::mock_sms(&[&rule]);
        assert_eq!(run(sweep, &sms).await.expect("complete"), 1, "{sweep:?}");
        assert_eq!(rule.num_calls(), 1, "{sweep:?}");
    }
}

/// The service answers every page with the token it was asked with: the sweep stops on
/// the second page and says so, rather than passing one page off as the whole list.
#[tokio::test]
async fn the_same_next_token_forever_stops_at_once_with_an_error() {
    for sweep in SWEEPS {
        for first_page_items in [0, 3] {
            let pager: Pager = Arc::new(move |token| match token {
                None => (first_page_items, Some("again".into())),
                Some(_) => (first_page_items, Some("again".into())),
            });
            let rule = paging_rule(sweep, pager);
            let sms = testing::mock_sms(&[&rule]);
            let error = run(sweep, &sms).await.expect_err("not a complete list");
            assert_clear(&error, operation(sweep), "EndlessPagination");
            assert!(error.message.contains("nextToken"), "{error}");
            assert_eq!(error.retryability(), Retryability::Permanent);
            assert_eq!(rule.num_calls(), 2, "{sweep:?}");
        }
    }
}

/// The service hands out a new token on every page, forever: the MAX_PAGES guard stops
/// the sweep with an error after exactly MAX_PAGES calls. (10,000 calls each: the
/// servers' and the apps' sweeps, which share one paging loop, not all four.)
#[tokio::test]
async fn an_ever_changing_next_token_is_stopped_by_the_page_guard() {
    for sweep in [Sweep::Servers, Sweep::Apps] {
        let served = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&served);
        let pager: Pager = Arc::new(move |_| {
            let n = count.fetch_add(1, Ordering::Relaxed);
            (0, Some(format!("token-{n}")))
        });
        let rule = paging_rule(sweep, pager);
        let sms = testing::mock_sms(&[&rule]);
        let error = run(sweep, &sms).await.expect_err("endless");
        assert_clear(&error, operation(sweep), "EndlessPagination");
        assert!(error.message.contains(&MAX_PAGES.to_string()), "{error}");
        let calls = rule.num_calls();
        assert_eq!(calls, MAX_PAGES, "{sweep:?}: {calls} calls");
        assert_eq!(served.load(Ordering::Relaxed), calls);
        assert_eq!(
            error.kind,
            AwsErrorKind::Other {
                code: "EndlessPagination".into()
            }
        );
    }
}
