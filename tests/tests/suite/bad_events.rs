//! Bad input events for every function: malformed, truncated, oversized (300 KB) and
//! wrongly typed payloads, and events meant for another function. Each handler must
//! answer `AutopilotError::InvalidEvent` (permanent, so Lambda does not retry it), with
//! a short message, and make no SMS, S3 or EventBridge call: every SDK operation any
//! function uses answers from a counting mock, and the counts must stay at zero.

use autopilot_core::config::{
    AppLauncherConfig, CatalogImportConfig, FunctionConfig, JobCreatorConfig, JobWatcherConfig,
    TemplateGeneratorConfig,
};
use autopilot_core::error::Retryability;
use autopilot_core::testing::{self, project_event, schedule_event, sms_state_change};
use autopilot_core::trigger::MAX_EVENT_BYTES;
use autopilot_core::AutopilotError;
use aws_sdk_s3::operation::copy_object::CopyObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_sms::operation::{
    create_replication_job::CreateReplicationJobOutput,
    delete_replication_job::DeleteReplicationJobOutput,
    generate_change_set::GenerateChangeSetOutput, generate_template::GenerateTemplateOutput,
    get_app::GetAppOutput, get_connectors::GetConnectorsOutput,
    get_replication_jobs::GetReplicationJobsOutput, get_servers::GetServersOutput,
    import_server_catalog::ImportServerCatalogOutput, launch_app::LaunchAppOutput,
    list_apps::ListAppsOutput, start_on_demand_replication_run::StartOnDemandReplicationRunOutput,
};
use aws_smithy_mocks::{mock, Rule};
use serde_json::{json, Value};

/// 300 KB: above EventBridge's 256 KB event limit, so such a payload never came through it.
const OVERSIZED: usize = 300 * 1024;
/// An error message longer than this would put the payload into the logs.
const MAX_MESSAGE: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    CatalogImport,
    JobCreator,
    JobWatcher,
    TemplateGenerator,
    AppLauncher,
}

const FUNCTIONS: [Function; 5] = [
    Function::CatalogImport,
    Function::JobCreator,
    Function::JobWatcher,
    Function::TemplateGenerator,
    Function::AppLauncher,
];

/// A mock answering every SMS and S3 operation any function calls, counting calls.
struct Mocks {
    sms: Vec<Rule>,
    s3: Vec<Rule>,
}

impl Mocks {
    fn new() -> Self {
        let sms = vec![
            mock!(aws_sdk_sms::Client::get_connectors)
                .then_output(|| GetConnectorsOutput::builder().build()),
            mock!(aws_sdk_sms::Client::import_server_catalog)
                .then_output(|| ImportServerCatalogOutput::builder().build()),
            mock!(aws_sdk_sms::Client::get_servers)
                .then_output(|| GetServersOutput::builder().build()),
            mock!(aws_sdk_sms::Client::get_replication_jobs)
                .then_output(|| GetReplicationJobsOutput::builder().build()),
            mock!(aws_sdk_sms::Client::create_replication_job)
                .then_output(|| CreateReplicationJobOutput::builder().build()),
            mock!(aws_sdk_sms::Client::start_on_demand_replication_run)
                .then_output(|| StartOnDemandReplicationRunOutput::builder().build()),
            mock!(aws_sdk_sms::Client::delete_replication_job)
                .then_output(|| DeleteReplicationJobOutput::builder().build()),
            mock!(aws_sdk_sms::Client::list_apps).then_output(|| ListAppsOutput::builder().build()),
            mock!(aws_sdk_sms::Client::get_app).then_output(|| GetAppOutput::builder().build()),
            mock!(aws_sdk_sms::Client::launch_app)
                .then_output(|| LaunchAppOutput::builder().build()),
            mock!(aws_sdk_sms::Client::generate_template)
                .then_output(|| GenerateTemplateOutput::builder().build()),
            mock!(aws_sdk_sms::Client::generate_change_set)
                .then_output(|| GenerateChangeSetOutput::builder().build()),
        ];
        let s3 = vec![
            mock!(aws_sdk_s3::Client::get_object).then_error(|| {
                GetObjectError::NoSuchKey(aws_sdk_s3::types::error::NoSuchKey::builder().build())
            }),
            mock!(aws_sdk_s3::Client::put_object)
                .then_output(|| PutObjectOutput::builder().build()),
            mock!(aws_sdk_s3::Client::copy_object)
                .then_output(|| CopyObjectOutput::builder().build()),
        ];
        Self { sms, s3 }
    }

