//! The SMS emulator: the Server Migration Service on loopback, speaking the real
//! awsJson1.1 protocol on a simulated clock. This file is the embeddable front:
//! [`Emulator::start`] starts the SMS and S3 servers and hands back an
//! [`EmulatorHandle`] to drive the clock, inspect state and counters, and receive events.
//!
//! A request goes endpoint -> api -> engine; the engine alone changes state:
//!
//! - `endpoint.rs`: the HTTP endpoint (signature, `X-Amz-Target`, faults, body) and
//!   the `/_emulator/` admin views;
//! - `api/`: the wire layer, one file per SMS resource: reads the request into a
//!   typed request, calls the engine, renders the model's output shape;
//! - `engine/`: the state and the clock, one file per SMS resource (catalog, jobs,
//!   runs, apps, launch configuration, launch, templates); its fields are private to it;
//! - [`protocol`]: names from the official model: operations, enums, error codes;
//! - [`job_state_changes`]: the `aws.sms` job state change events;
//! - `crate::faults`: injected latency, throttling and 500s.
//!
//! The emulator is an independent peer of the functions it serves: nothing here uses
//! `autopilot-core`, so it cannot share their reading of the model.

mod api;
mod endpoint;
mod engine;
pub mod job_state_changes;
pub mod protocol;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::faults::{FaultState, Verdict};
use crate::http::LoopbackServer;
use crate::real_time::{ticker, RealTime};
use crate::s3::LocalS3;
use crate::scenario::{Faults, Scenario, ScenarioError};
use engine::Engine;
use job_state_changes::SmsEvent;
use protocol::{ApiError, Operation};

pub use crate::faults::FaultCounts;
pub use engine::{
    App, AppReplication, Catalog, ConnectorState, Group, Job, LaunchDetails, Millis, Run,
    ServerState, StateSnapshot, WrittenObject,
};

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listening socket could not be bound.
    #[error("cannot listen for {what} on 127.0.0.1:{port}: {source}")]
    Bind {
        /// Which server.
        what: &'static str,
        /// Requested port.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
    /// The local S3 could not be set up.
    #[error("local S3: {0}")]
    S3(String),
    /// Bad options.
    #[error("invalid emulator options: {0}")]
    Options(String),
    /// Bad scenario.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// How to run the emulator.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// SMS port on 127.0.0.1; 0 picks a free one.
    pub sms_port: u16,
    /// S3 port on 127.0.0.1; 0 picks a free one.
    pub s3_port: u16,
    /// Directory for the local S3; a temporary one (removed on drop) when `None`.
    pub s3_root: Option<PathBuf>,
    /// `Some(speed)`: the simulated clock follows wall time times `speed`.
    /// `None`: it only moves on `advance` (tests, the local runner).
    pub realtime_speed: Option<f64>,
}

/// Starts emulators.
pub struct Emulator;

impl Emulator {
    /// Binds the SMS and S3 servers and starts serving `scenario`.
    pub async fn start(
        scenario: Scenario,
        options: EmulatorOptions,
    ) -> Result<EmulatorHandle, EmulatorError> {
        let mut buckets = vec![scenario.template_bucket.clone()];
        buckets.extend(scenario.extra_buckets.iter().cloned());
        let s3 = LocalS3::start(options.s3_root.clone(), options.s3_port, &buckets).await?;
        let seed = scenario.seed;
        let faults = scenario.faults.clone();
        let engine = Engine::new(scenario, Some(s3.root().to_path_buf()));
        let realtime = options
            .realtime_speed
            .map(|speed| RealTime::new(speed, engine.now()))
            .transpose()
            .map_err(EmulatorError::Options)?;
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            faults: Mutex::new(FaultState::new(faults, seed)),
            counters: Mutex::new(BTreeMap::new()),
            serving: Mutex::new(BTreeMap::new()),
            realtime: Mutex::new(realtime),
            on_answer: Mutex::new(None),
            refusals: Mutex::new(BTreeMap::new()),
        });
        let port = options.sms_port;
        let listener = crate::http::bind(port)
            .await
            .map_err(|source| EmulatorError::Bind {
                what: "SMS",
                port,
                source,
            })?;
        let endpoint_shared = Arc::clone(&shared);
        let server = LoopbackServer::serve("SMS emulator", listener, move |request| {
            let shared = Arc::clone(&endpoint_shared);
            async move { crate::sms::endpoint::handle(&shared, request).await }
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if options.realtime_speed.is_some() {
            let ticking = Arc::clone(&shared);
            tasks.push(ticker(Arc::new(move || ticking.sync()), stopped));
        }
        Ok(EmulatorHandle {
            shared,
            sms_endpoint: server.endpoint(),
            sms_server: Some(server),
            s3: Some(s3),
            stop,
            tasks,
        })
    }
}

