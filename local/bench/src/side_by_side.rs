//! The project's job-creator beside what a user would write instead: a plain boto3
//! script (`local/bench/python/job_creator.py`: GetServers page by page, then one
//! CreateReplicationJob after another for each server without a job). Each runs as a
//! whole process against a fresh emulator holding the same catalog, and is timed from
//! spawn to being ready for its first call (start-up: the project's binary polls the
//! Runtime API with its clients made; the script has imported boto3 and made its
//! client) and to the end of its cycle, with its peak memory (VmHWM). boto3 is installed into `target/venvs/boto3`; botocore no longer
//! ships the retired SMS, so the script reads the official model through
//! `AWS_DATA_PATH`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use autopilot_local::{Faults, Scenario};

use crate::bench::{peak_rss_kib, Bench};
use crate::error::{MeasureError, Measured};
use crate::world::World;

/// The boto3 release the script runs with.
pub const BOTO3_REQUIREMENT: &str = "boto3==1.44.8";
/// Servers in the catalog both creators work through.
pub const SERVERS: usize = 1000;
/// Longest a creator may take over one cycle.
const CYCLE_LIMIT: Duration = Duration::from_secs(600);

/// One creator's cycle.
#[derive(Debug, Clone, Copy)]
pub struct Side {
    pub cycle: Duration,
    pub peak_rss_kib: Option<u64>,
    pub jobs_created: usize,
}

/// Both creators' cycles over one catalog at one SMS latency.
#[derive(Debug, Clone, Copy)]
pub struct Cycles {
    pub latency_ms: u64,
    pub project: Side,
    pub python: Side,
}

/// Everything the side-by-side measured: start-ups (no SMS call is made before a
/// creator is ready, so they are taken apart from the cycles, over many starts, as
/// machine noise calls for) and cycles.
#[derive(Debug, Clone)]
pub struct SideBySide {
    pub project_startups_ms: Vec<f64>,
    pub python_startups_ms: Vec<f64>,
    pub cycles: Vec<Cycles>,
}

impl Bench<'_> {
    /// The project's job-creator and the boto3 script: start-ups over `--starts` starts
    /// each, then a cycle each at no added latency and at the bench's SMS latency.
    pub async fn side_by_side(&self) -> Measured<SideBySide> {
        let python = tokio::task::spawn_blocking(boto3_python)
            .await
            .map_err(|e| MeasureError::Setup(format!("installing boto3: {e}")))??;
        let model = self.sms_model_path()?;
        let project_startups_ms = self.cold_starts("job-creator").await?.init_ms;
        let python_startups_ms = python_startups(&python, &model, self).await?;
        let mut cycles = Vec::new();
        for latency_ms in [0, self.args.latency_ms] {
            let project = self.project_side(latency_ms).await?;
            let python = python_side(&python, &model, latency_ms, self).await?;
            cycles.push(Cycles {
                latency_ms,
                project,
                python,
            });
        }
        Ok(SideBySide {
            project_startups_ms,
            python_startups_ms,
            cycles,
        })
    }

    /// `AWS_DATA_PATH` for botocore: a folder holding `sms/2016-10-24/` with the
    /// official model files.
    fn sms_model_path(&self) -> Measured<PathBuf> {
        let data = self.logs.path().join("botocore-data");
        let target = data.join("sms/2016-10-24");
        std::fs::create_dir_all(&target).map_err(MeasureError::io(&target))?;
        for file in [
            "service-2.json",
            "paginators-1.json",
            "endpoint-rule-set-1.json",
        ] {
            let from = self.args.sms_model.join(file);
            std::fs::copy(&from, target.join(file)).map_err(MeasureError::io(&from))?;
        }
        Ok(data)
    }

    async fn project_side(&self, latency_ms: u64) -> Measured<Side> {
        let world = ready_world(self, latency_ms).await?;
        let event = world.schedule(self.function("job-creator")?);
        // The cap the template allows at most, so that one cycle serves the catalog.
        let env = [("MAX_ACTIVE_JOBS".to_owned(), SERVERS.to_string())];
        let invocation = self.invoke_with(&world, "job-creator", event, &env).await;
        let jobs_created = jobs(&world);
        world.shutdown().await;
        let invocation = invocation?;
        Ok(Side {
            cycle: invocation.done,
            peak_rss_kib: invocation.peak_rss_kib,
            jobs_created,
        })
    }
}

