//! The local world the functions run against: the SMS emulator (with its S3 and the
//! template's artifacts bucket) and the local event bus on the emulator's clock,
//! knowing the template's rules; or, for an MGN wave, the MGN stand-in (and its EC2)
//! beside the same S3 and a bus on MGN's clock ([`MgnWorld`]). The one constructor
//! behind the wave runners, the bench and the tests that run the functions against
//! the stand-ins.

use std::sync::Arc;

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
    #[error("the MGN stand-in: {0}")]
    Mgn(String),
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

/// An MGN account's world: the MGN stand-in (and its EC2), initialized, its agents
/// installed as the scenario says; the local S3 with the artifacts bucket (served by
/// the SMS emulator, whose SMS stays idle); the bus on MGN's clock.
pub struct MgnWorld {
    pub storage: EmulatorHandle,
    pub mgn: Arc<crate::mgn::MgnHandle>,
    pub bus: LocalBus,
}

impl MgnWorld {
    /// Starts `scenario` with `bucket` in S3 and the bus's PutEvents faults seeded with
    /// `bus_seed`.
    pub async fn start(
        scenario: Scenario,
        bucket: &str,
        bus_seed: u64,
    ) -> Result<Self, WorldError> {
        let storage = Emulator::start(scenario.clone(), EmulatorOptions::default()).await?;
        storage.create_bucket(bucket)?;
        // MGN reads an imported sheet from the same local S3 the functions write to.
        let options = crate::mgn::MgnOptions {
            s3_root: Some(storage.s3_root()),
            ..crate::mgn::MgnOptions::default()
        };
        let mgn = crate::mgn::MgnHandle::start_with(scenario, options)
            .await
            .map_err(|e| WorldError::Mgn(e.to_string()))?;
        mgn.call("InitializeService", &serde_json::json!({}))
            .map_err(|e| WorldError::Mgn(format!("InitializeService: {e:?}")))?;
        let mgn = Arc::new(mgn);
        let on_mgn = Arc::clone(&mgn);
        let clock: Clock = Arc::new(move || on_mgn.now());
        let bus = LocalBus::start(0, clock, bus_seed)
            .await
            .map_err(WorldError::Bus)?;
        Ok(Self { storage, mgn, bus })
    }

    /// MGN's simulated clock, as the functions read it.
    pub fn clock(&self) -> Clock {
        let mgn = Arc::clone(&self.mgn);
        Arc::new(move || mgn.now())
    }

    /// Where the functions' MGN, EC2, EventBridge and S3 clients call.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            sms: self.storage.sms_endpoint(),
            mgn: Some(self.mgn.endpoint()),
            ec2: Some(self.mgn.ec2_endpoint()),
            events: self.bus.endpoint(),
            s3: self.storage.s3_endpoint(),
        }
    }

    /// Stops the bus, then S3 (the MGN stand-in stops with its last handle).
    pub async fn shutdown(self) {
        self.bus.shutdown().await;
        self.storage.shutdown().await;
    }
}
