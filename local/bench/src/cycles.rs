//! SMS calls and peak memory of one cycle of each function over a generated catalog
//! (the app-planner's in `planning`, over the same catalog with a plan),
//! each a separate cold start, against the lower bound the bench works out itself: the
//! pages of the list operations the function must make, the GetApp reads of app
//! versions no earlier invocation shared, and one call per action.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use autopilot_core::model::AppLaunchStatus;

use autopilot_core::migration::LaunchPhase;
use autopilot_core::sms::vocabulary;
use autopilot_local::harness::processes::changes_something;
use autopilot_local::sms::protocol::AppLaunchStatus as EmulatedLaunchStatus;
use autopilot_local::sms::App;
use autopilot_local::Scenario;
use chrono::DateTime;
use serde_json::{json, Value};

use crate::bench::Bench;
use crate::error::{MeasureError, Measured};
use crate::world::{World, PAGE};

/// Seed of the generated catalogs: same seed, same estate, same calls.
pub const SEED: u64 = 7;

/// A list operation and the key of its items.
pub type List = (&'static str, &'static str);
const CONNECTORS: List = ("GetConnectors", "connectorList");
pub const SERVERS: List = ("GetServers", "serverList");
const JOBS: List = ("GetReplicationJobs", "replicationJobList");
pub const APPS: List = ("ListApps", "apps");

/// Which apps a function must know the members of.
#[derive(Debug, Clone, Copy)]
pub enum AppScope {
    /// The launcher: apps whose listed launch status allows a launch.
    Launchable,
    /// The template generator on a run completion: launched apps.
    Launched,
    /// The wave-reporter: every app.
    All,
}

impl AppScope {
    pub fn contains(self, listed: &Value) -> bool {
        let status = vocabulary::launch_state(AppLaunchStatus::from_wire(
            listed["launchStatus"].as_str().unwrap_or_default(),
        ));
        match self {
            Self::Launchable => status.is_launchable(),
            Self::Launched => status.is_launched(),
            Self::All => true,
        }
    }
}

/// One function's cycle over a generated catalog.
pub struct Cycle {
    pub label: String,
    pub peak_rss_kib: Option<u64>,
    /// From the first poll for an invocation to its response: the handler's run.
    pub run_time: Duration,
    pub calls: BTreeMap<String, u64>,
    /// (list operation, items, pages the bound allows).
    pub lists: Vec<(String, usize, usize)>,
    /// GetApp calls the bound allows: apps in scope whose current version no earlier
    /// invocation has read and shared, plus remembered apps read again before LaunchApp.
    pub first_reads: u64,
    pub rereads_before_launch: u64,
    /// GetAppLaunchConfiguration calls the bound allows: the app-planner's reads of the
    /// apps it has not found as planned since their last change.
    pub configuration_reads: u64,
    pub events: u64,
}

impl Cycle {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Pages of the list operations the function must do, plus one GetApp per app
    /// version not read before, plus one call per action.
    pub fn bound(&self) -> u64 {
        let pages: usize = self.lists.iter().map(|(_, _, pages)| pages).sum();
        pages as u64
            + self.first_reads
            + self.rereads_before_launch
            + self.configuration_reads
            + self.actions()
    }