    fn sms_client(&self) -> aws_sdk_sms::Client {
        testing::mock_sms(&self.sms.iter().collect::<Vec<_>>())
    }

    fn s3_client(&self) -> aws_sdk_s3::Client {
        testing::mock_s3(&self.s3.iter().collect::<Vec<_>>())
    }

    fn calls(rules: &[Rule]) -> usize {
        rules.iter().map(Rule::num_calls).sum()
    }
}

/// What one invocation did.
struct Outcome {
    result: Result<(), AutopilotError>,
    sms_calls: usize,
    s3_calls: usize,
    published: usize,
}

fn config<C: FunctionConfig>() -> C {
    C::from_lookup(|name| match name {
        "EVENT_BUS_NAME" => Some("autopilot".into()),
        "ARTIFACTS_BUCKET" => Some("artifacts".into()),
        _ => None,
    })
    .expect("a minimal valid configuration")
}

async fn invoke(function: Function, payload: Value) -> Outcome {
    let mocks = Mocks::new();
    let (sms, s3) = (mocks.sms_client(), mocks.s3_client());
    let (result, published) = match function {
        Function::CatalogImport => {
            let (context, events) = testing::context(config::<CatalogImportConfig>(), sms, s3);
            let result = catalog_import::handle(payload, context).await.map(drop);
            (result, events.all().len())
        }
        Function::JobCreator => {
            let (context, events) = testing::context(config::<JobCreatorConfig>(), sms, s3);
            let result = job_creator::handle(payload, context).await.map(drop);
            (result, events.all().len())
        }
        Function::JobWatcher => {
            let (context, events) = testing::context(config::<JobWatcherConfig>(), sms, s3);
            let result = job_watcher::handle(payload, context).await.map(drop);
            (result, events.all().len())
        }
        Function::TemplateGenerator => {
            let (context, events) = testing::context(config::<TemplateGeneratorConfig>(), sms, s3);
            let result = template_generator::handle(payload, context).await.map(drop);
            (result, events.all().len())
        }
        Function::AppLauncher => {
            let (context, events) = testing::context(config::<AppLauncherConfig>(), sms, s3);
            let result = app_launcher::handle(payload, context).await.map(drop);
            (result, events.all().len())
        }
    };
    Outcome {
        result,
        sms_calls: Mocks::calls(&mocks.sms),
        s3_calls: Mocks::calls(&mocks.s3),
        published,
    }
}

/// Asserts the payload is refused as an invalid event, before any side effect.
async fn assert_refused(function: Function, label: &str, payload: Value) {
    let outcome = invoke(function, payload).await;
    let context = format!("{function:?} given {label}");
    let error = match outcome.result {
        Ok(()) => panic!("{context}: accepted"),
        Err(error) => error,
    };
    assert!(
        matches!(error, AutopilotError::InvalidEvent(_)),
        "{context}: {error:?}"
    );
    assert_eq!(error.retryability(), Retryability::Permanent, "{context}");
    let message = error.to_string();
    assert!(
        message.starts_with("invalid event: ") && message.len() > "invalid event: ".len() + 10,
        "{context}: unclear message {message:?}"
    );
    assert!(
        message.len() <= MAX_MESSAGE,
        "{context}: a {} byte message echoes the payload: {}…",
        message.len(),
        &message[..200]
    );
    assert_eq!(
        diagnostic_type(error),
        "Permanent.InvalidEvent",
        "{context}"
    );
    assert_eq!(outcome.sms_calls, 0, "{context}: SMS was called");
    assert_eq!(outcome.s3_calls, 0, "{context}: S3 was called");
    assert_eq!(outcome.published, 0, "{context}: events were published");
}

