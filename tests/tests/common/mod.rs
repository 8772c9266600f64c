//! Shared by the whole-wave tests: the five real handlers with contexts built the way
//! Lambda builds them (configuration from `infra/template.yaml`'s environment, clients
//! made once), on the emulator's simulated clock, plus the checks both waves make on
//! the emulator's state.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use autopilot_core::config::{AppLauncherConfig, FunctionConfig};
use autopilot_core::runtime::{Clock, Context};
use autopilot_core::{AutopilotError, Clients};
use autopilot_local::sms::Millis;
use autopilot_local::wiring::{FunctionWiring, Wiring};
use autopilot_local::{EmulatorHandle, StateSnapshot};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};

/// The deployed wiring every test follows.
pub fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

pub fn wiring() -> Wiring {
    Wiring::load(&template()).expect("infra/template.yaml wires the functions")
}

/// Region, static credentials and the latest behaviour: nothing read from the machine.
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sms::config::SharedCredentialsProvider::new(
            aws_sdk_sms::config::Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .build()
}

/// The functions' clients, each pointed at its own endpoint (S3 path-style).
pub fn clients(sms: &str, events: &str, s3: &str) -> Clients {
    let sdk = sdk_config();
    Clients {
        sms: aws_sdk_sms::Client::from_conf(
            aws_sdk_sms::config::Builder::from(&sdk)
                .endpoint_url(sms)
                .build(),
        ),
        events: aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&sdk)
                .endpoint_url(events)
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .endpoint_url(s3)
                .force_path_style(true)
                .build(),
        ),
    }
}

/// The emulator's simulated clock as a handler clock.
pub fn clock_of(emulator: &EmulatorHandle) -> Clock {
    let clock = emulator.clock();
    Arc::new(move || clock.now())
}

/// A configuration as Lambda would give it: the template's environment, nothing else.
pub fn config<C: FunctionConfig>(wiring: &Wiring, binary: &str) -> C {
    let function = function(wiring, binary);
    C::from_lookup(|name| function.environment.get(name).cloned())
        .unwrap_or_else(|e| panic!("{binary}: the template's environment is refused: {e}"))
}

pub fn function<'a>(wiring: &'a Wiring, binary: &str) -> &'a FunctionWiring {
    wiring
        .functions
        .iter()
        .find(|f| f.binary == binary)
        .unwrap_or_else(|| panic!("{binary} is not in infra/template.yaml"))
}

/// One handler bound to its context, invoked with a payload; the summary as JSON.
type Invoker = Box<
    dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, AutopilotError>> + Send>>
        + Send
        + Sync,
>;

/// Binds a handler to the context it takes, built once, the way `runtime::run` does.
fn bind<X, H, F, S>(handler: H, context: X) -> Invoker
where
    X: Send + Sync + 'static,
    H: Fn(Value, Arc<X>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<S, AutopilotError>> + Send + 'static,
    S: Serialize,
{
    let context = Arc::new(context);
    let handler = Arc::new(handler);
    Box::new(move |payload| {
        let future = handler(payload, Arc::clone(&context));
        Box::pin(async move {
            let summary = future.await?;
            Ok(serde_json::to_value(summary).expect("summaries are plain data"))
        })
    })
}

/// The five handlers of one execution environment each, contexts built once.
pub struct Functions {
    handlers: BTreeMap<&'static str, Invoker>,
}

impl Functions {
    pub fn new(wiring: &Wiring, clients: &Clients, clock: &Clock) -> Self {
        let clock = || Arc::clone(clock);
        let mut handlers = BTreeMap::new();
        handlers.insert(
            "catalog-import",
            bind(
                catalog_import::handle,
                Context::new(config(wiring, "catalog-import"), clients.clone(), clock()),
            ),
        );
        handlers.insert(
            "job-creator",
            bind(
                job_creator::handle,
                Context::new(config(wiring, "job-creator"), clients.clone(), clock()),
            ),
        );
        handlers.insert(
            "job-watcher",
            bind(
                job_watcher::handle,
                Context::new(config(wiring, "job-watcher"), clients.clone(), clock()),
            ),
        );
        handlers.insert(
            "template-generator",
            bind(
                template_generator::handle,
                Context::new(
                    config(wiring, "template-generator"),
                    clients.clone(),
                    clock(),
                ),
            ),
        );
        handlers.insert(
            "app-launcher",
            bind(
                app_launcher::handle,
                Context::new(config(wiring, "app-launcher"), clients.clone(), clock()),
            ),
        );
        Self { handlers }
    }

    /// Invokes the handler deployed as `binary` with `payload`; its summary as JSON.
    pub async fn invoke(&self, binary: &str, payload: Value) -> Result<Value, AutopilotError> {
        let handler = self
            .handlers
            .get(binary)
            .unwrap_or_else(|| panic!("no handler deployed as {binary}"));
        handler(payload).await
    }
}

/// When each schedule of the template fires next, keyed by (binary, schedule name).
#[derive(Default)]
pub struct Schedules(BTreeMap<(String, String), DateTime<Utc>>);

impl Schedules {
    /// The (binary, scheduled event) pairs due at `now`; every schedule fires at once
    /// on the first call, as a fresh deployment's soon would.
    pub fn due(&mut self, wiring: &Wiring, now: DateTime<Utc>) -> Vec<(String, Value)> {
        let mut due = Vec::new();
        for function in &wiring.functions {
            for schedule in &function.schedules {
                let key = (function.binary.clone(), schedule.name.clone());
                let next = self.0.entry(key).or_insert(now);
                if *next <= now {
                    *next = now + chrono::TimeDelta::from_std(schedule.every).expect("rate");
                    due.push((
                        function.binary.clone(),
                        scheduled_event(now, function, &schedule.name),
                    ));
                }
            }
        }
        due
    }
}

/// An EventBridge scheduled event of the rule SAM creates for a function's schedule.
pub fn scheduled_event(now: DateTime<Utc>, function: &FunctionWiring, schedule: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("schedule-{}-{schedule}-{}", function.logical_id, now.timestamp()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [format!(
            "arn:aws:events:us-east-1:123456789012:rule/{}-{schedule}",
            function.logical_id
        )],
        "detail": {}
    })
}

