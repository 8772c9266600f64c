//! Starts each function's real binary the way Lambda starts `bootstrap`, against a
//! minimal Lambda Runtime API on 127.0.0.1 (`autopilot_local::harness::runtime_api`, which
//! the bench times cold starts with), with SMS and S3 served
//! by the emulator and EventBridge by the local bus, and checks that it answers one real
//! invocation: the response is the handler's summary and every log line is JSON.
//! A function started without EVENT_BUS_NAME must stop at init and name the variable.
//!
//! The binaries are the debug builds of the function crates (`harness::functions::NAMES`), built on first use by
//! `cargo build --workspace --bins --test suite` (cargo decides what is stale; the
//! `--test` keeps dev-dependency features on, so a `cargo test --workspace` run reuses
//! every dependency it already compiled). Set `AUTOPILOT_BOOTSTRAP_DIR` to run prebuilt
//! binaries instead, laid out as cargo-lambda writes them (`<dir>/<name>/bootstrap`),
//! e.g. `target/lambda` after an x86_64 `scripts/build-lambdas.sh`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use autopilot_core::clients::Endpoints;
use autopilot_core::config::{
    AppLauncherConfig, CatalogImportConfig, FunctionConfig, JobCreatorConfig, JobWatcherConfig,
    MgnImportConfig, MgnLauncherConfig, MgnPlannerConfig, MgnWatcherConfig,
    TemplateGeneratorConfig,
};
use autopilot_core::events::{AppReady, DetailType, EVENT_SOURCE};
use autopilot_core::runtime::ACCEPT_SIMULATED_CLOCK;
use autopilot_local::bus::LocalBus;
use autopilot_local::harness::bootstrap::{Bootstrap, Output};
use autopilot_local::harness::clients::StaticCredentials;
use autopilot_local::harness::payloads::{project_event, rule_event};
use autopilot_local::harness::runtime_api::{lambda_environment, Report, RuntimeApi, Sandbox};
use autopilot_local::harness::two_server_scenario;
use autopilot_local::harness::world::LocalWorld;
use autopilot_local::mgn::MgnHandle;
use autopilot_local::EmulatorHandle;
use serde_json::{json, Value};

/// Longest wait for anything a started function should do.
const WAIT: Duration = Duration::from_secs(30);
const BUS: &str = "sms-autopilot";
const ARTIFACTS_BUCKET: &str = "sms-autopilot-artifacts";

// ---- the binaries -------------------------------------------------------------------

/// Each function's binary, built once per test process.
fn binary(function: &str) -> PathBuf {
    common::binaries::binary(function)
}

// ---- the functions ------------------------------------------------------------------

/// A function as the test starts it.
struct Function {
    name: &'static str,
    /// Every variable its Config reads.
    variables: fn() -> Vec<&'static str>,
}

impl Function {
    const ALL: [Function; 9] = [
        Function {
            name: "catalog-import",
            variables: CatalogImportConfig::variables,
        },
        Function {
            name: "job-creator",
            variables: JobCreatorConfig::variables,
        },
        Function {
            name: "job-watcher",
            variables: JobWatcherConfig::variables,
        },
        Function {
            name: "template-generator",
            variables: TemplateGeneratorConfig::variables,
        },
        Function {
            name: "app-launcher",
            variables: AppLauncherConfig::variables,
        },
        Function {
            name: "mgn-planner",
            variables: MgnPlannerConfig::variables,
        },
        Function {
            name: "mgn-watcher",
            variables: MgnWatcherConfig::variables,
        },
        Function {
            name: "mgn-launcher",
            variables: MgnLauncherConfig::variables,
        },
        Function {
            name: "mgn-import",
            variables: MgnImportConfig::variables,
        },
    ];

