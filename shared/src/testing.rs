//! Test support for the functions' unit tests (feature `testing`, dev-dependencies
//! only): an event bus that records what was published, fixture events, a fixed clock
//! and a `Context` assembled from mocked clients.

use std::sync::{Arc, Mutex};

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{
    create_mock_http_client, mock, mock_client, MockResponseInterceptor, Rule, RuleMode,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::config::FunctionConfig;
use crate::publisher::EventPublisher;
use crate::runtime::{Clock, Context};
use crate::trigger::{SCHEDULE_DETAIL_TYPE, SCHEDULE_SOURCE, SMS_JOB_STATE_CHANGE, SMS_SOURCE};

/// What a recording bus received: (detail-type, detail) pairs in order, and the
/// rules switched (`EnableRule NAME`, `DisableRule NAME`).
#[derive(Debug, Clone, Default)]
pub struct PublishedEvents(Arc<Mutex<Vec<(String, Value)>>>, Arc<Mutex<Vec<String>>>);

impl PublishedEvents {
    pub fn all(&self) -> Vec<(String, Value)> {
        self.0.lock().expect("recorder lock").clone()
    }

    /// The EnableRule and DisableRule calls, in order.
    pub fn rule_switches(&self) -> Vec<String> {
        self.1.lock().expect("recorder lock").clone()
    }

    /// Details of every event of one detail-type.
    pub fn of_type(&self, detail_type: &str) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|(kind, _)| kind == detail_type)
            .map(|(_, detail)| detail)
            .collect()
    }

    pub fn detail_types(&self) -> Vec<String> {
        self.all().into_iter().map(|(kind, _)| kind).collect()
    }
}

/// An EventBridge client that accepts every entry and records it.
pub fn recording_bus() -> (aws_sdk_eventbridge::Client, PublishedEvents) {
    let recorded = PublishedEvents::default();
    let sink = recorded.clone();
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |input| {
        let mut log = sink.0.lock().expect("recorder lock");
        for entry in input.entries() {
            let detail = entry
                .detail()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            log.push((entry.detail_type().unwrap_or_default().to_owned(), detail));
        }
        PutEventsOutput::builder()
            .set_entries(Some(
                input
                    .entries()
                    .iter()
                    .map(|_| PutEventsResultEntry::builder().event_id("recorded").build())
                    .collect(),
            ))
            .build()
    });
    let switches = Arc::clone(&recorded.1);
    let enable =
        mock!(aws_sdk_eventbridge::Client::enable_rule).then_compute_output(move |input| {
            let name = input.name().unwrap_or_default();
            switches
                .lock()
                .expect("recorder lock")
                .push(format!("EnableRule {name}"));
            aws_sdk_eventbridge::operation::enable_rule::EnableRuleOutput::builder().build()
        });
    let switches = Arc::clone(&recorded.1);
    let disable =
        mock!(aws_sdk_eventbridge::Client::disable_rule).then_compute_output(move |input| {
            let name = input.name().unwrap_or_default();
            switches
                .lock()
                .expect("recorder lock")
                .push(format!("DisableRule {name}"));
            aws_sdk_eventbridge::operation::disable_rule::DisableRuleOutput::builder().build()
        });
    let client = mock_client!(
        aws_sdk_eventbridge,
        RuleMode::MatchAny,
        [&rule, &enable, &disable]
    );
    (client, recorded)
}

/// An SMS client answering from mock rules (any order), with the standard retry mode
/// of 3 attempts and millisecond backoff, so retry behaviour is exercised quickly.
/// (aws-sdk-sms predates `mock_client!`'s test defaults, hence the hand-built config.)
pub fn mock_sms(rules: &[&Rule]) -> aws_sdk_sms::Client {
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |interceptor, rule| interceptor.with_rule(rule),
    );
    let config = aws_sdk_sms::Config::builder()
        .with_test_defaults()
        .region(aws_sdk_sms::config::Region::new("us-east-1"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .sleep_impl(aws_sdk_sms::config::SharedAsyncSleep::new(
            aws_smithy_async::rt::sleep::TokioSleep::new(),
        ))
        .retry_config(
            aws_sdk_sms::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1)),
        )
        .build();
    aws_sdk_sms::Client::from_conf(config)
}

/// An MGN client answering from mock rules (any order), retrying as [`mock_sms`] does.
pub fn mock_mgn(rules: &[&Rule]) -> aws_sdk_mgn::Client {
    let interceptor = rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |interceptor, rule| interceptor.with_rule(rule),
    );
    let config = aws_sdk_mgn::Config::builder()
        .with_test_defaults()
        .region(aws_sdk_mgn::config::Region::new("us-east-1"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .sleep_impl(aws_sdk_mgn::config::SharedAsyncSleep::new(
            aws_smithy_async::rt::sleep::TokioSleep::new(),
        ))
        .retry_config(
            aws_sdk_mgn::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1)),
        )
        .build();
    aws_sdk_mgn::Client::from_conf(config)
}

/// An MGN client that must not be called (an SMS function's).
pub fn unused_mgn() -> aws_sdk_mgn::Client {
    mock_mgn(&[])
}

