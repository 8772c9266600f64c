//! The local event bus: an HTTP server on loopback speaking EventBridge's PutEvents
//! (awsJson1.1, `X-Amz-Target: AWSEvents.PutEvents`), so the functions publish through
//! the unmodified aws-sdk-eventbridge client exactly as deployed. Accepted entries are
//! stamped with the simulated time, wrapped in the envelope EventBridge delivers, and
//! queued for the runner to route by the template's rules.
//!
//! A failure rate can be set to exercise the publishers' retries: the chosen entries are
//! answered as failed (`InternalFailure`) the way PutEvents reports partial failures.
//! `GET /_bus/events` lists the most recent accepted events (a path AWS never uses), so
//! whoever runs the functions against `autopilot-local serve` can see their decisions.
//!
//! It also keeps the state of the rules a function switches itself (`EnableRule`,
//! `DisableRule` on rules the runner declared from the template), for the runner's
//! schedules to follow.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::http::LoopbackServer;
use crate::rng::SplitMix64;

/// PutEvents refuses more entries than this in one call.
const MAX_ENTRIES: usize = 10;
/// EventBridge's limit on a whole PutEvents request.
const MAX_BODY: usize = 256 * 1024;
/// Accepted events kept for `GET /_bus/events`.
const HISTORY: usize = 10_000;

/// An event as EventBridge delivers it to a target.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    /// The bus named in the entry (`default` when none).
    pub bus: String,
    /// The full envelope: version, id, detail-type, source, account, time, region,
    /// resources, detail.
    pub envelope: Value,
}

impl BusEvent {
    pub fn detail_type(&self) -> &str {
        self.envelope["detail-type"].as_str().unwrap_or_default()
    }

    pub fn source(&self) -> &str {
        self.envelope["source"].as_str().unwrap_or_default()
    }
}

struct BusState {
    queue: VecDeque<BusEvent>,
    history: VecDeque<BusEvent>,
    next_id: u64,
    failure_rate: f64,
    rng: SplitMix64,
    accepted: u64,
    failed: u64,
    rules: BTreeMap<String, RuleState>,
    switches: Vec<RuleSwitch>,
}

/// A rule's state: enabled or not, since when (simulated time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleState {
    pub enabled: bool,
    pub since: DateTime<Utc>,
}

/// One EnableRule or DisableRule call that reached the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSwitch {
    pub at: DateTime<Utc>,
    pub rule: String,
    pub enable: bool,
}

/// Gives the bus the current (simulated) time.
pub type TimeSource = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct Shared {
    state: Mutex<BusState>,
    now: TimeSource,
    region: String,
    account: String,
}

/// A running local bus.
pub struct LocalBus {
    server: LoopbackServer,
    shared: Arc<Shared>,
}

