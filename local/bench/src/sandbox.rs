//! What starting a function's binary in one of the bench's worlds needs of that world:
//! the stack that deployed the function there, and where its clients call.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use autopilot_core::clients::Endpoints;
use autopilot_local::harness::clients::StaticCredentials;
use autopilot_local::harness::runtime_api::{lambda_environment, Sandbox};
use autopilot_local::harness::wiring::{FunctionWiring, Wiring};

/// The credentials the started binaries get from their (pretend) execution role.
const BINARY_CREDENTIALS: StaticCredentials<'static> = StaticCredentials {
    access_key_id: "AKIDLOCALBENCH",
    secret_access_key: "local-bench-secret",
    session_token: Some("local-bench-token"),
    provider_name: "bench",
};

/// A world a function's binary is started in.
pub trait Sandboxed {
    /// Of the template deployed with `Backend` SMS and with MGN, the one this world plays.
    fn stack<'w>(&self, sms: &'w Wiring, mgn: &'w Wiring) -> &'w Wiring;
    fn endpoints(&self) -> Endpoints;
}

/// What Lambda and the template give `function`, pointed at `endpoints`.
pub fn environment(
    function: &FunctionWiring,
    api: SocketAddr,
    endpoints: &Endpoints,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = function
        .environment
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let sandbox = Sandbox {
        memory_mb: 128,
        log_stream: "bench",
        credentials: BINARY_CREDENTIALS,
        endpoints,
    };
    env.extend(lambda_environment(&function.binary, api, &sandbox));
    env
}
