//! MGN's and EC2's calls, peak memory and run time of one cycle of each MGN function
//! over a generated estate (servers, servers / 20 applications in three MGN waves), each
//! a separate cold start, against a lower bound the bench works out itself from MGN's
//! records: the pages of the listings the function must read, one read per server or
//! template whose state it must see and the listing does not carry, and one call per
//! action (every mutating call).

use std::collections::BTreeMap;
use std::time::Duration;

use autopilot_local::harness::processes::changes_something;
use autopilot_local::Scenario;
use serde_json::{json, Value};

use crate::bench::Bench;
use crate::cycles::SEED;
use crate::error::{MeasureError, Measured};
use crate::mgn_world::{MgnBenchWorld, MGN_PAGE};
use crate::planning::plan_of;

/// Where the mgn-planner keeps its books (`PlannerLedger`).
const PLANNER_LEDGER: &str = "state/mgn-planner/ledger.json";

/// Calls of one operation the bound allows, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub operation: String,
    pub calls: u64,
    pub why: String,
}

/// One MGN function's cycle over a generated estate.
pub struct MgnCycle {
    pub label: String,
    pub peak_rss_kib: Option<u64>,
    /// From the first poll for an invocation to its response: the handler's run.
    pub run_time: Duration,
    /// Wall time the stand-in spent answering the cycle's calls (overlapping calls
    /// once): on the same two cores as the function.
    pub service: Duration,
    /// The function's Timeout in the template.
    pub timeout: Duration,
    pub calls: BTreeMap<String, u64>,
    /// The reads the bound allows (actions are allowed one call each).
    pub allowed: Vec<Allowance>,
    pub events: u64,
}

/// Pages of a listing of `items` at MGN's largest page (at least one).
pub fn mgn_pages(items: usize) -> u64 {
    items.div_ceil(MGN_PAGE).max(1) as u64
}

impl MgnCycle {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn actions(&self) -> u64 {
        self.calls
            .iter()
            .filter(|(op, _)| changes_something(op))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn bound(&self) -> u64 {
        self.allowed.iter().map(|a| a.calls).sum::<u64>() + self.actions()
    }

    /// Reads above what the bound allows, per operation.
    pub fn excess(&self) -> Vec<(String, u64)> {
        self.calls
            .iter()
            .filter(|(op, _)| !changes_something(op))
            .filter_map(|(op, &n)| {
                let allowed: u64 = self
                    .allowed
                    .iter()
                    .filter(|a| &a.operation == op)
                    .map(|a| a.calls)
                    .sum();
                (n > allowed).then(|| (op.clone(), n - allowed))
            })
            .collect()
    }

    /// A run's share of the function's timeout.
    pub fn share_of_timeout(&self) -> f64 {
        self.run_time.as_secs_f64() / self.timeout.as_secs_f64().max(f64::EPSILON)
    }
}

/// The plan the MGN cycles play: the generated applications, each in the MGN wave its
/// `wave` tag names.
pub(crate) fn mgn_plan(scenario: &Scenario) -> Value {
    let mut plan = plan_of(&scenario.apps);
    if let Some(applications) = plan["applications"].as_array_mut() {
        for (planned, app) in applications.iter_mut().zip(&scenario.apps) {
            if let Some(wave) = app.tags.get("wave") {
                planned["wave"] = json!(format!("wave-{wave}"));
            }
        }
    }
    plan
}

impl Bench<'_> {
    /// One cycle of each MGN function over `servers` servers: the planner's first run
    /// of a new plan and its next, then, once every server replicates, the watcher, the
    /// launcher starting the tests and its next sweep once they are launched, and the
    /// reporter.
    pub async fn mgn_cycles(&self, servers: usize) -> Measured<Vec<MgnCycle>> {
        let apps = (servers / 20).max(1);
        let mut scenario = Scenario::generate(servers, apps, SEED);
        let plan = mgn_plan(&scenario);
        scenario.apps.clear();
        let world = MgnBenchWorld::start(scenario, &self.mgn_wiring).await?;
        let members = planned_members(&plan);
        let result = self.mgn_cycles_in(&world, &plan, members).await;
        world.shutdown().await;
        result
    }

