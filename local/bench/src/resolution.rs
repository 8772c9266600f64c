//! How a wave plan's resolution scales: `autopilot-local plan` (its release binary, a
//! whole process) rehearsing 5,000 applications against 50,000 catalog servers, and a
//! 5,000-application dependency chain of one server each; its wall time and peak memory
//! (from `wait4`'s resource usage, which a process that ends before it can be polled
//! still reports). A child forked from the bench would report the bench's own peak
//! (Linux copies the parent's high-water mark at fork and keeps it across exec), so the
//! rehearsal is started by a fresh copy of the bench that does nothing else
//! ([`MEASURE_EXEC`]). The app-planner's own runs at the largest catalog are timed in
//! its cycles and judged here against a quarter of its timeout.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autopilot_local::Scenario;
use serde_json::{json, Value};

use std::fmt::Write as _;

use crate::bench::Bench;
use crate::cycles::{Cycle, SEED};
use crate::error::{MeasureError, Measured};
use crate::planning::plan_of;
use crate::verdict::{mib, status, Target};

/// The bench's first argument that makes it run the rest as a command and print its
/// exit code, peak RSS (KiB) and wall time (µs), nothing else.
pub const MEASURE_EXEC: &str = "--measure-exec";

/// The rehearsal's target, on this machine: wall time and peak memory.
pub const REHEARSAL_TIME_TARGET: Duration = Duration::from_secs(10);
pub const REHEARSAL_MEMORY_TARGET_MIB: f64 = 300.0;

/// One rehearsal, measured.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    pub label: &'static str,
    pub servers: usize,
    pub apps: usize,
    /// Members the plan names (VM names), each resolved against the catalog.
    pub members: usize,
    pub wall: Duration,
    pub peak_rss_kib: u64,
}

/// The rehearsals, and the app-planner's timeout as the template sets it.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub rehearsals: Vec<Rehearsal>,
    pub planner_timeout: Duration,
}

impl Bench<'_> {
    pub fn resolution(&self) -> Measured<Resolution> {
        Ok(Resolution {
            rehearsals: self.rehearsals()?,
            planner_timeout: self.function("app-planner")?.timeout,
        })
    }

    /// Both rehearsals, each a process of its own.
    fn rehearsals(&self) -> Measured<Vec<Rehearsal>> {
        let binary = self.binary("autopilot-local")?;
        let folder =
            tempfile::tempdir().map_err(MeasureError::io(Path::new("temporary folder")))?;
        let wide = wide_estate(50_000, 5_000)?;
        let chain = chain_estate(5_000)?;
        let mut measured = Vec::new();
        for (label, (scenario, plan)) in [
            ("5,000 applications against 50,000 servers", wide),
            ("a 5,000-application dependency chain", chain),
        ] {
            let scenario_path = folder.path().join("scenario.yaml");
            let plan_path = folder.path().join("plan.json");
            std::fs::write(&scenario_path, scenario.to_yaml()?)
                .map_err(MeasureError::io(&scenario_path))?;
            std::fs::write(&plan_path, plan.to_string()).map_err(MeasureError::io(&plan_path))?;
            let (wall, peak_rss_kib) =
                run_measured(&binary, &plan_path, &scenario_path, folder.path())?;
            let members = plan["applications"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|app| app["groups"].as_array().into_iter().flatten())
                .map(|group| group["servers"].as_array().map_or(0, Vec::len))
                .sum();
            measured.push(Rehearsal {
                label,
                servers: scenario.servers.len(),
                apps: plan["applications"].as_array().map_or(0, Vec::len),
                members,
                wall,
                peak_rss_kib,
            });
        }
        Ok(measured)
    }
}

/// A generated catalog with the plan of its applications; the scenario keeps none.
fn wide_estate(servers: usize, apps: usize) -> Measured<(Scenario, Value)> {
    let mut scenario = Scenario::generate(servers, apps, SEED);
    let plan = plan_of(&scenario.apps);
    scenario.apps.clear();
    Ok((scenario, plan))
}

