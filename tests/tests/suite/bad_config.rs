//! Bad configuration values, table-driven: for every variable each function reads
//! (`FunctionConfig::variables()`), a list of malformed values, each refused with exactly
//! one error that names that variable and the form it expects. A variable without a
//! table entry fails the test, so a new variable must come with its bad values.
//! Then start-up: each function's debug binary, started with a bad value, stops before
//! asking the Lambda Runtime API for work (it exits non-zero or posts
//! /runtime/init/error) and names the variable. (A missing EVENT_BUS_NAME is
//! runtime_api.rs's case; here every function gets a malformed value of its own.)

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autopilot_core::config::{
    AppLauncherConfig, AppPlannerConfig, CatalogImportConfig, ConfigErrors, FunctionConfig,
    JobCreatorConfig, JobWatcherConfig, TemplateGeneratorConfig, WaveReporterConfig,
};

/// Malformed values per variable.
const BAD_VALUES: &[(&str, &[&str])] = &[
    // Blank counts as unset, and these two are required.
    ("EVENT_BUS_NAME", &["", "   "]),
    ("ARTIFACTS_BUCKET", &["", "\t"]),
    ("DRY_RUN", &["maybe", "2", "truee", "on", "-1"]),
    (
        "AWS_CALL_MAX_ATTEMPTS",
        &["0", "21", "-1", "five", "1e3", "3.5", "99999999999"],
    ),
    (
        "WAVE_INCLUDE",
        &[
            "hostname:web",
            "vmName",
            ":web",
            "vmName:web-*,bogus:1",
            "vmname:web",
        ],
    ),
    (
        "WAVE_EXCLUDE",
        &["ip:10.0.0.1", "vmPath", "vmManagerName:lab,x"],
    ),
    ("WAVE_RECREATE_TERMINATED", &["sometimes", "yes please"]),
    ("MAX_ACTIVE_JOBS", &["0", "1001", "-5", "lots", "50.0"]),
    ("CREATE_CONCURRENCY", &["0", "51", "x", "-4"]),
    ("JOB_FREQUENCY_HOURS", &["0", "25", "twelve", "-12", "12h"]),
    ("JOB_RUN_ONCE", &["once"]),
    ("JOB_LICENSE_TYPE", &["GPL", "aws-byol", "BYOL,AWS"]),
    ("JOB_AMIS_TO_KEEP", &["101", "-1", "many", "2.5"]),
    ("JOB_ENCRYPTED", &["encrypted", "2"]),
    (
        "JOB_SEED_OFFSET_MINUTES",
        &["43201", "-1", "soon", "4294967296"],
    ),
    ("REMEDIATION_MAX_ATTEMPTS", &["101", "-1", "x"]),
    ("ON_DEMAND_DAILY_LIMIT", &["101", "-2", "daily"]),
    ("REMEDIATION_RECREATE_FAILED", &["perhaps"]),
    (
        "REPLICATION_EXPIRY_WARNING_DAYS",
        &["90", "-1", "fortnight"],
    ),
    ("DRY_RUN_IMPORTS_CATALOG", &["maybe"]),
    ("TEMPLATE_FORMAT", &["XML", "json5", "yml"]),
    ("LAUNCH_OPT_OUT_TAG", &["no-equals", "=false", " =x"]),
    (
        "LAUNCH_WINDOW",
        &[
            "someday 10:00-11:00",
            "mon 25:00-26:00",
            "mon 10:00",
            "mon-fri 10:00-10:00",
            "10:00-11:00",
            "mon 10:60-11:00",
            "mon-fri 22:00 06:00",
            "funday-fri 10:00-11:00",
        ],
    ),
    ("APP_CONCURRENCY", &["0", "51", "x"]),
    ("LAUNCH_MAX_ATTEMPTS", &["0", "11", "two"]),
    (
        "LAUNCH_RECHECK_RULE",
        &[
            "arn:aws:events:us-east-1:123456789012:rule/recheck",
            "launch recheck",
            "a-rule-name-longer-than-sixty-four-characters-is-refused-by-eventbridge",
        ],
    ),
    ("PLAN_KEY", &["/plan/wave.yaml", "state/plan.yaml"]),
    ("REPORT_DECISIONS_SHOWN", &["0", "10001", "all", "-5"]),
];