/// The Lambda error type an error is reported with.
fn diagnostic_type(error: AutopilotError) -> String {
    lambda_runtime::Diagnostic::from(error).error_type
}

fn with(mut event: Value, pointer: &str, value: Value) -> Value {
    *event
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    event
}

fn without(mut event: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let removed = event
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|object| object.remove(key));
    assert!(removed.is_some(), "{pointer} was not there");
    event
}

fn big_string() -> Value {
    Value::String("x".repeat(OVERSIZED))
}

fn app_ready() -> Value {
    project_event(
        "AppReady",
        json!({"version": 1, "dryRun": false, "appId": "app-1", "appName": "shop", "servers": 2}),
    )
}

fn run_completed() -> Value {
    project_event(
        "ReplicationRunCompleted",
        json!({"version": 1, "dryRun": false, "replicationJobId": "sms-job-1",
               "replicationRunId": "sms-run-1", "serverId": "s-1", "amiId": "ami-1"}),
    )
}

fn import_requested() -> Value {
    project_event(
        "ImportCatalogRequested",
        json!({"version": 1, "dryRun": false, "requestedBy": "ops"}),
    )
}

fn sms_change() -> Value {
    sms_state_change("sms-job-1", "sms-run-1", "FAILED", None)
}

/// Payloads no function accepts: not an envelope, a broken envelope, or an event
/// nobody here subscribes to.
fn refused_by_everyone() -> Vec<(String, Value)> {
    let mut cases: Vec<(String, Value)> = vec![
        ("null".into(), Value::Null),
        ("a number".into(), json!(42)),
        ("a string".into(), json!("Scheduled Event")),
        ("an array".into(), json!([schedule_event()])),
        ("a boolean".into(), json!(true)),
        ("an empty object".into(), json!({})),
        ("an unrelated object".into(), json!({"hello": "world"})),
        (
            "source as a number".into(),
            with(schedule_event(), "/source", json!(42)),
        ),
        (
            "detail-type as null".into(),
            with(schedule_event(), "/detail-type", Value::Null),
        ),
        (
            "detail-type as an object".into(),
            with(schedule_event(), "/detail-type", json!({"a": 1})),
        ),
        (
            "time that is not a time".into(),
            with(schedule_event(), "/time", json!("yesterday")),
        ),
        (
            "time as a number".into(),
            with(schedule_event(), "/time", json!(1_795_341_600)),
        ),
        (
            "resources as a string".into(),
            with(schedule_event(), "/resources", json!("arn:aws:events:rule")),
        ),
        (
            "schedule without source".into(),
            without(schedule_event(), "/source"),
        ),
        (
            "schedule without detail-type".into(),
            without(schedule_event(), "/detail-type"),
        ),
        (
            "detail-type in the wrong case".into(),
            with(schedule_event(), "/detail-type", json!("scheduled event")),
        ),
        (
            "an EC2 event".into(),
            with(
                with(schedule_event(), "/source", json!("aws.ec2")),
                "/detail-type",
                json!("EC2 Instance State-change Notification"),
            ),
        ),
        (
            "an unknown project detail-type".into(),
            project_event("AppExploded", json!({"version": 1, "dryRun": false})),
        ),
        (
            "a project event from a foreign source".into(),
            with(app_ready(), "/source", json!("not-sms-autopilot")),
        ),
        (
            "a 300 KB detail-type".into(),
            with(schedule_event(), "/detail-type", big_string()),
        ),
        (
            "a 300 KB source".into(),
            with(schedule_event(), "/source", big_string()),
        ),
        (
            "a 300 KB time".into(),
            with(schedule_event(), "/time", big_string()),
        ),
    ];
    // The JSON text of a real event cut short is not JSON: the runtime refuses it before
    // any handler runs. What can arrive is an envelope that lost its later keys.
    let fixture: Value = serde_json::from_slice(include_bytes!(
        "../../fixtures/eventbridge-scheduled-event.json"
    ))
    .expect("fixture parses");
    let text = fixture.to_string();
    for cut in [1, text.len() / 3, text.len() / 2, text.len() - 1] {
        assert!(
            serde_json::from_str::<Value>(&text[..cut]).is_err(),
            "cut at {cut} still parses"
        );
    }
    let keys: Vec<String> = fixture
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    for kept in 0..keys.len() {
        let prefix: serde_json::Map<String, Value> = keys[..kept]
            .iter()
            .map(|k| (k.clone(), fixture[k].clone()))
            .collect();
        if !(prefix.contains_key("source") && prefix.contains_key("detail-type")) {
            cases.push((
                format!("the scheduled fixture truncated to {kept} keys"),
                Value::Object(prefix),
            ));
        }
    }
    cases
}

