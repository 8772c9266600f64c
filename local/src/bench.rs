//! `autopilot-local bench`: the benchmarks of issue 7, measured in one run and written
//! as one Markdown table — cold start, peak memory, package size, SMS calls per cycle
//! against their lower bound, wall time of 10,000-server sweeps under injected latency,
//! convergence latency of the wave, and criterion's estimates of the core decisions.
//! `scripts/bench.sh` builds what it needs and runs it.
//!
//! The functions run as their release binaries, started the way Lambda starts
//! `bootstrap`: with only Lambda's variables and the template's environment, against a
//! Lambda Runtime API served here on 127.0.0.1 ([`RuntimeApi`]), SMS and S3 served by
//! the emulator and EventBridge by the local bus. The timed sweeps run the same handlers
//! in this process, because the job creator's configuration caps `MAX_ACTIVE_JOBS` at
//! 1,000 and the sweep must create 10,000 jobs in one cycle.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use autopilot_core::config::{
    AppLauncherConfig, FunctionConfig, JobCreatorConfig, JobWatcherConfig,
};
use autopilot_core::model::AppLaunchStatus;
use autopilot_core::runtime::{Clock, Context};
use autopilot_core::trigger::{SCHEDULE_DETAIL_TYPE, SCHEDULE_SOURCE};
use autopilot_core::Clients;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::bus::LocalBus;
use crate::cli::CliError;
use crate::wave::{LogEntry, Wave, WaveOptions};
use crate::wiring::{FunctionWiring, Wiring};
use crate::{Emulator, EmulatorHandle, EmulatorOptions, Faults, Scenario};

/// The line before the generated section of BENCHMARKS.md.
pub const BEGIN_MARKER: &str =
    "<!-- bench:begin — written by `autopilot-local bench`; do not edit by hand -->";
/// The line after it.
pub const END_MARKER: &str = "<!-- bench:end -->";

/// The five functions, in the order of the tables.
pub const FUNCTIONS: [&str; 5] = [
    "catalog-import",
    "job-creator",
    "job-watcher",
    "template-generator",
    "app-launcher",
];

/// Issue 7's targets.
const INIT_TARGET_MS: f64 = 10.0;
const RSS_TARGET_MIB: f64 = 32.0;
const PACKAGE_TARGET_BYTES: u64 = 4 * 1024 * 1024;
const EFFICIENCY_TARGET: f64 = 0.8;
const LAMBDA_LIMIT_SECS: f64 = 900.0;

/// Largest page of every SMS list operation (the emulator's and the functions' maximum).
const PAGE: usize = 100;
/// Seed of the generated catalogs: same seed, same estate, same calls.
const SEED: u64 = 7;
/// Longest wait for one invocation of a function (a 10,000-server cycle included).
const INVOCATION_LIMIT: Duration = Duration::from_secs(600);

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";

/// Two servers behind one healthy connector, in one app: the cold-start world.
const SMALL_SCENARIO: &str = r#"
name: bench-cold-start
seed: 11
region: us-east-1
account: "123456789012"
template_bucket: sms-app-templates
timing: { catalog_import_secs: 60, run_start_delay_secs: 60, default_replication_secs: 600 }
connectors:
  - { vm_manager_name: vcenter-bench }
servers:
  - { vm_name: web-01, replication_secs: 600 }
  - { vm_name: db-01, replication_secs: 900 }
apps:
  - name: shop
    groups: [{ name: tier-1, servers: [web-01, db-01] }]
"#;

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Folder of the functions' release binaries (`cargo build --release -p <name>`).
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
    /// Folder of cargo-lambda's packages, `<dir>/<name>/bootstrap.zip`.
    #[arg(long, default_value = "target/lambda")]
    pub lambda_dir: PathBuf,
    /// Folder where `cargo bench --bench decisions` left criterion's estimates.
    #[arg(long, default_value = "target/criterion")]
    pub criterion_dir: PathBuf,
    /// Criterion estimates written before this Unix time are reported as stale.
    #[arg(long)]
    pub criterion_since: Option<i64>,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    pub starts: usize,
    /// Catalog sizes (servers) for peak memory and calls per cycle; apps = servers / 20.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    pub sizes: Vec<usize>,
    /// Servers of the timed sweeps.
    #[arg(long, default_value_t = 10_000)]
    pub scale_servers: usize,
    /// Apps of the timed sweeps.
    #[arg(long, default_value_t = 500)]
    pub scale_apps: usize,
    /// SMS latency injected during the timed sweeps, per call.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Leave out the timed sweeps (minutes of wall time).
    #[arg(long)]
    pub skip_scale: bool,
    /// The SAM template whose environment the functions get.
    #[arg(long, default_value = "infra/template.yaml")]
    pub template: PathBuf,
    /// Replace the section between the bench markers of this Markdown file.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Extra `NAME=VALUE` for every started function (experiments, e.g.
    /// `SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt`); named in the table.
    #[arg(long, value_parser = parse_env)]
    pub child_env: Vec<(String, String)>,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

/// A measurement that could not be taken, and why.
type Measured<T> = Result<T, String>;

/// `autopilot-local bench`.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    if args.starts == 0 || args.sizes.is_empty() || args.sizes.contains(&0) {
        return Err(CliError::Usage(
            "--starts and every --sizes value must be positive".into(),
        ));
    }
    let wiring = Wiring::load(&args.template).map_err(|e| CliError::Usage(e.to_string()))?;
    let timeouts = template_timeouts(&args.template);
    let bench = Bench {
        args: &args,
        wiring,
        logs: tempfile::tempdir().map_err(|source| CliError::Io {
            path: "temporary folder".into(),
            source,
        })?,
        runs: Mutex::new(0),
    };
    let machine = machine();
    let mut failures = Vec::new();
    let mut note = |what: &str, error: &String| {
        eprintln!("bench: {what}: {error}");
        failures.push(format!("{what}: {error}"));
    };

    eprintln!("bench: cold starts ({} per function)", bench.args.starts);
    let mut cold = Vec::new();
    for function in FUNCTIONS {
        let figures = bench.cold_starts(function).await;
        if let Err(error) = &figures {
            note(&format!("cold start of {function}"), error);
        }
        cold.push((function, figures));
    }

    let mut cycles = Vec::new();
    for &servers in &args.sizes {
        eprintln!("bench: one cycle of each function over {servers} servers");
        match bench.cycles(servers).await {
            Ok(rows) => cycles.push((servers, Ok(rows))),
            Err(error) => {
                note(&format!("cycles over {servers} servers"), &error);
                cycles.push((servers, Err(error)));
            }
        }
    }

    let timed = if args.skip_scale {
        Err("left out (--skip-scale)".to_owned())
    } else {
        eprintln!(
            "bench: timed sweeps over {} servers / {} apps at {} ms per SMS call",
            args.scale_servers, args.scale_apps, args.latency_ms
        );
        let timed = bench.timed_sweeps(&timeouts).await;
        if let Err(error) = &timed {
            note("timed sweeps", error);
        }
        timed
    };

    eprintln!("bench: convergence of the default wave");
    let convergence = convergence(&args.template).await;
    if let Err(error) = &convergence {
        note("convergence", error);
    }

    eprintln!("bench: packages");
    let packages = bench.packages();
    let criterion = criterion_estimates(&args.criterion_dir, args.criterion_since);

    let table = render(&Figures {
        machine: &machine,
        args: &args,
        cold: &cold,
        cycles: &cycles,
        timed: &timed,
        convergence: &convergence,
        packages: &packages,
        criterion: &criterion,
    });
    println!("{table}");
    if let Some(path) = &args.write {
        write_between_markers(path, &table).map_err(|source| CliError::Io {
            path: path.display().to_string(),
            source,
        })?;
        eprintln!("bench: table written into {}", path.display());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Io {
            path: "bench".into(),
            source: std::io::Error::other(format!(
                "{} measurement(s) failed: {}",
                failures.len(),
                failures.join("; ")
            )),
        })
    }
}

// ---- the Lambda Runtime API ---------------------------------------------------------

/// What a function reported to the Runtime API.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// POST invocation/{id}/response.
    Response { request_id: String, body: Value },
    /// POST invocation/{id}/error.
    InvocationError {
        request_id: String,
        error_type: Option<String>,
        body: Value,
    },
    /// POST init/error.
    InitError {
        error_type: Option<String>,
        body: Value,
    },
}