    pub fn actions(&self) -> u64 {
        self.calls
            .iter()
            .filter(|(op, _)| changes_something(op))
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls above the bound, per operation.
    pub fn excess(&self) -> Vec<(String, i64)> {
        let mut excess = Vec::new();
        for (op, &n) in &self.calls {
            if changes_something(op) {
                continue;
            }
            let mut allowed: usize = self
                .lists
                .iter()
                .filter(|(list, _, _)| list == op)
                .map(|(_, _, pages)| pages)
                .sum();
            if op == "GetApp" {
                allowed += (self.first_reads + self.rereads_before_launch) as usize;
            }
            if op == "GetAppLaunchConfiguration" {
                allowed += self.configuration_reads as usize;
            }
            let over = n as i64 - allowed as i64;
            if over != 0 {
                excess.push((op.clone(), over));
            }
        }
        excess
    }
}

pub fn pages(items: usize) -> usize {
    items.div_ceil(PAGE).max(1)
}

/// What the bench reads of the remembered apps and the launched ones.
pub(crate) struct AppIndex;

impl AppIndex {
    /// Ids of the apps of `scope` in `listed` (ListApps), split into those whose current
    /// version the shared index of remembered apps (`autopilot_core::app_cache`) holds and
    /// those it does not, worked out by the bench itself from the local S3's file.
    fn remembered_apps(
        world: &World,
        scope: AppScope,
        listed: &[Value],
    ) -> Measured<(BTreeSet<String>, BTreeSet<String>)> {
        let index = world.state_file(autopilot_core::app_cache::INDEX_KEY)?;
        let (mut remembered, mut unremembered) = (BTreeSet::new(), BTreeSet::new());
        for app in listed {
            if !scope.contains(app) {
                continue;
            }
            let id = app["appId"].as_str().unwrap_or_default().to_owned();
            let known = Self::holds_version(&index, app);
            if known {
                remembered.insert(id);
            } else {
                unremembered.insert(id);
            }
        }
        Ok((remembered, unremembered))
    }

    /// Whether the shared index holds the version of `app` ListApps shows (same
    /// lastModified and counts).
    pub(crate) fn holds_version(index: &Value, app: &Value) -> bool {
        let id = app["appId"].as_str().unwrap_or_default();
        let version = &index["apps"][id]["version"];
        let listed = listed_millis(app);
        listed.is_some()
            && version["lastModified"].as_str().and_then(rfc3339_millis) == listed
            && version["totalServers"] == app["totalServers"]
            && version["totalServerGroups"] == app["totalServerGroups"]
    }