    async fn mgn_cycles_in(
        &self,
        world: &MgnBenchWorld,
        plan: &Value,
        members: usize,
    ) -> Measured<Vec<MgnCycle>> {
        let key = plan_key(self)?;
        world
            .put_object(&key, plan.to_string().into_bytes())
            .await?;
        // Every generated server has appeared, and its agent is installed, after 6 h 10 min.
        world.advance(Duration::from_secs(7 * 3600));
        let mut cycles = Vec::new();
        for trigger in ["schedule, new plan", "schedule, next run"] {
            let allowed = planner_allowance(world, members)?;
            cycles.push(
                self.mgn_cycle(world, "mgn-planner", trigger, allowed)
                    .await?,
            );
            world.advance(Duration::from_secs(15 * 60));
        }
        // The last agents' initial syncs (an hour) end.
        world.advance(Duration::from_secs(2 * 3600));
        let sweep = sweep_allowance(world)?;
        cycles.push(
            self.mgn_cycle(world, "mgn-watcher", "schedule", sweep.clone())
                .await?,
        );
        cycles.push(
            self.mgn_cycle(world, "mgn-launcher", "schedule", sweep.clone())
                .await?,
        );
        // The test launches complete (pending 30 s, launch 10 min) and boot.
        world.advance(Duration::from_secs(15 * 60));
        let watching = launcher_allowance(world)?;
        cycles.push(
            self.mgn_cycle(world, "mgn-launcher", "schedule, tests launched", watching)
                .await?,
        );
        cycles.push(
            self.mgn_cycle(world, "wave-reporter", "schedule", sweep)
                .await?,
        );
        // Last: an import adds MGN's records of the servers it names.
        cycles.extend(self.import_cycles(world, plan).await?);
        Ok(cycles)
    }

    /// The inventory sheet of the plan written, then the import followed to its end.
    async fn import_cycles(&self, world: &MgnBenchWorld, plan: &Value) -> Measured<Vec<MgnCycle>> {
        let plan = autopilot_core::plan::Plan::parse(&plan.to_string())
            .map_err(|refusal| MeasureError::Setup(format!("the generated plan: {refusal:?}")))?;
        let sheet = autopilot_local::mgn_inventory::inventory_csv(&plan);
        let key = crate::mgn_cycles::setting(self, "mgn-import", "INVENTORY_KEY")?;
        let size = sheet.len();
        world.put_object(&key, sheet.into_bytes()).await?;
        let written = autopilot_local::harness::payloads::s3_object_created(
            world.mgn().now(),
            &world.artifacts_bucket,
            &key,
            size,
        );
        let one_import = vec![allowance("ListImports", 1, "the import followed".into())];
        let first = self
            .mgn_cycle_on(
                world,
                ("mgn-import", "sheet written", written),
                one_import.clone(),
            )
            .await?;
        world.advance(Duration::from_secs(30 * 60));
        // MGN's summary of an import counts what it made, not the rows it refused: an
        // import that ended is read for its errors, at least one page.
        let errors = world
            .mgn_list("ListImports", json!({}))?
            .iter()
            .filter_map(|task| task["importID"].as_str().map(str::to_owned))
            .map(|id| world.mgn_list("ListImportErrors", json!({ "importID": id })))
            .collect::<Measured<Vec<_>>>()?
            .iter()
            .map(Vec::len)
            .sum::<usize>();
        let mut ended = one_import;
        ended.push(allowance(
            "ListImportErrors",
            mgn_pages(errors),
            format!("⌈{errors} refused rows/{MGN_PAGE}⌉"),
        ));
        let followed = self
            .mgn_cycle(world, "mgn-import", "schedule, import done", ended)
            .await?;
        Ok(vec![first, followed])
    }

    /// One cold start of `function` on its schedule, MGN's and EC2's calls counted.
    async fn mgn_cycle(
        &self,
        world: &MgnBenchWorld,
        function: &str,
        trigger: &str,
        allowed: Vec<Allowance>,
    ) -> Measured<MgnCycle> {
        let wiring = autopilot_local::harness::functions::wiring_of(&self.mgn_wiring, function)?;
        let event = world.schedule(wiring);
        self.mgn_cycle_on(world, (function, trigger, event), allowed)
            .await
    }