/// State shared by the servers and the handle.
struct Shared {
    engine: Mutex<Engine>,
    faults: Mutex<FaultState>,
    counters: Mutex<BTreeMap<String, u64>>,
    /// Time from taking calls on to answering them, latency included, per operation.
    serving: Mutex<BTreeMap<&'static str, Duration>>,
    realtime: Mutex<Option<RealTime>>,
    on_answer: Mutex<Option<AnswerHook>>,
    /// Calls the service refused (not injected faults), by "Operation ErrorName".
    refusals: Mutex<BTreeMap<String, u64>>,
}

pub use crate::http::AnswerHook;

/// A poisoned lock only means another thread panicked mid-update; the data is still the best we have.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Runs the answer hook, if one is set, for an applied call of `operation`.
    fn answered(&self, operation: &str) {
        let hook = lock(&self.on_answer).clone();
        if let Some(hook) = hook {
            hook(operation);
        }
    }

    /// In real-time mode, brings the simulated clock up to wall time.
    fn sync(&self) {
        let Some(target) = lock(&self.realtime).as_ref().map(RealTime::now) else {
            return;
        };
        let mut e = lock(&self.engine);
        if target > e.now() {
            e.advance_to(target);
        }
    }

    fn count(&self, op: Operation) {
        *lock(&self.counters)
            .entry(op.name().to_string())
            .or_default() += 1;
    }

    fn counts(&self) -> BTreeMap<String, u64> {
        lock(&self.counters).clone()
    }

    /// Adds the time one call of `op` took to answer.
    fn served(&self, op: Operation, took: Duration) {
        *lock(&self.serving).entry(op.name()).or_default() += took;
    }

    /// Counts a call the service refused.
    fn refused(&self, op: Operation, error: &ApiError) {
        *lock(&self.refusals)
            .entry(format!("{} {}", op.name(), error.code.name()))
            .or_default() += 1;
    }

    fn judge_faults(&self) -> Verdict {
        let now = self.now_ms();
        lock(&self.faults).judge(now)
    }

    fn call(&self, op: Operation, input: &Value) -> Result<Value, ApiError> {
        self.sync();
        api::call(&mut lock(&self.engine), op, input)
    }

    fn call_named(&self, name: &str, input: &Value) -> Result<Value, ApiError> {
        self.sync();
        api::call_named(&mut lock(&self.engine), name, input)
    }

    fn snapshot(&self) -> StateSnapshot {
        self.sync();
        lock(&self.engine).snapshot()
    }

    fn events(&self) -> Vec<SmsEvent> {
        lock(&self.engine).events().to_vec()
    }

    fn now_ms(&self) -> Millis {
        self.sync();
        lock(&self.engine).now()
    }

    fn advance_ms(&self, delta: Millis) {
        self.sync();
        let mut e = lock(&self.engine);
        let target = e.now().saturating_add(delta.max(0));
        e.advance_to(target);
        if let Some(rt) = lock(&self.realtime).as_mut() {
            rt.shift(delta);
        }
    }
}

/// The simulated clock of a running emulator (cheap to clone and pass around).
#[derive(Clone)]
pub struct Clock {
    shared: Arc<Shared>,
}

impl Clock {
    /// Simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.shared.now_ms()).unwrap_or_default()
    }

    /// Moves the clock forward, running every transition due on the way, in time order.
    pub fn advance(&self, by: Duration) {
        self.shared
            .advance_ms(i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4));
    }

    /// Moves the clock to `to` (no-op when `to` is in the past).
    pub fn advance_to(&self, to: DateTime<Utc>) {
        let delta = to.timestamp_millis() - self.shared.now_ms();
        if delta > 0 {
            self.shared.advance_ms(delta);
        }
    }
}

