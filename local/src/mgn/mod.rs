//! The MGN stand-in (AWS Application Migration Service, `mgn-2020-02-26`) and the EC2
//! of its account, a peer of the functions like the SMS one: it follows the official
//! model and the MGN user guide, never the core's reading of them (it imports nothing
//! from `autopilot-core`). A request goes [`endpoint`] (signature, route by method and
//! URI from [`protocol`], faults, body) → `api` (read and check it against the model,
//! render the model's shapes) → `engine` (the account's state and its simulated clock);
//! [`ec2`] answers EC2's query protocol over the same engine, and [`events`] are what
//! it announces on EventBridge; `account.rs` is what both endpoints share. This file is
//! the embeddable front, [`MgnHandle`].

mod account;
mod api;
pub mod ec2;
pub mod endpoint;
mod engine;
pub mod error;
pub mod events;
pub mod model;
pub mod protocol;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::faults::{FaultCounts, FaultState};
use crate::http::{AnswerHook, LoopbackServer};
use crate::real_time::{ticker, RealTime};
use crate::scenario::Faults;
use crate::scenario::Scenario;
use account::{relock, Account, Shared};
pub use api::settings;
pub use api::SERVED as SERVED_OPERATIONS;
use engine::Engine;
use error::MgnError;
use tokio::sync::watch;

/// A running MGN stand-in and the EC2 of its account; stopped with
/// [`MgnHandle::shutdown`].
pub struct MgnHandle {
    shared: Arc<Shared>,
    server: LoopbackServer,
    ec2: LoopbackServer,
    stop: watch::Sender<bool>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// One life-cycle change of a source server, in MGN's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifeCycleChangeView {
    pub at: DateTime<Utc>,
    pub server_id: String,
    pub from: &'static str,
    pub to: &'static str,
}

/// One EC2 instance a launch made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceView {
    pub id: String,
    pub server_id: String,
    /// A test instance (else a cutover instance).
    pub test: bool,
    pub terminated: bool,
    /// Where it runs: its instance type, subnet and security groups.
    pub instance_type: String,
    pub subnet: String,
    pub security_groups: Vec<String>,
}

/// How to serve the MGN stand-in.
#[derive(Debug, Clone, Default)]
pub struct MgnOptions {
    /// MGN's port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// EC2's port on 127.0.0.1; 0 picks a free one.
    pub ec2_port: u16,
    /// `Some(speed)`: the simulated clock follows wall time times `speed`; `None`: it
    /// moves only on `advance`.
    pub realtime_speed: Option<f64>,
    /// The local S3's directory (a folder per bucket), where StartImport reads its file;
    /// `None`: imports fail, as with a bucket MGN cannot read.
    pub s3_root: Option<std::path::PathBuf>,
}

impl MgnHandle {
    /// Serves MGN over `scenario`'s estate on 127.0.0.1 at `port`, and its account's EC2
    /// on a free port (0 for a free one for MGN too). The simulated clock starts at the
    /// scenario's start and moves only on `advance`.
    pub async fn start(scenario: Scenario, port: u16) -> std::io::Result<Self> {
        let options = MgnOptions {
            port,
            ..MgnOptions::default()
        };
        Self::start_with(scenario, options).await
    }

    /// Serves MGN and its account's EC2 as `options` say.
    pub async fn start_with(scenario: Scenario, options: MgnOptions) -> std::io::Result<Self> {
        let listener = crate::http::bind(options.port).await?;
        let ec2_listener = crate::http::bind(options.ec2_port).await?;
        let mut engine = Engine::new(scenario.clone());
        if let Some(root) = &options.s3_root {
            engine.set_s3_root(root.clone());
        }
        let realtime = options
            .realtime_speed
            .map(|speed| RealTime::new(speed, engine.now()))
            .transpose()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let (faults, seed) = (scenario.faults.clone(), scenario.seed);
        let shared = Arc::new(Shared {
            account: Mutex::new(Account {
                initialized: false,
                id: scenario.account.clone(),
                engine,
            }),
            mgn_faults: Mutex::new(FaultState::new(faults.clone(), seed ^ 0x6d67_6e66)),
            ec2_faults: Mutex::new(FaultState::new(faults, seed ^ 0xec2f)),
            realtime: Mutex::new(realtime),
            calls: Mutex::new(BTreeMap::new()),
            refusals: Mutex::new(BTreeMap::new()),
            on_answer: Mutex::new(None),
            busy: Mutex::new(account::Busy::default()),
        });
        let serving = Arc::clone(&shared);
        let server = LoopbackServer::serve("MGN stand-in", listener, move |request| {
            let shared = Arc::clone(&serving);
            async move { shared.answering(endpoint::handle(&shared, request)).await }
        });
        let serving = Arc::clone(&shared);
        let ec2 = LoopbackServer::serve("EC2 stand-in", ec2_listener, move |request| {
            let shared = Arc::clone(&serving);
            async move { shared.answering(ec2::handle(&shared, request)).await }
        });
        let (stop, stopped) = watch::channel(false);
        let ticking = Arc::clone(&shared);
        let ticker = options
            .realtime_speed
            .map(|_| ticker(Arc::new(move || drop(ticking.lock())), stopped));
        Ok(Self {
            shared,
            server,
            ec2,
            stop,
            ticker,
        })
    }