/// `apps` applications of one server each, each depending on the one before.
fn chain_estate(apps: usize) -> Measured<(Scenario, Value)> {
    let mut scenario = Scenario::generate(apps, 0, SEED);
    scenario.apps.clear();
    let applications: Vec<Value> = scenario
        .servers
        .iter()
        .enumerate()
        .map(|(at, server)| {
            let mut app = json!({
                "name": format!("link-{at:05}"),
                "groups": [{ "name": "all", "servers": [server.vm_name] }],
            });
            if at > 0 {
                app["dependsOn"] = json!([format!("link-{:05}", at - 1)]);
            }
            app
        })
        .collect();
    if applications.len() != apps {
        return Err(MeasureError::Setup(format!(
            "the chain needs {apps} servers, the scenario has {}",
            applications.len()
        )));
    }
    Ok((
        scenario,
        json!({ "version": 1, "applications": applications }),
    ))
}

/// Runs `autopilot-local plan` to its end, under a fresh copy of the bench: its wall
/// time and peak RSS. It must exit 4 (the planner would make changes): any other code
/// means it did not rehearse. Its messages go to a file in `folder`, read only when it
/// fails.
fn run_measured(
    binary: &Path,
    plan: &Path,
    scenario: &Path,
    folder: &Path,
) -> Measured<(Duration, u64)> {
    let log_path = folder.join("plan.stderr");
    let log = std::fs::File::create(&log_path).map_err(MeasureError::io(&log_path))?;
    let bench = std::env::current_exe().map_err(MeasureError::io(Path::new("autopilot-bench")))?;
    let output = Command::new(&bench)
        .arg(MEASURE_EXEC)
        .arg(binary)
        .arg("plan")
        .arg(plan)
        .arg("--scenario")
        .arg(scenario)
        .stderr(log)
        .output()
        .map_err(MeasureError::io(&bench))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let figures: Vec<u64> = printed
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let [code, peak_kib, wall_micros] = figures[..] else {
        return Err(MeasureError::binary(
            "autopilot-bench --measure-exec",
            format!(
                "printed `{}`, not a code, a peak and a time",
                printed.trim()
            ),
        ));
    };
    if code != 4 {
        let errors = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(MeasureError::binary(
            "autopilot-local plan",
            format!("exited {code}, not 4: {}", errors.trim()),
        ));
    }
    Ok((Duration::from_micros(wall_micros), peak_kib))
}

/// [`MEASURE_EXEC`]: runs `command` (its output to null, its messages to this process's
/// stderr) and prints its exit code (256 when a signal ended it), peak RSS in KiB
/// (Linux reports ru_maxrss in KiB) and wall time in microseconds; exits 2 when it
/// cannot start.
pub fn measure_exec(command: &[std::ffi::OsString]) -> ! {
    let Some((program, args)) = command.split_first() else {
        eprintln!("autopilot-bench {MEASURE_EXEC}: no command given");
        std::process::exit(2);
    };
    let started = Instant::now();
    let measured = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .and_then(|child| wait_with_usage(i32::try_from(child.id()).unwrap_or(i32::MAX)));
    match measured {
        Ok((status, usage)) => {
            let wall = started.elapsed().as_micros();
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                256
            };
            println!("{code} {} {wall}", usage.ru_maxrss);
            std::process::exit(0);
        }
        Err(error) => {
            eprintln!(
                "autopilot-bench {MEASURE_EXEC}: {}: {error}",
                program.to_string_lossy()
            );
            std::process::exit(2);
        }
    }
}