    fn named(name: &str) -> &'static Function {
        Self::ALL
            .iter()
            .find(|f| f.name == name)
            .expect("a known function")
    }

    /// What Lambda and the template give the function, pointed at the local world.
    fn environment(&self, world: &World, api: &RuntimeApi) -> BTreeMap<String, String> {
        let endpoints = Endpoints {
            sms: world.emulator.sms_endpoint(),
            mgn: world.mgn.as_ref().map(MgnHandle::endpoint),
            ec2: world.mgn.as_ref().map(MgnHandle::ec2_endpoint),
            events: world.bus.endpoint(),
            s3: world.emulator.s3_endpoint(),
        };
        let sandbox = Sandbox {
            memory_mb: 256,
            log_stream: "2026/11/22/[$LATEST]0",
            credentials: StaticCredentials {
                access_key_id: "AKIDLOCALTEST",
                secret_access_key: "local-test-secret",
                session_token: Some("local-test-token"),
                provider_name: "tests",
            },
            endpoints: &endpoints,
        };
        let mut env = lambda_environment(self.name, api.addr(), &sandbox);
        env.insert("EVENT_BUS_NAME".into(), BUS.to_owned());
        if (self.variables)().contains(&"ARTIFACTS_BUCKET") {
            env.insert("ARTIFACTS_BUCKET".into(), ARTIFACTS_BUCKET.to_owned());
        }
        env
    }
}

/// Starts `binary` with exactly `env`, its output collected line by line.
fn spawn(binary: &Path, env: &BTreeMap<String, String>) -> Bootstrap {
    Bootstrap::spawn(binary, env, Output::Collected)
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}

/// Waits until a stdout line of `process` satisfies `found`.
async fn wait_for_line(process: &Bootstrap, found: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let line = process
            .lines()
            .0
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| found(v));
        if line.is_some() {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

// ---- the local world ----------------------------------------------------------------

/// The emulator (SMS + S3), the local event bus, and for the MGN functions the MGN
/// stand-in (and its EC2) over the same estate.
struct World {
    emulator: EmulatorHandle,
    bus: LocalBus,
    mgn: Option<MgnHandle>,
}

impl World {
    async fn start() -> Self {
        let mut scenario = two_server_scenario();
        scenario.start_time = event_time();
        let LocalWorld { emulator, bus } = LocalWorld::start(scenario, &common::wiring(), 6)
            .await
            .expect("the local world starts");
        Self {
            emulator,
            bus,
            mgn: None,
        }
    }

    /// The world with an initialized MGN account whose servers replicate continuously.
    async fn start_mgn() -> Self {
        let mut world = Self::start().await;
        let mut scenario = two_server_scenario();
        scenario.start_time = event_time();
        let mgn = MgnHandle::start(scenario, 0).await.expect("MGN starts");
        mgn.call("InitializeService", &json!({}))
            .expect("initialized");
        mgn.advance(Duration::from_secs(2 * 3600));
        world.mgn = Some(mgn);
        world
    }

    fn mgn(&self) -> &MgnHandle {
        self.mgn.as_ref().expect("an MGN world")
    }

    /// Stores `body` at `key` in the artifacts bucket.
    async fn put(&self, key: &str, body: String) {
        let clients = common::clients(
            &self.emulator.sms_endpoint(),
            &self.bus.endpoint(),
            &self.emulator.s3_endpoint(),
        );
        clients
            .s3
            .put_object()
            .bucket(ARTIFACTS_BUCKET)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .expect("stored");
    }

    fn sms(&self, operation: &str, input: Value) -> Value {
        self.emulator
            .call(operation, &input)
            .unwrap_or_else(|e| panic!("{operation}: {e:?}"))
    }

    /// Imports the catalog so the servers are known.
    fn import_catalog(&self) {
        self.sms("ImportServerCatalog", json!({}));
        self.emulator.advance(Duration::from_secs(61));
    }

    /// Replicates every member of the app; returns its id.
    fn replicate_app(&self) -> String {
        self.import_catalog();
        let apps = self.sms("ListApps", json!({}));
        let app = apps["apps"][0]["appId"]
            .as_str()
            .expect("the scenario's app")
            .to_owned();
        self.sms("StartAppReplication", json!({ "appId": app }));
        self.emulator.advance(Duration::from_secs(60 + 900 + 60));
        let summary = &self.sms("GetApp", json!({ "appId": app }))["appSummary"];
        assert_eq!(summary["replicationStatus"], "REPLICATED", "{summary}");
        app
    }

    /// Objects under `prefix` in a bucket of the local S3.
    fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let root = self.emulator.s3_root().join(bucket);
        let mut found = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(key) = path.strip_prefix(&root) {
                    let key = key.to_string_lossy().into_owned();
                    if key.starts_with(prefix) {
                        found.push(key);
                    }
                }
            }
        }
        found
    }
}

/// When the events of these tests happen (the scenario's start).
fn event_time() -> chrono::DateTime<chrono::Utc> {
    "2026-11-22T10:00:00Z".parse().expect("a time")
}

