//! The part of the Lambda Runtime API that `lambda_runtime` uses, served on 127.0.0.1,
//! so the functions' real `bootstrap` binaries can be started and invoked as Lambda
//! would: `GET invocation/next` long-polls until an invocation is queued and records
//! when each poll arrived; responses, invocation errors and init errors are recorded
//! with their arrival time. The bench times cold starts with it; the integration tests
//! check that each binary starts, answers, and reports a bad configuration.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Notify;

use autopilot_core::clients::Endpoints;
use autopilot_core::runtime::SIMULATED_NOW_FIELD;
use chrono::{DateTime, Utc};

use super::clients::StaticCredentials;
use super::payloads::stamp;
use super::wiring::LOCAL_REGION;
use crate::http::LoopbackServer;

/// The deadline each invocation is given (a 10,000-server cycle fits).
pub const INVOCATION_LIMIT: Duration = Duration::from_secs(600);

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";

/// How the process of a function binary is started, besides its own configuration.
#[derive(Debug, Clone, Copy)]
pub struct Sandbox<'a> {
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: u32,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: &'a str,
    /// What Lambda puts in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`.
    pub credentials: StaticCredentials<'a>,
    /// Where the SDK sends SMS, S3 and EventBridge calls.
    pub endpoints: &'a Endpoints,
}

/// The variables Lambda sets for `binary` served by the Runtime API at `api`, made
/// hermetic (no profile files, no instance metadata) and pointed at the local endpoints.
pub fn lambda_environment(
    binary: &str,
    api: SocketAddr,
    sandbox: &Sandbox<'_>,
) -> BTreeMap<String, String> {
    let credentials = sandbox.credentials;
    [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            format!("sms-autopilot-{binary}"),
        ),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            sandbox.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", sandbox.log_stream.to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("AWS_REGION", LOCAL_REGION.to_owned()),
        ("AWS_DEFAULT_REGION", LOCAL_REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id.to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key.to_owned(),
        ),
        (
            "AWS_SESSION_TOKEN",
            credentials.session_token.unwrap_or_default().to_owned(),
        ),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL_SMS", sandbox.endpoints.sms.clone()),
        ("AWS_ENDPOINT_URL_S3", sandbox.endpoints.s3.clone()),
        (
            "AWS_ENDPOINT_URL_EVENTBRIDGE",
            sandbox.endpoints.events.clone(),
        ),
    ]
    .into_iter()
    .chain(
        sandbox
            .endpoints
            .mgn
            .clone()
            .map(|mgn| ("AWS_ENDPOINT_URL_MGN", mgn)),
    )
    .chain(
        sandbox
            .endpoints
            .ec2
            .clone()
            .map(|ec2| ("AWS_ENDPOINT_URL_EC2", ec2)),
    )
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// What a function reported to the Runtime API.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// POST invocation/{id}/response.
    Response { request_id: String, body: Value },
    /// POST invocation/{id}/error.
    InvocationError {
        request_id: String,
        error_type: Option<String>,
        body: Value,
    },
    /// POST init/error.
    InitError {
        error_type: Option<String>,
        body: Value,
    },
}

/// An invocation waiting for the function's next poll.
struct Queued {
    request_id: String,
    event: Value,
    /// The `lambda-runtime-client-context` header, if any.
    client_context: Option<String>,
}

#[derive(Default)]
struct ApiState {
    queued: VecDeque<Queued>,
    next_calls: Vec<Instant>,
    reports: Vec<(Instant, Report)>,
    unexpected: Vec<String>,
    issued: u64,
}

struct ApiShared {
    state: Mutex<ApiState>,
    /// The time each invocation is given before its deadline.
    limit: Duration,
    /// An invocation was queued.
    queued: Notify,
    /// A poll or a report arrived.
    changed: Notify,
}

impl ApiShared {
    fn lock(&self) -> MutexGuard<'_, ApiState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The part of the Lambda Runtime API that `lambda_runtime` uses, on 127.0.0.1: GET
/// invocation/next long-polls until an invocation is queued and records when each poll
/// arrived; responses and errors are recorded with their arrival time.
pub struct RuntimeApi {
    server: LoopbackServer,
    shared: Arc<ApiShared>,
    /// Reports already handed out by [`RuntimeApi::report`].
    taken: usize,
}

impl RuntimeApi {
    /// Binds a free loopback port and serves until dropped; each invocation is given
    /// [`INVOCATION_LIMIT`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_limit(INVOCATION_LIMIT).await
    }

