//! Unit tests of the config module.

use super::*;
use crate::model::OutputFormat;
use std::collections::HashMap;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn a_full_job_creator_configuration_is_read() {
    let config = JobCreatorConfig::from_lookup(lookup(&[
        ("EVENT_BUS_NAME", "autopilot"),
        ("ARTIFACTS_BUCKET", "artifacts"),
        ("DRY_RUN", "true"),
        ("WAVE_INCLUDE", "vmName:web-*, vmPath:/dc1/*"),
        ("WAVE_EXCLUDE", "vmManagerName:lab"),
        ("MAX_ACTIVE_JOBS", "20"),
        ("JOB_FREQUENCY_HOURS", "6"),
        ("JOB_LICENSE_TYPE", "byol"),
        ("JOB_ENCRYPTED", "true"),
        ("JOB_KMS_KEY_ID", "alias/sms"),
        ("JOB_AMIS_TO_KEEP", "3"),
        ("JOB_ROLE_NAME", ""),
    ]))
    .unwrap();
    assert!(config.common.dry_run);
    assert_eq!(config.policy.include.len(), 2);
    assert_eq!(config.policy.max_active_jobs, 20);
    assert_eq!(config.job.frequency_hours, 6);
    assert_eq!(config.job.license_type, Some(LicenseType::Byol));
    assert_eq!(config.job.amis_to_keep, Some(3));
    assert_eq!(config.job.role_name, None, "empty means unset");
    assert_eq!(config.create_concurrency, 4);
}

#[test]
fn every_bad_variable_is_named_with_its_expected_form() {
    let errors = JobCreatorConfig::from_lookup(lookup(&[
        ("DRY_RUN", "maybe"),
        ("WAVE_INCLUDE", "hostName:web"),
        ("JOB_FREQUENCY_HOURS", "48"),
        ("JOB_KMS_KEY_ID", "alias/sms"),
    ]))
    .unwrap_err();
    let variables: Vec<_> = errors.0.iter().map(|e| e.variable).collect();
    assert_eq!(
        variables,
        [
            "EVENT_BUS_NAME",
            "DRY_RUN",
            "ARTIFACTS_BUCKET",
            "WAVE_INCLUDE",
            "JOB_FREQUENCY_HOURS",
            "JOB_KMS_KEY_ID"
        ]
    );
    let message = errors.to_string();
    assert!(
        message.contains("EVENT_BUS_NAME: missing; expected the name or ARN"),
        "{message}"
    );
    assert!(
        message
            .contains("JOB_FREQUENCY_HOURS: 48 is out of range; expected an integer from 1 to 24"),
        "{message}"
    );
}

#[test]
fn each_function_declares_the_variables_it_reads() {
    assert_eq!(
        CatalogImportConfig::variables(),
        [
            "EVENT_BUS_NAME",
            "DRY_RUN",
            "AWS_CALL_MAX_ATTEMPTS",
            "DRY_RUN_IMPORTS_CATALOG"
        ]
    );
    let watcher = JobWatcherConfig::variables();
    assert!(watcher.contains(&"REPLICATION_EXPIRY_WARNING_DAYS"));
    assert!(watcher.contains(&"ARTIFACTS_BUCKET"));
    assert!(watcher.contains(&"REMEDIATION_MAX_ATTEMPTS"));
    assert!(watcher.contains(&"JOB_FREQUENCY_HOURS"));
    assert!(JobCreatorConfig::variables().contains(&"ARTIFACTS_BUCKET"));
    assert!(AppLauncherConfig::variables().contains(&"ARTIFACTS_BUCKET"));
    assert!(!CatalogImportConfig::variables().contains(&"ARTIFACTS_BUCKET"));
    assert!(TemplateGeneratorConfig::variables().contains(&"TEMPLATE_FORMAT"));
    assert!(AppLauncherConfig::variables().contains(&"LAUNCH_WINDOW"));
}

