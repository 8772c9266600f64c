//! No secret and no whole payload in the logs. Every log line of a whole default wave
//! (the real handlers, the emulator, the local bus and S3) is captured as JSON at
//! the production level (info), with the AWS SDK's signing and HTTP layers at trace,
//! where a leak of request headers or credentials would show. Before the wave, two
//! functions are invoked through SDK clients carrying distinctive fake credentials
//! (access key, secret key, session token — the wave's own clients use "local"/"local",
//! a string too common to search for) with every log level on, and each invocation's
//! summary line is logged as the Lambda runtime logs it.
//!
//! Checked over every captured line: no secret key or session token (nor the access key
//! id at info and above); no
//! `Authorization` material (`Credential=`, `Signature=`); no whole event envelope
//! (`"detail":{` or `"detail-type"` next to a detail); no scenario or template body; no
//! info-or-above line longer than 8 KB; the summary lines are there with their
//! summary as a JSON object, and a line per decision names its app or server.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use autopilot_core::clients::{Clients, Endpoints};
use autopilot_core::config::{CatalogImportConfig, FunctionConfig, JobCreatorConfig};
use autopilot_core::runtime::{log_summary, system_clock, Context};
use autopilot_local::harness::clients::{sdk_config, StaticCredentials};
use autopilot_local::wave::{Wave, WaveOptions};
use autopilot_local::Scenario;
use serde_json::Value;

const ACCESS_KEY: &str = "AKIDLOGHYGIENE7Q2Z";
const SECRET_KEY: &str = "s3cr3t/LogHygiene+9f8e7d6c5b4a";
const SESSION_TOKEN: &str = "FwoGZXIvLogHygieneSessionToken0123456789";
/// Longest acceptable log line at a production level (info and above): a line this long
/// is carrying a payload.
const MAX_LINE: usize = 8 * 1024;

/// Every line written by the global subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer"))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Whether the capturing subscriber records: only while this test runs, so the other
/// tests of the binary do not pay for trace-level SDK logs kept in memory after it.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// Turns the capture off when the test ends, passed or failed.
struct CaptureOn;

impl Drop for CaptureOn {
    fn drop(&mut self) {
        CAPTURING.store(false, Ordering::SeqCst);
    }
}

/// Installs the capturing JSON subscriber once for this test binary, and turns it on
/// until the guard is dropped.
fn capture() -> (Captured, CaptureOn) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            // Production level for the project; the SDK's signing and HTTP layers, and
            // credential handling, at their most verbose.
            let levels = tracing_subscriber::EnvFilter::new(
                "info,aws_sigv4=trace,aws_smithy_runtime=trace,aws_smithy_runtime_api=trace,\
                 aws_smithy_http_client=trace,aws_credential_types=trace,aws_runtime=trace",
            );
            let on = tracing_subscriber::filter::filter_fn(|_| CAPTURING.load(Ordering::SeqCst));
            // The lines as the functions write them deployed.
            let lines = tracing_subscriber::fmt::layer()
                .event_format(autopilot_core::telemetry::JsonLines)
                .with_writer(move || writer.clone())
                .with_filter(on)
                .with_filter(levels);
            tracing_subscriber::registry()
                .with(lines)
                .try_init()
                .expect("the only subscriber of this test binary");
            captured
        })
        .clone();
    CAPTURING.store(true, Ordering::SeqCst);
    (captured, CaptureOn)
}

/// Clients on the wave's emulator and bus, signing with the distinctive credentials.
fn distinctive_clients(wave: &Wave) -> Clients {
    let credentials = StaticCredentials {
        access_key_id: ACCESS_KEY,
        secret_access_key: SECRET_KEY,
        session_token: Some(SESSION_TOKEN),
        provider_name: "log-hygiene",
    };
    let endpoints = Endpoints {
        sms: wave.emulator().sms_endpoint(),
        mgn: None,
        ec2: None,
        events: wave.bus().endpoint(),
        s3: wave.emulator().s3_endpoint(),
    };
    Clients::for_endpoints(&sdk_config(credentials, None), &endpoints)
}

fn config<C: FunctionConfig>() -> C {
    C::from_lookup(|name| match name {
        "EVENT_BUS_NAME" => Some("sms-autopilot".into()),
        "ARTIFACTS_BUCKET" => Some("sms-autopilot-artifacts".into()),
        // Decide and log as usual; no job is created outside the wave's own handlers.
        "DRY_RUN" => Some("true".into()),
        _ => None,
    })
    .expect("valid configuration")
}

