//! The local world a measurement runs in: the SMS emulator (with its S3) on a clock
//! starting at the wall clock, and the local event bus; plus the uncounted shortcuts the
//! bench takes to set a scene (import the catalog, create jobs, replicate an app).

use std::time::Duration;

use autopilot_core::clients::Endpoints;
use autopilot_core::runtime::Clock;
use autopilot_core::Clients;
use autopilot_local::harness::clients::{sdk_config, StaticCredentials};
use autopilot_local::harness::payloads::{project_event, rule_event, scheduled_event};
use autopilot_local::harness::wiring::{FunctionWiring, Wiring};
use autopilot_local::harness::world::LocalWorld;
use autopilot_local::Scenario;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::{MeasureError, Measured};
use crate::sandbox::Sandboxed;

impl Sandboxed for World {
    fn stack<'w>(&self, sms: &'w Wiring, _mgn: &'w Wiring) -> &'w Wiring {
        sms
    }

    fn endpoints(&self) -> Endpoints {
        self.local.endpoints()
    }
}

/// Writes an object into `bucket` of the local S3 at `endpoints`.
pub async fn put_object(
    endpoints: &Endpoints,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Measured<()> {
    Clients::for_endpoints(&sdk_config(BENCH_CREDENTIALS, Some(1)), endpoints)
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| {
            MeasureError::Setup(format!(
                "s3://{bucket}/{key} could not be written: {}",
                autopilot_core::AwsCallError::from_sdk("S3", "PutObject", &e)
            ))
        })?;
    Ok(())
}

/// A state file a function keeps in `bucket`, read from the local S3's folder
/// `s3_root`; an empty object when there is none yet.
pub fn state_file(s3_root: &std::path::Path, bucket: &str, key: &str) -> Measured<Value> {
    let path = s3_root.join(bucket).join(key);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| MeasureError::Malformed {
            path: path.display().to_string(),
            problem: e.to_string(),
        }),
        Err(_) => Ok(json!({})),
    }
}

impl std::ops::Deref for World {
    type Target = LocalWorld;

    fn deref(&self) -> &LocalWorld {
        &self.local
    }
}

/// Largest page of every SMS list operation (the emulator's and the functions' maximum).
pub const PAGE: usize = 100;

/// The credentials the bench's in-process clients sign with.
const BENCH_CREDENTIALS: StaticCredentials<'static> = StaticCredentials {
    access_key_id: "bench",
    secret_access_key: "bench",
    session_token: None,
    provider_name: "bench",
};

/// The local world (the emulator with its S3, and the bus) and what the bench's
/// shortcuts need to know of the scene.
pub struct World {
    local: LocalWorld,
    pub import_secs: u64,
    pub artifacts_bucket: String,
}

impl World {
    /// Starts `scenario` with its clock at the wall clock (the binaries stamp seed times
    /// with the wall clock) and the template's artifacts bucket.
    pub async fn start(mut scenario: Scenario, wiring: &Wiring) -> Measured<Self> {
        let now = Utc::now();
        scenario.start_time = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let import_secs = scenario.timing.catalog_import_secs;
        let seed = scenario.seed;
        Ok(Self {
            local: LocalWorld::start(scenario, wiring, seed).await?,
            import_secs,
            artifacts_bucket: wiring.artifacts_bucket.clone(),
        })
    }

    pub async fn shutdown(self) {
        self.local.shutdown().await;
    }

    /// One SMS call straight into the emulator: no HTTP, no faults, not counted.
    pub fn sms(&self, operation: &str, input: Value) -> Measured<Value> {
        self.emulator
            .call(operation, &input)
            .map_err(|source| MeasureError::Sms {
                operation: operation.to_owned(),
                source,
            })
    }

    /// Every item of a list operation, page by page, uncounted.
    pub fn list(&self, operation: &str, key: &str) -> Measured<Vec<Value>> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100_000 {
            let mut input = json!({ "maxResults": PAGE });
            if let Some(token) = &token {
                input["nextToken"] = json!(token);
            }
            let page = self.sms(operation, input)?;
            items.extend(page[key].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str().filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
        Err(MeasureError::Setup(format!(
            "{operation} kept returning a nextToken"
        )))
    }

    /// Imports the catalog and waits (simulated) until it is AVAILABLE.
    pub fn import_catalog(&self) -> Measured<()> {
        self.sms("ImportServerCatalog", json!({}))?;
        self.emulator
            .advance(Duration::from_secs(self.import_secs + 1));
        Ok(())
    }

    /// Gives every catalog server without a job one (servers SMS refuses are left).
    pub fn create_missing_jobs(&self) -> Measured<usize> {
        let seed = self.emulator.now().timestamp();
        let mut created = 0;
        for server in self.list("GetServers", "serverList")? {
            if server["replicationJobId"].is_string() {
                continue;
            }
            let Some(id) = server["serverId"].as_str() else {
                continue;
            };
            let input = json!({ "serverId": id, "seedReplicationTime": seed, "frequency": 12 });
            if self.sms("CreateReplicationJob", input).is_ok() {
                created += 1;
            }
        }
        Ok(created)
    }

    /// Replicates every member of the first app; returns its id and name.
    pub fn replicate_first_app(&self) -> Measured<(String, String)> {
        self.import_catalog()?;
        let apps = self.list("ListApps", "apps")?;
        let app = apps
            .first()
            .ok_or_else(|| MeasureError::Setup("the scenario has no app".into()))?;
        let id = app["appId"].as_str().unwrap_or_default().to_owned();
        let name = app["name"].as_str().unwrap_or_default().to_owned();
        self.sms("StartAppReplication", json!({ "appId": id }))?;
        self.emulator.advance(Duration::from_secs(3 * 3600));
        Ok((id, name))
    }

    /// SDK clients for handlers run in this process, retrying as the deployed ones do.
    pub fn clients(&self, max_attempts: u32) -> Clients {
        Clients::for_endpoints(
            &sdk_config(BENCH_CREDENTIALS, Some(max_attempts)),
            &self.endpoints(),
        )
    }

    pub fn clock(&self) -> Clock {
        autopilot_local::harness::functions::clock_of(&self.emulator)
    }

    /// A scheduled event of the first schedule of `function`, stamped now.
    pub fn schedule(&self, function: &FunctionWiring) -> Value {
        match function.schedules.first() {
            Some(schedule) => scheduled_event(self.emulator.now(), function, schedule),
            None => rule_event(
                self.emulator.now(),
                &format!("{}-Schedule", function.logical_id),
            ),
        }
    }

    /// A project event stamped now.
    pub fn event(&self, detail_type: &str, detail: Value) -> Value {
        project_event(self.emulator.now(), detail_type, detail)
    }

    /// Writes an object into the artifacts bucket, as an engineer puts a plan there.
    pub async fn put_object(&self, key: &str, body: Vec<u8>) -> Measured<()> {
        put_object(&self.endpoints(), &self.artifacts_bucket, key, body).await
    }

    /// A state file a function keeps in the artifacts bucket.
    pub fn state_file(&self, key: &str) -> Measured<Value> {
        state_file(&self.emulator.s3_root(), &self.artifacts_bucket, key)
    }

    pub fn app_ready(&self, app_id: &str, name: &str, servers: usize) -> Value {
        self.event(
            "AppReady",
            json!({ "version": 1, "dryRun": false, "appId": app_id, "appName": name, "servers": servers }),
        )
    }
}