fn schedule_event() -> Value {
    rule_event(event_time(), "sms-autopilot-schedule")
}

// ---- one invocation -----------------------------------------------------------------

/// What one successful invocation produced.
struct Invoked {
    summary: Value,
    world: World,
}

/// Starts `name` against `world`, sends `event`, and checks the Runtime API contract:
/// the process polled invocation/next, posted a response (not an error) for the same
/// request id, the response is the summary logged in the "invocation complete" line,
/// and every line it wrote is a JSON object.
async fn invoke(name: &str, world: World, event: Value) -> Invoked {
    let function = Function::named(name);
    let binary = binary(name);
    let mut api = RuntimeApi::start().await.expect("bind the Runtime API");
    let request_id = api.invoke(event);
    let process = spawn(&binary, &function.environment(&world, &api));

    let report = api.report(WAIT).await;
    let startup = api
        .next_calls()
        .first()
        .map(|at| at.duration_since(process.spawned()));
    match startup {
        Some(startup) => eprintln!(
            "runtime_api: {name}: spawn to first invocation/next {:.1} ms ({})",
            startup.as_secs_f64() * 1000.0,
            build_label(&binary)
        ),
        None => panic!(
            "{name} never called GET invocation/next\n{}",
            process.output()
        ),
    }
    let summary = match report {
        Some(Report::Response {
            request_id: answered,
            body,
        }) => {
            assert_eq!(answered, request_id, "{name} answered another request");
            body
        }
        other => panic!(
            "{name}: expected a response, got {other:?}\n{}",
            process.output()
        ),
    };
    assert!(summary.is_object(), "{name} responded {summary}");

    let logged = wait_for_line(&process, |line| line["message"] == "invocation complete")
        .await
        .unwrap_or_else(|| panic!("{name}: no summary log line\n{}", process.output()));
    assert_eq!(logged["level"], "INFO", "{logged}");
    assert_eq!(logged["function"], name, "{logged}");
    // The summary is an object of the line, for Logs Insights to query field by field.
    assert!(
        logged["summary"].is_object(),
        "{name}: summary is not an object: {logged}"
    );
    assert_eq!(
        logged["summary"], summary,
        "{name}: response vs logged summary"
    );

    // The metrics line may follow the summary line: it is waited for as well (its
    // absence still fails the count below), then every line is read.
    let _ = wait_for_line(&process, |line| line.get("_aws").is_some()).await;
    // Every line is a JSON log line, or the invocation's metrics in Embedded Metric
    // Format, valid by its rules.
    let (stdout, stderr) = process.lines();
    let mut metric_lines = 0;
    for line in stdout
        .iter()
        .chain(&stderr)
        .filter(|l| !l.trim().is_empty())
    {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("{name}: not a JSON line: {line}"));
        if parsed.get("_aws").is_some() {
            let problems = autopilot_core::metrics::emf_problems(&parsed);
            assert!(problems.is_empty(), "{name}: {problems:?} in {line}");
            assert_eq!(parsed["Function"], name, "{line}");
            let service = if name.starts_with("mgn-") {
                autopilot_core::metrics::MGN_CALLS
            } else {
                autopilot_core::metrics::SMS_CALLS
            };
            let calls = parsed[service].as_f64();
            assert!(
                calls.is_some_and(|n| n >= 1.0),
                "{name}: {service} counted: {line}"
            );
            metric_lines += 1;
            continue;
        }
        assert!(
            parsed.is_object() && parsed["level"].is_string(),
            "{name}: not a JSON log line: {line}"
        );
    }
    assert_eq!(metric_lines, 1, "{name}: one metrics line per invocation");
    assert!(
        api.unexpected().is_empty(),
        "{name} called {:?}",
        api.unexpected()
    );
    drop(process);

    let published = world.bus.drain();
    assert_eq!(
        summary["eventsPublished"].as_u64(),
        Some(published.len() as u64),
        "{name}: eventsPublished vs what reached the bus: {published:?}"
    );
    assert!(
        published
            .iter()
            .all(|e| e.bus == BUS && e.source() == EVENT_SOURCE),
        "{published:?}"
    );
    Invoked { summary, world }
}

/// Debug or release, by where the binary was built, for the printed figures.
fn build_label(binary: &Path) -> &'static str {
    if std::env::var_os("AUTOPILOT_BOOTSTRAP_DIR").is_some() {
        "prebuilt bootstrap"
    } else if binary.components().any(|c| c.as_os_str() == "release") {
        "release build"
    } else {
        "debug build: unoptimised, not a Lambda cold-start figure"
    }
}