/// Events one function accepts, broken: missing, wrongly typed or oversized fields.
fn malformed_accepted(function: Function) -> Vec<(String, Value)> {
    let detail_cases = |event: Value, fields: &[(&str, Value)]| -> Vec<(String, Value)> {
        let mut cases = vec![
            (
                "detail as a string".to_owned(),
                with(event.clone(), "/detail", json!("{}")),
            ),
            (
                "detail as an array".to_owned(),
                with(event.clone(), "/detail", json!([])),
            ),
            (
                "detail as null".to_owned(),
                with(event.clone(), "/detail", Value::Null),
            ),
            ("no detail".to_owned(), without(event.clone(), "/detail")),
        ];
        for (pointer, value) in fields {
            let label = format!("{pointer} = {}", short(value));
            cases.push((label, with(event.clone(), pointer, value.clone())));
        }
        cases
    };
    let project_common = |event: Value| -> Vec<(String, Value)> {
        vec![
            (
                "no version".into(),
                without(event.clone(), "/detail/version"),
            ),
            ("no dryRun".into(), without(event.clone(), "/detail/dryRun")),
            (
                "version as text".into(),
                with(event.clone(), "/detail/version", json!("1")),
            ),
            (
                "negative version".into(),
                with(event.clone(), "/detail/version", json!(-1)),
            ),
            (
                "dryRun as text".into(),
                with(event.clone(), "/detail/dryRun", json!("no")),
            ),
            (
                "300 KB where the version goes".into(),
                with(event.clone(), "/detail/version", big_string()),
            ),
            (
                "200 KB (under the size limit) where the version goes".into(),
                with(event, "/detail/version", json!("v".repeat(200 * 1024))),
            ),
        ]
    };
    let mut cases = Vec::new();
    match function {
        Function::CatalogImport => {
            cases.extend(detail_cases(
                import_requested(),
                &[
                    ("/detail/requestedBy", json!(5)),
                    ("/detail/requestedBy", json!(["ops"])),
                ],
            ));
            cases.extend(project_common(import_requested()));
        }
        Function::JobCreator => {}
        Function::JobWatcher => {
            cases.extend(detail_cases(
                sms_change(),
                &[
                    ("/detail/state", json!(5)),
                    ("/detail/state", Value::Null),
                    ("/detail/replication-job-id", Value::Null),
                    ("/detail/replication-job-id", json!(12345)),
                    ("/detail/replication-job-id", json!("")),
                    ("/detail/replication-run-id", json!({"id": 1})),
                    ("/detail/ami-id", json!(7)),
                    ("/detail/replication-job-id", json!(["sms-job-1"])),
                    ("/detail/state", big_string()),
                    ("/detail/state", json!(["s".repeat(200 * 1024)])),
                    ("/detail/version", json!(1.0)),
                    ("/detail/replication-job-id", json!(vec![0; OVERSIZED / 2])),
                ],
            ));
            for field in [
                "state",
                "replication-job-id",
                "replication-run-id",
                "version",
            ] {
                cases.push((
                    format!("aws.sms detail without {field}"),
                    without(sms_change(), &format!("/detail/{field}")),
                ));
            }
        }
        Function::TemplateGenerator => {
            cases.extend(detail_cases(
                app_ready(),
                &[
                    ("/detail/appId", json!(7)),
                    ("/detail/appId", Value::Null),
                    ("/detail/appId", json!("")),
                    ("/detail/servers", json!("three")),
                    ("/detail/servers", json!(-1)),
                    ("/detail/servers", json!(1.5)),
                    ("/detail/appName", json!(["shop"])),
                    ("/detail/appId", json!(vec!["app-1"; OVERSIZED / 8])),
                ],
            ));
            cases.extend(project_common(app_ready()));
            for field in ["appId", "servers"] {
                cases.push((
                    format!("AppReady without {field}"),
                    without(app_ready(), &format!("/detail/{field}")),
                ));
            }
            cases.extend(run_completed_cases());
            cases.push((
                "ReplicationRunCompleted without serverId".into(),
                without(run_completed(), "/detail/serverId"),
            ));
        }
        Function::AppLauncher => cases.extend(run_completed_cases()),
    }
    cases
}