/// Variables for which no value alone is malformed, and what makes them bad instead.
const NO_BAD_VALUE_ALONE: &[(&str, &str)] = &[
    (
        "APP_ROLE_NAME",
        "any IAM role name is accepted; SMS checks it",
    ),
    (
        "LAUNCH_ROLE_NAME",
        "any IAM role name is accepted; SMS checks it",
    ),
    (
        "JOB_ROLE_NAME",
        "any IAM role name is accepted; SMS checks it",
    ),
    ("WAVE_NAME", "any name is accepted: it is only shown"),
    (
        "JOB_KMS_KEY_ID",
        "any key id is accepted; set without JOB_ENCRYPTED=true it is refused (tested below)",
    ),
];

/// A refused value falls back to its default, which can make a second variable
/// inconsistent: (bad variable, the variable then also named).
const CONSEQUENCES: &[(&str, &str)] = &[("JOB_ENCRYPTED", "JOB_KMS_KEY_ID")];

/// A valid value of every variable, so one bad value is the only problem.
fn valid_environment() -> BTreeMap<&'static str, String> {
    [
        ("EVENT_BUS_NAME", "sms-autopilot"),
        ("ARTIFACTS_BUCKET", "sms-autopilot-artifacts"),
        ("DRY_RUN", "false"),
        ("AWS_CALL_MAX_ATTEMPTS", "5"),
        ("WAVE_INCLUDE", "vmName:web-*"),
        ("WAVE_EXCLUDE", "vmPath:/lab/*"),
        ("WAVE_RECREATE_TERMINATED", "true"),
        ("MAX_ACTIVE_JOBS", "50"),
        ("CREATE_CONCURRENCY", "4"),
        ("JOB_FREQUENCY_HOURS", "12"),
        ("JOB_RUN_ONCE", "false"),
        ("JOB_LICENSE_TYPE", "BYOL"),
        ("JOB_ROLE_NAME", "sms"),
        ("JOB_AMIS_TO_KEEP", "3"),
        ("JOB_ENCRYPTED", "true"),
        ("JOB_KMS_KEY_ID", "alias/sms"),
        ("JOB_SEED_OFFSET_MINUTES", "30"),
        ("REMEDIATION_MAX_ATTEMPTS", "3"),
        ("ON_DEMAND_DAILY_LIMIT", "2"),
        ("REMEDIATION_RECREATE_FAILED", "false"),
        ("REPLICATION_EXPIRY_WARNING_DAYS", "14"),
        ("DRY_RUN_IMPORTS_CATALOG", "true"),
        ("TEMPLATE_FORMAT", "YAML"),
        ("LAUNCH_OPT_OUT_TAG", "autopilot:launch=false"),
        ("LAUNCH_WINDOW", "mon-fri 22:00-06:00"),
        ("APP_CONCURRENCY", "4"),
        ("LAUNCH_MAX_ATTEMPTS", "2"),
        ("LAUNCH_RECHECK_RULE", "sms-autopilot-launch-recheck"),
        ("PLAN_KEY", "plan/wave-plan.yaml"),
        ("WAVE_NAME", "wave-3"),
        ("REPORT_DECISIONS_SHOWN", "500"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn read<C: FunctionConfig>(env: &BTreeMap<&'static str, String>) -> Result<C, ConfigErrors> {
    C::from_lookup(|name| env.get(name).cloned())
}

/// Every bad value of every variable `C` reads is refused naming that variable only.
fn check_function<C: FunctionConfig>(function: &str) -> usize {
    let valid = valid_environment();
    assert!(
        read::<C>(&valid).is_ok(),
        "{function}: the valid environment is refused"
    );
    let mut checked = 0;
    for variable in C::variables() {
        if NO_BAD_VALUE_ALONE.iter().any(|(name, _)| *name == variable) {
            continue;
        }
        let values = BAD_VALUES
            .iter()
            .find(|(name, _)| *name == variable)
            .map(|(_, values)| *values)
            .unwrap_or_else(|| panic!("{function} reads {variable}: list its bad values"));
        for value in values {
            let mut env = valid.clone();
            env.insert(variable, (*value).to_owned());
            let errors = match read::<C>(&env) {
                Ok(_) => panic!("{function}: {variable}={value:?} was accepted"),
                Err(errors) => errors,
            };
            let named: Vec<&str> = errors.0.iter().map(|e| e.variable).collect();
            let expected: Vec<&str> = std::iter::once(variable)
                .chain(
                    CONSEQUENCES
                        .iter()
                        .filter(|(cause, _)| *cause == variable)
                        .map(|(_, follows)| *follows),
                )
                .collect();
            assert_eq!(
                named, expected,
                "{function}: {variable}={value:?} gave {errors}"
            );
            let message = errors.to_string();
            assert!(
                message.starts_with("invalid configuration: ")
                    && message.contains(&format!("{variable}: "))
                    && message.contains("expected "),
                "{function}: {variable}={value:?}: unclear {message:?}"
            );
            assert!(!errors.0[0].expected.is_empty());
            checked += 1;
        }
    }
    checked
}

#[test]
fn every_bad_value_of_every_variable_is_refused_naming_it() {
    let checked = check_function::<CatalogImportConfig>("catalog-import")
        + check_function::<JobCreatorConfig>("job-creator")
        + check_function::<JobWatcherConfig>("job-watcher")
        + check_function::<TemplateGeneratorConfig>("template-generator")
        + check_function::<AppLauncherConfig>("app-launcher")
        + check_function::<AppPlannerConfig>("app-planner")
        + check_function::<WaveReporterConfig>("wave-reporter");
    assert!(checked > 150, "{checked} bad values checked");
    // Every table row is a variable some function reads (no stale rows).
    let read: Vec<&str> = [
        CatalogImportConfig::variables(),
        JobCreatorConfig::variables(),
        JobWatcherConfig::variables(),
        TemplateGeneratorConfig::variables(),
        AppLauncherConfig::variables(),
        AppPlannerConfig::variables(),
        WaveReporterConfig::variables(),
    ]
    .concat();
    let listed = BAD_VALUES
        .iter()
        .map(|(name, _)| *name)
        .chain(NO_BAD_VALUE_ALONE.iter().map(|(name, _)| *name));
    for variable in listed {
        assert!(
            read.contains(&variable),
            "{variable} is read by no function"
        );
    }
}

#[test]
fn a_kms_key_without_encryption_is_refused_naming_the_key() {
    for variables in [JobCreatorConfig::variables(), JobWatcherConfig::variables()] {
        assert!(variables.contains(&"JOB_KMS_KEY_ID"));
    }
    let mut env = valid_environment();
    env.insert("JOB_ENCRYPTED", "false".into());
    for errors in [
        read::<JobCreatorConfig>(&env).map(drop).unwrap_err(),
        read::<JobWatcherConfig>(&env).map(drop).unwrap_err(),
    ] {
        let named: Vec<&str> = errors.0.iter().map(|e| e.variable).collect();
        assert_eq!(named, ["JOB_KMS_KEY_ID"], "{errors}");
        assert!(
            errors.to_string().contains("JOB_ENCRYPTED=true"),
            "{errors}"
        );
    }
}

#[test]
fn every_bad_variable_at_once_is_named_in_one_report() {
    let mut env = valid_environment();
    for (variable, values) in BAD_VALUES {
        env.insert(variable, values[0].to_owned());
    }
    let errors = read::<JobCreatorConfig>(&env).map(drop).unwrap_err();
    let message = errors.to_string();
    for variable in JobCreatorConfig::variables() {
        if NO_BAD_VALUE_ALONE.iter().any(|(name, _)| *name == variable) {
            continue;
        }
        assert!(
            message.contains(variable),
            "{variable} missing from {message}"
        );
    }
}

// ---- start-up ------------------------------------------------------------------------

/// Longest wait for a refused binary to stop.
const STOP_WAIT: Duration = Duration::from_secs(30);
const BUILD_WAIT: Duration = Duration::from_secs(30 * 60);

/// One malformed value per function, each a variable only that function (family) reads.
const STARTUP_CASES: &[(&str, &str, &str)] = &[
    ("catalog-import", "AWS_CALL_MAX_ATTEMPTS", "0"),
    ("job-creator", "WAVE_INCLUDE", "hostname:web-*"),
    ("job-watcher", "REMEDIATION_MAX_ATTEMPTS", "lots"),
    ("template-generator", "TEMPLATE_FORMAT", "XML"),
    ("app-launcher", "LAUNCH_WINDOW", "someday 10:00-11:00"),
    ("wave-reporter", "REPORT_DECISIONS_SHOWN", "all"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// The functions' debug binaries, brought up to date by cargo (as runtime_api.rs does,
/// `--test` keeps dev-dependency features unified with `cargo test --workspace`).
fn binaries() -> BTreeMap<String, PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut child = Command::new(&cargo)
        .args([
            "build",
            "--workspace",
            "--bins",
            "--test",
            "bad_config",
            "--message-format=json-render-diagnostics",
            "--quiet",
        ])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cargo runs");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("cargo output");
    let deadline = Instant::now() + BUILD_WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cargo status") {
            break status;
        }
        assert!(Instant::now() < deadline, "cargo build took too long");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "cargo build failed: {status}");
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .filter_map(|m| {
            let name = m["target"]["name"].as_str()?.to_owned();
            let path = PathBuf::from(m["executable"].as_str()?);
            STARTUP_CASES
                .iter()
                .any(|(f, _, _)| *f == name)
                .then_some((name, path))
        })
        .collect()
}

/// A Runtime API stand-in on 127.0.0.1 that records each request line and answers 202
/// to /runtime/init/error; a refused function must never ask for the next invocation.
struct RuntimeApi {
    addr: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl RuntimeApi {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            // Bounded: a refused function makes at most one request.
            for stream in listener.incoming().take(8) {
                let Ok(mut stream) = stream else { break };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut length = 0usize;
                for _ in 0..100 {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length.min(1 << 20)];
                let _ = reader.read_exact(&mut body);
                log.lock().expect("log").push((
                    request_line.trim().to_owned(),
                    String::from_utf8_lossy(&body).into_owned(),
                ));
                let _ = stream.write_all(
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
            }
        });
        Self { addr, requests }
    }
}

