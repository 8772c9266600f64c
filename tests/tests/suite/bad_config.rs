//! Bad configuration values, table-driven: for every variable each function reads
//! (`FunctionConfig::variables()`), a list of malformed values, each refused with exactly
//! one error that names that variable and the form it expects. A variable without a
//! table entry fails the test, so a new variable must come with its bad values.
//! Then start-up: each function's debug binary, started with a bad value, stops before
//! asking the Lambda Runtime API for work (it exits non-zero or posts
//! /runtime/init/error) and names the variable. (A missing EVENT_BUS_NAME is
//! runtime_api.rs's case; here every function gets a malformed value of its own.)

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use autopilot_core::clients::Endpoints;
use autopilot_local::harness::bootstrap::{Bootstrap, Output};
use autopilot_local::harness::clients::StaticCredentials;
use autopilot_local::harness::runtime_api::{lambda_environment, Report, RuntimeApi, Sandbox};

use autopilot_core::config::{
    AppLauncherConfig, AppPlannerConfig, CatalogImportConfig, ConfigErrors, FunctionConfig,
    JobCreatorConfig, JobWatcherConfig, MgnImportConfig, TemplateGeneratorConfig,
    WaveReporterConfig,
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
            "hostName:web",
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
    (
        "INVENTORY_KEY",
        &["/plan/inventory.csv", "state/inventory.csv"],
    ),
    ("REPORT_DECISIONS_SHOWN", &["0", "10001", "all", "-5"]),
    ("BACKEND", &["sms", "EC2", "both"]),
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
        ("INVENTORY_KEY", "plan/mgn-inventory.csv"),
        ("WAVE_NAME", "wave-3"),
        ("REPORT_DECISIONS_SHOWN", "500"),
        ("BACKEND", "MGN"),
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
        + check_function::<WaveReporterConfig>("wave-reporter")
        + check_function::<MgnImportConfig>("mgn-import");
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
        MgnImportConfig::variables(),
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

/// One malformed value per function, each a variable only that function (family) reads.
const STARTUP_CASES: &[(&str, &str, &str)] = &[
    ("catalog-import", "AWS_CALL_MAX_ATTEMPTS", "0"),
    ("job-creator", "WAVE_INCLUDE", "hostName:web-*"),
    ("job-watcher", "REMEDIATION_MAX_ATTEMPTS", "lots"),
    ("template-generator", "TEMPLATE_FORMAT", "XML"),
    ("app-launcher", "LAUNCH_WINDOW", "someday 10:00-11:00"),
    ("wave-reporter", "REPORT_DECISIONS_SHOWN", "all"),
];

/// The environment Lambda gives `function` served by `api`, its configuration valid
/// but for `variable`, and nothing listening where its clients would call.
fn startup_environment(
    function: &str,
    api: &RuntimeApi,
    variable: &str,
    value: &str,
) -> BTreeMap<String, String> {
    let nowhere = "http://127.0.0.1:9".to_owned();
    let endpoints = Endpoints {
        sms: nowhere.clone(),
        mgn: Some(nowhere.clone()),
        ec2: Some(nowhere.clone()),
        events: nowhere.clone(),
        s3: nowhere,
    };
    let sandbox = Sandbox {
        memory_mb: 256,
        log_stream: "2026/11/22/[$LATEST]0",
        credentials: StaticCredentials::LOCAL,
        endpoints: &endpoints,
    };
    let mut env = lambda_environment(function, api.addr(), &sandbox);
    env.extend(
        valid_environment()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    env.insert(variable.to_owned(), value.to_owned());
    env
}

/// Waits for `process` to exit, at most [`STOP_WAIT`].
async fn exit_of(process: &mut Bootstrap) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + STOP_WAIT;
    while Instant::now() < deadline {
        if let Some(status) = process.exited() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_binary_refuses_to_start_with_a_bad_value_and_names_it() {
    let binaries = common::binaries::all();
    for (function, variable, value) in STARTUP_CASES {
        let binary = &binaries[*function];
        let api = RuntimeApi::start().await.expect("bind the Runtime API");
        let env = startup_environment(function, &api, variable, value);
        let mut process = Bootstrap::spawn(binary, &env, Output::Collected)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let status = exit_of(&mut process).await;
        // Let the output readers catch up with an exited process.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let output = process.output();
        let context = format!("{function} with {variable}={value:?}");
        assert!(
            api.next_calls().is_empty(),
            "{context}: asked for work\n{output}"
        );
        let init_error = api
            .reports()
            .into_iter()
            .find_map(|(_, report)| match report {
                Report::InitError { body, .. } => Some(body.to_string()),
                _ => None,
            });
        match (init_error, status) {
            (Some(body), _) => assert!(body.contains(variable), "{context}: init error {body}"),
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