/// A fresh world with the catalog imported and `latency_ms` on every SMS call.
async fn ready_world(bench: &Bench<'_>, latency_ms: u64) -> Measured<World> {
    let scenario = Scenario::generate(SERVERS, SERVERS / 20, 7);
    let world = World::start(scenario, &bench.wiring).await?;
    world.import_catalog()?;
    world.emulator.set_faults(Faults {
        latency_ms,
        ..Faults::default()
    });
    Ok(world)
}

/// Replication jobs in the world.
fn jobs(world: &World) -> usize {
    world.emulator.state().jobs.len()
}

/// The script's start-up, `--starts` times: spawn to its ready line, then killed.
async fn python_startups(python: &Path, model: &Path, bench: &Bench<'_>) -> Measured<Vec<f64>> {
    let world = ready_world(bench, 0).await?;
    let env = script_environment(&world, model);
    let (python, script, starts) = (python.to_owned(), script_path(), bench.args.starts);
    let started = tokio::task::spawn_blocking(move || -> Measured<Vec<f64>> {
        (0..starts)
            .map(|_| start_script(&python, &script, &env).map(|ms| ms.as_secs_f64() * 1000.0))
            .collect()
    })
    .await
    .map_err(|e| MeasureError::Setup(format!("the boto3 script: {e}")));
    world.shutdown().await;
    started?
}

/// Spawn to the script's ready line; the script is killed there.
pub(crate) fn start_script(
    python: &Path,
    script: &Path,
    env: &BTreeMap<&str, String>,
) -> Measured<Duration> {
    let mut running = RunningScript::start(python, script, env)?;
    let ready = running.line();
    let startup = running.spawned.elapsed();
    let _ = running.child.kill();
    let _ = running.child.wait();
    if ready != "ready" {
        return Err(MeasureError::Setup(format!(
            "the boto3 script printed {ready:?}, not ready"
        )));
    }
    Ok(startup)
}

/// The script started, its output read line by line.
pub(crate) struct RunningScript {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    spawned: Instant,
}

impl RunningScript {
    fn start(python: &Path, script: &Path, env: &BTreeMap<&str, String>) -> Measured<Self> {
        let spawned = Instant::now();
        let mut child = Command::new(python)
            .arg(script)
            .env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| MeasureError::Setup(format!("cannot start {}: {e}", python.display())))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Self {
            child,
            lines: BufReader::new(stdout).lines(),
            spawned,
        })
    }

    /// The next line the script printed; empty once it has ended.
    fn line(&mut self) -> String {
        self.lines.next().and_then(Result::ok).unwrap_or_default()
    }
}

/// What the script is started with: the AWS CLI's variables, pointed at `world`.
fn script_environment(world: &World, model: &Path) -> BTreeMap<&'static str, String> {
    [
        ("AWS_ENDPOINT_URL_SMS", world.emulator.sms_endpoint()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_DATA_PATH", model.display().to_string()),
    ]
    .into_iter()
    .collect()
}

async fn python_side(
    python: &Path,
    model: &Path,
    latency_ms: u64,
    bench: &Bench<'_>,
) -> Measured<Side> {
    let world = ready_world(bench, latency_ms).await?;
    let env = script_environment(&world, model);
    let script = script_path();
    let python = python.to_owned();
    let run = tokio::task::spawn_blocking(move || run_script(&python, &script, &env))
        .await
        .map_err(|e| MeasureError::Setup(format!("the boto3 script: {e}")));
    let jobs_created = jobs(&world);
    world.shutdown().await;
    let (cycle, peak_rss_kib) = run??;
    Ok(Side {
        cycle,
        peak_rss_kib,
        jobs_created,
    })
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/job_creator.py")
}

/// Runs the script to its "done" line (after its "ready" line): the cycle's length and
/// the process's VmHWM.
pub(crate) fn run_script(
    python: &Path,
    script: &Path,
    env: &BTreeMap<&str, String>,
) -> Measured<(Duration, Option<u64>)> {
    let mut running = RunningScript::start(python, script, env)?;
    let ready = running.line();
    let done = running.line();
    let cycle = running.spawned.elapsed();
    let peak = peak_rss_kib(running.child.id());
    // Closing its input lets the script exit.
    drop(running.child.stdin.take());
    let _ = running.child.wait();
    if ready != "ready" || !done.starts_with("done ") || cycle > CYCLE_LIMIT {
        return Err(MeasureError::Setup(format!(
            "the boto3 script printed {ready:?} and {done:?} (expected ready, then done) \
             or took over {CYCLE_LIMIT:?}"
        )));
    }
    Ok((cycle, peak))
}