/// A running emulator. Dropping it stops the servers; `shutdown` also waits for them.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    sms_endpoint: String,
    sms_server: Option<LoopbackServer>,
    s3: Option<LocalS3>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl EmulatorHandle {
    /// "http://127.0.0.1:PORT" of the SMS API (for `AWS_ENDPOINT_URL_SMS`).
    pub fn sms_endpoint(&self) -> String {
        self.sms_endpoint.clone()
    }

    /// "http://127.0.0.1:PORT" of the local S3 (for `AWS_ENDPOINT_URL_S3`, path-style).
    pub fn s3_endpoint(&self) -> String {
        self.s3.as_ref().map(LocalS3::endpoint).unwrap_or_default()
    }

    /// The directory behind the local S3 (one sub-directory per bucket).
    pub fn s3_root(&self) -> PathBuf {
        self.s3
            .as_ref()
            .map(|s| s.root().to_path_buf())
            .unwrap_or_default()
    }

    /// Creates a bucket in the local S3.
    pub fn create_bucket(&self, bucket: &str) -> Result<(), EmulatorError> {
        crate::s3::create_bucket(&self.s3_root(), bucket)
    }

    /// The simulated clock.
    pub fn clock(&self) -> Clock {
        Clock {
            shared: self.shared.clone(),
        }
    }

    /// Simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }

    /// Moves the simulated clock forward (see [`Clock::advance`]).
    pub fn advance(&self, by: Duration) {
        self.clock().advance(by);
    }

    /// Calls received per operation (every recognised call, whatever its outcome).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.shared.counts()
    }

    /// Calls the service itself refused (injected faults left out), by
    /// "Operation ErrorName", e.g. "LaunchApp OperationNotPermittedException".
    pub fn refusals(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.refusals).clone()
    }

    /// Time the service took to answer calls, per operation: from taking each call on,
    /// through its injected latency as slept, to its answer rendered.
    pub fn service_times(&self) -> BTreeMap<String, Duration> {
        lock(&self.shared.serving)
            .iter()
            .map(|(op, took)| ((*op).to_owned(), *took))
            .collect()
    }

    /// Zeroes the call counters and service times.
    pub fn reset_call_counts(&self) {
        lock(&self.shared.counters).clear();
        lock(&self.shared.serving).clear();
    }

    /// A serializable copy of the whole service state.
    pub fn state(&self) -> StateSnapshot {
        self.shared.snapshot()
    }

    /// Job state change events emitted from now on, as they happen.
    pub fn subscribe_events(&self) -> mpsc::UnboundedReceiver<SmsEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.shared.engine).subscribe(tx);
        rx
    }

    /// Every event emitted so far.
    pub fn events(&self) -> Vec<SmsEvent> {
        self.shared.events()
    }

    /// Current fault settings.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).config().clone()
    }

    /// Calls `hook` after each call the emulator applied, before its answer is sent.
    pub fn on_answer(&self, hook: AnswerHook) {
        *lock(&self.shared.on_answer) = Some(hook);
    }

    /// Replaces the fault settings at run time.
    pub fn set_faults(&self, faults: Faults) {
        {
            let mut engine = lock(&self.shared.engine);
            engine.set_event_drop_rate(faults.dropped_sms_events);
            engine.set_launch_failures_up_to(faults.launch_failures_up_to);
        }
        lock(&self.shared.faults).set(faults);
    }

    /// Restarts the fault dice from `seed` (the scenario's seed until then).
    pub fn reseed_faults(&self, seed: u64) {
        lock(&self.shared.engine).reseed_event_drops(seed);
        lock(&self.shared.faults).reseed(seed);
    }

    /// SMS answers changed, and SMS events dropped, by injected faults so far.
    pub fn sms_faults_injected(&self) -> FaultCounts {
        let mut counts = lock(&self.shared.faults).injected();
        counts.events_dropped = lock(&self.shared.engine).events_dropped();
        counts
    }

    /// Has the local S3 refuse a fraction `rate` of requests (500 InternalError or 503
    /// SlowDown), decided by a sequence fixed by `seed`; 0 turns it off.
    pub fn set_s3_failure_rate(&self, rate: f64, seed: u64) {
        if let Some(s3) = &self.s3 {
            s3.set_failure_rate(rate, seed);
        }
    }

    /// S3 requests refused by injected faults so far.
    pub fn s3_faults_injected(&self) -> u64 {
        self.s3.as_ref().map_or(0, LocalS3::failures_injected)
    }

    /// Runs one SMS operation directly, bypassing HTTP, auth, faults and counters.
    pub fn call(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        self.shared.call_named(operation, input)
    }

    /// Stops both servers and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(server) = self.sms_server.take() {
            server.shutdown().await;
        }
        if let Some(s3) = self.s3.take() {
            s3.shutdown().await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The emulator and its scenarios stay an independent peer of the functions' crate.
    #[test]
    fn the_emulator_never_uses_the_core_crate() {
        let core = concat!("autopilot", "_core");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src.join("sms"), src.join("scenario")];
        let mut checked = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("source directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source file");
                    assert!(!text.contains(core), "{} uses {core}", path.display());
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 10,
            "only {checked} files found under {}",
            src.display()
        );
    }
}