impl LocalBus {
    /// Binds 127.0.0.1:`port` (0 picks a free port) and serves until `shutdown`.
    pub async fn start(port: u16, now: TimeSource, seed: u64) -> std::io::Result<Self> {
        let listener = crate::http::bind(port).await?;
        let shared = Arc::new(Shared {
            state: Mutex::new(BusState {
                queue: VecDeque::new(),
                history: VecDeque::new(),
                next_id: 1,
                failure_rate: 0.0,
                rng: SplitMix64::new(seed ^ 0xB05),
                accepted: 0,
                failed: 0,
                rules: BTreeMap::new(),
                switches: Vec::new(),
            }),
            now,
            region: "us-east-1".into(),
            account: "123456789012".into(),
        });
        let endpoint_shared = Arc::clone(&shared);
        let server = LoopbackServer::serve("local event bus", listener, move |request| {
            let shared = Arc::clone(&endpoint_shared);
            async move { handle(&shared, request).await }
        });
        Ok(Self { server, shared })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_EVENTBRIDGE`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// Takes every queued event, oldest first.
    pub fn drain(&self) -> Vec<BusEvent> {
        self.lock().queue.drain(..).collect()
    }

    /// Puts an event on the bus as if it had been published (e.g. SMS's own events,
    /// which arrive on the default bus).
    pub fn inject(&self, bus: &str, envelope: Value) {
        self.lock().queue.push_back(BusEvent {
            bus: bus.to_owned(),
            envelope,
        });
    }

    /// Fraction of entries answered as failed, deterministic under the seed.
    pub fn set_failure_rate(&self, rate: f64) {
        self.lock().failure_rate = rate.clamp(0.0, 1.0);
    }

    /// (accepted, answered as failed) entries so far.
    pub fn counts(&self) -> (u64, u64) {
        let state = self.lock();
        (state.accepted, state.failed)
    }

    /// Declares a rule of the template that its function may switch, deployed
    /// `enabled` or not.
    pub fn declare_rule(&self, name: &str, enabled: bool) {
        let since = (self.shared.now)();
        let state = RuleState { enabled, since };
        self.lock().rules.insert(name.to_owned(), state);
    }

    /// Declares every named schedule of the template's functions, as deployed: the
    /// rules a function may switch.
    pub fn declare_schedules(&self, wiring: &crate::harness::wiring::Wiring) {
        let schedules = wiring.functions.iter().flat_map(|f| &f.schedules);
        for schedule in schedules {
            if let Some(rule) = &schedule.rule_name {
                self.declare_rule(rule, schedule.enabled);
            }
        }
    }

    /// The state of a declared rule.
    pub fn rule_state(&self, name: &str) -> Option<RuleState> {
        self.lock().rules.get(name).copied()
    }

    /// Every EnableRule and DisableRule call on a declared rule, in order.
    pub fn rule_switches(&self) -> Vec<RuleSwitch> {
        self.lock().switches.clone()
    }

    /// Stops accepting connections and waits for the open ones.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BusState> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    answer(status, json!({ "__type": code, "message": message }))
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() == Method::GET && request.uri().path() == "/_bus/events" {
        return history(shared);
    }
    let (target, input) = match signed_call(request).await {
        Ok(call) => call,
        Err(refusal) => return refusal,
    };
    match target.as_str() {
        "AWSEvents.PutEvents" => put_events(shared, &input),
        "AWSEvents.EnableRule" => switch_rule(shared, &input, true),
        "AWSEvents.DisableRule" => switch_rule(shared, &input, false),
        other => error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!(
                "the local event bus serves PutEvents, EnableRule and DisableRule, not `{other}`"
            ),
        ),
    }
}

/// `GET /_bus/events`: the most recent accepted events.
fn history(shared: &Shared) -> Response<Full<Bytes>> {
    let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let events: Vec<Value> = state
        .history
        .iter()
        .map(|e| json!({ "bus": e.bus, "event": e.envelope }))
        .collect();
    answer(StatusCode::OK, Value::Array(events))
}

/// The operation (`X-Amz-Target`) and JSON input of a signed call, or the error
/// EventBridge answers.
async fn signed_call(request: Request<Incoming>) -> Result<(String, Value), Response<Full<Bytes>>> {
    if request.method() != Method::POST {
        return Err(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            "only POST / is served",
        ));
    }
    if !request.headers().contains_key("authorization") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    }
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "ValidationException",
                "request larger than 256 KB",
            )
        })?
        .to_bytes();
    let input: Value = serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            &e.to_string(),
        )
    })?;
    Ok((target, input))
}

/// PutEvents: each entry accepted or refused, as EventBridge reports partial failures.
fn put_events(shared: &Shared, input: &Value) -> Response<Full<Bytes>> {
    let Some(entries) = input["Entries"].as_array() else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Entries is required",
        );
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &format!(
                "Entries must hold 1 to {MAX_ENTRIES} entries, not {}",
                entries.len()
            ),
        );
    }
    let now = (shared.now)();
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let results: Vec<Value> = entries
        .iter()
        .map(|entry| accept_entry(shared, &mut state, entry, now))
        .collect();
    let failed = results
        .iter()
        .filter(|r| r.get("ErrorCode").is_some())
        .count();
    answer(
        StatusCode::OK,
        json!({ "FailedEntryCount": failed, "Entries": results }),
    )
}

/// EnableRule / DisableRule on a declared rule: idempotent, and a rule the bus does not
/// know is `ResourceNotFoundException`, as EventBridge answers.
fn switch_rule(shared: &Shared, input: &Value, enable: bool) -> Response<Full<Bytes>> {
    let Some(name) = input["Name"].as_str().filter(|n| !n.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Name is required",
        );
    };
    let now = (shared.now)();
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(rule) = state.rules.get_mut(name) else {
        let bus = bus_name(input["EventBusName"].as_str());
        return error(
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            &format!("Rule {name} does not exist on EventBus {bus}."),
        );
    };
    if rule.enabled != enable {
        *rule = RuleState {
            enabled: enable,
            since: now,
        };
    }
    state.switches.push(RuleSwitch {
        at: now,
        rule: name.to_owned(),
        enable,
    });
    answer(StatusCode::OK, json!({}))
}

/// Accepts one entry onto the bus, or says why not, as a PutEvents result entry.
fn accept_entry(shared: &Shared, state: &mut BusState, entry: &Value, now: DateTime<Utc>) -> Value {
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
    let (source, detail_type, detail) = (text("Source"), text("DetailType"), text("Detail"));
    let detail: Option<Value> = serde_json::from_str(&detail).ok().filter(Value::is_object);
    let problem = if source.is_empty() {
        Some("Source is required")
    } else if detail_type.is_empty() {
        Some("DetailType is required")
    } else if detail.is_none() {
        Some("Detail is not a JSON object")
    } else {
        None
    };
    if let Some(problem) = problem {
        return json!({ "ErrorCode": "MalformedDetail", "ErrorMessage": problem });
    }
    let roll = state.rng.next_f64();
    if roll < state.failure_rate {
        state.failed += 1;
        return json!({ "ErrorCode": "InternalFailure", "ErrorMessage": "injected failure" });
    }
    let id = format!("local-{:08}", state.next_id);
    state.next_id += 1;
    state.accepted += 1;
    let event = BusEvent {
        bus: bus_name(entry["EventBusName"].as_str()),
        envelope: json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type,
            "source": source,
            "account": shared.account,
            "time": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "region": shared.region,
            "resources": entry["Resources"].as_array().cloned().unwrap_or_default(),
            "detail": detail,
        }),
    };
    if state.history.len() == HISTORY {
        state.history.pop_front();
    }
    state.history.push_back(event.clone());
    state.queue.push_back(event);
    json!({ "EventId": id })
}

/// The bus name of an entry: ARNs are reduced to their name, nothing means `default`.
fn bus_name(named: Option<&str>) -> String {
    match named.filter(|n| !n.is_empty()) {
        None => "default".to_owned(),
        Some(name) => name.rsplit('/').next().unwrap_or(name).to_owned(),
    }
}
