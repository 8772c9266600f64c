//! The MGN stand-in (AWS Application Migration Service, `mgn-2020-02-26`), a peer of the
//! functions like the SMS one: it follows the official model and the MGN user guide,
//! never the core's reading of them (it imports nothing from `autopilot-core`). So far:
//! [`protocol`] routes requests by method and URI and names the model's errors,
//! [`model`] declares the model's enums it will put on the wire, and
//! [`endpoint`] answers on loopback: signature present, route known, body JSON, account
//! initialized, then [`api`] reads the request and the engine answers it (501 for
//! what it does not serve yet).

mod api;
pub mod ec2;
pub mod endpoint;
mod engine;
pub mod error;
pub mod events;
pub mod model;
pub mod protocol;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::faults::{FaultCounts, FaultState, Verdict};
use crate::http::LoopbackServer;
use crate::scenario::Faults;
use crate::scenario::Scenario;
pub use api::settings;
pub use api::SERVED as SERVED_OPERATIONS;
use engine::Engine;
use error::MgnError;

/// The account as MGN holds it: whether InitializeService was called, and everything
/// the service keeps and does.
struct Account {
    initialized: bool,
    /// The account id answers are made for.
    id: String,
    engine: Engine,
}

/// What the endpoints' requests share.
pub(crate) struct Shared {
    account: Mutex<Account>,
    /// Faults injected into MGN's answers, and into EC2's (their own dice).
    mgn_faults: Mutex<FaultState>,
    ec2_faults: Mutex<FaultState>,
}

impl Account {
    /// Runs `operation`: InitializeService, or (once initialized, or for the few the
    /// model lets run before) whatever the wire layer serves; 501 for the rest.
    fn run(
        &mut self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, MgnError> {
        if operation == "InitializeService" {
            self.initialized = true;
            self.engine.initialize();
            return Ok(None);
        }
        if !self.initialized && !protocol::BEFORE_INITIALIZE.contains(&operation) {
            return Err(MgnError::new(
                protocol::ErrorKind::UninitializedAccount,
                "Account is not initialized: call InitializeService first",
            ));
        }
        api::call(&mut self.engine, &self.id, operation, input).unwrap_or_else(|| {
            Err(MgnError::new(
                protocol::ErrorKind::NotImplemented,
                format!("the MGN stand-in does not serve {operation} yet"),
            ))
        })
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the fault layer does to this call of MGN (`ec2`: of EC2).
    fn judge_faults(&self, ec2: bool) -> Verdict {
        let now = self.lock().engine.now();
        let faults = if ec2 {
            &self.ec2_faults
        } else {
            &self.mgn_faults
        };
        faults.lock().unwrap_or_else(|p| p.into_inner()).judge(now)
    }
}

/// A running MGN stand-in and the EC2 of its account; stopped with
/// [`MgnHandle::shutdown`].
pub struct MgnHandle {
    shared: Arc<Shared>,
    server: LoopbackServer,
    ec2: LoopbackServer,
}

impl MgnHandle {
    /// Serves MGN over `scenario`'s estate on 127.0.0.1 at `port`, and its account's EC2
    /// on a free port (0 for a free one for MGN too). The simulated clock starts at the
    /// scenario's start and moves only on `advance`.
    pub async fn start(scenario: Scenario, port: u16) -> std::io::Result<Self> {
        let listener = crate::http::bind(port).await?;
        let ec2_listener = crate::http::bind(0).await?;
        let (faults, seed) = (scenario.faults.clone(), scenario.seed);
        let shared = Arc::new(Shared {
            account: Mutex::new(Account {
                initialized: false,
                id: scenario.account.clone(),
                engine: Engine::new(scenario),
            }),
            mgn_faults: Mutex::new(FaultState::new(faults.clone(), seed ^ 0x6d67_6e66)),
            ec2_faults: Mutex::new(FaultState::new(faults, seed ^ 0xec2f)),
        });
        let serving = Arc::clone(&shared);
        let server = LoopbackServer::serve("MGN stand-in", listener, move |request| {
            let shared = Arc::clone(&serving);
            async move { endpoint::handle(&shared, request).await }
        });
        let serving = Arc::clone(&shared);
        let ec2 = LoopbackServer::serve("EC2 stand-in", ec2_listener, move |request| {
            let shared = Arc::clone(&serving);
            async move { ec2::handle(&shared, request).await }
        });
        Ok(Self {
            shared,
            server,
            ec2,
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
    }

    /// Runs one MGN operation directly (no HTTP, no signature, the account's rules
    /// all the same), for harnesses that set the account up.
    pub fn call(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, MgnError> {
        let answer = self.shared.lock().run(operation, input)?;
        Ok(answer.unwrap_or_default())
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

    /// Every event announced so far, delivered or not.
    pub fn events(&self) -> Vec<events::MgnEvent> {
        self.shared.lock().engine.events().to_vec()
    }

    /// Events announced that EventBridge never delivered (the scenario's share).
    pub fn events_dropped(&self) -> u64 {
        self.shared.lock().engine.events_dropped()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
        self.ec2.shutdown().await;
    }
}