/// Waits for process `pid` and returns its wait status and resource usage.
fn wait_with_usage(pid: i32) -> std::io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: `rusage` is plain old data that wait4 fills in; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            return Ok((status, usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Section 9: the rehearsals against their targets, and the app-planner's runs over
/// the largest catalog measured against a quarter of its timeout.
pub fn section(
    resolution: &Measured<Resolution>,
    cycles: &[(usize, Measured<Vec<Cycle>>)],
    out: &mut String,
    summary: &mut Vec<Target>,
) {
    let _ = writeln!(
        out,
        "\n### 9. Plan resolution at scale\n\n\
         `autopilot-local plan` (release build, a whole process) rehearsing a plan against a \
         generated catalog; peak RSS from `wait4`.\n\n\
         | rehearsal | catalog servers | applications | members | wall time | peak RSS |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    let resolution = match resolution {
        Ok(resolution) => resolution,
        Err(error) => {
            let _ = writeln!(out, "| not measured: {error} | | | | | |");
            summary.push(rehearsal_target("not measured".into(), false));
            return;
        }
    };
    for rehearsal in &resolution.rehearsals {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} s | {:.1} MiB |",
            rehearsal.label,
            rehearsal.servers,
            rehearsal.apps,
            rehearsal.members,
            rehearsal.wall.as_secs_f64(),
            mib(rehearsal.peak_rss_kib)
        );
    }
    let slowest = resolution.rehearsals.iter().max_by_key(|r| r.wall);
    let largest = resolution.rehearsals.iter().max_by_key(|r| r.peak_rss_kib);
    if let (Some(slowest), Some(largest)) = (slowest, largest) {
        let met = slowest.wall < REHEARSAL_TIME_TARGET
            && mib(largest.peak_rss_kib) < REHEARSAL_MEMORY_TARGET_MIB;
        let measured = format!(
            "slowest {:.2} s ({}), largest {:.1} MiB",
            slowest.wall.as_secs_f64(),
            slowest.label,
            mib(largest.peak_rss_kib)
        );
        summary.push(rehearsal_target(measured, met));
    }
    planner_rows(resolution.planner_timeout, cycles, out, summary);
}

fn rehearsal_target(measured: String, met: bool) -> Target {
    (
        format!(
            "`plan` rehearses 5,000 applications against 50,000 servers in under {} s and {} MB",
            REHEARSAL_TIME_TARGET.as_secs(),
            REHEARSAL_MEMORY_TARGET_MIB
        ),
        measured,
        status(met),
    )
}

/// The app-planner's runs over the largest catalog measured, each against a quarter
/// of its timeout (its SMS calls against their bound are in section 4).
fn planner_rows(
    timeout: Duration,
    cycles: &[(usize, Measured<Vec<Cycle>>)],
    out: &mut String,
    summary: &mut Vec<Target>,
) {
    let quarter = timeout / 4;
    let largest = cycles
        .iter()
        .filter_map(|(servers, cycles)| Some((*servers, cycles.as_ref().ok()?)))
        .max_by_key(|(servers, _)| *servers);
    let Some((servers, cycles)) = largest else {
        return;
    };
    let _ = writeln!(
        out,
        "\n| app-planner run over {servers} servers, {} applications | run time | a quarter of its {} s timeout |\n| --- | ---: | ---: |",
        (servers / 20).max(1),
        timeout.as_secs()
    );
    let runs: Vec<&Cycle> = cycles
        .iter()
        .filter(|cycle| cycle.label.starts_with("app-planner"))
        .collect();
    for run in &runs {
        let _ = writeln!(
            out,
            "| {} | {:.2} s | {:.0} s |",
            run.label,
            run.run_time.as_secs_f64(),
            quarter.as_secs_f64()
        );
    }
    if let Some(slowest) = runs.iter().max_by_key(|run| run.run_time) {
        summary.push((
            format!("app-planner within a quarter of its timeout at {servers} servers"),
            format!(
                "slowest {:.2} s ({}) of {:.0} s",
                slowest.run_time.as_secs_f64(),
                slowest.label,
                quarter.as_secs_f64()
            ),
            status(slowest.run_time <= quarter),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_links_every_application_to_the_one_before() {
        let (scenario, plan) = chain_estate(3).expect("a chain");
        assert_eq!(scenario.servers.len(), 3);
        let apps = plan["applications"].as_array().expect("applications");
        assert_eq!(apps.len(), 3);
        assert!(apps[0].get("dependsOn").is_none());
        assert_eq!(apps[2]["dependsOn"], json!(["link-00001"]));
        let text = plan.to_string();
        autopilot_core::plan::Plan::parse(&text).expect("a sound plan");
    }

    #[test]
    #[allow(clippy::zombie_processes, reason = "wait4 reaps it")]
    fn a_child_s_peak_memory_and_status_are_read_after_it_ends() {
        let child = Command::new("sh")
            .args(["-c", "exit 4"])
            .spawn()
            .expect("sh starts");
        let (status, usage) = wait_with_usage(child.id() as i32).expect("waited");
        assert!(libc::WIFEXITED(status));
        assert_eq!(libc::WEXITSTATUS(status), 4);
        assert!(usage.ru_maxrss > 0, "a process uses some memory");
    }
}
