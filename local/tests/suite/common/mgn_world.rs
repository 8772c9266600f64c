//! An MGN account with what the functions need around it: the MGN stand-in (and its
//! EC2), a local S3 with the artifacts bucket, the local bus on MGN's clock, and the
//! functions' clients on them.

use std::sync::Arc;

use autopilot_core::clients::{Clients, Endpoints};
use autopilot_core::config::FunctionConfig;
use autopilot_core::runtime::{Clock, Context};
use autopilot_local::bus::LocalBus;
use autopilot_local::harness::clients::local_clients;
use autopilot_local::mgn::MgnHandle;
use autopilot_local::{Emulator, EmulatorHandle, EmulatorOptions, Scenario};
use serde_json::{json, Value};

/// The bucket the functions keep their state in.
pub const BUCKET: &str = "artifacts";

pub struct MgnWorld {
    /// The SMS emulator, only for its S3.
    pub storage: EmulatorHandle,
    pub mgn: Arc<MgnHandle>,
    pub bus: LocalBus,
    pub clock: Clock,
}

impl MgnWorld {
    /// `scenario` on an initialized MGN account.
    pub async fn start(scenario: &str) -> Self {
        let scenario = Scenario::from_text(scenario).expect("scenario");
        let storage = Emulator::start(scenario.clone(), EmulatorOptions::default())
            .await
            .expect("S3 starts");
        storage.create_bucket(BUCKET).expect("bucket");
        let mgn = Arc::new(MgnHandle::start(scenario, 0).await.expect("MGN starts"));
        mgn.call("InitializeService", &json!({}))
            .expect("initialized");
        let on_mgn = Arc::clone(&mgn);
        let clock: Clock = Arc::new(move || on_mgn.now());
        let bus = LocalBus::start(0, clock.clone(), 7)
            .await
            .expect("bus starts");
        Self {
            storage,
            mgn,
            bus,
            clock,
        }
    }

    pub fn clients(&self) -> Clients {
        let endpoints = Endpoints {
            sms: self.storage.sms_endpoint(),
            mgn: Some(self.mgn.endpoint()),
            ec2: Some(self.mgn.ec2_endpoint()),
            events: self.bus.endpoint(),
            s3: self.storage.s3_endpoint(),
        };
        local_clients(&endpoints, None)
    }

    /// A function's context as deployed, with `extra` variables over the bus and bucket.
    pub fn context<C: FunctionConfig>(&self, extra: &[(&str, &str)]) -> Arc<Context<C>> {
        let config = C::from_lookup(|name| match name {
            "EVENT_BUS_NAME" => Some("sms-autopilot".into()),
            "ARTIFACTS_BUCKET" => Some(BUCKET.into()),
            _ => extra
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned()),
        })
        .expect("valid configuration");
        Arc::new(Context::new(config, self.clients(), self.clock.clone()))
    }

    /// The project's events published since the last call, as delivered.
    pub fn published(&self) -> Vec<Value> {
        self.bus
            .drain()
            .into_iter()
            .map(|event| event.envelope)
            .collect()
    }

    /// The source servers' ids by VM name.
    pub fn server_id(&self, vm_name: &str) -> String {
        let listed = self
            .mgn
            .call("DescribeSourceServers", &json!({}))
            .expect("listed");
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|s| s["sourceProperties"]["identificationHints"]["hostname"] == vm_name)
            .and_then(|s| s["sourceServerID"].as_str())
            .unwrap_or_else(|| panic!("no source server {vm_name}"))
            .to_owned()
    }

    pub async fn shutdown(self) {
        self.bus.shutdown().await;
        self.storage.shutdown().await;
    }
}

/// The details of `events` of `detail_type`.
pub fn of_type<'a>(events: &'a [Value], detail_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type)
        .map(|e| &e["detail"])
        .collect()
}