    /// As [`RuntimeApi::start`], each invocation given `limit` before its deadline.
    pub async fn start_with_limit(limit: Duration) -> std::io::Result<Self> {
        let listener = crate::http::bind(0).await?;
        let shared = Arc::new(ApiShared {
            state: Mutex::new(ApiState::default()),
            limit,
            queued: Notify::new(),
            changed: Notify::new(),
        });
        let served = Arc::clone(&shared);
        let server = LoopbackServer::serve("Lambda Runtime API", listener, move |request| {
            let shared = Arc::clone(&served);
            async move { answer(&shared, request).await }
        });
        Ok(Self {
            server,
            shared,
            taken: 0,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Queues one invocation; returns its request id.
    pub fn invoke(&self, event: Value) -> String {
        self.queue(event, None)
    }

    /// Queues one invocation that runs at the simulated time `now` (the function must
    /// accept it: `AUTOPILOT_ACCEPT_SIMULATED_CLOCK=true`); returns its request id.
    pub fn invoke_at(&self, event: Value, now: DateTime<Utc>) -> String {
        let context = json!({ "custom": { SIMULATED_NOW_FIELD: stamp(now) } });
        self.queue(event, Some(context.to_string()))
    }

    fn queue(&self, event: Value, client_context: Option<String>) -> String {
        let mut state = self.shared.lock();
        state.issued += 1;
        let request_id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            state.issued
        );
        state.queued.push_back(Queued {
            request_id: request_id.clone(),
            event,
            client_context,
        });
        drop(state);
        self.shared.queued.notify_waiters();
        request_id
    }

    /// When each GET invocation/next arrived.
    pub fn next_calls(&self) -> Vec<Instant> {
        self.shared.lock().next_calls.clone()
    }

    /// Every report with its arrival time.
    pub fn reports(&self) -> Vec<(Instant, Report)> {
        self.shared.lock().reports.clone()
    }

    /// The next report not handed out yet, if one arrives within `limit`.
    pub async fn report(&mut self, limit: Duration) -> Option<Report> {
        let taken = self.taken;
        if !self.wait_for(limit, |_, reports| reports > taken).await {
            return None;
        }
        let report = self
            .shared
            .lock()
            .reports
            .get(taken)
            .map(|(_, r)| r.clone());
        self.taken += 1;
        report
    }

    /// Requests the API does not serve.
    pub fn unexpected(&self) -> Vec<String> {
        self.shared.lock().unexpected.clone()
    }

    /// Waits until `ready` holds for (next calls, reports), at most `limit`.
    pub async fn wait_for(&self, limit: Duration, ready: impl Fn(usize, usize) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            {
                let state = self.shared.lock();
                if ready(state.next_calls.len(), state.reports.len()) {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }
}

fn json_reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn answer(shared: &ApiShared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let arrived = Instant::now();
    if request.method() == Method::GET && request.uri().path() == NEXT_PATH {
        shared.lock().next_calls.push(arrived);
        shared.changed.notify_waiters();
        return next_invocation(shared).await;
    }
    record_report(shared, arrived, request).await
}

/// `GET invocation/next`: waits for a queued invocation and hands it out with the
/// headers `lambda_runtime` reads.
async fn next_invocation(shared: &ApiShared) -> Response<Full<Bytes>> {
    let invocation = loop {
        let queued = shared.queued.notified();
        if let Some(invocation) = shared.lock().queued.pop_front() {
            break invocation;
        }
        queued.await;
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + shared.limit.as_millis();
    let mut response = json_reply(StatusCode::OK, invocation.event);
    let headers = response.headers_mut();
    let request_id = invocation.request_id;
    if let Some(context) = invocation.client_context {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&context) {
            headers.insert("lambda-runtime-client-context", value);
        }
    }
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:local".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".to_owned(),
        ),
    ] {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// A response, an invocation error or an init error, recorded with its arrival time;
/// anything else is recorded as unexpected and answered 404.
async fn record_report(
    shared: &ApiShared,
    arrived: Instant,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let error_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return json_reply(
                StatusCode::BAD_REQUEST,
                json!({ "errorMessage": e.to_string() }),
            )
        }
    };
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let invocation = path
        .strip_prefix(INVOCATION_PREFIX)
        .and_then(|rest| rest.split_once('/'));
    let report = match (method == Method::POST, invocation) {
        (true, Some((id, "response"))) => Some(Report::Response {
            request_id: id.to_owned(),
            body,
        }),
        (true, Some((id, "error"))) => Some(Report::InvocationError {
            request_id: id.to_owned(),
            error_type,
            body,
        }),
        (true, None) if path == INIT_ERROR_PATH => Some(Report::InitError { error_type, body }),
        _ => None,
    };
    match report {
        Some(report) => {
            shared.lock().reports.push((arrived, report));
            shared.changed.notify_waiters();
            json_reply(StatusCode::ACCEPTED, json!({ "status": "OK" }))
        }
        None => {
            shared.lock().unexpected.push(format!("{method} {path}"));
            json_reply(
                StatusCode::NOT_FOUND,
                json!({ "errorMessage": format!("{method} {path} is not served") }),
            )
        }
    }
}