// ---- the tests ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_import_answers_a_schedule() {
    let Invoked { summary, world } =
        invoke("catalog-import", World::start().await, schedule_event()).await;
    assert_eq!(summary["trigger"], "schedule");
    assert_eq!(summary["connectors"], 1);
    assert_eq!(summary["importStarted"], true, "{summary}");
    assert_eq!(world.emulator.call_counts()["ImportServerCatalog"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_creator_answers_a_schedule() {
    let world = World::start().await;
    world.import_catalog();
    let Invoked { summary, world } = invoke("job-creator", world, schedule_event()).await;
    assert_eq!(summary["catalogStatus"], "AVAILABLE", "{summary}");
    assert_eq!(summary["servers"], 2, "{summary}");
    let jobs = world.sms("GetReplicationJobs", json!({}));
    let created = jobs["replicationJobList"].as_array().map_or(0, Vec::len);
    assert_eq!(summary["created"], created, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_watcher_answers_a_schedule() {
    let world = World::start().await;
    world.replicate_app();
    let Invoked { summary, world } = invoke("job-watcher", world, schedule_event()).await;
    assert_eq!(summary["trigger"], "schedule");
    assert_eq!(summary["jobsObserved"], 2, "{summary}");
    assert_eq!(summary["newlyFailed"], 0, "{summary}");
    assert!(
        !world.objects(ARTIFACTS_BUCKET, "state/").is_empty(),
        "job-watcher saved its snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_generator_answers_app_ready() {
    let world = World::start().await;
    let app = world.replicate_app();
    let event = project_event(
        event_time(),
        AppReady::DETAIL_TYPE,
        json!({ "version": 1, "dryRun": false, "appId": app, "appName": "shop", "servers": 2 }),
    );
    let Invoked { summary, world } = invoke("template-generator", world, event).await;
    assert_eq!(summary["trigger"], format!("AppReady {app}"));
    assert_eq!(summary["templates"], 1, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    let archived = world.objects(ARTIFACTS_BUCKET, &format!("apps/{app}/templates/"));
    assert_eq!(archived.len(), 1, "archived template: {archived:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_launcher_answers_a_schedule() {
    let world = World::start().await;
    world.replicate_app();
    let Invoked { summary, world } = invoke("app-launcher", world, schedule_event()).await;
    assert_eq!(summary["trigger"], "schedule");
    assert_eq!(summary["apps"], 1, "{summary}");
    assert_eq!(summary["launched"], 1, "{summary}");
    assert_eq!(world.emulator.call_counts()["LaunchApp"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgn_planner_answers_a_schedule() {
    let world = World::start_mgn().await;
    let plan = "version: 1\napplications:\n  - name: shop\n    wave: wave-1\n    groups: [{name: all, servers: [\"hostname:*\"]}]\n";
    world.put("plan/wave-plan.yaml", plan.to_owned()).await;
    let Invoked { summary, world } = invoke("mgn-planner", world, schedule_event()).await;
    assert_eq!(summary["trigger"], "schedule");
    assert_eq!(
        (
            &summary["wavesCreated"],
            &summary["applicationsCreated"],
            &summary["associations"]
        ),
        (&json!(1), &json!(1), &json!(2)),
        "{summary}"
    );
    let apps = world
        .mgn()
        .call("ListApplications", &json!({}))
        .expect("listed");
    assert_eq!(apps["items"][0]["name"], "shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgn_import_answers_a_schedule() {
    let world = World::start_mgn().await;
    let sheet = "mgn:wave:name,mgn:app:name,mgn:server:user-provided-id\nwave-1,shop,web-01\n";
    world.put("plan/mgn-inventory.csv", sheet.to_owned()).await;
    let Invoked { summary, world } = invoke("mgn-import", world, schedule_event()).await;
    assert_eq!(summary["trigger"], "schedule");
    let import = summary["importStarted"]
        .as_str()
        .expect("an import started");
    let listed = world.mgn().call("ListImports", &json!({})).expect("listed");
    assert_eq!(listed["items"][0]["importID"], import, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgn_watcher_answers_a_schedule() {
    let world = World::start_mgn().await;
    let Invoked { summary, world } = invoke("mgn-watcher", world, schedule_event()).await;
    assert_eq!(summary["trigger"], "schedule");
    assert_eq!(summary["serversObserved"], 2, "{summary}");
    assert_eq!(summary["problemsRaised"], 0, "{summary}");
    assert!(
        !world
            .objects(ARTIFACTS_BUCKET, "state/mgn-watcher/")
            .is_empty(),
        "mgn-watcher saved its snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mgn_launcher_answers_a_schedule() {
    let world = World::start_mgn().await;
    let listed = world
        .mgn()
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let servers: serde_json::Map<String, Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            let id = s["sourceServerID"].as_str().expect("an id").to_owned();
            (
                id,
                json!({"app": "shop", "route": "jobs", "replication": {}}),
            )
        })
        .collect();
    let resolved = json!({"planVersion": "v1", "apps": {"shop": {}}, "servers": servers});
    world
        .put(
            autopilot_core::plan::resolved::RESOLVED_KEY,
            resolved.to_string(),
        )
        .await;
    let Invoked { summary, world } = invoke("mgn-launcher", world, schedule_event()).await;
    assert_eq!(summary["applications"], 1, "{summary}");
    assert_eq!(summary["launchesStarted"], 1, "{summary}");
    assert_eq!(world.mgn().call_counts()["StartTest"], 1);
}

/// Cold start with a required variable missing: the process must stop before polling
/// for invocations, report to /runtime/init/error naming the variable, and exit
/// non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_without_its_bus_refuses_to_start() {
    let name = "catalog-import";
    let binary = binary(name);
    let world = World::start().await;
    let mut api = RuntimeApi::start().await.expect("bind the Runtime API");
    api.invoke(schedule_event());
    let mut env = Function::named(name).environment(&world, &api);
    env.remove("EVENT_BUS_NAME");
    let mut process = spawn(&binary, &env);

    let deadline = Instant::now() + WAIT;
    let mut init_error = None;
    let mut exit = None;
    while Instant::now() < deadline && exit.is_none() {
        if let Some(report) = api.report(Duration::from_millis(50)).await {
            init_error = Some(report);
        }
        exit = process.exited();
    }
    // Let the output readers catch up with an exited process.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = process.output();
    match &init_error {
        Some(Report::InitError { body, .. }) => {
            assert!(body.to_string().contains("EVENT_BUS_NAME"), "{body}");
        }
        other => panic!("expected a /runtime/init/error report, got {other:?}\n{output}"),
    }
    let status = exit.expect("the process exits after reporting");
    assert!(!status.success(), "exit status {status}\n{output}");
    assert!(output.contains("EVENT_BUS_NAME"), "{output}");
    assert!(
        api.next_calls().is_empty(),
        "polled for invocations with a broken configuration\n{output}"
    );
}

/// The time job-watcher's lease says it was taken at, after one invocation of the real
/// binary at simulated time `at`, with or without `AUTOPILOT_ACCEPT_SIMULATED_CLOCK`.
async fn lease_taken_at(at: chrono::DateTime<chrono::Utc>, accept: bool) -> String {
    let world = World::start().await;
    let mut api = RuntimeApi::start().await.expect("bind the Runtime API");
    let mut env = Function::named("job-watcher").environment(&world, &api);
    if accept {
        env.insert(ACCEPT_SIMULATED_CLOCK.into(), "true".into());
    }
    api.invoke_at(schedule_event(), at);
    let process = spawn(&binary("job-watcher"), &env);
    let report = api.report(WAIT).await;
    assert!(
        matches!(report, Some(Report::Response { .. })),
        "{report:?}\n{}",
        process.output()
    );
    let lease = world
        .emulator
        .s3_root()
        .join(ARTIFACTS_BUCKET)
        .join(autopilot_core::lease::lease_key("job-watcher"));
    let lease: Value = serde_json::from_slice(&std::fs::read(&lease).expect("the lease object"))
        .expect("the lease is JSON");
    lease["takenAt"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_runs_at_a_simulated_time_only_where_its_environment_allows_it() {
    let simulated = chrono::DateTime::parse_from_rfc3339("2031-01-01T00:00:00Z")
        .expect("a time")
        .with_timezone(&chrono::Utc);
    let taken = lease_taken_at(simulated, true).await;
    assert!(taken.starts_with("2031-01-01T00:00:00"), "{taken}");
    // Deployed, the variable is never set: a client context cannot move the clock.
    let taken = lease_taken_at(simulated, false).await;
    assert!(!taken.starts_with("2031"), "{taken}");
}