fn run_completed_cases() -> Vec<(String, Value)> {
    let mut cases = vec![
        (
            "ReplicationRunCompleted without replicationJobId".to_owned(),
            without(run_completed(), "/detail/replicationJobId"),
        ),
        (
            "ReplicationRunCompleted with a numeric replicationJobId".to_owned(),
            with(run_completed(), "/detail/replicationJobId", json!(1)),
        ),
        (
            "ReplicationRunCompleted with serverId as an object".to_owned(),
            with(run_completed(), "/detail/serverId", json!({"id": "s-1"})),
        ),
        (
            "ReplicationRunCompleted with a 300 KB array for replicationJobId".to_owned(),
            with(
                run_completed(),
                "/detail/replicationJobId",
                json!(vec![1; OVERSIZED / 2]),
            ),
        ),
        (
            "ReplicationRunCompleted detail as a string".to_owned(),
            with(run_completed(), "/detail", json!("sms-job-1")),
        ),
    ];
    cases.push((
        "ReplicationRunCompleted with dryRun as a number".into(),
        with(run_completed(), "/detail/dryRun", json!(0)),
    ));
    cases
}

/// The well-formed events each function does not handle (they belong to another).
fn meant_for_others(function: Function) -> Vec<(String, Value)> {
    let all = [
        ("a scheduled event", schedule_event()),
        ("an aws.sms job state change", sms_change()),
        ("AppReady", app_ready()),
        ("ReplicationRunCompleted", run_completed()),
        ("ImportCatalogRequested", import_requested()),
        (
            "TemplateGenerated",
            project_event(
                "TemplateGenerated",
                json!({"version": 1, "dryRun": false, "appId": "app-1", "format": "JSON",
                       "generated": null, "archived": null}),
            ),
        ),
    ];
    let accepted: &[&str] = match function {
        Function::CatalogImport => &["a scheduled event", "ImportCatalogRequested"],
        Function::JobCreator => &["a scheduled event"],
        Function::JobWatcher => &["a scheduled event", "an aws.sms job state change"],
        Function::TemplateGenerator => &["AppReady", "ReplicationRunCompleted"],
        Function::AppLauncher => &["a scheduled event", "ReplicationRunCompleted"],
    };
    all.into_iter()
        .filter(|(label, _)| !accepted.contains(label))
        .map(|(label, event)| (label.to_owned(), event))
        .collect()
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 40 {
        format!("<{} bytes>", text.len())
    } else {
        text
    }
}

#[tokio::test]
async fn payloads_that_are_not_events_are_refused_by_every_function_without_a_call() {
    let cases = refused_by_everyone();
    assert!(cases.len() > 25, "{} cases", cases.len());
    for function in FUNCTIONS {
        for (label, payload) in &cases {
            assert_refused(function, label, payload.clone()).await;
        }
    }
}

