//! Shared by the whole-wave tests: the project's function harness
//! (`autopilot_local::harness`) set up the way these tests need it — clients with the
//! tests' credentials, configuration from `infra/template.yaml`'s environment that must
//! be accepted — and the wave invariants the tests check.

// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

pub mod binaries;
pub mod moto;

use std::path::PathBuf;

use autopilot_core::clients::Endpoints;
use autopilot_core::config::FunctionConfig;
use autopilot_core::runtime::Clock;
use autopilot_core::Clients;
use autopilot_local::harness::clients::StaticCredentials;
use autopilot_local::harness::functions;
use autopilot_local::harness::wiring::Wiring;
use autopilot_local::harness::world::LocalWorld;
use aws_config::SdkConfig;

pub use autopilot_local::harness::functions::{clock_of, Functions};
pub use autopilot_local::harness::invariants::{
    every_app_settled, first_completions, holding_job, launch_started, live_apps, opted_out,
    servers_with_two_live_jobs, settled_without_launch, GivenUp, LaunchWatch,
};
pub use autopilot_local::harness::payloads::Schedules;

/// The credentials the tests' clients sign with.
const TEST_CREDENTIALS: StaticCredentials<'static> = StaticCredentials {
    access_key_id: "testing",
    secret_access_key: "testing",
    session_token: None,
    provider_name: "tests",
};

/// The deployed wiring every test follows.
pub fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

pub fn wiring() -> Wiring {
    Wiring::load(&template()).expect("infra/template.yaml wires the functions")
}

/// Region, static credentials and the latest behaviour: nothing read from the machine.
pub fn sdk_config() -> SdkConfig {
    autopilot_local::harness::clients::sdk_config(TEST_CREDENTIALS, None)
}

/// The functions' clients, each pointed at its own endpoint (S3 path-style).
pub fn clients(sms: &str, events: &str, s3: &str) -> Clients {
    let endpoints = Endpoints {
        sms: sms.to_owned(),
        mgn: None,
        ec2: None,
        events: events.to_owned(),
        s3: s3.to_owned(),
    };
    Clients::for_endpoints(&sdk_config(), &endpoints)
}

/// A configuration as Lambda would give it: the template's environment, nothing else.
pub fn config<C: FunctionConfig>(wiring: &Wiring, binary: &str) -> C {
    functions::wiring_of(wiring, binary)
        .and_then(|function| functions::config(function, &[]))
        .unwrap_or_else(|e| panic!("{binary}: {e}"))
}

/// Every function of the template bound to `clients` and `clock`, as deployed.
pub fn functions(wiring: &Wiring, clients: &Clients, clock: &Clock) -> Functions {
    Functions::new(wiring, &[], clients, clock)
        .unwrap_or_else(|e| panic!("the template's functions: {e}"))
}

/// As [`functions`], with no run taking its function's lease.
pub fn functions_without_leases(wiring: &Wiring, clients: &Clients, clock: &Clock) -> Functions {
    Functions::without_leases(wiring, &[], clients, clock)
        .unwrap_or_else(|e| panic!("the template's functions: {e}"))
}

/// The emulator started with `scenario` and its artifacts bucket, the local bus on its
/// clock, and the functions' clients pointed at both: what a test of the functions
/// against the local stand-in starts from.
pub struct LocalStack {
    pub wiring: Wiring,
    pub emulator: autopilot_local::EmulatorHandle,
    pub bus: autopilot_local::bus::LocalBus,
    pub clock: Clock,
    pub clients: Clients,
}

impl LocalStack {
    pub async fn start(scenario: autopilot_local::Scenario) -> Self {
        let wiring = wiring();
        let seed = scenario.seed;
        let world = LocalWorld::start(scenario, &wiring, seed)
            .await
            .expect("the local world starts");
        let (clock, endpoints) = (world.clock(), world.endpoints());
        let clients = Clients::for_endpoints(&sdk_config(), &endpoints);
        let LocalWorld { emulator, bus } = world;
        Self {
            wiring,
            emulator,
            bus,
            clock,
            clients,
        }
    }
}