/// `target/venvs/boto3` with exactly [`BOTO3_REQUIREMENT`], created once; its python.
pub(crate) fn boto3_python() -> Measured<PathBuf> {
    let dir = PathBuf::from("target/venvs/boto3");
    let python = dir.join("bin/python");
    let marker = dir.join("installed.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|text| text.trim() == BOTO3_REQUIREMENT) {
        return Ok(python);
    }
    let run = |command: &mut Command| -> Measured<()> {
        let status = command
            .status()
            .map_err(|e| MeasureError::Setup(format!("{command:?}: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(MeasureError::Setup(format!("{command:?} failed: {status}")))
        }
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    run(Command::new(dir.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        BOTO3_REQUIREMENT,
    ]))?;
    std::fs::write(&marker, BOTO3_REQUIREMENT).map_err(MeasureError::io(&marker))?;
    Ok(python)
}

/// Median of unsorted figures (the upper one of an even count).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The section of the table: both creators' figures and the ratios, each measured in
/// this run; the targets as (target, measured, met).
pub fn section(figures: &Measured<SideBySide>, out: &mut String) -> Vec<(String, String, bool)> {
    let _ = writeln!(
        out,
        "\n### 8. Side by side with a plain boto3 job-creator ({SERVERS} servers)\n\n\
         Both run as whole processes: the project's job-creator (release binary behind the Runtime \
         API, `MAX_ACTIVE_JOBS={SERVERS}`, `CREATE_CONCURRENCY` as the template sets it) and \
         `local/bench/python/job_creator.py` ({BOTO3_REQUIREMENT}, one call after another). \
         Start-up is spawn to being ready for the first call (the binary's first poll of the \
         Runtime API, its clients made; the script's ready line, boto3 imported and its client \
         made), over many starts; each cycle runs against a fresh emulator with the same generated \
         catalog, from spawn to the response (project) or to the script's done line."
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
        ("creator", "sms-autopilot"),
        (&figures.project_startups_ms, &figures.python_startups_ms),
        "start-up ≥ 20× the boto3 script's (medians)",
    )];
    let _ = writeln!(
        out,
        "\n| SMS latency | creator | whole cycle | peak RSS | jobs created |\n\
         | ---: | --- | ---: | ---: | ---: |"
    );
    for row in &figures.cycles {
        targets.extend(cycle_rows(row, out));
    }
    targets
}

/// The start-up table of a side by side (`who`: the column's heading and the project's
/// row), and its target: the medians' ratio at least 20.
pub(crate) fn startup_rows(
    out: &mut String,
    (heading, ours): (&str, &str),
    (project_ms, python_ms): (&[f64], &[f64]),
    target: &str,
) -> (String, String, bool) {
    let (project, python) = (median(project_ms), median(python_ms));
    let _ = writeln!(
        out,
        "\n| {heading} | starts | start-up, median |\n| --- | ---: | ---: |\n\
         | {ours} | {} | {project:.1} ms |\n| boto3 script | {} | {python:.1} ms |",
        project_ms.len(),
        python_ms.len()
    );
    let startup = python / project.max(f64::EPSILON);
    (target.to_owned(), format!("{startup:.1}×"), startup >= 20.0)
}

/// One latency's rows of the cycle table, and its targets.
fn cycle_rows(row: &Cycles, out: &mut String) -> Vec<(String, String, bool)> {
    for (name, side) in [
        ("sms-autopilot", &row.project),
        ("boto3 script", &row.python),
    ] {
        let _ = writeln!(
            out,
            "| {} ms | {name} | {:.2} s | {} | {} |",
            row.latency_ms,
            side.cycle.as_secs_f64(),
            side.peak_rss_kib
                .map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            side.jobs_created
        );
    }
    let ratio = |python: f64, project: f64| python / project.max(f64::EPSILON);
    let (p, r) = (&row.python, &row.project);
    let cycle = ratio(p.cycle.as_secs_f64(), r.cycle.as_secs_f64());
    let memory = match (p.peak_rss_kib, r.peak_rss_kib) {
        (Some(p), Some(r)) => ratio(p as f64, r as f64),
        _ => 0.0,
    };
    let at = format!("at {} ms of SMS latency", row.latency_ms);
    vec![
        (
            format!("whole cycle ≥ 5× faster, {at}"),
            format!("{cycle:.1}×"),
            cycle >= 5.0,
        ),
        (
            format!("peak memory ≥ 3× smaller, {at}"),
            format!("{memory:.1}×"),
            memory >= 3.0,
        ),
    ]
}