    /// `http://127.0.0.1:PORT` of the account's EC2, for `AWS_ENDPOINT_URL_EC2`.
    pub fn ec2_endpoint(&self) -> String {
        self.ec2.endpoint()
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_MGN`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// Simulated now.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.shared.lock().engine.now()).unwrap_or_default()
    }

    /// Moves the simulated clock forward, running everything due on the way, in order.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        let mut account = self.shared.lock();
        let target = account.engine.now().saturating_add(by);
        account.engine.advance_to(target);
        if let Some(rt) = self
            .shared
            .realtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            rt.shift(by);
        }
    }

    /// Runs one MGN operation directly (no HTTP, no signature, the account's rules
    /// all the same), for harnesses that set the account up.
    pub fn call(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, MgnError> {
        let answer = self.shared.lock().run(operation, input)?;
        match answer {
            None => Ok(serde_json::Value::Null),
            Some(body) => body.into_value().map_err(|e| {
                MgnError::new(
                    protocol::ErrorKind::InternalServer,
                    format!("{operation} answered text that is not JSON: {e}"),
                )
            }),
        }
    }

    /// Every item of an MGN listing, page by page through [`MgnHandle::call`] (so
    /// uncounted and without faults), `input` its filters.
    pub fn every_item(
        &self,
        operation: &str,
        mut input: serde_json::Value,
    ) -> Result<Vec<serde_json::Value>, MgnError> {
        let mut items = Vec::new();
        input["maxResults"] = serde_json::json!(1000);
        // Far more pages than any estate played here holds.
        for _ in 0..100_000 {
            let page = self.call(operation, &input)?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str().filter(|t| !t.is_empty()) {
                Some(token) => input["nextToken"] = serde_json::json!(token),
                None => return Ok(items),
            }
        }
        Err(MgnError::field(
            "nextToken",
            "was still handed out after 100,000 pages",
        ))
    }

    /// Calls received per operation, whatever their outcome (EC2's as `ec2:Action`).
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        relock(&self.shared.calls).clone()
    }

    /// Wall time MGN's and EC2's endpoints spent answering calls so far, from taking a
    /// call on (its injected latency as slept) to its answer rendered; calls answered
    /// at once count once.
    pub fn busy_time(&self) -> std::time::Duration {
        relock(&self.shared.busy).total()
    }

    /// Calls the service itself refused (injected faults left out), by
    /// "Operation ErrorName", e.g. "StartCutover ConflictException".
    pub fn refusals(&self) -> BTreeMap<String, u64> {
        relock(&self.shared.refusals).clone()
    }

    /// Calls `hook` with the operation's name after each call the stand-in applied,
    /// before its answer is sent (the hard-kill harness kills the caller there).
    pub fn on_answer(&self, hook: AnswerHook) {
        *relock(&self.shared.on_answer) = Some(hook);
    }

    /// `aws.mgn` events announced from now on, as EventBridge delivers them.
    pub fn subscribe_events(&self) -> tokio::sync::mpsc::UnboundedReceiver<events::MgnEvent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.shared.lock().engine.subscribe(tx);
        rx
    }

    /// Replaces the injected faults (latency, throttling, internal errors) of both
    /// endpoints.
    pub fn set_faults(&self, faults: Faults) {
        for state in [&self.shared.mgn_faults, &self.shared.ec2_faults] {
            state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set(faults.clone());
        }
    }

    /// Answers changed by injected faults so far, MGN's and EC2's together, and the
    /// events EventBridge lost.
    pub fn faults_injected(&self) -> FaultCounts {
        let count =
            |state: &Mutex<FaultState>| state.lock().unwrap_or_else(|p| p.into_inner()).injected();
        let (mgn, ec2) = (
            count(&self.shared.mgn_faults),
            count(&self.shared.ec2_faults),
        );
        FaultCounts {
            throttled: mgn.throttled + ec2.throttled,
            internal_errors: mgn.internal_errors + ec2.internal_errors,
            slowed: mgn.slowed + ec2.slowed,
            events_dropped: self.events_dropped(),
        }
    }

    /// Every EC2 instance the account's launches made, as an admin sees them (for the
    /// wave's invariants: no test instance left running).
    pub fn instances(&self) -> Vec<InstanceView> {
        let account = self.shared.lock();
        account
            .engine
            .instances()
            .iter()
            .map(|instance| InstanceView {
                id: instance.id.clone(),
                server_id: instance.server_id.clone(),
                test: instance.kind == engine::LaunchKind::Test,
                terminated: instance.terminated.is_some(),
                instance_type: instance.placement.instance_type.clone(),
                subnet: instance.placement.subnet.clone(),
                security_groups: instance.placement.security_groups.clone(),
            })
            .collect()
    }

    /// Every life-cycle change a call made (ChangeServerLifeCycleState, FinalizeCutover),
    /// in order, as an admin's audit trail would show it: MGN itself keeps only the last
    /// test and cutover marks of a server.
    pub fn life_cycle_changes(&self) -> Vec<LifeCycleChangeView> {
        let account = self.shared.lock();
        account
            .engine
            .life_cycle_changes()
            .iter()
            .map(|change| LifeCycleChangeView {
                at: DateTime::from_timestamp_millis(change.at).unwrap_or_default(),
                server_id: change.server_id.clone(),
                from: change.from.as_str(),
                to: change.to.as_str(),
            })
            .collect()
    }

    /// Every event announced so far, delivered or not.
    pub fn events(&self) -> Vec<events::MgnEvent> {
        self.shared.lock().engine.events().to_vec()
    }

    /// Events announced that EventBridge never delivered (the scenario's share).
    pub fn events_dropped(&self) -> u64 {
        self.shared.lock().engine.events_dropped()
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.await;
        }
        self.server.shutdown().await;
        self.ec2.shutdown().await;
    }
}