    /// One cold start of `function` on `event`, MGN's and EC2's calls counted.
    async fn mgn_cycle_on(
        &self,
        world: &MgnBenchWorld,
        (function, trigger, event): (&str, &str, Value),
        allowed: Vec<Allowance>,
    ) -> Measured<MgnCycle> {
        let wiring = autopilot_local::harness::functions::wiring_of(&self.mgn_wiring, function)?;
        let before = world.calls();
        let accepted = world.events_accepted();
        let busy = world.mgn().busy_time();
        let invocation = self.invoke(world, function, event).await?;
        let service = world.mgn().busy_time().saturating_sub(busy);
        let calls = difference(&world.calls(), &before);
        Ok(MgnCycle {
            label: format!("{function} ({trigger})"),
            peak_rss_kib: invocation.peak_rss_kib,
            run_time: invocation.done.saturating_sub(invocation.init),
            service,
            timeout: wiring.timeout,
            calls,
            allowed,
            events: world.events_accepted() - accepted,
        })
    }
}

/// Servers the plan names, in all its applications' groups.
fn planned_members(plan: &Value) -> usize {
    plan["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|app| app["groups"].as_array().into_iter().flatten())
        .map(|group| group["servers"].as_array().map_or(0, Vec::len))
        .sum()
}

/// Where the mgn-planner reads the plan, as the template deploys it.
pub(crate) fn plan_key(bench: &Bench<'_>) -> Measured<String> {
    setting(bench, "mgn-planner", "PLAN_KEY")
}

/// A setting the template gives `function` on an MGN stack.
pub(crate) fn setting(bench: &Bench<'_>, function: &str, name: &str) -> Measured<String> {
    autopilot_local::harness::functions::wiring_of(&bench.mgn_wiring, function)?
        .environment
        .get(name)
        .cloned()
        .ok_or_else(|| MeasureError::Setup(format!("{function} has no {name}")))
}

/// Calls per operation made between two readings of the counters.
fn difference(
    after: &BTreeMap<String, u64>,
    before: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(op, &n)| {
            let made = n - before.get(op).copied().unwrap_or(0);
            (made > 0).then(|| (op.clone(), made))
        })
        .collect()
}

fn allowance(operation: &str, calls: u64, why: String) -> Allowance {
    Allowance {
        operation: operation.to_owned(),
        calls,
        why,
    }
}

/// Every function that follows the estate reads the live source servers once.
fn sweep_allowance(world: &MgnBenchWorld) -> Measured<Vec<Allowance>> {
    let live = world.source_servers()?.len();
    Ok(vec![allowance(
        "DescribeSourceServers",
        mgn_pages(live),
        format!("⌈{live}/{MGN_PAGE}⌉"),
    )])
}

/// The planner lists the servers, MGN's applications and waves; it reads the launch
/// configuration of each planned member whose wanted launch settings its books do not
/// hold as put (which names the member's launch template too), and the default version
/// of each template whose wanted settings they do not hold as made, after one question
/// per kind to EC2 about the account. The generated plan sets no replication settings,
/// so no replication configuration needs reading.
fn planner_allowance(world: &MgnBenchWorld, members: usize) -> Measured<Vec<Allowance>> {
    let mut allowed = sweep_allowance(world)?;
    let applications = world
        .mgn_list("ListApplications", json!({ "filters": {} }))?
        .len();
    let waves = world.mgn_list("ListWaves", json!({ "filters": {} }))?.len();
    allowed.push(allowance(
        "ListApplications",
        mgn_pages(applications),
        format!("⌈{applications}/{MGN_PAGE}⌉"),
    ));
    allowed.push(allowance(
        "ListWaves",
        mgn_pages(waves),
        format!("⌈{waves}/{MGN_PAGE}⌉"),
    ));
    let ledger = world.state_file(PLANNER_LEDGER)?;
    let unsettled = |books: &str| {
        let settled = ledger[books].as_object().map_or(0, serde_json::Map::len);
        members.saturating_sub(settled) as u64
    };
    let (launch, templates) = (unsettled("mgnLaunch"), unsettled("mgnTemplates"));
    allowed.push(allowance(
        "GetLaunchConfiguration",
        launch,
        format!("{launch} members' launch settings not put"),
    ));
    allowed.push(allowance(
        "ec2:DescribeLaunchTemplateVersions",
        templates,
        format!("{templates} members' templates not made"),
    ));
    if templates > 0 {
        for question in [
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeInstanceTypes",
        ] {
            allowed.push(allowance(question, 1, "one question".into()));
        }
    }
    Ok(allowed)
}

