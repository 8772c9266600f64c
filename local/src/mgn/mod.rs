//! The MGN stand-in (AWS Application Migration Service, `mgn-2020-02-26`), a peer of the
//! functions like the SMS one: it follows the official model and the MGN user guide,
//! never the core's reading of them (it imports nothing from `autopilot-core`). So far:
//! [`protocol`] routes requests by method and URI and names the model's errors,
//! [`model`] declares the model's enums it will put on the wire, and
//! [`endpoint`] answers on loopback: signature present, route known, body JSON, account
//! initialized, then [`api`] reads the request and the engine answers it (501 for
//! what it does not serve yet).

mod api;
pub mod endpoint;
mod engine;
pub mod error;
pub mod model;
pub mod protocol;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::http::LoopbackServer;
use crate::scenario::Scenario;
pub use api::settings;
pub use api::SERVED as SERVED_OPERATIONS;
use engine::Engine;

/// The account as MGN holds it: whether InitializeService was called, and everything
/// the service keeps and does.
struct Account {
    initialized: bool,
    /// The account id answers are made for.
    id: String,
    engine: Engine,
}

/// What the endpoint's requests share.
pub(crate) struct Shared {
    account: Mutex<Account>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running MGN stand-in; stopped with [`MgnHandle::shutdown`].
pub struct MgnHandle {
    shared: Arc<Shared>,
    server: LoopbackServer,
}

impl MgnHandle {
    /// Serves MGN over `scenario`'s estate on 127.0.0.1 at `port` (0 for a free one).
    /// The simulated clock starts at the scenario's start and moves only on `advance`.
    pub async fn start(scenario: Scenario, port: u16) -> std::io::Result<Self> {
        let listener = crate::http::bind(port).await?;
        let shared = Arc::new(Shared {
            account: Mutex::new(Account {
                initialized: false,
                id: scenario.account.clone(),
                engine: Engine::new(scenario),
            }),
        });
        let serving = Arc::clone(&shared);
        let server = LoopbackServer::serve("MGN stand-in", listener, move |request| {
            let shared = Arc::clone(&serving);
            async move { endpoint::handle(&shared, request).await }
        });
        Ok(Self { shared, server })
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

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