#[test]
fn each_function_binary_refuses_to_start_with_a_bad_value_and_names_it() {
    let binaries = binaries();
    for (function, variable, value) in STARTUP_CASES {
        let binary = binaries
            .get(*function)
            .unwrap_or_else(|| panic!("no binary for {function} in {binaries:?}"));
        let api = RuntimeApi::start();
        let mut env = valid_environment();
        env.insert(variable, (*value).to_owned());
        let mut child = Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", api.addr.as_str()),
                ("AWS_LAMBDA_FUNCTION_NAME", function),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bad-config"),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]0"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "AKIDBADCONFIG"),
                ("AWS_SECRET_ACCESS_KEY", "bad-config-secret"),
                ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    "/nonexistent/aws-credentials",
                ),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                // Nothing listens there: a function that got this far would fail loudly.
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the function");
        let deadline = Instant::now() + STOP_WAIT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("child status") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut output = String::new();
        let _ = child
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut output);
        let _ = child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut output);
        let requests = api.requests.lock().expect("log").clone();
        let context = format!("{function} with {variable}={value:?}");
        assert!(
            !requests
                .iter()
                .any(|(line, _)| line.contains("/invocation/next")),
            "{context}: asked for work: {requests:?}\n{output}"
        );
        let init_error = requests
            .iter()
            .find(|(line, _)| line.contains("/runtime/init/error"));
        match (init_error, status) {
            (Some((_, body)), _) => {
                assert!(body.contains(variable), "{context}: init error {body}")
            }
            (None, Some(status)) => {
                assert!(!status.success(), "{context}: exited {status}\n{output}");
                assert!(output.contains(variable), "{context}: {output}");
                assert!(
                    !output.contains("panicked"),
                    "{context}: a panic is not a refusal\n{output}"
                );
            }
            (None, None) => panic!("{context}: still running after {STOP_WAIT:?}\n{output}"),
        }
    }
}