fn schedule() -> Value {
    let time = "2024-01-01T00:00:00Z".parse().expect("a time");
    autopilot_local::harness::payloads::rule_event(time, "log-hygiene")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_wave_logs_no_secret_and_no_payload() {
    let (captured, _capturing) = capture();
    let scenario = Scenario::default_scenario();
    let scenario_yaml = scenario.to_yaml().expect("scenario as YAML");
    let wave = Wave::start(WaveOptions {
        scenario,
        ..WaveOptions::default()
    })
    .await
    .expect("wave starts");

    // Two invocations through clients with distinctive credentials, every SDK log on.
    let clients = distinctive_clients(&wave);
    let import = Arc::new(Context::<CatalogImportConfig>::new(
        config(),
        Clients {
            sms: clients.sms.clone(),
            mgn: clients.mgn.clone(),
            ec2: clients.ec2.clone(),
            events: clients.events.clone(),
            s3: clients.s3.clone(),
        },
        system_clock(),
    ));
    let summary = catalog_import::handle(schedule(), import)
        .await
        .expect("catalog-import answers");
    log_summary("catalog-import", &summary);
    let creator = Arc::new(Context::<JobCreatorConfig>::new(
        config(),
        clients,
        system_clock(),
    ));
    match job_creator::handle(schedule(), creator).await {
        Ok(summary) => log_summary("job-creator", &summary),
        Err(error) => tracing::error!(function = "job-creator", %error, "invocation failed"),
    }
    let signed = captured.lines().len();

    let report = wave.play(|_| {}).await.expect("wave plays");
    assert!(report.converged, "{}", report.verdict);

    let lines = captured.lines();
    assert!(lines.len() > signed, "the wave logged nothing");
    eprintln!(
        "log_hygiene: {} lines captured ({signed} before the wave)",
        lines.len()
    );
    assert!(
        lines[..signed]
            .iter()
            .any(|l| l.contains("aws_sigv4") || l.contains("signing")),
        "the SDK's signing layer was not captured: the secret checks would prove nothing"
    );

    let template_text =
        std::fs::read_to_string(autopilot_local::wave::default_template()).expect("template");
    let mut problems = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let mut problem = |what: &str| {
            problems.push(format!(
                "line {n}: {what}: {}",
                &line[..line.len().min(300)]
            ))
        };
        // The access key id is an identifier, not a secret: the SDK's trace-level
        // identity line names it (with the secret "** redacted **").
        if line.contains(SECRET_KEY) {
            problem("the secret access key");
        }
        if line.contains(SESSION_TOKEN) {
            problem("the session token");
        }
        let production_level = [
            "\"level\":\"INFO\"",
            "\"level\":\"WARN\"",
            "\"level\":\"ERROR\"",
        ]
        .iter()
        .any(|level| line.contains(level));
        if production_level && line.contains(ACCESS_KEY) {
            problem("the access key id at a production level");
        }
        if line.contains("Credential=") || line.contains("Signature=") {
            problem("request signing material");
        }
        if line.contains("\"detail\":{") || line.contains("\\\"detail\\\":{") {
            problem("a whole event detail");
        }
        if line.contains("detail-type") && line.contains("\"detail\"") {
            problem("a whole event envelope");
        }
        if line.contains("AWSTemplateFormatVersion") || line.contains(&template_text[..200]) {
            problem("the SAM template");
        }
        if line.contains(&scenario_yaml[..scenario_yaml.len().min(200)]) {
            problem("the scenario");
        }
        // The SDK's own trace lines dump its runtime components and are long; what the
        // project logs at its production level must stay short.
        if production_level && line.len() > MAX_LINE {
            problem("an oversized line");
        }
        if serde_json::from_str::<Value>(line).is_err() {
            problem("not a JSON line");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The summary lines are there, one per direct invocation, as JSON fields.
    let summaries: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "invocation complete")
        .collect();
    assert!(
        summaries.iter().any(
            |l| l["function"] == "catalog-import" && l["summary"]["trigger"].as_str().is_some()
        ),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|l| l["function"] == "job-creator"),
        "{summaries:?}"
    );

    // One line per decision, by the ids and names a person searches.
    let decisions: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "decision published")
        .collect();
    assert!(
        decisions.iter().any(|l| l["decision"] == "AppLaunched"
            && l["about"]["appName"] == "shop"
            && l["about"]["appId"].is_string()),
        "{decisions:?}"
    );
    assert!(
        decisions
            .iter()
            .any(|l| l["decision"] == "ReplicationJobCreated"
                && l["about"]["vmName"].is_string()
                && l["about"]["serverId"].is_string()),
        "{decisions:?}"
    );
}