/// An EC2 client that must not be called: its endpoint refuses every connection.
pub fn unused_ec2() -> crate::ec2::Ec2 {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    crate::ec2::Ec2::new(&sdk, Some("http://127.0.0.1:9".into()), 1)
}

/// An awsJson1.1 error answer as SMS sends it, for `then_http_response`; going through
/// the SDK's real deserializer keeps the error code exactly as in production.
pub fn sms_error(
    status: u16,
    code: &str,
    message: &str,
) -> aws_sdk_sms::config::http::HttpResponse {
    let body = json!({ "__type": code, "message": message }).to_string();
    aws_sdk_sms::config::http::HttpResponse::new(
        status.try_into().expect("valid HTTP status"),
        aws_smithy_types::body::SdkBody::from(body),
    )
}

/// An S3 client answering from mock rules (any order).
pub fn mock_s3(rules: &[&Rule]) -> aws_sdk_s3::Client {
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules.iter().copied())
}

/// An in-memory S3 bucket behind a mocked client: GetObject answers what PutObject
/// stored (NoSuchKey before), so state survives from one invocation to the next.
#[derive(Debug, Clone, Default)]
pub struct MemoryBucket(Arc<Mutex<std::collections::BTreeMap<String, Vec<u8>>>>);

impl MemoryBucket {
    /// A client on this bucket, with the rules to count calls by.
    pub fn client(&self) -> (aws_sdk_s3::Client, Rule, Rule) {
        self.client_with(&[])
    }

    /// A client on this bucket that also answers by `other` rules (e.g. CopyObject);
    /// returns the GetObject and PutObject rules to count calls by.
    pub fn client_with(&self, other: &[&Rule]) -> (aws_sdk_s3::Client, Rule, Rule) {
        use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
        use aws_sdk_s3::operation::put_object::PutObjectOutput;
        use aws_smithy_mocks::MockResponse;
        let read = self.clone();
        let get = mock!(aws_sdk_s3::Client::get_object).then_compute_response(move |req| {
            let stored = read.get(req.key().unwrap_or_default());
            match stored {
                Some(body) => MockResponse::Output(
                    GetObjectOutput::builder()
                        .body(aws_sdk_s3::primitives::ByteStream::from(body))
                        .build(),
                ),
                None => MockResponse::Error(GetObjectError::NoSuchKey(
                    aws_sdk_s3::types::error::NoSuchKey::builder().build(),
                )),
            }
        });
        let write = self.clone();
        let put = mock!(aws_sdk_s3::Client::put_object).then_compute_output(move |req| {
            let body = req.body().bytes().expect("in-memory body").to_vec();
            write.put(req.key().unwrap_or_default(), body);
            PutObjectOutput::builder().build()
        });
        let rules: Vec<&Rule> = [&get, &put]
            .into_iter()
            .chain(other.iter().copied())
            .collect();
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules);
        (client, get, put)
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.lock().expect("bucket lock").get(key).cloned()
    }

    pub fn put(&self, key: &str, body: Vec<u8>) {
        self.0
            .lock()
            .expect("bucket lock")
            .insert(key.to_owned(), body);
    }

    /// A stored JSON object, parsed.
    pub fn json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.get(key)
            .map(|body| serde_json::from_slice(&body).expect("stored JSON parses"))
    }
}

/// An S3 client that must not be called (every request fails the test visibly).
pub fn unused_s3() -> aws_sdk_s3::Client {
    mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        Vec::<&aws_smithy_mocks::Rule>::new()
    )
}

/// A clock stuck at `at`.
pub fn fixed_clock(at: DateTime<Utc>) -> Clock {
    Arc::new(move || at)
}

/// 2026-11-22T10:00:00Z, the tests' "now".
pub fn test_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_341_600, 0).expect("valid timestamp")
}

/// A context from mocked clients, publishing to a recording bus.
pub fn context<C: FunctionConfig, W: Default>(
    config: C,
    sms: aws_sdk_sms::Client,
    s3: aws_sdk_s3::Client,
) -> (Arc<Context<C, W>>, PublishedEvents) {
    let (events, recorded) = recording_bus();
    let publisher = EventPublisher::new(events, config.common().event_bus_name.clone());
    let context = Context {
        config,
        sms,
        mgn: unused_mgn(),
        ec2: unused_ec2(),
        s3,
        publisher,
        clock: fixed_clock(test_now()),
        warm: W::default(),
    };
    (Arc::new(context), recorded)
}

fn envelope(source: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-22T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sms-autopilot-schedule"],
        "detail": detail
    })
}

/// An EventBridge scheduled event.
pub fn schedule_event() -> Value {
    envelope(SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE, json!({}))
}

/// One of this project's events, as EventBridge delivers it.
pub fn project_event(detail_type: &str, detail: Value) -> Value {
    envelope(crate::events::EVENT_SOURCE, detail_type, detail)
}

/// SMS's job state change event.
pub fn sms_state_change(job_id: &str, run_id: &str, state: &str, ami: Option<&str>) -> Value {
    envelope(
        SMS_SOURCE,
        SMS_JOB_STATE_CHANGE,
        json!({
            "state": state,
            "replication-run-id": run_id,
            "replication-job-id": job_id,
            "ami-id": ami,
            "version": "1.0"
        }),
    )
}
