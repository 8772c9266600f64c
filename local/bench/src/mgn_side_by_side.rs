//! The project's mgn-launcher beside what an MGN user would write instead: a plain boto3
//! script (`local/bench/python/mgn_tests.py`: DescribeSourceServers page by page, then
//! one StartTest after another for the READY_FOR_TEST servers of each application).
//! Each runs as a whole process against a fresh MGN stand-in holding the same estate,
//! its applications made by the mgn-planner and every server replicated, and is timed
//! from spawn to being ready for its first call and to the end of its cycle, with its
//! peak memory (VmHWM).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use autopilot_local::{Faults, Scenario};
use serde_json::{json, Value};

use crate::bench::Bench;
use crate::cycles::SEED;
use crate::error::{MeasureError, Measured};
use crate::mgn_world::MgnBenchWorld;
use crate::side_by_side::{
    boto3_python, run_script, start_script, startup_rows, BOTO3_REQUIREMENT,
};

/// Source servers both launchers work through.
pub const SERVERS: usize = 1000;

/// One launcher's cycle.
#[derive(Debug, Clone, Copy)]
pub struct Side {
    pub cycle: Duration,
    pub peak_rss_kib: Option<u64>,
    /// Servers MGN launched a test copy of in the cycle.
    pub servers_tested: usize,
    /// MGN calls the cycle made.
    pub calls: u64,
    /// Wall time the stand-in spent answering them (overlapping calls once).
    pub service: Duration,
}

impl Side {
    /// The cycle less the stand-in's answering: the launcher's own time.
    pub fn own(&self) -> Duration {
        self.cycle.saturating_sub(self.service)
    }
}

/// Both launchers' cycles at one MGN latency.
#[derive(Debug, Clone, Copy)]
pub struct Cycles {
    pub latency_ms: u64,
    pub project: Side,
    pub python: Side,
}

/// Start-ups (over many starts) and cycles of both launchers.
#[derive(Debug, Clone)]
pub struct MgnSideBySide {
    pub project_startups_ms: Vec<f64>,
    pub python_startups_ms: Vec<f64>,
    pub cycles: Vec<Cycles>,
}

impl Bench<'_> {
    /// The project's mgn-launcher and the boto3 script: start-ups over `--starts`
    /// starts each, then a cycle each with no added latency and with the bench's.
    pub async fn mgn_side_by_side(&self) -> Measured<MgnSideBySide> {
        let python = tokio::task::spawn_blocking(boto3_python)
            .await
            .map_err(|e| MeasureError::Setup(format!("installing boto3: {e}")))??;
        let project_startups_ms = self.mgn_cold_starts("mgn-launcher").await?.init_ms;
        let python_startups_ms = python_startups(&python, self).await?;
        let mut cycles = Vec::new();
        for latency_ms in [0, self.args.latency_ms] {
            let project = self.project_launcher(latency_ms).await?;
            let python = python_launcher(&python, latency_ms, self).await?;
            cycles.push(Cycles {
                latency_ms,
                project,
                python,
            });
        }
        Ok(MgnSideBySide {
            project_startups_ms,
            python_startups_ms,
            cycles,
        })
    }

    /// A fresh estate of [`SERVERS`] servers, every application planned automatic and
    /// made in MGN by the mgn-planner, every server READY_FOR_TEST; then `latency_ms` on
    /// every MGN call.
    async fn ready_estate(&self, latency_ms: u64) -> Measured<MgnBenchWorld> {
        let mut scenario = Scenario::generate(SERVERS, SERVERS / 20, SEED);
        let mut plan = crate::mgn_cycles::mgn_plan(&scenario);
        for planned in plan["applications"].as_array_mut().into_iter().flatten() {
            planned.as_object_mut().map(|p| p.remove("launch"));
        }
        scenario.apps.clear();
        let world = MgnBenchWorld::start(scenario, &self.mgn_wiring).await?;
        self.plan_applied(&world, &plan).await?;
        world.advance(Duration::from_secs(3 * 3600));
        world.mgn().set_faults(Faults {
            latency_ms,
            ..Faults::default()
        });
        Ok(world)
    }

    async fn project_launcher(&self, latency_ms: u64) -> Measured<Side> {
        let world = self.ready_estate(latency_ms).await?;
        let wiring =
            autopilot_local::harness::functions::wiring_of(&self.mgn_wiring, "mgn-launcher")?;
        let event = world.schedule(wiring);
        let (before, busy) = (world.calls().values().sum::<u64>(), world.mgn().busy_time());
        let invocation = self.invoke(&world, "mgn-launcher", event).await;
        let calls = world.calls().values().sum::<u64>() - before;
        let service = world.mgn().busy_time().saturating_sub(busy);
        let servers_tested = tested(&world);
        world.shutdown().await;
        let invocation = invocation?;
        Ok(Side {
            cycle: invocation.done,
            peak_rss_kib: invocation.peak_rss_kib,
            servers_tested: servers_tested?,
            calls,
            service,
        })
    }
}

