//! The MGN stand-in (AWS Application Migration Service, `mgn-2020-02-26`), a peer of the
//! functions like the SMS one: it follows the official model and the MGN user guide,
//! never the core's reading of them (it imports nothing from `autopilot-core`). So far:
//! [`protocol`] routes requests by method and URI and names the model's errors,
//! [`model`] declares the model's enums it will put on the wire, and
//! [`endpoint`] answers on loopback: signature present, route known, body JSON, account
//! initialized, then 501 for what it does not serve yet.

pub mod endpoint;
pub mod model;
pub mod protocol;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::http::LoopbackServer;

/// The account as MGN holds it.
#[derive(Debug, Default)]
struct Account {
    /// InitializeService was called.
    initialized: bool,
}

/// What the endpoint's requests share.
#[derive(Debug, Default)]
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
    server: LoopbackServer,
}

impl MgnHandle {
    /// Serves MGN on 127.0.0.1 at `port` (0 for a free one).
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = crate::http::bind(port).await?;
        let shared = Arc::new(Shared::default());
        let server = LoopbackServer::serve("MGN stand-in", listener, move |request| {
            let shared = Arc::clone(&shared);
            async move { endpoint::handle(&shared, request).await }
        });
        Ok(Self { server })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_MGN`.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
