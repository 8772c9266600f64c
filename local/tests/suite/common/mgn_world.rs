//! An MGN account with what the functions need around it (`harness::world::MgnWorld`),
//! and the tests' shortcuts to it: the functions' contexts, the published events, a
//! server's id.

use std::sync::Arc;

use autopilot_core::clients::Clients;
use autopilot_core::config::FunctionConfig;
use autopilot_core::runtime::{Clock, Context};
use autopilot_local::harness::clients::local_clients;
use autopilot_local::Scenario;
use serde_json::{json, Value};

/// The bucket the functions keep their state in.
pub const BUCKET: &str = "artifacts";

pub struct MgnWorld {
    world: autopilot_local::harness::world::MgnWorld,
    pub mgn: Arc<autopilot_local::mgn::MgnHandle>,
    pub clock: Clock,
}

impl MgnWorld {
    /// `scenario` on an initialized MGN account.
    pub async fn start(scenario: &str) -> Self {
        let scenario = Scenario::from_text(scenario).expect("scenario");
        let world = autopilot_local::harness::world::MgnWorld::start(scenario, BUCKET, 7)
            .await
            .expect("the MGN world starts");
        Self {
            mgn: Arc::clone(&world.mgn),
            clock: world.clock(),
            world,
        }
    }

    pub fn clients(&self) -> Clients {
        local_clients(&self.world.endpoints(), None)
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
        self.world
            .bus
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
        self.world.shutdown().await;
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