/// Whether an app carries the app-launcher's opt-out tag.
pub fn opted_out(app: &autopilot_local::sms::App, launcher: &AppLauncherConfig) -> bool {
    app.tags
        .iter()
        .any(|(k, v)| *k == launcher.opt_out.key && *v == launcher.opt_out.value)
}

/// Live (not DELETED) apps.
pub fn live_apps(state: &StateSnapshot) -> impl Iterator<Item = &autopilot_local::sms::App> {
    state.apps.iter().filter(|a| a.status.as_str() != "DELETED")
}

/// Jobs the watcher gave up on: a `ReplicationJobRemediated` event with action `held`.
pub fn held_jobs<'a>(project_events: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    project_events
        .into_iter()
        .filter(|e| {
            e["detail-type"] == "ReplicationJobRemediated" && e["detail"]["action"] == "held"
        })
        .filter_map(|e| e["detail"]["replicationJobId"].as_str().map(str::to_owned))
        .collect()
}

/// The failed, held job that keeps an app from ever becoming ready, if any.
pub fn holding_job<'a>(
    state: &'a StateSnapshot,
    app: &autopilot_local::sms::App,
    held: &BTreeSet<String>,
) -> Option<&'a autopilot_local::sms::Job> {
    app.server_ids().find_map(|server| {
        state.jobs.iter().find(|j| {
            &j.server_id == server
                && matches!(j.state.as_str(), "FAILED" | "PAUSED_ON_FAILURE")
                && j.latest_ami.is_none()
                && held.contains(&j.id)
        })
    })
}

/// Every live app is launched, opted out, or held by a failure the watcher gave up on.
pub fn every_app_settled(
    state: &StateSnapshot,
    launcher: &AppLauncherConfig,
    held: &BTreeSet<String>,
) -> bool {
    live_apps(state).all(|app| {
        app.launch_status.as_str() == "LAUNCHED"
            || opted_out(app, launcher)
            || holding_job(state, app, held).is_some()
    })
}

/// When each server's first replication run completed, if one did.
pub fn first_completions(state: &StateSnapshot) -> BTreeMap<String, Millis> {
    let mut first: BTreeMap<String, Millis> = BTreeMap::new();
    for job in &state.jobs {
        for completed in job.runs.iter().filter_map(|r| r.completed) {
            first
                .entry(job.server_id.clone())
                .and_modify(|t| *t = (*t).min(completed))
                .or_insert(completed);
        }
    }
    first
}

/// Servers holding more than one job that is not DELETED, with those jobs.
pub fn servers_with_two_live_jobs(state: &StateSnapshot) -> BTreeMap<String, Vec<String>> {
    let mut live: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in state.jobs.iter().filter(|j| j.state.as_str() != "DELETED") {
        live.entry(job.server_id.clone())
            .or_default()
            .push(job.id.clone());
    }
    live.retain(|_, jobs| jobs.len() > 1);
    live
}

/// Apps whose launch has started (pending, in progress or done).
pub fn launch_started(app: &autopilot_local::sms::App) -> bool {
    matches!(
        app.launch_status.as_str(),
        "LAUNCH_PENDING" | "LAUNCH_IN_PROGRESS" | "LAUNCHED"
    )
}

/// Records, for each app, the simulated time its launch was first seen started, and
/// checks at that moment that every member had a COMPLETED run no later than that.
#[derive(Debug, Default)]
pub struct LaunchWatch {
    pub started_at: BTreeMap<String, Millis>,
    pub violations: Vec<String>,
}

impl LaunchWatch {
    pub fn observe(&mut self, state: &StateSnapshot) {
        let completions = first_completions(state);
        for app in live_apps(state).filter(|a| launch_started(a)) {
            if self.started_at.contains_key(&app.id) {
                continue;
            }
            self.started_at.insert(app.id.clone(), state.now_ms);
            for member in app.server_ids() {
                match completions.get(member) {
                    Some(done) if *done <= state.now_ms => {}
                    other => self.violations.push(format!(
                        "app {} ({}) launched at {} while member {member} had first completed at {:?}",
                        app.id, app.name, state.now, other
                    )),
                }
            }
        }
    }
}
