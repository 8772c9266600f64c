//! The app-planner's cycles over a generated catalog whose applications a wave plan
//! declares instead of the scenario: the first run creates and configures every one;
//! the next finds each changed by SMS since (created, its configuration checked) and
//! reads it once; the one after finds nothing to read. The bound is worked out by the
//! bench from the listing and the functions' state files, as for the other cycles.

use std::collections::BTreeMap;
use std::time::Duration;

use autopilot_local::scenario::AppSpec;
use autopilot_local::Scenario;
use serde_json::{json, Value};

use crate::bench::Bench;
use crate::cycles::{listed_millis, rfc3339_millis, AppIndex, Cycle, List, APPS, SEED, SERVERS};
use crate::error::{MeasureError, Measured};
use crate::world::World;

/// Where the planner keeps what it found as planned (`app-planner`'s ledger).
const PLANNER_LEDGER: &str = "state/app-planner/ledger.json";

impl Bench<'_> {
    /// Three planner runs over `servers` servers and servers / 20 applications, each a
    /// cold start on the template's schedule.
    pub async fn planner_cycles(&self, servers: usize) -> Measured<Vec<Cycle>> {
        let apps = (servers / 20).max(1);
        let mut scenario = Scenario::generate(servers, apps, SEED);
        let plan = plan_of(&scenario.apps);
        scenario.apps.clear();
        let world = World::start(scenario, &self.wiring).await?;
        let result = self.planner_cycles_in(&world, &plan).await;
        world.shutdown().await;
        result
    }

    async fn planner_cycles_in(&self, world: &World, plan: &Value) -> Measured<Vec<Cycle>> {
        let planner = self.function("app-planner")?;
        let key = planner
            .environment
            .get("PLAN_KEY")
            .cloned()
            .ok_or_else(|| MeasureError::Setup("app-planner has no PLAN_KEY".into()))?;
        world
            .put_object(&key, plan.to_string().into_bytes())
            .await?;
        // Every generated server has appeared after 6 h 10 min.
        world.emulator.advance(Duration::from_secs(7 * 3600));
        world.import_catalog()?;
        let mut cycles = Vec::new();
        for trigger in [
            "schedule, new plan",
            "schedule, next run",
            "schedule, third run",
        ] {
            cycles.push(self.planner_cycle(world, trigger).await?);
            // CREATING and the launch configuration's check settle meanwhile.
            world.emulator.advance(Duration::from_secs(15 * 60));
        }
        Ok(cycles)
    }

    /// One planner run; the bound allows a GetApp for each application whose current
    /// version the shared index lacks, and reading the configurations of each one the
    /// planner has not found as planned since its last change.
    async fn planner_cycle(&self, world: &World, trigger: &str) -> Measured<Cycle> {
        let listed = world.list("ListApps", "apps")?;
        let index = world.state_file(autopilot_core::app_cache::INDEX_KEY)?;
        let ledger = world.state_file(PLANNER_LEDGER)?;
        let unread = listed
            .iter()
            .filter(|app| !AppIndex::holds_version(&index, app))
            .count() as u64;
        let unchecked = listed
            .iter()
            .filter(|app| !found_as_planned(&ledger, app))
            .count() as u64;
        let lists: [List; 2] = [APPS, SERVERS];
        let event = world.schedule(self.function("app-planner")?);
        let mut cycle = self
            .cycle(world, "app-planner", trigger, event, &lists)
            .await?;
        cycle.first_reads = unread;
        cycle.configuration_reads = unchecked;
        Ok(cycle)
    }
}

/// The plan declaring `apps` as the scenario would have made them: same groups,
/// members and launch settings; an opted-out app is planned `manual`.
pub(crate) fn plan_of(apps: &[AppSpec]) -> Value {
    let applications: Vec<Value> = apps
        .iter()
        .map(|app| {
            let manual = app.tags.get("autopilot:launch").is_some_and(|v| v == "false");
            let tags: BTreeMap<&String, &String> = app
                .tags
                .iter()
                .filter(|(k, _)| k.as_str() != "autopilot:launch")
                .collect();
            let groups: Vec<Value> = app
                .groups
                .iter()
                .map(|g| json!({ "name": g.name, "launchOrder": g.launch_order, "servers": g.servers }))
                .collect();
            let mut planned = json!({ "name": app.name, "tags": tags, "groups": groups });
            if manual {
                planned["launch"] = json!("manual");
            }
            if let Some(launch) = &app.launch {
                planned["settings"] = json!({ "launch": {
                    "instanceType": launch.instance_type,
                    "subnet": launch.subnet,
                    "securityGroup": launch.security_group,
                    "vpc": launch.vpc,
                }});
            }
            planned
        })
        .collect();
    json!({
        "version": 1,
        "defaults": { "replication": { "frequency": 12 } },
        "applications": applications,
    })
}

/// Whether the planner found `app` as planned at its listed version (its ledger's
/// in-step key starts with that lastModified).
fn found_as_planned(ledger: &Value, app: &Value) -> bool {
    let id = app["appId"].as_str().unwrap_or_default();
    let found = ledger["inStep"][id]
        .as_str()
        .and_then(|key| key.split('|').next())
        .and_then(rfc3339_millis);
    found.is_some() && found == listed_millis(app)
}
