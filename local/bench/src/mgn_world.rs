//! The MGN world a measurement runs in: the MGN stand-in with its EC2, the local S3 and
//! the bus (the harness's `MgnWorld`), MGN's clock starting at the wall clock; plus the
//! uncounted shortcuts the bench takes to read a scene (MGN's own records, a function's
//! state file).

use std::collections::BTreeMap;
use std::time::Duration;

use autopilot_core::clients::Endpoints;
use autopilot_local::harness::payloads::{rule_event, scheduled_event};
use autopilot_local::harness::wiring::{FunctionWiring, Wiring};
use autopilot_local::harness::world::MgnWorld;
use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::{MeasureError, Measured};
use crate::sandbox::Sandboxed;

/// Largest page DescribeSourceServers, ListApplications and ListWaves give (the
/// model's `MaxResultsType` maximum, and the functions' page size).
pub const MGN_PAGE: usize = 1000;

/// MGN, its EC2, S3 and the bus, with the artifacts bucket the template names.
pub struct MgnBenchWorld {
    local: MgnWorld,
    pub artifacts_bucket: String,
}

impl Sandboxed for MgnBenchWorld {
    fn stack<'w>(&self, _sms: &'w Wiring, mgn: &'w Wiring) -> &'w Wiring {
        mgn
    }

    fn endpoints(&self) -> Endpoints {
        self.local.endpoints()
    }
}

impl MgnBenchWorld {
    /// Starts `scenario` on MGN with its clock at the wall clock (the binaries stamp
    /// their books with the wall clock).
    pub async fn start(mut scenario: Scenario, wiring: &Wiring) -> Measured<Self> {
        let now = Utc::now();
        scenario.start_time = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let seed = scenario.seed;
        let local = MgnWorld::start(scenario, &wiring.artifacts_bucket, seed).await?;
        Ok(Self {
            local,
            artifacts_bucket: wiring.artifacts_bucket.clone(),
        })
    }

    pub async fn shutdown(self) {
        self.local.shutdown().await;
    }

    pub fn mgn(&self) -> &MgnHandle {
        &self.local.mgn
    }

    /// Moves MGN's clock on, running what falls due.
    pub fn advance(&self, by: Duration) {
        self.local.mgn.advance(by);
    }

    /// MGN's and EC2's calls received so far, per operation (EC2's as `ec2:Action`).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.local.mgn.call_counts()
    }

    /// Events the bus accepted so far; the bus is drained meanwhile.
    pub fn events_accepted(&self) -> u64 {
        self.local.bus.drain();
        self.local.bus.counts().0
    }

    /// Every item of an MGN list operation, page by page, uncounted.
    pub fn mgn_list(&self, operation: &str, input: Value) -> Measured<Vec<Value>> {
        self.local
            .mgn
            .every_item(operation, input)
            .map_err(|e| MeasureError::Setup(format!("MGN {operation}: {e:?}")))
    }

    /// Source servers that are not archived, as MGN lists them.
    pub fn source_servers(&self) -> Measured<Vec<Value>> {
        self.mgn_list(
            "DescribeSourceServers",
            json!({ "filters": { "isArchived": false } }),
        )
    }

    /// A scheduled event of the first schedule of `function`, stamped MGN's now.
    pub fn schedule(&self, function: &FunctionWiring) -> Value {
        let now = self.local.mgn.now();
        match function.schedules.first() {
            Some(schedule) => scheduled_event(now, function, schedule),
            None => rule_event(now, &format!("{}-Schedule", function.logical_id)),
        }
    }

    /// Writes an object into the artifacts bucket, as an engineer puts a plan there.
    pub async fn put_object(&self, key: &str, body: Vec<u8>) -> Measured<()> {
        crate::world::put_object(&self.local.endpoints(), &self.artifacts_bucket, key, body).await
    }

    /// A state file a function keeps in the artifacts bucket.
    pub fn state_file(&self, key: &str) -> Measured<Value> {
        crate::world::state_file(&self.local.storage.s3_root(), &self.artifacts_bucket, key)
    }
}
