//! Every function's real handler through a whole wave of the default scenario, with moto's
//! server (PyPI `moto[server]`, a third-party AWS emulator) as S3 and EventBridge and
//! the SMS emulator as SMS, so the unmodified SDK clients meet a peer nobody here wrote.
//!
//! moto applies EventBridge rule patterns and delivers matches to SQS targets, but never
//! invokes Lambda targets and never fires schedules. So the test creates, from
//! `infra/template.yaml`'s EventBridgeRule patterns, one rule per pattern with one SQS
//! queue per function, drains each queue into its handler, fires each schedule itself at
//! the template's rate on the simulated clock, and puts SMS's own job state events on
//! moto's default bus with PutEvents. SMS writes generated templates into the account's
//! S3, so the functions reach SMS through a loopback bridge that, after each
//! GenerateTemplate / GenerateChangeSet, copies the object the emulator wrote into
//! moto's bucket of the same name.
//!
//! The virtualenv (target/venvs/moto, pinned `moto[server]`) is created on first use; a
//! machine without python3/venv/pip prints a SKIPPED line instead of failing.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use autopilot_core::config::AppLauncherConfig;
use autopilot_local::bus::RuleState;
use autopilot_local::harness::async_invocations::{trigger_of, InvocationQueue, Pending};
use autopilot_local::harness::wiring::{BusRef, Wiring};
use autopilot_local::http::LoopbackServer;
use autopilot_local::sms::protocol::JobState;
use autopilot_local::sms::Millis;
use autopilot_local::{Emulator, EmulatorHandle, EmulatorOptions, Scenario, SmsEvent};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::moto::{drain, queue, queue_target, rule, start_or_skip, MOTO_REQUIREMENT};
use common::{Functions, LaunchWatch};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// One simulated step; the template's schedules are whole minutes.
const STEP: Duration = Duration::from_secs(60);
/// Simulated time after which an unfinished wave fails.
const SIMULATED_LIMIT: chrono::TimeDelta = chrono::TimeDelta::days(2);
/// Wall time after which an unfinished wave fails (set-up not included).
const WALL_LIMIT: Duration = Duration::from_secs(90);
/// Rounds of queue draining within one step before the events are called a loop.
const MAX_ROUNDS: usize = 50;
/// The queue that sees every event of the project's bus.
const AUDIT_QUEUE: &str = "audit";

/// A loopback proxy in front of the emulator's SMS endpoint. After a successful
/// GenerateTemplate / GenerateChangeSet it copies the object SMS wrote (into the
/// emulator's S3) into moto's S3 under the same bucket and key, as SMS writes into the
/// account's S3; every call still reaches (and is counted by) the emulator.
struct SmsBridge {
    endpoint: String,
    /// Stops serving when dropped.
    _server: LoopbackServer,
}

#[derive(Clone)]
struct BridgeTarget {
    emulator: SocketAddr,
    emulator_s3_root: PathBuf,
    moto_s3: aws_sdk_s3::Client,
}

impl SmsBridge {
    async fn start(target: BridgeTarget) -> Self {
        let listener = autopilot_local::http::bind(0).await.expect("bridge binds");
        let server = LoopbackServer::serve("SMS bridge", listener, move |request| {
            let target = target.clone();
            async move { target.forward(request).await }
        });
        Self {
            endpoint: server.endpoint(),
            _server: server,
        }
    }
}

impl BridgeTarget {
    async fn forward(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        match self.try_forward(request).await {
            Ok(response) => response,
            Err(problem) => Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Full::new(Bytes::from(format!("SMS bridge: {problem}"))))
                .expect("static response parts are valid"),
        }
    }

    async fn try_forward(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, String> {
        let (parts, body) = request.into_parts();
        let operation = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        let stream = TcpStream::connect(self.emulator)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let answer = sender
            .send_request(Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|e| e.to_string())?;
        let (mut parts, body) = answer.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        parts.headers.remove("transfer-encoding");
        if parts.status.is_success()
            && matches!(operation.as_str(), "GenerateTemplate" | "GenerateChangeSet")
        {
            self.mirror(&body).await?;
        }
        Ok(Response::from_parts(parts, Full::new(body)))
    }

    /// Copies the generated object into moto.
    async fn mirror(&self, answer: &[u8]) -> Result<(), String> {
        let answer: Value = serde_json::from_slice(answer).map_err(|e| e.to_string())?;
        let (Some(bucket), Some(key)) = (
            answer["s3Location"]["bucket"].as_str(),
            answer["s3Location"]["key"].as_str(),
        ) else {
            return Err(format!("no s3Location in {answer}"));
        };
        let path = self.emulator_s3_root.join(bucket).join(key);
        let bytes = std::fs::read(&path).map_err(|e| format!("{path:?}: {e}"))?;
        self.moto_s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| format!("PutObject {bucket}/{key} into moto: {e:?}"))?;
        Ok(())
    }
}

