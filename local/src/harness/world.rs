//! The local world the functions run against: the SMS emulator (with its S3 and the
//! template's artifacts bucket) and the local event bus on the emulator's clock,
//! knowing the template's rules. The one constructor behind the wave runner, the bench
//! and the tests that run the functions against the stand-in.

use autopilot_core::clients::Endpoints;
use autopilot_core::runtime::Clock;

use super::functions::clock_of;
use super::wiring::Wiring;
use crate::bus::LocalBus;
use crate::{Emulator, EmulatorError, EmulatorHandle, EmulatorOptions, Scenario};

/// Why the local world did not start.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error("local event bus: {0}")]
    Bus(std::io::Error),
}

/// The emulator and the bus, started together.
pub struct LocalWorld {
    pub emulator: EmulatorHandle,
    pub bus: LocalBus,
}

impl LocalWorld {
    /// Starts `scenario` with `wiring`'s artifacts bucket, and the bus on the
    /// emulator's clock (its PutEvents faults seeded with `bus_seed`) with `wiring`'s
    /// schedules declared, so the rules a function switches exist.
    pub async fn start(
        scenario: Scenario,
        wiring: &Wiring,
        bus_seed: u64,
    ) -> Result<Self, WorldError> {
        let emulator = Emulator::start(scenario, EmulatorOptions::default()).await?;
        emulator.create_bucket(&wiring.artifacts_bucket)?;
        let bus = LocalBus::start(0, clock_of(&emulator), bus_seed)
            .await
            .map_err(WorldError::Bus)?;
        bus.declare_schedules(wiring);
        Ok(Self { emulator, bus })
    }

    /// The simulated clock, as the functions read it.
    pub fn clock(&self) -> Clock {
        clock_of(&self.emulator)
    }

    /// Where the functions' SMS, EventBridge and S3 clients call.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            sms: self.emulator.sms_endpoint(),
            mgn: None,
            ec2: None,
            events: self.bus.endpoint(),
            s3: self.emulator.s3_endpoint(),
        }
    }

    /// Stops the bus, then the emulator.
    pub async fn shutdown(self) {
        self.bus.shutdown().await;
        self.emulator.shutdown().await;
    }
}