#[derive(Default)]
struct ApiState {
    queued: VecDeque<(String, Value)>,
    next_calls: Vec<Instant>,
    reports: Vec<(Instant, Report)>,
    unexpected: Vec<String>,
    issued: u64,
}

struct ApiShared {
    state: Mutex<ApiState>,
    /// An invocation was queued.
    queued: Notify,
    /// A poll or a report arrived.
    changed: Notify,
}

impl ApiShared {
    fn lock(&self) -> MutexGuard<'_, ApiState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The part of the Lambda Runtime API that `lambda_runtime` uses, on 127.0.0.1: GET
/// invocation/next long-polls until an invocation is queued and records when each poll
/// arrived; responses and errors are recorded with their arrival time.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<ApiShared>,
    task: tokio::task::JoinHandle<()>,
    /// Reports already handed out by [`RuntimeApi::report`].
    taken: usize,
}

impl RuntimeApi {
    /// Binds a free loopback port and serves until dropped.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(ApiShared {
            state: Mutex::new(ApiState::default()),
            queued: Notify::new(),
            changed: Notify::new(),
        });
        let task = tokio::spawn(serve_api(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            task,
            taken: 0,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues one invocation; returns its request id.
    pub fn invoke(&self, event: Value) -> String {
        let mut state = self.shared.lock();
        state.issued += 1;
        let request_id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            state.issued
        );
        state.queued.push_back((request_id.clone(), event));
        drop(state);
        self.shared.queued.notify_waiters();
        request_id
    }

    /// When each GET invocation/next arrived.
    pub fn next_calls(&self) -> Vec<Instant> {
        self.shared.lock().next_calls.clone()
    }

    /// Every report with its arrival time.
    pub fn reports(&self) -> Vec<(Instant, Report)> {
        self.shared.lock().reports.clone()
    }

    /// The next report not handed out yet, if one arrives within `limit`.
    pub async fn report(&mut self, limit: Duration) -> Option<Report> {
        let taken = self.taken;
        if !self.wait_for(limit, |_, reports| reports > taken).await {
            return None;
        }
        let report = self
            .shared
            .lock()
            .reports
            .get(taken)
            .map(|(_, r)| r.clone());
        self.taken += 1;
        report
    }

    /// Requests the API does not serve.
    pub fn unexpected(&self) -> Vec<String> {
        self.shared.lock().unexpected.clone()
    }

    /// Waits until `ready` holds for (next calls, reports), at most `limit`.
    pub async fn wait_for(&self, limit: Duration, ready: impl Fn(usize, usize) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            {
                let state = self.shared.lock();
                if ready(state.next_calls.len(), state.reports.len()) {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_api(listener: TcpListener, shared: Arc<ApiShared>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(answer(&shared, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

fn json_reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn answer(shared: &ApiShared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let arrived = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if method == Method::GET && path == NEXT_PATH {
        shared.lock().next_calls.push(arrived);
        shared.changed.notify_waiters();
        let (request_id, event) = loop {
            let queued = shared.queued.notified();
            if let Some(invocation) = shared.lock().queued.pop_front() {
                break invocation;
            }
            queued.await;
        };
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + INVOCATION_LIMIT.as_millis();
        let mut response = json_reply(StatusCode::OK, event);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", request_id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".to_owned(),
            ),
        ] {
            if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        return response;
    }
    let error_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            return json_reply(
                StatusCode::BAD_REQUEST,
                json!({ "errorMessage": e.to_string() }),
            )
        }
    };
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let invocation = path
        .strip_prefix(INVOCATION_PREFIX)
        .and_then(|rest| rest.split_once('/'));
    let report = match (method == Method::POST, invocation) {
        (true, Some((id, "response"))) => Some(Report::Response {
            request_id: id.to_owned(),
            body,
        }),
        (true, Some((id, "error"))) => Some(Report::InvocationError {
            request_id: id.to_owned(),
            error_type,
            body,
        }),
        (true, None) if path == INIT_ERROR_PATH => Some(Report::InitError { error_type, body }),
        _ => None,
    };
    match report {
        Some(report) => {
            shared.lock().reports.push((arrived, report));
            shared.changed.notify_waiters();
            json_reply(StatusCode::ACCEPTED, json!({ "status": "OK" }))
        }
        None => {
            shared.lock().unexpected.push(format!("{method} {path}"));
            json_reply(
                StatusCode::NOT_FOUND,
                json!({ "errorMessage": format!("{method} {path} is not served") }),
            )
        }
    }
}

// ---- function processes -------------------------------------------------------------

/// A started function binary; killed when dropped.
struct Process {
    child: std::process::Child,
    spawned: Instant,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Process {
    /// Starts `binary` with exactly `env` (nothing inherited), output into files.
    fn spawn(binary: &Path, env: &BTreeMap<String, String>, logs: &Path) -> Measured<Self> {
        let stdout = logs.with_extension("stdout");
        let stderr = logs.with_extension("stderr");
        let open = |path: &Path| {
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let (out, err) = (open(&stdout)?, open(&stderr)?);
        let spawned = Instant::now();
        let child = Command::new(binary)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        Ok(Self {
            child,
            spawned,
            stdout,
            stderr,
        })
    }

    /// Peak resident set size so far (VmHWM), in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The last lines the process wrote, for an error message.
    fn tail(&self) -> String {
        let read = |path: &Path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join("\n  ")
        };
        format!(
            "stdout:\n  {}\nstderr:\n  {}",
            read(&self.stdout),
            read(&self.stderr)
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One invocation of a function binary.
struct Invocation {
    /// Spawn to the first GET invocation/next.
    init: Duration,
    /// Spawn to the response of the first invocation.
    done: Duration,
    /// VmHWM once the response was posted and the runtime polled again.
    peak_rss_kib: Option<u64>,
}

// ---- the local world ----------------------------------------------------------------

/// The emulator (SMS + S3) and the local event bus.
struct World {
    emulator: EmulatorHandle,
    bus: LocalBus,
    import_secs: u64,
    artifacts_bucket: String,
}

impl World {
    /// Starts `scenario` with its clock at the wall clock (the binaries stamp seed times
    /// with the wall clock) and the template's artifacts bucket.
    async fn start(mut scenario: Scenario, wiring: &Wiring) -> Measured<Self> {
        let now = Utc::now();
        scenario.start_time = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let import_secs = scenario.timing.catalog_import_secs;
        let seed = scenario.seed;
        let emulator = Emulator::start(scenario, EmulatorOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        emulator
            .create_bucket(&wiring.artifacts_bucket)
            .map_err(|e| e.to_string())?;
        let clock = emulator.clock();
        let bus = LocalBus::start(0, Arc::new(move || clock.now()), seed)
            .await
            .map_err(|e| format!("local bus: {e}"))?;
        Ok(Self {
            emulator,
            bus,
            import_secs,
            artifacts_bucket: wiring.artifacts_bucket.clone(),
        })
    }

    /// Ids of the apps of `scope` in `listed` (ListApps), split into those whose current
    /// version the shared index of remembered apps (`autopilot_core::app_cache`) holds and
    /// those it does not, worked out by the bench itself from the local S3's file.
    fn remembered_apps(
        &self,
        scope: AppScope,
        listed: &[Value],
    ) -> Measured<(BTreeSet<String>, BTreeSet<String>)> {
        let path = self
            .emulator
            .s3_root()
            .join(&self.artifacts_bucket)
            .join(autopilot_core::app_cache::INDEX_KEY);
        let index: Value = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Err(_) => json!({ "apps": {} }),
        };
        let millis = |text: &Value| {
            text.as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
        };
        let (mut remembered, mut unremembered) = (BTreeSet::new(), BTreeSet::new());
        for app in listed {
            if !scope.contains(app) {
                continue;
            }
            let id = app["appId"].as_str().unwrap_or_default().to_owned();
            let listed_ms = app["lastModified"]
                .as_f64()
                .map(|s| (s * 1000.0).round() as i64);
            let version = &index["apps"][&id]["version"];
            let known = listed_ms.is_some()
                && millis(&version["lastModified"]) == listed_ms
                && version["totalServers"] == app["totalServers"]
                && version["totalServerGroups"] == app["totalServerGroups"];
            if known {
                remembered.insert(id);
            } else {
                unremembered.insert(id);
            }
        }
        Ok((remembered, unremembered))
    }

    /// Ids of the apps in `listed` (ListApps) whose launch has begun or finished.
    fn launched_apps(listed: &[Value]) -> BTreeSet<String> {
        listed
            .iter()
            .filter(|app| {
                let status =
                    AppLaunchStatus::from_wire(app["launchStatus"].as_str().unwrap_or_default());
                status.is_launched()
                    || matches!(
                        status,
                        AppLaunchStatus::LaunchPending | AppLaunchStatus::LaunchInProgress
                    )
            })
            .filter_map(|app| app["appId"].as_str().map(str::to_owned))
            .collect()
    }

    async fn shutdown(self) {
        self.bus.shutdown().await;
        self.emulator.shutdown().await;
    }

    /// One SMS call straight into the emulator: no HTTP, no faults, not counted.
    fn sms(&self, operation: &str, input: Value) -> Measured<Value> {
        self.emulator
            .call(operation, &input)
            .map_err(|e| format!("{operation}: {e:?}"))
    }

    /// Every item of a list operation, page by page, uncounted.
    fn list(&self, operation: &str, key: &str) -> Measured<Vec<Value>> {
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
        Err(format!("{operation} kept returning a nextToken"))
    }

    /// Imports the catalog and waits (simulated) until it is AVAILABLE.
    fn import_catalog(&self) -> Measured<()> {
        self.sms("ImportServerCatalog", json!({}))?;
        self.emulator
            .advance(Duration::from_secs(self.import_secs + 1));
        Ok(())
    }

    /// Gives every catalog server without a job one (servers SMS refuses are left).
    fn create_missing_jobs(&self) -> Measured<usize> {
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
    fn replicate_first_app(&self) -> Measured<(String, String)> {
        self.import_catalog()?;
        let apps = self.list("ListApps", "apps")?;
        let app = apps.first().ok_or("the scenario has no app")?;
        let id = app["appId"].as_str().unwrap_or_default().to_owned();
        let name = app["name"].as_str().unwrap_or_default().to_owned();
        self.sms("StartAppReplication", json!({ "appId": id }))?;
        self.emulator.advance(Duration::from_secs(3 * 3600));
        Ok((id, name))
    }

    /// What Lambda and the template give `function`, pointed at this world.
    fn environment(&self, function: &FunctionWiring, api: SocketAddr) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = function
            .environment
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for (name, value) in [
            ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
            (
                "AWS_LAMBDA_FUNCTION_NAME",
                format!("sms-autopilot-{}", function.binary),
            ),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", function.binary),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "AKIDLOCALBENCH".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local-bench-secret".to_owned()),
            ("AWS_SESSION_TOKEN", "local-bench-token".to_owned()),
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials".to_owned(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_ENDPOINT_URL_SMS", self.emulator.sms_endpoint()),
            ("AWS_ENDPOINT_URL_S3", self.emulator.s3_endpoint()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", self.bus.endpoint()),
        ] {
            env.insert(name.to_owned(), value);
        }
        env
    }

    /// SDK clients for handlers run in this process, retrying as the deployed ones do.
    fn clients(&self, max_attempts: u32) -> Clients {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
            .credentials_provider(aws_sdk_sms::config::SharedCredentialsProvider::new(
                aws_sdk_sms::config::Credentials::new("bench", "bench", None, None, "bench"),
            ))
            .build();
        let sms = aws_sdk_sms::config::Builder::from(&sdk)
            .endpoint_url(self.emulator.sms_endpoint())
            .build();
        let events = aws_sdk_eventbridge::config::Builder::from(&sdk)
            .endpoint_url(self.bus.endpoint())
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .endpoint_url(self.emulator.s3_endpoint())
            .force_path_style(true)
            .build();
        Clients {
            sms: aws_sdk_sms::Client::from_conf(sms),
            events: aws_sdk_eventbridge::Client::from_conf(events),
            s3: aws_sdk_s3::Client::from_conf(s3),
        }
    }

    fn clock(&self) -> Clock {
        let clock = self.emulator.clock();
        Arc::new(move || clock.now())
    }

    fn event(&self, source: &str, detail_type: &str, detail: Value) -> Value {
        json!({
            "version": "0",
            "id": format!("bench-{}", self.emulator.now().timestamp_millis()),
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": self.emulator.now().to_rfc3339_opts(SecondsFormat::Secs, true),
            "region": "us-east-1",
            "resources": [],
            "detail": detail
        })
    }

    fn schedule(&self) -> Value {
        self.event(SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE, json!({}))
    }

    fn app_ready(&self, app_id: &str, name: &str, servers: usize) -> Value {
        self.event(
            "sms-autopilot",
            "AppReady",
            json!({ "version": 1, "dryRun": false, "appId": app_id, "appName": name, "servers": servers }),
        )
    }
}

// ---- the measurements ---------------------------------------------------------------

struct Bench<'a> {
    args: &'a BenchArgs,
    wiring: Wiring,
    logs: tempfile::TempDir,
    runs: Mutex<u64>,
}

/// Cold-start figures of one function.
struct ColdStart {
    init_ms: Vec<f64>,
    done_ms: Vec<f64>,
    peak_rss_kib: Vec<u64>,
}

/// Which apps a function must know the members of.
#[derive(Debug, Clone, Copy)]
enum AppScope {
    /// The launcher: apps whose listed launch status allows a launch.
    Launchable,
    /// The template generator on a run completion: launched apps.
    Launched,
}

impl AppScope {
    fn contains(self, listed: &Value) -> bool {
        let status =
            AppLaunchStatus::from_wire(listed["launchStatus"].as_str().unwrap_or_default());
        match self {
            Self::Launchable => status.is_launchable(),
            Self::Launched => status.is_launched(),
        }
    }
}

/// One function's cycle over a generated catalog.
struct Cycle {
    label: String,
    peak_rss_kib: Option<u64>,
    calls: BTreeMap<String, u64>,
    /// (list operation, items, pages the bound allows).
    lists: Vec<(String, usize, usize)>,
    /// GetApp calls the bound allows: apps in scope whose current version no earlier
    /// invocation has read and shared, plus remembered apps read again before LaunchApp.
    first_reads: u64,
    rereads_before_launch: u64,
    events: u64,
}

impl Cycle {
    fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Pages of the list operations the function must do, plus one GetApp per app
    /// version not read before, plus one call per action.
    fn bound(&self) -> u64 {
        let pages: usize = self.lists.iter().map(|(_, _, pages)| pages).sum();
        pages as u64 + self.first_reads + self.rereads_before_launch + self.actions()
    }

    fn actions(&self) -> u64 {
        self.calls
            .iter()
            .filter(|(op, _)| is_action(op))
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls above the bound, per operation.
    fn excess(&self) -> Vec<(String, i64)> {
        let mut excess = Vec::new();
        for (op, &n) in &self.calls {
            if is_action(op) {
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
            let over = n as i64 - allowed as i64;
            if over != 0 {
                excess.push((op.clone(), over));
            }
        }
        excess
    }
}

/// A mutating SMS operation: one call per action.
fn is_action(operation: &str) -> bool {
    !(operation.starts_with("Get") || operation.starts_with("List"))
}

fn pages(items: usize) -> usize {
    items.div_ceil(PAGE).max(1)
}

impl Bench<'_> {
    fn function(&self, name: &str) -> Measured<&FunctionWiring> {
        self.wiring
            .functions
            .iter()
            .find(|f| f.binary == name)
            .ok_or_else(|| format!("{name} is not in {}", self.args.template.display()))
    }

    fn binary(&self, name: &str) -> Measured<PathBuf> {
        let path = self.args.bin_dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{} is missing: run `cargo build --release -p {name}` (scripts/bench.sh does)",
                path.display()
            ))
        }
    }

    /// Starts `function`'s binary in `world`, invokes it once with `event`, and reads
    /// its peak RSS once it polls for the next invocation.
    async fn invoke(&self, world: &World, function: &str, event: Value) -> Measured<Invocation> {
        let binary = self.binary(function)?;
        let wiring = self.function(function)?;
        let api = RuntimeApi::start()
            .await
            .map_err(|e| format!("Runtime API: {e}"))?;
        let request_id = api.invoke(event);
        let mut env = world.environment(wiring, api.addr());
        env.extend(self.args.child_env.iter().cloned());
        let run = {
            let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
            *runs += 1;
            *runs
        };
        let process = Process::spawn(
            &binary,
            &env,
            &self.logs.path().join(format!("{function}-{run}")),
        )?;
        if !api
            .wait_for(INVOCATION_LIMIT, |_, reports| reports > 0)
            .await
        {
            return Err(format!(
                "{function} did not answer within {INVOCATION_LIMIT:?}\n{}",
                process.tail()
            ));
        }
        // The runtime polls again once the response is posted: the invocation is over.
        api.wait_for(Duration::from_secs(5), |next, _| next >= 2)
            .await;
        let peak_rss_kib = process.peak_rss_kib();
        let spawned = process.spawned;
        drop(process);
        let next = api.next_calls();
        let (answered_at, report) = api.reports().into_iter().next().ok_or("no report")?;
        let summary = match report {
            Report::Response {
                request_id: answered,
                body,
            } if answered == request_id && body.is_object() => body,
            other => return Err(format!("{function}: expected a summary, got {other:?}")),
        };
        tracing::debug!(%function, %summary, "invocation complete");
        if !api.unexpected().is_empty() {
            return Err(format!("{function} called {:?}", api.unexpected()));
        }
        let first_poll = next.first().ok_or("never polled invocation/next")?;
        Ok(Invocation {
            init: first_poll.saturating_duration_since(spawned),
            done: answered_at.saturating_duration_since(spawned),
            peak_rss_kib,
        })
    }

    /// `starts` cold starts of `function`, each in a fresh small world so every first
    /// invocation does the same work.
    async fn cold_starts(&self, function: &str) -> Measured<ColdStart> {
        let mut figures = ColdStart {
            init_ms: Vec::new(),
            done_ms: Vec::new(),
            peak_rss_kib: Vec::new(),
        };
        for _ in 0..self.args.starts {
            let scenario = Scenario::from_text(SMALL_SCENARIO).map_err(|e| e.to_string())?;
            let world = World::start(scenario, &self.wiring).await?;
            let event = match function {
                "catalog-import" => world.schedule(),
                "job-creator" => {
                    world.import_catalog()?;
                    world.schedule()
                }
                "template-generator" => {
                    let (id, name) = world.replicate_first_app()?;
                    world.app_ready(&id, &name, 2)
                }
                _ => {
                    world.replicate_first_app()?;
                    world.schedule()
                }
            };
            let invocation = self.invoke(&world, function, event).await;
            world.shutdown().await;
            let invocation = invocation?;
            figures.init_ms.push(millis(invocation.init));
            figures.done_ms.push(millis(invocation.done));
            figures.peak_rss_kib.extend(invocation.peak_rss_kib);
        }
        Ok(figures)
    }

    /// One cycle of every function over a generated catalog of `servers` servers and
    /// servers / 20 apps, played in wave order so each function has its work: import,
    /// job creation, a watcher sweep over a job per server, a launcher sweep, then
    /// template generation for a ready app and for a run of a launched app.
    async fn cycles(&self, servers: usize) -> Measured<Vec<Cycle>> {
        let apps = (servers / 20).max(1);
        let world = World::start(Scenario::generate(servers, apps, SEED), &self.wiring).await?;
        let result = self.cycles_in(&world).await;
        world.shutdown().await;
        result
    }

    async fn cycles_in(&self, world: &World) -> Measured<Vec<Cycle>> {
        const CONNECTORS: (&str, &str) = ("GetConnectors", "connectorList");
        const SERVERS: (&str, &str) = ("GetServers", "serverList");
        const JOBS: (&str, &str) = ("GetReplicationJobs", "replicationJobList");
        const APPS: (&str, &str) = ("ListApps", "apps");
        let mut cycles = Vec::new();
        // Every generated server has appeared after 6 h 10 min.
        world.emulator.advance(Duration::from_secs(7 * 3600));
        cycles.push(
            self.cycle(
                world,
                "catalog-import",
                "schedule",
                world.schedule(),
                &[CONNECTORS],
            )
            .await?,
        );
        world
            .emulator
            .advance(Duration::from_secs(world.import_secs + 1));
        cycles.push(
            self.cycle(
                world,
                "job-creator",
                "schedule",
                world.schedule(),
                &[SERVERS],
            )
            .await?,
        );
        world.create_missing_jobs()?;
        // Runs take 15-90 min; failing ones reach FAILED / PAUSED_ON_FAILURE meanwhile.
        world.emulator.advance(Duration::from_secs(150 * 60));
        cycles.push(
            self.cycle(world, "job-watcher", "schedule", world.schedule(), &[JOBS])
                .await?,
        );
        cycles.push(
            self.cycle(
                world,
                "app-launcher",
                "schedule",
                world.schedule(),
                &[APPS, JOBS],
            )
            .await?,
        );
        // The next tick, from another cold start: the apps still waiting are the ones
        // the first sweep read.
        world.emulator.advance(Duration::from_secs(60));
        cycles.push(
            self.cycle(
                world,
                "app-launcher",
                "schedule, next sweep",
                world.schedule(),
                &[APPS, JOBS],
            )
            .await?,
        );
        // LaunchApp: pending 1 min, launching 10 min.
        world.emulator.advance(Duration::from_secs(12 * 60));
        let listed = world.list("ListApps", "apps")?;
        let state = world.emulator.state();
        let replicated: std::collections::BTreeSet<&String> = state
            .jobs
            .iter()
            .filter(|j| j.latest_ami.is_some())
            .map(|j| &j.server_id)
            .collect();
        let ready = state
            .apps
            .iter()
            .find(|a| a.server_ids().all(|s| replicated.contains(s)))
            .ok_or("no app has every member replicated")?;
        let event = world.app_ready(&ready.id, &ready.name, ready.server_ids().count());
        cycles.push(
            self.cycle(world, "template-generator", "AppReady", event, &[])
                .await?,
        );
        let mut launched = state
            .apps
            .iter()
            .filter(|a| a.launch_status.as_str() == "LAUNCHED");
        let run_completed = |app: &crate::sms::App| -> Measured<Value> {
            let member = app.server_ids().next().ok_or("an empty app")?;
            let job = state
                .jobs
                .iter()
                .find(|j| &j.server_id == member)
                .ok_or("a member without a job")?;
            let run = job
                .runs
                .iter()
                .rev()
                .find(|r| r.ami_id.is_some())
                .ok_or("a member without a completed run")?;
            Ok(world.event(
                "sms-autopilot",
                "ReplicationRunCompleted",
                json!({
                    "version": 1, "dryRun": false, "replicationJobId": job.id,
                    "replicationRunId": run.id, "serverId": member, "amiId": run.ami_id
                }),
            ))
        };
        let first = launched
            .next()
            .ok_or_else(|| format!("none of {} apps was launched", listed.len()))?;
        cycles.push(
            self.cycle(
                world,
                "template-generator",
                "ReplicationRunCompleted",
                run_completed(first)?,
                &[APPS],
            )
            .await?,
        );
        // Another member's run, in another cold start: the launched apps are known now.
        let second = launched.next().unwrap_or(first);
        cycles.push(
            self.cycle(
                world,
                "template-generator",
                "ReplicationRunCompleted, next event",
                run_completed(second)?,
                &[APPS],
            )
            .await?,
        );
        Ok(cycles)
    }

    async fn cycle(
        &self,
        world: &World,
        function: &str,
        trigger: &str,
        event: Value,
        lists: &[(&str, &str)],
    ) -> Measured<Cycle> {
        let scope = match (function, trigger) {
            ("app-launcher", _) => Some(AppScope::Launchable),
            ("template-generator", t) if t.starts_with("ReplicationRunCompleted") => {
                Some(AppScope::Launched)
            }
            _ => None,
        };
        let apps_before = world.list("ListApps", "apps")?;
        let (remembered, unremembered) = match scope {
            Some(scope) => world.remembered_apps(scope, &apps_before)?,
            None => Default::default(),
        };
        let launched_before = World::launched_apps(&apps_before);
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
        let launched_now: BTreeSet<String> = World::launched_apps(&world.list("ListApps", "apps")?)
            .difference(&launched_before)
            .cloned()
            .collect();
        let events = world.bus.counts().0 - accepted;
        world.bus.drain();
        Ok(Cycle {
            label: format!("{function} ({trigger})"),
            peak_rss_kib: invocation.peak_rss_kib,
            calls,
            lists: counted,
            first_reads: unremembered.len() as u64,
            rereads_before_launch: launched_now.intersection(&remembered).count() as u64,
            events,
        })
    }

    /// The job creator's, the watcher's and the launcher's sweeps at scale with SMS
    /// latency, run in this process with the template's configuration (concurrency) and
    /// the job creator's cap raised to the catalog size.
    async fn timed_sweeps(&self, timeouts: &BTreeMap<String, u64>) -> Measured<Vec<Timed>> {
        let mut scenario = Scenario::generate(self.args.scale_servers, self.args.scale_apps, SEED);
        // SMS's default quota of 50 live jobs would refuse most of the 10,000.
        scenario.limits.max_concurrent_jobs = self.args.scale_servers.max(50);
        let world = World::start(scenario, &self.wiring).await?;
        let result = self.timed_in(&world, timeouts).await;
        world.shutdown().await;
        result
    }

    async fn timed_in(
        &self,
        world: &World,
        timeouts: &BTreeMap<String, u64>,
    ) -> Measured<Vec<Timed>> {
        let latency = Faults {
            latency_ms: self.args.latency_ms,
            ..Faults::default()
        };
        let lookup = |function: &str, overrides: &[(&str, String)]| {
            let wiring = self.function(function).cloned();
            let overrides: BTreeMap<String, String> = overrides
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            move |name: &str| {
                overrides.get(name).cloned().or_else(|| {
                    wiring
                        .as_ref()
                        .ok()
                        .and_then(|w| w.environment.get(name).cloned())
                })
            }
        };
        world.emulator.advance(Duration::from_secs(7 * 3600));
        world.import_catalog()?;
        let mut rows = Vec::new();

        // job-creator: the cap the configuration accepts is 1,000; the sweep is meant
        // to create every job at once, so the parsed policy's cap is raised.
        let mut creator = JobCreatorConfig::from_lookup(lookup(
            "job-creator",
            &[("MAX_ACTIVE_JOBS", "1000".to_owned())],
        ))
        .map_err(config_error("job-creator"))?;
        creator.policy.max_active_jobs = self.args.scale_servers;
        let concurrency = creator.create_concurrency;
        let clients = world.clients(creator.common.max_attempts);
        let context = Arc::new(Context::<JobCreatorConfig>::new(
            creator,
            clients,
            world.clock(),
        ));
        let items = world.list("GetServers", "serverList")?.len();
        let timed = time_handler(world, &latency, || {
            job_creator::handle(world.schedule(), Arc::clone(&context))
        })
        .await?;
        rows.push(Timed::new(
            "job-creator",
            format!("{items} servers, {} jobs created", timed.summary["created"]),
            (items, "servers"),
            timed,
            &["CreateReplicationJob"],
            concurrency,
            self.args.latency_ms,
            timeouts,
        ));

        world.emulator.advance(Duration::from_secs(150 * 60));
        let watcher = JobWatcherConfig::from_lookup(lookup("job-watcher", &[]))
            .map_err(config_error("job-watcher"))?;
        let clients = world.clients(watcher.common.max_attempts);
        let context = Arc::new(Context::<JobWatcherConfig>::new(
            watcher,
            clients,
            world.clock(),
        ));
        let items = world
            .list("GetReplicationJobs", "replicationJobList")?
            .len();
        let timed = time_handler(world, &latency, || {
            job_watcher::handle(world.schedule(), Arc::clone(&context))
        })
        .await?;
        rows.push(Timed::new(
            "job-watcher",
            format!(
                "{items} jobs, {} remediations",
                timed.summary["remediationsStarted"]
            ),
            (items, "jobs"),
            timed,
            &["StartOnDemandReplicationRun"],
            job_watcher::REMEDIATIONS_IN_FLIGHT as u32,
            self.args.latency_ms,
            timeouts,
        ));

        let launcher = AppLauncherConfig::from_lookup(lookup("app-launcher", &[]))
            .map_err(config_error("app-launcher"))?;
        let concurrency = launcher.app_concurrency;
        let clients = world.clients(launcher.common.max_attempts);
        let context = Arc::new(app_launcher::LauncherContext::new(
            launcher,
            clients,
            world.clock(),
        ));
        let apps = world.list("ListApps", "apps")?.len();
        let timed = time_handler(world, &latency, || {
            app_launcher::handle(world.schedule(), Arc::clone(&context))
        })
        .await?;
        rows.push(Timed::new(
            "app-launcher",
            format!(
                "{items} jobs / {apps} apps, {} launched",
                timed.summary["launched"]
            ),
            (apps, "apps"),
            timed,
            &["GetApp", "LaunchApp"],
            concurrency,
            self.args.latency_ms,
            timeouts,
        ));
        Ok(rows)
    }

    /// cargo-lambda's zips when present, and the x86_64 release binaries zipped here.
    fn packages(&self) -> Vec<Package> {
        let mut packages = Vec::new();
        for function in FUNCTIONS {
            let zip = self.args.lambda_dir.join(function).join("bootstrap.zip");
            if zip.is_file() {
                packages.push(inspect_zip(function, "cargo-lambda", &zip));
            }
            let zipped = self.binary(function).and_then(|binary| {
                let folder = self.logs.path().join(format!("package-{function}"));
                std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
                let bootstrap = folder.join("bootstrap");
                std::fs::copy(&binary, &bootstrap).map_err(|e| e.to_string())?;
                let zip = folder.join("bootstrap.zip");
                let status = Command::new("zip")
                    .args(["-q", "-9", "-j"])
                    .arg(&zip)
                    .arg(&bootstrap)
                    .status()
                    .map_err(|e| format!("cannot run zip: {e}"))?;
                if status.success() {
                    Ok(zip)
                } else {
                    Err(format!("zip failed ({status})"))
                }
            });
            packages.push(match zipped {
                Ok(zip) => inspect_zip(function, "cargo build --release, zip -9", &zip),
                Err(error) => Package {
                    function,
                    source: "cargo build --release, zip -9",
                    figures: Err(error),
                },
            });
        }
        packages
    }
}

fn config_error(function: &'static str) -> impl Fn(autopilot_core::config::ConfigErrors) -> String {
    move |e| format!("{function}: {e}")
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A handler run with latency on, its calls and wall time.
struct Run {
    wall: Duration,
    calls: BTreeMap<String, u64>,
    summary: Value,
}

async fn time_handler<S, F>(
    world: &World,
    latency: &Faults,
    handler: impl FnOnce() -> F,
) -> Measured<Run>
where
    S: serde::Serialize,
    F: std::future::Future<Output = Result<S, autopilot_core::AutopilotError>>,
{
    world.emulator.reset_call_counts();
    world.emulator.set_faults(latency.clone());
    let started = Instant::now();
    let outcome = handler().await;
    let wall = started.elapsed();
    world.emulator.set_faults(Faults::default());
    world.bus.drain();
    let summary =
        serde_json::to_value(outcome.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    Ok(Run {
        wall,
        calls: world.emulator.call_counts(),
        summary,
    })
}

/// One timed sweep against its ideal.
struct Timed {
    function: &'static str,
    work: String,
    items: usize,
    /// What `items` counts.
    unit: &'static str,
    /// Calls that follow each other (pages of a sweep).
    sequential: u64,
    /// Calls fanned out `concurrency` at a time.
    parallel: u64,
    concurrency: u32,
    latency_ms: u64,
    wall: Duration,
    timeout_secs: Option<u64>,
}

impl Timed {
    /// Splits the calls of `run`: those of `fanned_out` run `concurrency` at a time, all
    /// others one after the other.
    #[allow(clippy::too_many_arguments)]
    fn new(
        function: &'static str,
        work: String,
        (items, unit): (usize, &'static str),
        run: Run,
        fanned_out: &[&str],
        concurrency: u32,
        latency_ms: u64,
        timeouts: &BTreeMap<String, u64>,
    ) -> Self {
        let (mut sequential, mut parallel) = (0, 0);
        for (op, n) in &run.calls {
            if fanned_out.contains(&op.as_str()) {
                parallel += n;
            } else {
                sequential += n;
            }
        }
        Self {
            function,
            work,
            items,
            unit,
            sequential,
            parallel,
            concurrency: concurrency.max(1),
            latency_ms,
            wall: run.wall,
            timeout_secs: timeouts.get(function).copied(),
        }
    }

    /// Every call waits the latency and nothing else costs time.
    fn ideal(&self) -> Duration {
        let waits = self.sequential as f64 + self.parallel as f64 / f64::from(self.concurrency);
        Duration::from_secs_f64(waits * self.latency_ms as f64 / 1000.0)
    }

    fn efficiency(&self) -> f64 {
        self.ideal().as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// Items at which the sweep would take the 15-minute limit, scaling linearly.
    fn items_at_limit(&self) -> f64 {
        self.items as f64 * LAMBDA_LIMIT_SECS / self.wall.as_secs_f64().max(1e-9)
    }
}

// ---- packages -----------------------------------------------------------------------

/// One deployment package.
struct Package {
    function: &'static str,
    source: &'static str,
    figures: Measured<PackageFigures>,
}

struct PackageFigures {
    arch: String,
    zip_bytes: u64,
    bootstrap_bytes: u64,
}

/// Size of `zip`, and the architecture and size of the `bootstrap` inside it.
fn inspect_zip(function: &'static str, source: &'static str, zip: &Path) -> Package {
    let figures = (|| {
        let zip_bytes = std::fs::metadata(zip)
            .map_err(|e| format!("{}: {e}", zip.display()))?
            .len();
        let output = Command::new("unzip")
            .arg("-p")
            .arg(zip)
            .arg("bootstrap")
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run unzip: {e}"))?;
        if !output.status.success() {
            return Err(format!("unzip -p {} bootstrap failed", zip.display()));
        }
        Ok(PackageFigures {
            arch: elf_machine(&output.stdout),
            zip_bytes,
            bootstrap_bytes: output.stdout.len() as u64,
        })
    })();
    Package {
        function,
        source,
        figures,
    }
}

/// The architecture an ELF header names.
fn elf_machine(bytes: &[u8]) -> String {
    if bytes.len() < 20 || !bytes.starts_with(b"\x7fELF") {
        return "not an ELF executable".into();
    }
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => "x86_64".into(),
        0xb7 => "arm64".into(),
        other => format!("ELF machine {other:#x}"),
    }
}

// ---- convergence --------------------------------------------------------------------

/// When an app became launchable and when it was launched, in simulated time.
struct Convergence {
    app: String,
    members: usize,
    ready_at: Option<DateTime<Utc>>,
    launched_at: Option<DateTime<Utc>>,
    launched_by: Option<String>,
    held_by: Option<String>,
}

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Plays the default wave and reads, per app, the time of its last member's first
/// completed run (the `aws.sms` event's own time) and of its `AppLaunched` event, and
/// which invocation launched it.
async fn convergence(template: &Path) -> Measured<Vec<Convergence>> {
    let wave = Wave::start(WaveOptions {
        scenario: Scenario::default_scenario(),
        template: template.to_path_buf(),
        until: Duration::from_secs(3 * 86_400),
        dry_run: false,
        chaos: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    let apps: Vec<(String, String, Vec<String>)> = wave
        .emulator()
        .state()
        .apps
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                a.name.clone(),
                a.server_ids().cloned().collect(),
            )
        })
        .collect();
    let report = wave.play(|_| {}).await.map_err(|e| e.to_string())?;

    let mut server_of_job: BTreeMap<String, String> = BTreeMap::new();
    let mut completions: Vec<(String, DateTime<Utc>)> = Vec::new();
    for entry in &report.log {
        let LogEntry::Event { event, .. } = entry else {
            continue;
        };
        let detail = &event["detail"];
        if event["source"] == "aws.sms" {
            if detail["state"] == "COMPLETED" && detail["ami-id"].is_string() {
                if let (Some(job), Some(at)) = (
                    detail["replication-job-id"].as_str(),
                    parse_time(&event["time"]),
                ) {
                    completions.push((job.to_owned(), at));
                }
            }
        } else if let (Some(job), Some(server)) = (
            detail["replicationJobId"].as_str(),
            detail["serverId"].as_str(),
        ) {
            server_of_job.insert(job.to_owned(), server.to_owned());
        }
    }
    let mut first_completed: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for (job, at) in &completions {
        if let Some(server) = server_of_job.get(job) {
            let first = first_completed.entry(server.as_str()).or_insert(*at);
            *first = (*first).min(*at);
        }
    }
    let mut rows = Vec::new();
    for (id, name, members) in apps {
        let ready_at = members
            .iter()
            .map(|m| first_completed.get(m.as_str()).copied())
            .collect::<Option<Vec<_>>>()
            .and_then(|times| times.into_iter().max());
        let launch = report.log.iter().position(|entry| {
            matches!(entry, LogEntry::Event { event, .. }
                if event["detail-type"] == "AppLaunched" && event["detail"]["appId"] == id.as_str())
        });
        let launched_at = launch.and_then(|i| match &report.log[i] {
            LogEntry::Event { time, .. } => parse_time(&json!(time)),
            LogEntry::Invocation { .. } => None,
        });
        let launched_by = launch.and_then(|i| {
            report.log[..i].iter().rev().find_map(|entry| match entry {
                LogEntry::Invocation {
                    function,
                    trigger,
                    summary,
                    ..
                } if function == "app-launcher"
                    && summary["launched"].as_u64().unwrap_or(0) > 0 =>
                {
                    Some(trigger.clone())
                }
                _ => None,
            })
        });
        let held_by = report
            .apps
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| a.held_by.clone());
        rows.push(Convergence {
            app: name,
            members: members.len(),
            ready_at,
            launched_at,
            launched_by,
            held_by,
        });
    }
    Ok(rows)
}

// ---- criterion ----------------------------------------------------------------------

/// The benchmarks of `local/benches/decisions.rs`.
const CRITERION_IDS: [&str; 3] = [
    "wave_policy_plan_10000_servers",
    "failure_snapshot_observe_10000_jobs",
    "app_readiness_500_apps_10000_jobs",
];

struct Estimate {
    mean_ns: f64,
    low_ns: f64,
    high_ns: f64,
    median_ns: f64,
}

fn criterion_estimates(dir: &Path, since: Option<i64>) -> Vec<(&'static str, Measured<Estimate>)> {
    CRITERION_IDS
        .iter()
        .map(|&id| {
            let path = dir.join(id).join("new").join("estimates.json");
            let estimate = (|| {
                let written = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .map_err(|_| {
                        format!(
                            "{} missing: run `cargo bench -p autopilot-local --bench decisions`",
                            path.display()
                        )
                    })?;
                let written = written
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                if since.is_some_and(|since| written < since) {
                    return Err(format!("{} is older than this run", path.display()));
                }
                let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
                let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                let number = |v: &Value| v.as_f64().ok_or(format!("{}: malformed", path.display()));
                Ok(Estimate {
                    mean_ns: number(&json["mean"]["point_estimate"])?,
                    low_ns: number(&json["mean"]["confidence_interval"]["lower_bound"])?,
                    high_ns: number(&json["mean"]["confidence_interval"]["upper_bound"])?,
                    median_ns: number(&json["median"]["point_estimate"])?,
                })
            })();
            (id, estimate)
        })
        .collect()
}

// ---- the machine --------------------------------------------------------------------

struct Machine {
    cpus: usize,
    model: String,
    date: String,
    commit: String,
    rustc: String,
    load: String,
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let commit = command_line("git", &["rev-parse", "--short=12", "HEAD"])
        .unwrap_or_else(|| "unknown".to_owned());
    let dirty = command_line("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        model,
        date: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        commit: if dirty {
            format!("{commit} (work tree with uncommitted changes)")
        } else {
            commit
        },
        rustc: command_line("rustc", &["-V"]).unwrap_or_else(|| "rustc ?".to_owned()),
        load: std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
    }
}

/// Each function's `Timeout` in the template (seconds), by binary name.
fn template_timeouts(template: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(template).unwrap_or_default();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap_or_default();
    let global = yaml["Globals"]["Function"]["Timeout"].as_u64();
    let mut timeouts = BTreeMap::new();
    if let Some(resources) = yaml["Resources"].as_mapping() {
        for resource in resources.values() {
            if let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() {
                if let Some(timeout) = resource["Properties"]["Timeout"].as_u64().or(global) {
                    timeouts.insert(binary.to_owned(), timeout);
                }
            }
        }
    }
    timeouts
}

// ---- the table ----------------------------------------------------------------------

struct Figures<'a> {
    machine: &'a Machine,
    args: &'a BenchArgs,
    cold: &'a [(&'static str, Measured<ColdStart>)],
    cycles: &'a [(usize, Measured<Vec<Cycle>>)],
    timed: &'a Measured<Vec<Timed>>,
    convergence: &'a Measured<Vec<Convergence>>,
    packages: &'a [Package],
    criterion: &'a [(&'static str, Measured<Estimate>)],
}