/// Queues, rules and buckets created in moto from the template.
struct Provisioned {
    /// (function binary, queue URL) for each function with EventBridge rules.
    queues: Vec<(String, String)>,
    audit: String,
}

async fn provision(
    wiring: &Wiring,
    scenario: &Scenario,
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    s3: &aws_sdk_s3::Client,
) -> Provisioned {
    for bucket in [&wiring.artifacts_bucket, &scenario.template_bucket] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket} in moto: {e:?}"));
    }
    events
        .create_event_bus()
        .name(&wiring.project_bus)
        .send()
        .await
        .expect("CreateEventBus in moto");
    let mut queues = Vec::new();
    for function in wiring.functions.iter().filter(|f| !f.rules.is_empty()) {
        let (url, arn) = queue(sqs, &function.logical_id).await;
        for r in &function.rules {
            let bus = match &r.bus {
                BusRef::Default => "default",
                BusRef::Named(name) => name.as_str(),
            };
            let name = format!("{}-{}", function.logical_id, r.name);
            rule(events, bus, &name, &r.pattern, queue_target(&arn)).await;
        }
        queues.push((function.binary.clone(), url));
    }
    // The rules a function switches itself (the launcher's re-check), as deployed.
    for schedule in wiring.functions.iter().flat_map(|f| &f.schedules) {
        let Some(name) = &schedule.rule_name else {
            continue;
        };
        let state = if schedule.enabled {
            aws_sdk_eventbridge::types::RuleState::Enabled
        } else {
            aws_sdk_eventbridge::types::RuleState::Disabled
        };
        let minutes = schedule.every.as_secs() / 60;
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        events
            .put_rule()
            .name(name)
            .schedule_expression(format!("rate({minutes} {unit})"))
            .state(state)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutRule {name} in moto: {e:?}"));
    }
    let (audit, audit_arn) = queue(sqs, AUDIT_QUEUE).await;
    let everything = serde_json::json!({ "source": [autopilot_core::events::EVENT_SOURCE] });
    rule(
        events,
        &wiring.project_bus,
        "audit-every-project-event",
        &everything,
        queue_target(&audit_arn),
    )
    .await;
    Provisioned { queues, audit }
}

/// Plays the wave: schedules, SMS events, queues, retries.
struct Driver {
    wiring: Wiring,
    emulator: EmulatorHandle,
    functions: Functions,
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    provisioned: Provisioned,
    sms_events: tokio::sync::mpsc::UnboundedReceiver<SmsEvent>,
    schedules: common::Schedules,
    /// The named rules' states, as last read from moto.
    rule_states: BTreeMap<String, RuleState>,
    /// Failed invocations, retried as Lambda retries them.
    retries: InvocationQueue<String>,
    /// Every project event the audit queue saw.
    audit: Vec<Value>,
    /// Every SMS event put on moto's default bus.
    sms_seen: Vec<SmsEvent>,
    /// Messages drained per function.
    delivered: BTreeMap<String, usize>,
    invocations: BTreeMap<String, usize>,
    launches: LaunchWatch,
}

impl Driver {
    async fn invoke(&mut self, binary: &str, payload: Value, attempt: u32) {
        *self.invocations.entry(binary.to_owned()).or_default() += 1;
        let result = self.functions.invoke(binary, payload.clone()).await;
        self.launches.observe(&self.emulator.state());
        if let Err(error) = result {
            let trigger = trigger_of(&payload);
            eprintln!("moto_wave: {binary} <- {trigger} failed (attempt {attempt}): {error}");
            let now = self.emulator.now();
            let pending = Pending {
                function: binary.to_owned(),
                payload,
                attempt,
                due: now,
            };
            self.retries
                .failed(pending, binary, &error.to_string(), now);
        }
    }

    async fn fire_schedules(&mut self, now: DateTime<Utc>) {
        self.read_rule_states(now).await;
        let states = &self.rule_states;
        let due = self
            .schedules
            .due(&self.wiring, now, &|name| states.get(name).copied());
        for (index, payload) in due {
            let binary = self.wiring.functions[index].binary.clone();
            self.invoke(&binary, payload, 0).await;
        }
    }