    /// Ids of the apps in `listed` (ListApps) whose launch has begun or finished.
    fn launched_apps(listed: &[Value]) -> BTreeSet<String> {
        listed
            .iter()
            .filter(|app| {
                let status = vocabulary::launch_state(AppLaunchStatus::from_wire(
                    app["launchStatus"].as_str().unwrap_or_default(),
                ));
                status.is_launched() || status.phase == LaunchPhase::Launching
            })
            .filter_map(|app| app["appId"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Bench<'_> {
    /// One cycle of every function over a generated catalog of `servers` servers and
    /// servers / 20 apps, played in wave order so each function has its work: import,
    /// job creation, a watcher sweep over a job per server, a launcher sweep, then
    /// template generation for a ready app and for a run of a launched app.
    pub async fn cycles(&self, servers: usize) -> Measured<Vec<Cycle>> {
        let apps = (servers / 20).max(1);
        let world = World::start(Scenario::generate(servers, apps, SEED), &self.wiring).await?;
        let result = self.cycles_in(&world).await;
        world.shutdown().await;
        let mut cycles = result?;
        cycles.extend(self.planner_cycles(servers).await?);
        Ok(cycles)
    }

    /// The cycles in wave order.
    async fn cycles_in(&self, world: &World) -> Measured<Vec<Cycle>> {
        let mut cycles = self.discovery_and_replication_cycles(world).await?;
        cycles.extend(self.template_cycles(world).await?);
        Ok(cycles)
    }

    /// The catalog import, the job creator, the watcher (its first sweep, and the one after
    /// every run is announced), two launcher sweeps and the wave-reporter.
    async fn discovery_and_replication_cycles(&self, world: &World) -> Measured<Vec<Cycle>> {
        let mut cycles = Vec::new();
        // Every generated server has appeared after 6 h 10 min.
        world.emulator.advance(Duration::from_secs(7 * 3600));
        cycles.push(
            self.scheduled_cycle(world, "catalog-import", "schedule", &[CONNECTORS])
                .await?,
        );
        world
            .emulator
            .advance(Duration::from_secs(world.import_secs + 1));
        cycles.push(
            self.scheduled_cycle(world, "job-creator", "schedule", &[SERVERS])
                .await?,
        );
        world.create_missing_jobs()?;
        // Runs take 15-90 min; failing ones reach FAILED / PAUSED_ON_FAILURE meanwhile.
        world.emulator.advance(Duration::from_secs(150 * 60));
        cycles.push(
            self.scheduled_cycle(world, "job-watcher", "schedule", &[JOBS])
                .await?,
        );
        // The sweep after the first has announced every completed run: the snapshot
        // then remembers a run per job.
        self.announce_every_run(world).await?;
        cycles.push(
            self.scheduled_cycle(
                world,
                "job-watcher",
                "schedule, every run announced",
                &[JOBS],
            )
            .await?,
        );
        cycles.push(
            self.scheduled_cycle(world, "app-launcher", "schedule", &[APPS, JOBS])
                .await?,
        );
        // The next tick, from another cold start: the apps still waiting are the ones
        // the first sweep read.
        world.emulator.advance(Duration::from_secs(60));
        cycles.push(
            self.scheduled_cycle(world, "app-launcher", "schedule, next sweep", &[APPS, JOBS])
                .await?,
        );
        cycles.push(
            self.scheduled_cycle(world, "wave-reporter", "schedule", &[SERVERS, JOBS, APPS])
                .await?,
        );
        Ok(cycles)
    }

    /// Sweeps with the watcher until one announces fewer runs than an invocation may:
    /// the first sweep of a large estate leaves most of its completed runs for later.
    async fn announce_every_run(&self, world: &World) -> Measured<()> {
        let cap = job_watcher::RUN_ANNOUNCEMENTS_PER_INVOCATION;
        // Enough sweeps for a run per job of the largest size the bench plays, and more.
        for _ in 0..1_000 {
            world.bus.drain();
            let (before, _) = world.bus.counts();
            let event = world.schedule(self.function("job-watcher")?);
            self.invoke(world, "job-watcher", event).await?;
            let published = world.bus.counts().0 - before;
            world.bus.drain();
            if (published as usize) < cap {
                return Ok(());
            }
        }
        Err(MeasureError::Setup(
            "the watcher still announced runs after 1,000 sweeps".into(),
        ))
    }

    /// The template generator on a ready app, then on runs of two launched apps.
    async fn template_cycles(&self, world: &World) -> Measured<Vec<Cycle>> {
        // LaunchApp: pending 1 min, launching 10 min.
        world.emulator.advance(Duration::from_secs(12 * 60));
        let listed = world.list("ListApps", "apps")?;
        let state = world.emulator.state();
        let replicated: BTreeSet<&String> = state
            .jobs
            .iter()
            .filter(|j| j.latest_ami.is_some())
            .map(|j| &j.server_id)
            .collect();
        let ready = state
            .apps
            .iter()
            .find(|a| a.server_ids().all(|s| replicated.contains(s)))
            .ok_or_else(|| MeasureError::Setup("no app has every member replicated".into()))?;
        let event = world.app_ready(&ready.id, &ready.name, ready.server_ids().count());
        let mut cycles = vec![
            self.cycle(world, "template-generator", "AppReady", event, &[])
                .await?,
        ];
        let mut launched = state
            .apps
            .iter()
            .filter(|a| a.launch_status == EmulatedLaunchStatus::Launched);
        let first = launched.next().ok_or_else(|| {
            MeasureError::Setup(format!("none of {} apps was launched", listed.len()))
        })?;
        let event = run_completed(world, &state, first)?;
        cycles.push(
            self.cycle(
                world,
                "template-generator",
                "ReplicationRunCompleted",
                event,
                &[APPS],
            )
            .await?,
        );
        // Another member's run, in another cold start: the launched apps are known now.
        let event = run_completed(world, &state, launched.next().unwrap_or(first))?;
        cycles.push(
            self.cycle(
                world,
                "template-generator",
                "ReplicationRunCompleted, next event",
                event,
                &[APPS],
            )
            .await?,
        );
        Ok(cycles)
    }

    /// A cycle triggered by the function's schedule.
    async fn scheduled_cycle(
        &self,
        world: &World,
        function: &str,
        trigger: &str,
        lists: &[List],
    ) -> Measured<Cycle> {
        let event = world.schedule(self.function(function)?);
        self.cycle(world, function, trigger, event, lists).await
    }

    pub(crate) async fn cycle(
        &self,
        world: &World,
        function: &str,
        trigger: &str,
        event: Value,
        lists: &[List],
    ) -> Measured<Cycle> {
        let scope = match (function, trigger) {
            ("app-launcher", _) => Some(AppScope::Launchable),
            ("template-generator", t) if t.starts_with("ReplicationRunCompleted") => {
                Some(AppScope::Launched)
            }
            ("wave-reporter", _) => Some(AppScope::All),
            _ => None,
        };
        let apps_before = world.list("ListApps", "apps")?;
        let (remembered, unremembered) = match scope {
            Some(scope) => AppIndex::remembered_apps(world, scope, &apps_before)?,
            None => Default::default(),
        };
        let launched_before = AppIndex::launched_apps(&apps_before);
        let mut counted = Vec::new();
        for (operation, key) in lists {
            let items = world.list(operation, key)?.len();
            counted.push(((*operation).to_owned(), items, pages(items)));
        }
        world.emulator.reset_call_counts();
        world.bus.drain();
        let (accepted, _) = world.bus.counts();
        let invocation = self.invoke(world, function, event).await?;
        let calls = world.emulator.call_counts();
        let launched_now: BTreeSet<String> =
            AppIndex::launched_apps(&world.list("ListApps", "apps")?)
                .difference(&launched_before)
                .cloned()
                .collect();
        let events = world.bus.counts().0 - accepted;
        world.bus.drain();
        Ok(Cycle {
            label: format!("{function} ({trigger})"),
            peak_rss_kib: invocation.peak_rss_kib,
            run_time: invocation.done.saturating_sub(invocation.init),
            calls,
            lists: counted,
            first_reads: unremembered.len() as u64,
            rereads_before_launch: launched_now.intersection(&remembered).count() as u64,
            configuration_reads: 0,
            events,
        })
    }
}

/// A listed app's lastModified (epoch seconds on the wire), in milliseconds.
pub(crate) fn listed_millis(app: &Value) -> Option<i64> {
    app["lastModified"]
        .as_f64()
        .map(|s| (s * 1000.0).round() as i64)
}

/// An RFC 3339 time, in milliseconds.
pub(crate) fn rfc3339_millis(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The `ReplicationRunCompleted` event of the latest completed run of the app's first
/// member.
fn run_completed(
    world: &World,
    state: &autopilot_local::StateSnapshot,
    app: &App,
) -> Measured<Value> {
    let setup = |what: &str| MeasureError::Setup(format!("app {}: {what}", app.name));
    let member = app.server_ids().next().ok_or_else(|| setup("no members"))?;
    let job = state
        .jobs
        .iter()
        .find(|j| &j.server_id == member)
        .ok_or_else(|| setup("a member without a job"))?;
    let run = job
        .runs
        .iter()
        .rev()
        .find(|r| r.ami_id.is_some())
        .ok_or_else(|| setup("a member without a completed run"))?;
    Ok(world.event(
        "ReplicationRunCompleted",
        json!({
            "version": 1, "dryRun": false, "replicationJobId": job.id,
            "replicationRunId": run.id, "serverId": member, "amiId": run.ami_id
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_counts_pages_and_actions_and_names_the_excess() {
        let cycle = Cycle {
            label: "app-launcher (schedule)".into(),
            peak_rss_kib: None,
            run_time: Duration::ZERO,
            calls: [
                ("ListApps", 5),
                ("GetReplicationJobs", 100),
                ("GetApp", 500),
                ("LaunchApp", 450),
            ]
            .into_iter()
            .map(|(op, n)| (op.to_owned(), n))
            .collect(),
            lists: vec![
                ("ListApps".into(), 500, pages(500)),
                ("GetReplicationJobs".into(), 10_000, pages(10_000)),
            ],
            first_reads: 20,
            rereads_before_launch: 3,
            configuration_reads: 0,
            events: 0,
        };
        assert_eq!(pages(0), 1);
        assert_eq!(pages(101), 2);
        assert_eq!(cycle.bound(), 5 + 100 + 20 + 3 + 450);
        assert_eq!(cycle.excess(), vec![("GetApp".to_owned(), 477)]);
    }
}