#[test]
fn launcher_and_template_values_are_validated() {
    let errors = AppLauncherConfig::from_lookup(lookup(&[
        ("EVENT_BUS_NAME", "bus"),
        ("ARTIFACTS_BUCKET", "b"),
        ("LAUNCH_WINDOW", "someday 10:00-11:00"),
        ("LAUNCH_OPT_OUT_TAG", "no-equals"),
    ]))
    .unwrap_err();
    assert_eq!(errors.0.len(), 2, "{errors}");
    let config = TemplateGeneratorConfig::from_lookup(lookup(&[
        ("EVENT_BUS_NAME", "bus"),
        ("ARTIFACTS_BUCKET", "b"),
        ("TEMPLATE_FORMAT", "yaml"),
    ]))
    .unwrap();
    assert_eq!(config.format, OutputFormat::Yaml);
    let errors = TemplateGeneratorConfig::from_lookup(lookup(&[
        ("EVENT_BUS_NAME", "bus"),
        ("ARTIFACTS_BUCKET", "b"),
        ("TEMPLATE_FORMAT", "xml"),
    ]))
    .unwrap_err();
    assert_eq!(errors.0[0].variable, "TEMPLATE_FORMAT");
}

#[test]
fn the_launch_recheck_rule_is_a_rule_name_or_nothing() {
    let with = |value: &str| {
        AppLauncherConfig::from_lookup(lookup(&[
            ("EVENT_BUS_NAME", "bus"),
            ("ARTIFACTS_BUCKET", "b"),
            ("LAUNCH_RECHECK_RULE", value),
        ]))
    };
    let named = with("sms-autopilot-launch-recheck").unwrap();
    assert_eq!(
        named.launch_recheck_rule.as_deref(),
        Some("sms-autopilot-launch-recheck")
    );
    assert_eq!(with("").unwrap().launch_recheck_rule, None);
    for bad in [
        "arn:aws:events:us-east-1:1:rule/x",
        "has space",
        &"r".repeat(65),
    ] {
        let errors = with(bad).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{bad}: {errors}");
        assert_eq!(errors.0[0].variable, "LAUNCH_RECHECK_RULE");
        assert!(
            errors.to_string().contains("not an EventBridge rule name"),
            "{errors}"
        );
    }
}

/// The lease a function's configuration declares: where, and for which runs.
fn lease_of<C: FunctionConfig>() -> Option<(&'static str, String, LeasedRuns)> {
    let config = C::from_lookup(lookup(&[
        ("EVENT_BUS_NAME", "autopilot"),
        ("ARTIFACTS_BUCKET", "artifacts"),
    ]))
    .expect("the required variables are given");
    config
        .lease()
        .map(|lease| (lease.function, lease.bucket.to_owned(), lease.runs))
}

#[test]
fn the_functions_that_keep_state_run_alone_under_a_lease_in_the_artifacts_bucket() {
    let all = |function| Some((function, "artifacts".to_owned(), LeasedRuns::All));
    assert_eq!(lease_of::<JobCreatorConfig>(), all("job-creator"));
    assert_eq!(lease_of::<JobWatcherConfig>(), all("job-watcher"));
    assert_eq!(lease_of::<AppLauncherConfig>(), all("app-launcher"));
    assert_eq!(lease_of::<AppPlannerConfig>(), all("app-planner"));
    assert_eq!(
        lease_of::<WaveReporterConfig>(),
        Some((
            "wave-reporter",
            "artifacts".to_owned(),
            LeasedRuns::Schedules
        ))
    );
    // Stateless, or its work is per application: its runs may overlap.
    assert_eq!(lease_of::<CatalogImportConfig>(), None);
    assert_eq!(lease_of::<TemplateGeneratorConfig>(), None);
}

#[test]
fn only_the_reporters_scheduled_runs_take_its_lease() {
    let reporter = LeasePolicy {
        function: "wave-reporter",
        bucket: "artifacts",
        runs: LeasedRuns::Schedules,
    };
    assert!(reporter.covers(true));
    assert!(!reporter.covers(false));
    let launcher = LeasePolicy {
        runs: LeasedRuns::All,
        ..reporter
    };
    assert!(launcher.covers(false));
}