    /// The named rules' states as moto holds them (DescribeRule): moto keeps no time of
    /// a switch, so one seen changed is taken as switched now.
    async fn read_rule_states(&mut self, now: DateTime<Utc>) {
        let named = self.wiring.functions.iter().flat_map(|f| &f.schedules);
        for name in named.filter_map(|s| s.rule_name.clone()) {
            let described = self.events.describe_rule().name(&name).send().await;
            let described = described.unwrap_or_else(|e| panic!("DescribeRule {name}: {e:?}"));
            let enabled =
                described.state() == Some(&aws_sdk_eventbridge::types::RuleState::Enabled);
            let seen = self.rule_states.get(&name).map(|s| s.enabled);
            if seen != Some(enabled) {
                let since = now;
                self.rule_states.insert(name, RuleState { enabled, since });
            }
        }
    }

    async fn run_retries(&mut self, now: DateTime<Utc>) -> usize {
        let due = self.retries.take_due(now);
        let count = due.len();
        for retry in due {
            self.invoke(&retry.function, retry.payload, retry.attempt)
                .await;
        }
        count
    }

    /// Puts SMS's new events on moto's default bus, as SMS itself would.
    async fn forward_sms_events(&mut self) -> usize {
        let mut fresh = Vec::new();
        while let Ok(event) = self.sms_events.try_recv() {
            fresh.push(event);
        }
        for batch in fresh.chunks(10) {
            let entries = batch
                .iter()
                .map(|event| {
                    let time = DateTime::parse_from_rfc3339(&event.time).expect("RFC 3339 time");
                    PutEventsRequestEntry::builder()
                        .source(&event.source)
                        .detail_type(&event.detail_type)
                        .detail(serde_json::to_string(&event.detail).expect("detail"))
                        .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
                            time.timestamp(),
                        ))
                        .event_bus_name("default")
                        .build()
                })
                .collect::<Vec<_>>();
            let answer = self
                .events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .expect("PutEvents of SMS events into moto");
            assert_eq!(
                answer.failed_entry_count, 0,
                "moto refused SMS events: {answer:?}"
            );
        }
        let count = fresh.len();
        self.sms_seen.extend(fresh);
        count
    }

    /// Receives and deletes every message of a queue; their bodies, EventBridge
    /// envelopes.
    async fn drain(&self, url: &str) -> Vec<Value> {
        drain(&self.sqs, url)
            .await
            .iter()
            .map(|body| serde_json::from_str(body).expect("an EventBridge envelope"))
            .collect()
    }

    /// One simulated minute: schedules, then events until nothing moves.
    async fn step(&mut self) {
        let now = self.emulator.now();
        self.fire_schedules(now).await;
        for round in 0.. {
            assert!(
                round < MAX_ROUNDS,
                "events keep triggering each other at {now}"
            );
            let mut moved = self.forward_sms_events().await + self.run_retries(now).await;
            let queues = self.provisioned.queues.clone();
            for (binary, url) in queues {
                let messages = self.drain(&url).await;
                moved += messages.len();
                *self.delivered.entry(binary.clone()).or_default() += messages.len();
                for message in messages {
                    self.invoke(&binary, message, 0).await;
                }
            }
            let audit = self.drain(&self.provisioned.audit).await;
            self.audit.extend(audit);
            if moved == 0 {
                break;
            }
        }
    }

    /// Audit events of one detail-type, counted per value of a detail field.
    fn audited(&self, detail_type: &str, key: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for event in self
            .audit
            .iter()
            .filter(|e| e["detail-type"] == detail_type)
        {
            let id = event["detail"][key].as_str().unwrap_or_default().to_owned();
            *counts.entry(id).or_default() += 1;
        }
        counts
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_converges_against_moto() {
    let wall = Instant::now();
    let Some(moto) = start_or_skip("moto_wave").await else {
        return;
    };
    eprintln!(
        "moto_wave: {MOTO_REQUIREMENT} at {} (log {}), ready after {:?}",
        moto.endpoint,
        moto.log.display(),
        wall.elapsed()
    );
    // The wave's own time, without the one-off install.
    let wall = Instant::now();

    let wiring = common::wiring();
    // The estate with its applications made by hand: this harness plays no wave plan
    // (the planner's own duplicates are in planner_idempotency.rs).
    let scenario = Scenario::hand_made_apps();
    let emulator = Emulator::start(scenario.clone(), EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let sms_events = emulator.subscribe_events();
    let moto_clients = common::clients(&moto.endpoint, &moto.endpoint, &moto.endpoint);
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&common::sdk_config())
            .endpoint_url(&moto.endpoint)
            .build(),
    );
    let provisioned = provision(
        &wiring,
        &scenario,
        &moto_clients.events,
        &sqs,
        &moto_clients.s3,
    )
    .await;
    let bridge = SmsBridge::start(BridgeTarget {
        emulator: emulator
            .sms_endpoint()
            .trim_start_matches("http://")
            .parse()
            .expect("emulator address"),
        emulator_s3_root: emulator.s3_root(),
        moto_s3: moto_clients.s3.clone(),
    })
    .await;
    let clients = common::clients(&bridge.endpoint, &moto.endpoint, &moto.endpoint);
    let functions = common::functions(&wiring, &clients, &common::clock_of(&emulator));
    let launcher: AppLauncherConfig = common::config(&wiring, "app-launcher");
    let started = emulator.now();
    let mut driver = Driver {
        wiring,
        emulator,
        functions,
        events: moto_clients.events.clone(),
        sqs,
        provisioned,
        sms_events,
        schedules: common::Schedules::default(),
        rule_states: BTreeMap::new(),
        retries: InvocationQueue::default(),
        audit: Vec::new(),
        sms_seen: Vec::new(),
        delivered: BTreeMap::new(),
        invocations: BTreeMap::new(),
        launches: LaunchWatch::default(),
    };

    let converged = loop {
        driver.step().await;
        let state = driver.emulator.state();
        let held = common::GivenUp::from_events(&driver.audit);
        if driver.retries.is_empty() && common::every_app_settled(&state, &launcher.opt_out, &held)
        {
            break true;
        }
        let now = driver.emulator.now();
        if now - started >= SIMULATED_LIMIT || wall.elapsed() >= WALL_LIMIT {
            break false;
        }
        driver.emulator.advance(STEP);
    };
    let state = driver.emulator.state();
    let calls = driver.emulator.call_counts();
    eprintln!(
        "moto_wave: {} simulated minutes in {:?}; invocations {:?}; drained {:?}; SMS calls {calls:?}",
        (driver.emulator.now() - started).num_minutes(),
        wall.elapsed(),
        driver.invocations,
        driver.delivered
    );
    assert!(
        converged,
        "the wave did not converge by {}: {:?}",
        state.now,
        common::live_apps(&state)
            .map(|a| (&a.name, a.launch_status.as_str()))
            .collect::<Vec<_>>()
    );
    assert!(
        driver.retries.dead_lettered().is_empty(),
        "{:#?}",
        driver.retries.dead_lettered()
    );

    // Discovery and jobs: every server the catalog shows got exactly one job, except the
    // one SMS cannot replicate, which got none and was reported.
    let skipped = driver.audited("ServerSkipped", "serverId");
    for &index in &state.catalog.visible {
        let server = &state.servers[index];
        let jobs = state
            .jobs
            .iter()
            .filter(|j| j.server_id == server.id)
            .count();
        if server.unreplicable {
            assert_eq!(jobs, 0, "{} cannot be replicated", server.vm_name);
            assert!(
                skipped.contains_key(&server.id),
                "{} not reported skipped",
                server.vm_name
            );
        } else {
            assert_eq!(jobs, 1, "{} has {jobs} replication jobs", server.vm_name);
        }
    }

    assert!(common::servers_with_two_live_jobs(&state).is_empty());

    // Failures: each job that entered FAILED or PAUSED_ON_FAILURE was alerted exactly
    // once. The emulator's job histories say which did: SMS announced neither state.
    let entered = |wanted: &[JobState]| -> BTreeSet<String> {
        state
            .jobs
            .iter()
            .filter(|j| j.history.iter().any(|(_, s)| wanted.contains(s)))
            .map(|j| j.id.clone())
            .collect()
    };
    let failed_jobs = entered(&[JobState::Failed, JobState::PausedOnFailure]);
    assert!(
        !failed_jobs.is_empty(),
        "the default scenario injects failures"
    );
    let alerts = driver.audited("ReplicationJobFailed", "replicationJobId");
    for job in &failed_jobs {
        assert_eq!(alerts.get(job), Some(&1), "alerts for {job}: {alerts:?}");
    }
    assert_eq!(
        alerts.len(),
        failed_jobs.len(),
        "{alerts:?} vs {failed_jobs:?}"
    );

    // The paused job was remediated with an on-demand run and then completed one.
    let paused = entered(&[JobState::PausedOnFailure]);
    assert!(!paused.is_empty(), "the default scenario pauses a job");
    for job_id in &paused {
        let remediated = driver.audit.iter().any(|e| {
            e["detail-type"] == "ReplicationJobRemediated"
                && e["detail"]["replicationJobId"] == *job_id
                && e["detail"]["action"] == "onDemandRunStarted"
        });
        assert!(remediated, "paused job {job_id} was not remediated");
        let job = state.jobs.iter().find(|j| j.id == *job_id).expect("job");
        assert!(
            !matches!(job.state, JobState::Failed | JobState::PausedOnFailure)
                && job.latest_ami.is_some(),
            "paused job {job_id} ended {} without an AMI",
            job.state.as_str()
        );
    }
    assert!(
        calls
            .get("StartOnDemandReplicationRun")
            .copied()
            .unwrap_or(0)
            >= 1
    );

    // Launches: each launchable app exactly once, never before all its members completed.
    let launched: BTreeSet<&str> = common::live_apps(&state)
        .filter(|a| common::launch_started(a))
        .map(|a| a.id.as_str())
        .collect();
    let announced = driver.audited("AppLaunched", "appId");
    assert!(
        announced.values().all(|n| *n == 1),
        "AppLaunched per app: {announced:?}"
    );
    assert_eq!(
        announced
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        launched,
        "apps announced launched vs apps launched"
    );
    assert_eq!(
        calls.get("LaunchApp").copied().unwrap_or(0) as usize,
        launched.len(),
        "LaunchApp calls"
    );
    let held = common::GivenUp::from_events(&driver.audit);
    for app in common::live_apps(&state) {
        if common::opted_out(app, &launcher.opt_out) {
            assert!(
                !launched.contains(app.id.as_str()),
                "{} is opted out",
                app.name
            );
        } else if let Some(job) = common::holding_job(&state, app, &held) {
            assert!(!launched.contains(app.id.as_str()), "{} launched", app.name);
            assert_eq!(
                alerts.get(&job.id),
                Some(&1),
                "{} waits on {}",
                app.name,
                job.id
            );
        } else if let Some(why) =
            common::settled_without_launch(&state, app, &launcher.opt_out, &held)
        {
            assert!(!launched.contains(app.id.as_str()), "{} launched", app.name);
            assert!(why.contains("launch configuration"), "{}: {why}", app.name);
        } else {
            assert!(
                launched.contains(app.id.as_str()),
                "{} was not launched",
                app.name
            );
        }
    }
    assert!(
        driver.launches.violations.is_empty(),
        "{:#?}",
        driver.launches.violations
    );
    let completions = common::first_completions(&state);
    for app in common::live_apps(&state).filter(|a| launched.contains(a.id.as_str())) {
        let started: Millis = driver.launches.started_at[&app.id];
        let launch = app.launch_details.as_ref().expect("launch details");
        assert!(started <= launch.latest_launch_time);
        for member in app.server_ids() {
            assert!(
                completions[member] <= started,
                "{} launched before {member} completed",
                app.name
            );
        }
    }

    // Templates: each launched app's template archived in moto's bucket under apps/,
    // byte for byte what SMS generated.
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(&driver.wiring.artifacts_bucket)
        .prefix("apps/")
        .send()
        .await
        .expect("ListObjectsV2 in moto");
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    for app in &launched {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("apps/{app}/templates/"))),
            "no template archived for {app}: {keys:?}"
        );
    }
    let generated = driver
        .audit
        .iter()
        .filter(|e| e["detail-type"] == "TemplateGenerated")
        .collect::<Vec<_>>();
    assert!(!generated.is_empty());
    for event in generated {
        let detail = &event["detail"];
        let (bucket, key) = (
            detail["archived"]["bucket"]
                .as_str()
                .expect("archived bucket"),
            detail["archived"]["key"].as_str().expect("archived key"),
        );
        assert!(
            keys.iter().any(|k| k == key),
            "{key} announced but not in moto"
        );
        let archived = clients
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("GetObject in moto")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        let source = driver
            .emulator
            .s3_root()
            .join(
                detail["generated"]["bucket"]
                    .as_str()
                    .expect("generated bucket"),
            )
            .join(detail["generated"]["key"].as_str().expect("generated key"));
        assert_eq!(
            archived.as_ref(),
            std::fs::read(source).expect("generated").as_slice()
        );
    }
    eprintln!(
        "moto_wave: {} archived objects, {} alerts, launched {launched:?}, wall {:?}",
        keys.len(),
        alerts.len(),
        wall.elapsed()
    );
    drop(bridge);
    driver.emulator.shutdown().await;
    drop(moto);
}