/// Servers with a test copy launched.
fn tested(world: &MgnBenchWorld) -> Measured<usize> {
    let jobs = world.mgn_list("DescribeJobs", json!({ "filters": {} }))?;
    Ok(jobs
        .iter()
        .filter(|job| job["type"] == "LAUNCH" && job["initiatedBy"] == "START_TEST")
        .flat_map(|job| {
            job["participatingServers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .count())
}

/// The script's start-up, `--starts` times: spawn to its ready line, then killed.
async fn python_startups(python: &Path, bench: &Bench<'_>) -> Measured<Vec<f64>> {
    let world = MgnBenchWorld::start(
        autopilot_local::harness::two_server_scenario(),
        &bench.mgn_wiring,
    )
    .await?;
    let env = script_environment(&world);
    let (python, script, starts) = (python.to_owned(), script_path(), bench.args.starts);
    let started = tokio::task::spawn_blocking(move || -> Measured<Vec<f64>> {
        (0..starts)
            .map(|_| start_script(&python, &script, &env).map(|d| d.as_secs_f64() * 1000.0))
            .collect()
    })
    .await
    .map_err(|e| MeasureError::Setup(format!("the boto3 script: {e}")));
    world.shutdown().await;
    started?
}

async fn python_launcher(python: &Path, latency_ms: u64, bench: &Bench<'_>) -> Measured<Side> {
    let world = bench.ready_estate(latency_ms).await?;
    let env = script_environment(&world);
    let (python, script) = (python.to_owned(), script_path());
    let (before, busy) = (world.calls().values().sum::<u64>(), world.mgn().busy_time());
    let run = tokio::task::spawn_blocking(move || run_script(&python, &script, &env))
        .await
        .map_err(|e| MeasureError::Setup(format!("the boto3 script: {e}")));
    let calls = world.calls().values().sum::<u64>() - before;
    let service = world.mgn().busy_time().saturating_sub(busy);
    let servers_tested = tested(&world);
    world.shutdown().await;
    let (cycle, peak_rss_kib) = run??;
    Ok(Side {
        cycle,
        peak_rss_kib,
        servers_tested: servers_tested?,
        calls,
        service,
    })
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/mgn_tests.py")
}

/// What the script is started with: the AWS CLI's variables, pointed at `world`.
fn script_environment(world: &MgnBenchWorld) -> BTreeMap<&'static str, String> {
    [
        ("AWS_ENDPOINT_URL_MGN", world.mgn().endpoint()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
    .into_iter()
    .collect()
}

/// The section of the MGN table: both launchers' figures and the ratios, each measured
/// in this run; the targets as (target, measured, met).
pub fn section(figures: &Measured<MgnSideBySide>, out: &mut String) -> Vec<(String, String, bool)> {
    let _ = writeln!(
        out,
        "\n### Side by side with a plain boto3 test launcher ({SERVERS} source servers)\n\n\
         Both run as whole processes against a fresh MGN stand-in holding the same estate, its \
         applications made by the mgn-planner and every server READY_FOR_TEST: the project's \
         mgn-launcher (release binary behind the Runtime API, one scheduled run) and \
         `local/bench/python/mgn_tests.py` ({BOTO3_REQUIREMENT}: DescribeSourceServers page by \
         page, then StartTest for each application's ready servers, one call after another). \
         Start-up is spawn to being ready for the first call (the binary's first poll of the \
         Runtime API, its clients made; the script's ready line), over many starts; the cycle is \
         spawn to the response or to the script's done line. The launcher does more in its \
         cycle than the script: it takes its lease, reads and stores its books, checks each \
         application's members and dependencies, and publishes each launch as an event. The \
         stand-in answers on the same two cores, and each side waits for the same answers \
         (one page of 1,000 servers rendered, the tests started): *MGN answering* is the wall \
         time the stand-in spent answering the side's calls, overlapping calls once, and *own \
         time* the cycle less it."
    );
    let figures = match figures {
        Ok(figures) => figures,
        Err(e) => {
            let _ = writeln!(out, "\nnot measured: {e}");
            return Vec::new();
        }
    };
    let mut targets = vec![startup_rows(
        out,
        ("launcher", "mgn-launcher"),
        (&figures.project_startups_ms, &figures.python_startups_ms),
        "MGN: start-up ≥ 20× the boto3 script's (medians)",
    )];
    let _ = writeln!(
        out,
        "\n| MGN latency | launcher | whole cycle | MGN answering | own time | peak RSS | MGN calls | servers tested |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for row in &figures.cycles {
        targets.extend(cycle_rows(row, out));
    }
    targets
}

/// One latency's rows of the cycle table, and its targets.
fn cycle_rows(row: &Cycles, out: &mut String) -> Vec<(String, String, bool)> {
    for (name, side) in [
        ("mgn-launcher", &row.project),
        ("boto3 script", &row.python),
    ] {
        let _ = writeln!(
            out,
            "| {} ms | {name} | {:.3} s | {:.3} s | {:.3} s | {} | {} | {} |",
            row.latency_ms,
            side.cycle.as_secs_f64(),
            side.service.as_secs_f64(),
            side.own().as_secs_f64(),
            side.peak_rss_kib
                .map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            side.calls,
            side.servers_tested
        );
    }
    let ratio = |python: f64, project: f64| python / project.max(f64::EPSILON);
    let (p, r) = (&row.python, &row.project);
    let cycle = ratio(p.cycle.as_secs_f64(), r.cycle.as_secs_f64());
    let own = ratio(p.own().as_secs_f64(), r.own().as_secs_f64());
    let memory = match (p.peak_rss_kib, r.peak_rss_kib) {
        (Some(p), Some(r)) => ratio(p as f64, r as f64),
        _ => 0.0,
    };
    let at = format!("at {} ms of MGN latency", row.latency_ms);
    vec![
        (
            format!("MGN: whole cycle ≥ 5× faster, {at}"),
            format!("{cycle:.1}×"),
            cycle >= 5.0,
        ),
        (
            format!("MGN: own time (the cycle less MGN answering) ≥ 5× shorter, {at}"),
            format!("{own:.1}×"),
            own >= 5.0,
        ),
        (
            format!("MGN: peak memory ≥ 3× smaller, {at}"),
            format!("{memory:.1}×"),
            memory >= 3.0,
        ),
        (
            format!("MGN: the same servers tested, {at}"),
            format!("{} and {}", r.servers_tested, p.servers_tested),
            r.servers_tested == p.servers_tested && r.servers_tested > 0,
        ),
    ]
}

/// The plan as an engineer writes it, applied by the mgn-planner's release binary
/// (a setup step, not measured).
impl Bench<'_> {
    pub async fn plan_applied(&self, world: &MgnBenchWorld, plan: &Value) -> Measured<()> {
        let key = crate::mgn_cycles::plan_key(self)?;
        world
            .put_object(&key, plan.to_string().into_bytes())
            .await?;
        // Every generated server has appeared, and its agent is installed, after 6 h 10 min.
        world.advance(Duration::from_secs(7 * 3600));
        let wiring =
            autopilot_local::harness::functions::wiring_of(&self.mgn_wiring, "mgn-planner")?;
        self.invoke(world, "mgn-planner", world.schedule(wiring))
            .await?;
        Ok(())
    }
}