/// Nearest-rank percentile of unsorted figures.
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn status(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**not met**"
    }
}

fn duration_text(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.1} s")
    } else {
        format!("{:.0} ms", secs * 1000.0)
    }
}

fn ns_text(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn render(f: &Figures<'_>) -> String {
    let mut out = String::new();
    let m = f.machine;
    let _ = writeln!(
        out,
        "Measured {} at commit {} on {} CPUs ({}), load average {} at the start; {}.",
        m.date, m.commit, m.cpus, m.model, m.load, m.rustc
    );
    let _ = writeln!(
        out,
        "The functions are this machine's **x86_64** release builds (`cargo build --release -p <name>`, \
         the workspace's release profile); Lambda deploys arm64.\n"
    );
    if !f.args.child_env.is_empty() {
        let extra: Vec<String> = f
            .args
            .child_env
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect();
        let _ = writeln!(
            out,
            "Experiment: every function started with {}.\n",
            extra.join(", ")
        );
    }
    let mut summary: Vec<(String, String, &'static str)> = Vec::new();

    // 1. cold start
    let _ = writeln!(
        out,
        "### 1. Cold start ({} starts per function)\n\n\
         | function | spawn → first invocation/next, median | p90 | spawn → first response, median | p90 | peak RSS |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |",
        f.args.starts
    );
    let mut worst_init: Option<(f64, &str)> = None;
    for (function, figures) in f.cold.iter() {
        match figures {
            Ok(c) => {
                let median = percentile(&c.init_ms, 50.0);
                if worst_init.is_none_or(|(w, _)| median > w) {
                    worst_init = Some((median, function));
                }
                let rss = c
                    .peak_rss_kib
                    .iter()
                    .max()
                    .map_or("?".into(), |k| format!("{:.1} MiB", mib(*k)));
                let _ = writeln!(
                    out,
                    "| {function} | {median:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {rss} |",
                    percentile(&c.init_ms, 90.0),
                    percentile(&c.done_ms, 50.0),
                    percentile(&c.done_ms, 90.0),
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| {function} | not measured: {e} | | | | |");
            }
        }
    }
    summary.push(match worst_init {
        Some((ms, function)) if f.cold.iter().all(|(_, c)| c.is_ok()) => (
            format!("init under {INIT_TARGET_MS} ms median"),
            format!("slowest median {ms:.1} ms ({function})"),
            status(ms < INIT_TARGET_MS),
        ),
        _ => (
            format!("init under {INIT_TARGET_MS} ms median"),
            "not measured".into(),
            "**not measured**",
        ),
    });

    // 2. memory
    let sizes: Vec<usize> = f.cycles.iter().map(|(s, _)| *s).collect();
    let labels: Vec<String> = f
        .cycles
        .iter()
        .find_map(|(_, c)| c.as_ref().ok())
        .map(|c| c.iter().map(|c| c.label.clone()).collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n### 2. Peak RSS (VmHWM) through one cycle\n\n| function (trigger) | {} |\n| --- |{}",
        sizes
            .iter()
            .map(|s| format!("{s} servers"))
            .collect::<Vec<_>>()
            .join(" | "),
        " ---: |".repeat(sizes.len())
    );
    let largest = sizes.iter().max().copied().unwrap_or(0);
    let mut worst_rss: Option<(f64, String)> = None;
    for label in &labels {
        let mut line = format!("| {label} |");
        for (servers, cycles) in f.cycles {
            let cell = match cycles {
                Ok(cycles) => cycles
                    .iter()
                    .find(|c| &c.label == label)
                    .and_then(|c| c.peak_rss_kib)
                    .map_or("?".into(), |k| {
                        if *servers == largest
                            && worst_rss.as_ref().is_none_or(|(w, _)| mib(k) > *w)
                        {
                            worst_rss = Some((mib(k), label.clone()));
                        }
                        format!("{:.1} MiB", mib(k))
                    }),
                Err(_) => "not measured".into(),
            };
            let _ = write!(line, " {cell} |");
        }
        let _ = writeln!(out, "{line}");
    }
    for (servers, cycles) in f.cycles {
        if let Err(e) = cycles {
            let _ = writeln!(out, "\n{servers} servers not measured: {e}");
        }
    }
    summary.push(match worst_rss {
        Some((rss, label)) => (
            format!("peak RSS under {RSS_TARGET_MIB} MiB at {largest} servers"),
            format!("largest {rss:.1} MiB ({label})"),
            status(rss < RSS_TARGET_MIB),
        ),
        None => (
            format!("peak RSS under {RSS_TARGET_MIB} MiB"),
            "not measured".into(),
            "**not measured**",
        ),
    });

    // 3. packages
    let _ = writeln!(
        out,
        "\n### 3. Package size\n\n| function | built by | architecture | bootstrap | zip | zip under 4 MiB |\n| --- | --- | --- | ---: | ---: | --- |"
    );
    let mut worst_arm: Option<(u64, &str)> = None;
    for p in f.packages {
        match &p.figures {
            Ok(fig) => {
                if fig.arch == "arm64" && worst_arm.is_none_or(|(w, _)| fig.zip_bytes > w) {
                    worst_arm = Some((fig.zip_bytes, p.function));
                }
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.2} MiB | {:.2} MiB ({} bytes) | {} |",
                    p.function,
                    p.source,
                    fig.arch,
                    fig.bootstrap_bytes as f64 / 1048576.0,
                    fig.zip_bytes as f64 / 1048576.0,
                    fig.zip_bytes,
                    status(fig.zip_bytes < PACKAGE_TARGET_BYTES)
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | not measured: {e} | | | |",
                    p.function, p.source
                );
            }
        }
    }
    summary.push(match worst_arm {
        Some((bytes, function)) => (
            "arm64 zip under 4 MiB".into(),
            format!(
                "largest {:.2} MiB = {bytes} bytes ({function})",
                bytes as f64 / 1048576.0
            ),
            status(bytes < PACKAGE_TARGET_BYTES),
        ),
        None => (
            "arm64 zip under 4 MiB".into(),
            "no cargo-lambda arm64 zip found (x86_64 figures above)".into(),
            "**not measured**",
        ),
    });

    // 4. calls
    let _ = writeln!(
        out,
        "\n### 4. SMS calls per cycle against the lower bound\n\n\
         Bound = pages of each list operation the function must make (ceil(items / {PAGE}), at least 1) \
         + one GetApp per app whose members the function needs (launcher: launchable apps; template \
         generator on a run completion: launched apps) and whose current version (ListApps' lastModified \
         and counts) no earlier invocation has read and shared in `state/apps/index.json`, counted by the \
         bench from the listing and that file + one GetApp per remembered app the launcher launches (read \
         again first) + one call per action (every mutating call). Each row is a \
         separate cold start; counters reset before each cycle; events are entries that reached the \
         local bus.\n\n\
         | function (trigger) | servers | SMS calls | lower bound | ratio | above the bound | events |\n\
         | --- | ---: | --- | --- | ---: | --- | ---: |"
    );
    let mut worst_ratio: Option<(f64, String)> = None;
    for (servers, cycles) in f.cycles {
        let Ok(cycles) = cycles else { continue };
        for c in cycles {
            let ratio = c.total() as f64 / c.bound().max(1) as f64;
            if worst_ratio.as_ref().is_none_or(|(w, _)| ratio > *w) {
                worst_ratio = Some((ratio, format!("{} at {servers} servers", c.label)));
            }
            let calls = c
                .calls
                .iter()
                .map(|(op, n)| format!("{op} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut bound: Vec<String> = c
                .lists
                .iter()
                .map(|(op, items, pages)| format!("{op} ⌈{items}/{PAGE}⌉={pages}"))
                .collect();
            if c.first_reads > 0 {
                bound.push(format!("GetApp {} first reads", c.first_reads));
            }
            if c.rereads_before_launch > 0 {
                bound.push(format!(
                    "GetApp {} re-reads before LaunchApp",
                    c.rereads_before_launch
                ));
            }
            bound.push(format!("{} actions", c.actions()));
            let excess = c
                .excess()
                .iter()
                .map(|(op, n)| format!("{op} {n:+}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "| {} | {servers} | {} ({calls}) | {} = {} | {ratio:.2} | {} | {} |",
                c.label,
                c.total(),
                bound.join(" + "),
                c.bound(),
                if excess.is_empty() {
                    "—".into()
                } else {
                    excess
                },
                c.events
            );
        }
    }
    summary.push(match worst_ratio {
        Some((ratio, what)) => (
            "SMS calls / lower bound = 1.00".into(),
            format!("highest {ratio:.2} ({what})"),
            status(ratio <= 1.0 + 1e-9),
        ),
        None => (
            "SMS calls / lower bound = 1.00".into(),
            "not measured".into(),
            "**not measured**",
        ),
    });

    // 5. timed sweeps
    let _ = writeln!(
        out,
        "\n### 5. Sweeps at scale with {} ms SMS latency\n\n\
         Ideal = (sequential calls + fanned-out calls / concurrency) × latency. The sweeps run in-process \
         with the template's configuration; the job creator's cap is raised to the catalog size and the \
         emulator's live-job quota to {} (from SMS's default 50).\n\n\
         | sweep | work | SMS calls (sequential + fanned out / concurrency) | wall | ideal | % of ideal | of 15 min | of the template's Timeout | scale reaching 15 min (linear) |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f.args.latency_ms,
        f.args.scale_servers.max(50)
    );
    match f.timed {
        Ok(rows) => {
            let mut worst: Option<(f64, &str)> = None;
            let mut longest = 0.0f64;
            for t in rows {
                let efficiency = t.efficiency();
                if worst.is_none_or(|(w, _)| efficiency < w) {
                    worst = Some((efficiency, t.function));
                }
                longest = longest.max(t.wall.as_secs_f64());
                let _ = writeln!(
                    out,
                    "| {} | {} | {} + {} / {} | {} | {} | {:.0} % | {:.1} % | {} | ≈ {:.0} {} |",
                    t.function,
                    t.work,
                    t.sequential,
                    t.parallel,
                    t.concurrency,
                    duration_text(t.wall),
                    duration_text(t.ideal()),
                    efficiency * 100.0,
                    t.wall.as_secs_f64() / LAMBDA_LIMIT_SECS * 100.0,
                    t.timeout_secs.map_or("?".into(), |s| format!(
                        "{:.1} % of {s} s",
                        t.wall.as_secs_f64() / s as f64 * 100.0
                    )),
                    t.items_at_limit(),
                    t.unit
                );
            }
            if let Some((efficiency, function)) = worst {
                summary.push((
                    format!("at least {:.0} % of ideal", EFFICIENCY_TARGET * 100.0),
                    format!("lowest {:.0} % ({function})", efficiency * 100.0),
                    status(efficiency >= EFFICIENCY_TARGET),
                ));
                summary.push((
                    "inside the 15-minute limit with room".into(),
                    format!("longest {:.1} s", longest),
                    status(longest < LAMBDA_LIMIT_SECS / 2.0),
                ));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "| not measured: {e} | | | | | | | | |");
            summary.push((
                "at least 80 % of ideal".into(),
                "not measured".into(),
                "**not measured**",
            ));
        }
    }

    // 6. convergence
    let _ = writeln!(
        out,
        "\n### 6. Convergence latency (default wave, simulated time)\n\n\
         | app | members | last member's first run COMPLETED | AppLaunched | latency | launched by |\n\
         | --- | ---: | --- | --- | ---: | --- |"
    );
    match f.convergence {
        Ok(rows) => {
            let mut all_chained = true;
            let mut worst = 0i64;
            for r in rows {
                let time = |t: Option<DateTime<Utc>>| {
                    t.map_or("—".into(), |t| {
                        t.to_rfc3339_opts(SecondsFormat::Secs, true)
                    })
                };
                let latency = match (r.ready_at, r.launched_at) {
                    (Some(ready), Some(launched)) => {
                        let secs = (launched - ready).num_seconds();
                        worst = worst.max(secs);
                        format!("{secs} s")
                    }
                    _ => "—".into(),
                };
                if r.launched_at.is_some()
                    && !r
                        .launched_by
                        .as_deref()
                        .is_some_and(|t| t.contains("ReplicationRunCompleted"))
                {
                    all_chained = false;
                }
                let by = match (&r.launched_by, &r.held_by) {
                    (Some(trigger), _) => trigger.clone(),
                    (None, Some(held)) => format!("not launched: {held}"),
                    (None, None) => "not launched".into(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {latency} | {by} |",
                    r.app,
                    r.members,
                    time(r.ready_at),
                    time(r.launched_at)
                );
            }
            summary.push((
                "launch on the run-completed event chain, not the next tick".into(),
                format!("longest {worst} s"),
                status(all_chained),
            ));
        }
        Err(e) => {
            let _ = writeln!(out, "| not measured: {e} | | | | | |");
        }
    }

    // 7. criterion
    let _ = writeln!(
        out,
        "\n### 7. Core decisions (criterion, `local/benches/decisions.rs`)\n\n\
         | decision | mean | 95 % interval of the mean | median |\n| --- | ---: | --- | ---: |"
    );
    for (id, estimate) in f.criterion {
        match estimate {
            Ok(e) => {
                let _ = writeln!(
                    out,
                    "| {id} | {} | {} – {} | {} |",
                    ns_text(e.mean_ns),
                    ns_text(e.low_ns),
                    ns_text(e.high_ns),
                    ns_text(e.median_ns)
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| {id} | not measured: {e} | | |");
            }
        }
    }

    let _ = writeln!(
        out,
        "\n### Targets\n\n| target | measured | status |\n| --- | --- | --- |"
    );
    for (target, measured, state) in summary {
        let _ = writeln!(out, "| {target} | {measured} | {state} |");
    }
    out
}

/// Replaces what lies between the bench markers of `path` with `table`.
fn write_between_markers(path: &Path, table: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let updated = replace_between_markers(&text, table).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no `{BEGIN_MARKER}` … `{END_MARKER}` section"),
        )
    })?;
    std::fs::write(path, updated)
}

fn replace_between_markers(text: &str, table: &str) -> Option<String> {
    let begin = text.find(BEGIN_MARKER)? + BEGIN_MARKER.len();
    let end = begin + text[begin..].find(END_MARKER)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..begin],
        table.trim_end(),
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&values, 50.0), 3.0);
        assert_eq!(percentile(&values, 90.0), 5.0);
        assert_eq!(percentile(&[7.0], 90.0), 7.0);
    }

    #[test]
    fn the_bound_counts_pages_and_actions_and_names_the_excess() {
        let cycle = Cycle {
            label: "app-launcher (schedule)".into(),
            peak_rss_kib: None,
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
            events: 0,
        };
        assert_eq!(pages(0), 1);
        assert_eq!(pages(101), 2);
        assert_eq!(cycle.bound(), 5 + 100 + 20 + 3 + 450);
        assert_eq!(cycle.excess(), vec![("GetApp".to_owned(), 477)]);
    }

    #[test]
    fn the_table_replaces_only_the_marked_section() {
        let text = format!("intro\n{BEGIN_MARKER}\nold\n{END_MARKER}\nafter\n");
        let updated = replace_between_markers(&text, "new table\n").expect("markers");
        assert_eq!(
            updated,
            format!("intro\n{BEGIN_MARKER}\nnew table\n{END_MARKER}\nafter\n")
        );
        assert!(replace_between_markers("no markers", "x").is_none());
    }

    #[test]
    fn elf_headers_name_the_architecture() {
        let mut header = b"\x7fELF".to_vec();
        header.resize(20, 0);
        header[18] = 0xb7;
        assert_eq!(elf_machine(&header), "arm64");
        header[18] = 0x3e;
        assert_eq!(elf_machine(&header), "x86_64");
        assert_eq!(elf_machine(b"PK"), "not an ELF executable");
    }
}