#[tokio::test]
async fn malformed_and_wrongly_typed_accepted_events_are_refused_without_a_call() {
    for function in FUNCTIONS {
        for (label, payload) in malformed_accepted(function) {
            assert_refused(function, &label, payload).await;
        }
    }
}

#[tokio::test]
async fn events_meant_for_another_function_are_refused_naming_what_is_accepted() {
    for function in FUNCTIONS {
        for (label, payload) in meant_for_others(function) {
            let outcome = invoke(function, payload.clone()).await;
            let message = outcome
                .result
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                message.contains("this function accepts"),
                "{function:?} given {label}: {message:?}"
            );
            assert_refused(function, &label, payload).await;
        }
    }
}

/// A well-formed event larger than EventBridge's limit cannot have come from EventBridge:
/// it is refused by size, not acted upon (an id of 300 KB would otherwise reach SMS).
#[tokio::test]
async fn oversized_well_formed_events_are_refused_by_size() {
    let padding = |event: Value| with(event, "/resources", json!([big_string()]));
    let cases = [
        (Function::CatalogImport, padding(schedule_event())),
        (Function::CatalogImport, padding(import_requested())),
        (Function::JobCreator, padding(schedule_event())),
        (Function::JobWatcher, padding(schedule_event())),
        (Function::JobWatcher, padding(sms_change())),
        (
            Function::JobWatcher,
            with(sms_change(), "/detail/replication-job-id", big_string()),
        ),
        (Function::TemplateGenerator, padding(app_ready())),
        (
            Function::TemplateGenerator,
            with(app_ready(), "/detail/appId", big_string()),
        ),
        (Function::TemplateGenerator, padding(run_completed())),
        (Function::AppLauncher, padding(schedule_event())),
        (
            Function::AppLauncher,
            with(run_completed(), "/detail/serverId", big_string()),
        ),
    ];
    for (function, payload) in cases {
        assert!(payload.to_string().len() > MAX_EVENT_BYTES);
        let outcome = invoke(function, payload.clone()).await;
        let message = outcome
            .result
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            message.contains("larger than EventBridge"),
            "{function:?}: {}",
            &message[..message.len().min(300)]
        );
        assert_refused(function, "a 300 KB well-formed event", payload).await;
    }
    // Just under the limit is still an event.
    let mut fits = schedule_event();
    let room = MAX_EVENT_BYTES - fits.to_string().len() - 100;
    fits["resources"] = json!(["x".repeat(room)]);
    let outcome = invoke(Function::CatalogImport, fits).await;
    assert!(outcome.result.is_ok(), "{:?}", outcome.result.err());
    assert_eq!(outcome.sms_calls, 1, "GetConnectors once");
}

/// The same harness accepts the well-formed events, so the refusals above are about the
/// input, not about a harness that refuses everything.
#[tokio::test]
async fn the_harness_accepts_each_functions_well_formed_events() {
    let cases = [
        (Function::CatalogImport, schedule_event()),
        (Function::CatalogImport, import_requested()),
        (Function::JobCreator, schedule_event()),
        (Function::JobWatcher, schedule_event()),
        (Function::JobWatcher, sms_change()),
        (Function::TemplateGenerator, run_completed()),
        (Function::AppLauncher, schedule_event()),
        (Function::AppLauncher, run_completed()),
    ];
    for (function, payload) in cases {
        let outcome = invoke(function, payload).await;
        assert!(
            outcome.result.is_ok(),
            "{function:?}: {:?}",
            outcome.result.err()
        );
        assert!(outcome.sms_calls > 0, "{function:?} read SMS");
    }
    // AppReady reaches GenerateTemplate, whose empty answer is a (permanent) SMS error.
    let outcome = invoke(Function::TemplateGenerator, app_ready()).await;
    assert!(
        !matches!(outcome.result, Err(AutopilotError::InvalidEvent(_))),
        "{:?}",
        outcome.result.err()
    );
    assert_eq!(outcome.sms_calls, 1);
}
