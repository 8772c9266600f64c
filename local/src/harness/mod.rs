//! The function harness: everything needed to run the project's real handlers against
//! the local stand-in the way AWS runs them, in one place for the wave runner, the bench
//! and the integration tests.
//!
//! - [`wiring`]: reads `infra/template.yaml` (schedules, rules, environment), so what
//!   plays locally is what deploys;
//! - [`functions`]: the functions registered once, each bound to a context built from
//!   the template's environment;
//! - [`async_invocations`]: Lambda's queue of asynchronous invocations, retries and
//!   dead letters;
//! - [`payloads`]: the events functions are invoked with (scheduled and project
//!   events), and when each schedule fires;
//! - [`clients`]: SDK configuration for clients of the local endpoints;
//! - [`runtime_api`]: a Lambda Runtime API for the functions' `bootstrap` binaries;
//! - [`bootstrap`]: those binaries started as Lambda starts them;
//! - [`processes`]: the wave's functions run as those binaries, killed at random;
//! - [`world`]: the emulator and the bus, started together on one clock;
//! - [`invariants`]: what must hold of any wave;
//! - [`two_server_scenario`]: the smallest world in which every function has its work.

pub mod async_invocations;
pub mod bootstrap;
pub mod clients;
pub mod functions;
pub mod invariants;
pub mod payloads;
pub mod processes;
pub mod runtime_api;
pub mod wiring;
pub mod world;

/// `local/scenarios/two-servers.yaml`: two servers behind one healthy connector, in one
/// app.
pub fn two_server_scenario() -> crate::Scenario {
    crate::Scenario::from_text(include_str!("../../scenarios/two-servers.yaml"))
        .unwrap_or_else(|e| panic!("local/scenarios/two-servers.yaml is committed valid: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_two_server_scenario_is_valid() {
        let scenario = super::two_server_scenario();
        assert_eq!(scenario.servers.len(), 2);
        assert_eq!(scenario.apps.len(), 1);
    }
}