/// The launcher's sweep, plus reading the jobs of the launches in flight (1,000 ids a
/// call) and the status checks of the copies the finished ones launched (100 a call).
fn launcher_allowance(world: &MgnBenchWorld) -> Measured<Vec<Allowance>> {
    let mut allowed = sweep_allowance(world)?;
    let jobs = world.mgn_list("DescribeJobs", json!({ "filters": {} }))?;
    let launches = jobs.iter().filter(|job| job["type"] == "LAUNCH").count();
    let copies = jobs
        .iter()
        .filter(|job| job["type"] == "LAUNCH" && job["status"] == "COMPLETED")
        .flat_map(|job| {
            job["participatingServers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|server| server["launchedEc2InstanceID"].is_string())
        .count();
    allowed.push(allowance(
        "DescribeJobs",
        launches.div_ceil(1000) as u64,
        format!("⌈{launches} launch jobs/1000⌉"),
    ));
    allowed.push(allowance(
        "ec2:DescribeInstanceStatus",
        copies.div_ceil(100) as u64,
        format!("⌈{copies} copies/100⌉"),
    ));
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(calls: &[(&str, u64)], allowed: Vec<Allowance>) -> MgnCycle {
        MgnCycle {
            label: "mgn-launcher (schedule)".into(),
            peak_rss_kib: None,
            run_time: Duration::from_secs(3),
            service: Duration::from_secs(1),
            timeout: Duration::from_secs(300),
            calls: calls.iter().map(|(op, n)| ((*op).to_owned(), *n)).collect(),
            allowed,
            events: 0,
        }
    }

    #[test]
    fn reads_and_actions_are_told_apart_on_both_services() {
        for read in [
            "DescribeSourceServers",
            "ListImports",
            "GetLaunchConfiguration",
            "ec2:DescribeInstanceStatus",
        ] {
            assert!(!changes_something(read), "{read}");
        }
        for action in [
            "StartTest",
            "ChangeServerLifeCycleState",
            "ec2:ModifyLaunchTemplate",
        ] {
            assert!(changes_something(action), "{action}");
        }
        assert_eq!(mgn_pages(0), 1);
        assert_eq!(mgn_pages(1000), 1);
        assert_eq!(mgn_pages(1001), 2);
    }

    #[test]
    fn the_bound_allows_its_reads_and_each_action_once_and_names_the_excess() {
        let allowed = vec![
            allowance("DescribeSourceServers", 2, "⌈1500/1000⌉".into()),
            allowance("DescribeJobs", 1, "⌈45 launch jobs/1000⌉".into()),
        ];
        let calls = [
            ("DescribeSourceServers", 2),
            ("DescribeJobs", 45),
            ("StartTest", 45),
            ("ec2:DescribeInstanceStatus", 3),
        ];
        let cycle = cycle(&calls, allowed);
        assert_eq!(cycle.total(), 95);
        assert_eq!(cycle.actions(), 45);
        assert_eq!(cycle.bound(), 48);
        assert_eq!(
            cycle.excess(),
            [
                ("DescribeJobs".to_owned(), 44),
                ("ec2:DescribeInstanceStatus".to_owned(), 3)
            ]
        );
        assert!((cycle.share_of_timeout() - 0.01).abs() < 1e-9);
    }

    #[test]
    fn the_plan_puts_each_application_in_its_tagged_wave_and_counts_its_members() {
        let scenario = Scenario::generate(100, 5, SEED);
        let plan = mgn_plan(&scenario);
        let applications = plan["applications"].as_array().expect("applications");
        assert_eq!(applications.len(), 5);
        for (planned, app) in applications.iter().zip(&scenario.apps) {
            assert_eq!(planned["wave"], format!("wave-{}", app.tags["wave"]));
        }
        let members: usize = scenario
            .apps
            .iter()
            .flat_map(|a| &a.groups)
            .map(|g| g.servers.len())
            .sum();
        assert!(members > 0);
        assert_eq!(planned_members(&plan), members);
    }
}
