//! Checks infra/template.yaml against the code it deploys: each function gets exactly
//! the environment variables its Config reads, only the SMS, MGN and EC2 actions it
//! calls (SMS's and the listings' on `Resource: "*"`, the one place a wildcard resource
//! is allowed; MGN's others on the account's source servers, jobs, applications and
//! waves), the runtime and build
//! settings cargo-lambda needs, the triggers its handler accepts, and the artifacts
//! bucket is versioned, encrypted, private and TLS-only.
//!
//! The template is parsed with serde_yaml_ng; CloudFormation's short-form tags (`!Ref`,
//! `!Sub`, `!GetAtt`, `!If`, ...) arrive as `Value::Tagged` and are rewritten into
//! their long form (`{"Ref": ..}`, `{"Fn::Sub": ..}`) so both spellings read alike.

use std::collections::BTreeSet;
use std::path::PathBuf;

use autopilot_core::config::{
    AppLauncherConfig, AppPlannerConfig, CatalogImportConfig, FunctionConfig, JobCreatorConfig,
    JobWatcherConfig, MgnImportConfig, MgnLauncherConfig, MgnPlannerConfig, MgnWatcherConfig,
    TemplateGeneratorConfig, WaveReporterConfig,
};
use autopilot_core::events::{
    AppReady, CatalogImportStarted, DetailType, ImportCatalogRequested, ReplicationRunCompleted,
    EVENT_SOURCE,
};
use autopilot_core::trigger::{
    MGN_LAUNCH_RESULT, MGN_LIFECYCLE_STATE_CHANGE, MGN_SOURCE, MGN_STALLED_CHANGE,
    S3_OBJECT_CREATED, S3_SOURCE, SMS_JOB_STATE_CHANGE, SMS_SOURCE,
};
use serde_yaml_ng::{Mapping, Value};

/// What the template must say about one function.
struct Expected {
    logical_id: &'static str,
    /// Crate, binary and directory name under functions/.
    name: &'static str,
    variables: Vec<&'static str>,
    /// The SMS, MGN and EC2 actions it may call.
    actions: &'static [&'static str],
    /// Its runs take the lease `state/<name>/lease.json`, so that two never overlap.
    runs_alone: bool,
    /// It publishes decisions on the project's bus (every function but the reporter).
    publishes: bool,
    /// (bus, source, detail-types) of each EventBridge rule; bus `None` is the default bus.
    rules: Vec<(Option<&'static str>, &'static str, Vec<&'static str>)>,
    /// The parameter holding the function's schedule, if it has one.
    schedule_parameter: Option<&'static str>,
    /// The variable naming a schedule deployed disabled that the function switches on
    /// and off itself (the launcher's re-check), if it has one.
    switched_schedule: Option<&'static str>,
}

fn expected() -> Vec<Expected> {
    vec![
        Expected {
            logical_id: "CatalogImportFunction",
            name: "catalog-import",
            variables: CatalogImportConfig::variables(),
            actions: &["sms:GetConnectors", "sms:ImportServerCatalog"],
            runs_alone: false,
            publishes: true,
            rules: vec![(
                Some("EventBus"),
                EVENT_SOURCE,
                vec![ImportCatalogRequested::DETAIL_TYPE],
            )],
            schedule_parameter: Some("CatalogImportSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "JobCreatorFunction",
            name: "job-creator",
            variables: JobCreatorConfig::variables(),
            actions: &[
                "sms:GetServers",
                "sms:GetReplicationJobs",
                "sms:CreateReplicationJob",
            ],
            runs_alone: true,
            publishes: true,
            rules: vec![],
            schedule_parameter: Some("JobCreatorSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "JobWatcherFunction",
            name: "job-watcher",
            variables: JobWatcherConfig::variables(),
            actions: &[
                "sms:GetReplicationJobs",
                "sms:StartOnDemandReplicationRun",
                "sms:DeleteReplicationJob",
                "sms:CreateReplicationJob",
                "sms:UpdateReplicationJob",
            ],
            runs_alone: true,
            publishes: true,
            rules: vec![(None, SMS_SOURCE, vec![SMS_JOB_STATE_CHANGE])],
            schedule_parameter: Some("JobWatcherSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "TemplateGeneratorFunction",
            name: "template-generator",
            variables: TemplateGeneratorConfig::variables(),
            actions: &[
                "sms:ListApps",
                "sms:GetApp",
                "sms:GenerateTemplate",
                "sms:GenerateChangeSet",
            ],
            runs_alone: false,
            publishes: true,
            rules: vec![(
                Some("EventBus"),
                EVENT_SOURCE,
                vec![AppReady::DETAIL_TYPE, ReplicationRunCompleted::DETAIL_TYPE],
            )],
            schedule_parameter: None,
            switched_schedule: None,
        },
        Expected {
            logical_id: "AppLauncherFunction",
            name: "app-launcher",
            variables: AppLauncherConfig::variables(),
            actions: &[
                "sms:ListApps",
                "sms:GetApp",
                "sms:GetReplicationJobs",
                "sms:LaunchApp",
            ],
            runs_alone: true,
            publishes: true,
            rules: vec![(
                Some("EventBus"),
                EVENT_SOURCE,
                vec![ReplicationRunCompleted::DETAIL_TYPE],
            )],
            schedule_parameter: Some("AppLauncherSchedule"),
            switched_schedule: Some("LAUNCH_RECHECK_RULE"),
        },
        Expected {
            logical_id: "AppPlannerFunction",
            name: "app-planner",
            variables: AppPlannerConfig::variables(),
            actions: &[
                "sms:GetServers",
                "sms:ListApps",
                "sms:GetApp",
                "sms:GetAppLaunchConfiguration",
                "sms:GetAppReplicationConfiguration",
                "sms:CreateApp",
                "sms:UpdateApp",
                "sms:DeleteApp",
                "sms:PutAppLaunchConfiguration",
                "sms:PutAppReplicationConfiguration",
                "sms:StartAppReplication",
                "sms:DeleteAppReplicationConfiguration",
                "sms:StopAppReplication",
                "sms:DeleteReplicationJob",
                "sms:TerminateApp",
            ],
            runs_alone: true,
            publishes: true,
            rules: vec![
                (None, S3_SOURCE, vec![S3_OBJECT_CREATED]),
                (
                    Some("EventBus"),
                    EVENT_SOURCE,
                    vec![CatalogImportStarted::DETAIL_TYPE],
                ),
            ],
            schedule_parameter: Some("AppPlannerSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "WaveReporterFunction",
            name: "wave-reporter",
            variables: WaveReporterConfig::variables(),
            actions: &[
                "sms:GetServers",
                "sms:GetReplicationJobs",
                "sms:ListApps",
                "sms:GetApp",
                "mgn:DescribeSourceServers",
            ],
            runs_alone: true,
            publishes: false,
            // Every decision, whatever its detail-type.
            rules: vec![(Some("EventBus"), EVENT_SOURCE, vec![])],
            schedule_parameter: Some("WaveReporterSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "MgnPlannerFunction",
            name: "mgn-planner",
            variables: MgnPlannerConfig::variables(),
            actions: &[
                "mgn:DescribeSourceServers",
                "mgn:ListApplications",
                "mgn:ListWaves",
                "mgn:CreateApplication",
                "mgn:CreateWave",
                "mgn:AssociateSourceServers",
                "mgn:DisassociateSourceServers",
                "mgn:AssociateApplications",
                "mgn:DisassociateApplications",
                "mgn:GetLaunchConfiguration",
                "mgn:UpdateLaunchConfiguration",
                "mgn:GetReplicationConfiguration",
                "mgn:UpdateReplicationConfiguration",
                "mgn:TagResource",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:ModifyLaunchTemplate",
            ],
            runs_alone: true,
            publishes: true,
            rules: vec![
                (None, S3_SOURCE, vec![S3_OBJECT_CREATED]),
                (None, MGN_SOURCE, vec![MGN_LIFECYCLE_STATE_CHANGE]),
            ],
            schedule_parameter: Some("MgnPlannerSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "MgnWatcherFunction",
            name: "mgn-watcher",
            variables: MgnWatcherConfig::variables(),
            actions: &["mgn:DescribeSourceServers", "mgn:RetryDataReplication"],
            runs_alone: true,
            publishes: true,
            rules: vec![(
                None,
                MGN_SOURCE,
                vec![MGN_STALLED_CHANGE, MGN_LIFECYCLE_STATE_CHANGE],
            )],
            schedule_parameter: Some("MgnWatcherSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "MgnImportFunction",
            name: "mgn-import",
            variables: MgnImportConfig::variables(),
            actions: &["mgn:StartImport", "mgn:ListImports", "mgn:ListImportErrors"],
            runs_alone: true,
            publishes: true,
            rules: vec![(None, S3_SOURCE, vec![S3_OBJECT_CREATED])],
            schedule_parameter: Some("MgnImportSchedule"),
            switched_schedule: None,
        },
        Expected {
            logical_id: "MgnLauncherFunction",
            name: "mgn-launcher",
            variables: MgnLauncherConfig::variables(),
            actions: &[
                "mgn:DescribeSourceServers",
                "mgn:DescribeJobs",
                "mgn:DescribeJobLogItems",
                "mgn:StartTest",
                "mgn:StartCutover",
                "mgn:ChangeServerLifeCycleState",
                "mgn:TerminateTargetInstances",
                "mgn:FinalizeCutover",
                "mgn:MarkAsArchived",
                "ec2:DescribeInstanceStatus",
                "ec2:ModifyLaunchTemplate",
            ],
            runs_alone: true,
            publishes: true,
            rules: vec![(
                None,
                MGN_SOURCE,
                vec![MGN_LAUNCH_RESULT, MGN_LIFECYCLE_STATE_CHANGE],
            )],
            schedule_parameter: Some("MgnLauncherSchedule"),
            switched_schedule: None,
        },
    ]
}

/// Actions that take no resource in IAM (listings, and EC2's status checks): the only
/// ones besides SMS's that may be granted on `Resource: "*"`.
const NO_RESOURCE_LEVEL: [&str; 13] = [
    "mgn:DescribeSourceServers",
    "mgn:DescribeJobs",
    "mgn:ListApplications",
    "mgn:ListWaves",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeKeyPairs",
    "ec2:DescribeLaunchTemplateVersions",
    // Assumed: no resource type could be confirmed for MGN's imports.
    "mgn:StartImport",
    "mgn:ListImports",
    "mgn:ListImportErrors",
];

// --- loading ---------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Rewrites `!Name value` into `{"Fn::Name": value}` (`!Ref` into `{"Ref": value}`).
fn long_form(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" {
                name.to_owned()
            } else {
                format!("Fn::{name}")
            };
            let mut mapping = Mapping::new();
            mapping.insert(Value::from(key), long_form(tagged.value));
            Value::Mapping(mapping)
        }
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(long_form).collect()),
        Value::Mapping(mapping) => Value::Mapping(
            mapping
                .into_iter()
                .map(|(key, value)| (key, long_form(value)))
                .collect(),
        ),
        other => other,
    }
}

/// infra/template.yaml, or the file `INFRA_TEMPLATE` names (to try the checks on a
/// deliberately broken copy).
fn template() -> Value {
    let path = std::env::var_os("INFRA_TEMPLATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("infra/template.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let value: Value = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()));
    long_form(value)
}

// --- reading helpers ---------------------------------------------------------------

fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(*key))
}

fn resources(template: &Value) -> &Mapping {
    get(template, &["Resources"])
        .and_then(Value::as_mapping)
        .expect("the template has a Resources mapping")
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    get(template, &["Resources", logical_id])
        .unwrap_or_else(|| panic!("the template has no resource {logical_id}"))
}

/// A function property, falling back to `Globals.Function` as SAM does.
fn function_property<'a>(template: &'a Value, logical_id: &str, key: &str) -> Option<&'a Value> {
    get(resource(template, logical_id), &["Properties", key])
        .or_else(|| get(template, &["Globals", "Function", key]))
}

/// `{"Ref": name}` -> name.
fn ref_target(value: &Value) -> Option<&str> {
    get(value, &["Ref"]).and_then(Value::as_str)
}

/// `{"Fn::GetAtt": "A.B"}` or `{"Fn::GetAtt": [A, B]}` -> "A.B".
fn get_att(value: &Value) -> Option<String> {
    match get(value, &["Fn::GetAtt"])? {
        Value::String(dotted) => Some(dotted.clone()),
        Value::Sequence(parts) => Some(
            parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("."),
        ),
        _ => None,
    }
}

/// A string or a list of strings.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Sequence(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn is_wildcard(resource: &Value) -> bool {
    match resource {
        Value::String(one) => one == "*",
        Value::Sequence(items) => items.iter().any(|item| item.as_str() == Some("*")),
        _ => false,
    }
}

fn type_of(resource: &Value) -> &str {
    get(resource, &["Type"])
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Every statement of a statement list; both branches of an `Fn::If` count (a
/// conditional statement must be right whenever it is present), `AWS::NoValue` none.
fn flatten_statements(list: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let items = match list {
        Value::Sequence(items) => items.clone(),
        single => vec![single.clone()],
    };
    for item in items {
        if let Some(Value::Sequence(branches)) = get(&item, &["Fn::If"]) {
            for branch in branches.iter().skip(1) {
                out.extend(flatten_statements(branch));
            }
        } else if ref_target(&item) != Some("AWS::NoValue") {
            out.push(item);
        }
    }
    out
}

/// The statements of a function's inline policies; anything else in `Policies` (a
/// managed policy name, a SAM policy template) is reported, since it would grant
/// permissions this test cannot see.
fn function_statements(template: &Value, expected: &Expected) -> Vec<Value> {
    let policies = get(
        resource(template, expected.logical_id),
        &["Properties", "Policies"],
    )
    .unwrap_or_else(|| panic!("{}: no Policies", expected.name));
    let policies = match policies {
        Value::Sequence(items) => items.clone(),
        single => vec![single.clone()],
    };
    let mut statements = Vec::new();
    for policy in &policies {
        let list = get(policy, &["Statement"]).unwrap_or_else(|| {
            panic!(
                "{}: policy {policy:?} is not an inline policy document; only inline \
                 statements are allowed so that least privilege can be checked",
                expected.name
            )
        });
        statements.extend(flatten_statements(list));
    }
    statements
}

fn statement_actions(statement: &Value) -> Vec<String> {
    get(statement, &["Action"]).map(strings).unwrap_or_default()
}

// --- (a) environment variables -------------------------------------------------------

#[test]
fn every_function_gets_exactly_the_variables_its_config_reads() {
    let template = template();
    let global = get(
        &template,
        &["Globals", "Function", "Environment", "Variables"],
    )
    .and_then(Value::as_mapping)
    .cloned()
    .unwrap_or_default();
    let mut problems = Vec::new();
    for expected in expected() {
        // SAM merges Globals' variables into each function's.
        let mut variables = global.clone();
        if let Some(own) = get(
            resource(&template, expected.logical_id),
            &["Properties", "Environment", "Variables"],
        )
        .and_then(Value::as_mapping)
        {
            variables.extend(own.clone());
        }
        let in_template: BTreeSet<&str> = variables.keys().filter_map(Value::as_str).collect();
        let in_config: BTreeSet<&str> = expected.variables.iter().copied().collect();
        for missing in in_config.difference(&in_template) {
            problems.push(format!(
                "{}: variable {missing} is read by its Config but not set in the template",
                expected.name
            ));
        }
        for extra in in_template.difference(&in_config) {
            problems.push(format!(
                "{}: variable {extra} is set in the template but its Config does not read it",
                expected.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_variable_is_fed_from_a_parameter_or_the_stacks_own_resources() {
    let template = template();
    let parameters = get(&template, &["Parameters"])
        .and_then(Value::as_mapping)
        .expect("the template has Parameters");
    let mut problems = Vec::new();
    for expected in expected() {
        let Some(variables) = get(
            resource(&template, expected.logical_id),
            &["Properties", "Environment", "Variables"],
        )
        .and_then(Value::as_mapping) else {
            continue;
        };
        for (name, value) in variables {
            let name = name.as_str().unwrap_or("?");
            let target = ref_target(value);
            let fine = match name {
                "EVENT_BUS_NAME" => target.is_some_and(|target| {
                    type_of(resource(&template, target)) == "AWS::Events::EventBus"
                }),
                "ARTIFACTS_BUCKET" => target.is_some_and(|target| {
                    type_of(resource(&template, target)) == "AWS::S3::Bucket"
                }),
                "WAVE_NAME" => target == Some("AWS::StackName"),
                _ if expected.switched_schedule == Some(name) => {
                    switched_schedule_names(resource(&template, expected.logical_id))
                        .contains(value)
                }
                _ => target.is_some_and(|target| parameters.contains_key(target)),
            };
            if !fine {
                problems.push(format!(
                    "{}: {name} = {value:?} is not a !Ref to a stack parameter \
                     (or, for EVENT_BUS_NAME / ARTIFACTS_BUCKET, to the bus / bucket)",
                    expected.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- (b) least privilege -------------------------------------------------------------

#[test]
fn each_function_may_call_exactly_the_service_actions_it_uses() {
    let template = template();
    let mut problems = Vec::new();
    let is_service = |a: &String| ["sms:", "mgn:", "ec2:"].iter().any(|p| a.starts_with(p));
    for expected in expected() {
        let statements = function_statements(&template, &expected);
        let mut granted = BTreeSet::new();
        for statement in &statements {
            let actions = statement_actions(statement);
            let sms: Vec<_> = actions.iter().filter(|a| a.starts_with("sms:")).collect();
            let resource = get(statement, &["Resource"]);
            if !sms.is_empty() && resource.and_then(Value::as_str) != Some("*") {
                problems.push(format!(
                    "{}: SMS has no resource-level permissions, so {sms:?} must have \
                     Resource \"*\", not {resource:?}",
                    expected.name
                ));
            }
            if !sms.is_empty() && sms.len() != actions.len() {
                problems.push(format!(
                    "{}: the Resource \"*\" statement for {sms:?} also grants {:?}",
                    expected.name,
                    actions
                        .iter()
                        .filter(|a| !a.starts_with("sms:"))
                        .collect::<Vec<_>>()
                ));
            }
            granted.extend(actions.into_iter().filter(is_service));
        }
        let wanted: BTreeSet<String> = expected.actions.iter().map(|a| a.to_string()).collect();
        for missing in wanted.difference(&granted) {
            problems.push(format!(
                "{}: {missing} is called but not allowed",
                expected.name
            ));
        }
        for extra in granted.difference(&wanted) {
            problems.push(format!(
                "{}: {extra} is allowed but never called",
                expected.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every policy document anywhere in the template, with the resource it belongs to.
fn all_statements(template: &Value) -> Vec<(String, Value)> {
    fn walk(owner: &str, value: &Value, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Mapping(mapping) => {
                if let Some(list) = mapping.get("Statement") {
                    for statement in flatten_statements(list) {
                        out.push((owner.to_owned(), statement));
                    }
                }
                for (key, child) in mapping {
                    if key.as_str() != Some("Statement") {
                        walk(owner, child, out);
                    }
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| walk(owner, item, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (logical_id, resource) in resources(template) {
        walk(logical_id.as_str().unwrap_or("?"), resource, &mut out);
    }
    out
}

#[test]
fn only_actions_without_resources_have_a_wildcard_resource_and_no_action_is_a_wildcard() {
    let template = template();
    let statements = all_statements(&template);
    assert!(
        !statements.is_empty(),
        "no policy statements found in the template"
    );
    let mut problems = Vec::new();
    for (owner, statement) in &statements {
        let actions = statement_actions(statement);
        for action in &actions {
            if action.contains('*') && action != "s3:*" {
                problems.push(format!("{owner}: wildcard action {action}"));
            }
        }
        let allow = get(statement, &["Effect"]).and_then(Value::as_str) == Some("Allow");
        if allow && actions.iter().any(|a| a == "s3:*") {
            problems.push(format!("{owner}: allows s3:*"));
        }
        if get(statement, &["Resource"]).is_some_and(is_wildcard)
            && !actions
                .iter()
                .all(|a| a.starts_with("sms:") || NO_RESOURCE_LEVEL.contains(&a.as_str()))
        {
            problems.push(format!(
                "{owner}: Resource \"*\" on {actions:?}; only sms:* actions and those \
                 without resource-level permissions may use it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn events_s3_and_pass_role_are_scoped_to_the_stacks_own_resources() {
    let template = template();
    let mut problems = Vec::new();
    for expected in expected() {
        let statements = function_statements(&template, &expected);
        for statement in &statements {
            let actions = statement_actions(statement);
            let resource = get(statement, &["Resource"])
                .cloned()
                .unwrap_or(Value::Null);
            if actions.iter().any(|a| a == "events:PutEvents")
                && get_att(&resource).as_deref() != Some("EventBus.Arn")
            {
                problems.push(format!(
                    "{}: events:PutEvents must be on !GetAtt EventBus.Arn only, not {resource:?}",
                    expected.name
                ));
            }
            if actions.iter().any(|a| a == "iam:PassRole") {
                // Job creators pass the jobs' role; the planner the apps' and launch's.
                let roles: &[&str] = if expected.name == "app-planner" {
                    &["AppRoleName", "LaunchRoleName"]
                } else {
                    &["JobRoleName"]
                };
                let scoped = get(&resource, &["Fn::Sub"])
                    .and_then(Value::as_str)
                    .is_some_and(|arn| {
                        roles
                            .iter()
                            .any(|role| arn.ends_with(&format!(":role/${{{role}}}")))
                    });
                if !scoped {
                    problems.push(format!(
                        "{}: iam:PassRole must name the {roles:?} role only, not {resource:?}",
                        expected.name
                    ));
                }
            }
        }
        let publishes = statements
            .iter()
            .any(|s| statement_actions(s).iter().any(|a| a == "events:PutEvents"));
        if publishes != expected.publishes {
            problems.push(format!(
                "{}: events:PutEvents is for the functions that publish decisions, and only them",
                expected.name
            ));
        }
        let passes_role = statements
            .iter()
            .any(|s| statement_actions(s).iter().any(|a| a == "iam:PassRole"));
        let passes_roles = ["sms:CreateReplicationJob", "sms:CreateApp"]
            .iter()
            .any(|action| expected.actions.contains(action));
        if passes_role != passes_roles {
            problems.push(format!(
                "{}: iam:PassRole is needed exactly by CreateReplicationJob and CreateApp callers",
                expected.name
            ));
        }
        let s3: Vec<String> = statements
            .iter()
            .flat_map(statement_actions)
            .filter(|a| a.starts_with("s3:"))
            .collect();
        let wanted: &[&str] = match expected.name {
            "job-watcher" | "job-creator" | "app-launcher" | "template-generator"
            | "app-planner" | "mgn-planner" | "mgn-watcher" | "mgn-launcher" | "mgn-import" => {
                &["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
            }
            "wave-reporter" => &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:ListBucket",
            ],
            _ => &[],
        };
        let s3: BTreeSet<&str> = s3.iter().map(String::as_str).collect();
        let wanted: BTreeSet<&str> = wanted.iter().copied().collect();
        if s3 != wanted {
            problems.push(format!(
                "{}: S3 actions {s3:?}, expected {wanted:?}",
                expected.name
            ));
        }
    }
    // The watcher's snapshot and the generator's archive stay under their prefixes.
    let prefix_of = |name: &str, action: &str| -> Vec<String> {
        let expected = expected().into_iter().find(|e| e.name == name).unwrap();
        function_statements(&template, &expected)
            .iter()
            .filter(|s| statement_actions(s).iter().any(|a| a == action))
            .flat_map(|s| match get(s, &["Resource"]) {
                Some(Value::Sequence(resources)) => resources.clone(),
                Some(resource) => vec![resource.clone()],
                None => Vec::new(),
            })
            .filter_map(|r| {
                get(&r, &["Fn::Sub"])
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    };
    // A function whose runs take a lease reads and writes it under its own state prefix.
    for expected in expected().iter().filter(|e| e.runs_alone) {
        let own = format!("${{ArtifactsBucket.Arn}}/state/{}/*", expected.name);
        for action in ["s3:GetObject", "s3:PutObject"] {
            if !prefix_of(expected.name, action).contains(&own) {
                problems.push(format!(
                    "{}: its lease needs {action} on {own}",
                    expected.name
                ));
            }
        }
    }
    for watcher in ["job-watcher", "mgn-watcher", "mgn-launcher"] {
        let state = prefix_of(watcher, "s3:PutObject");
        if state != [format!("${{ArtifactsBucket.Arn}}/state/{watcher}/*")] {
            problems.push(format!(
                "{watcher}: s3:PutObject must be on the artifacts bucket's state/{watcher}/* only, not {state:?}"
            ));
        }
    }
    let reporter_writes = prefix_of("wave-reporter", "s3:PutObject");
    let reporter_may_write = [
        "${ArtifactsBucket.Arn}/state/wave-reporter/*",
        "${ArtifactsBucket.Arn}/reports/*",
        "${ArtifactsBucket.Arn}/state/apps/*",
    ];
    if reporter_writes != reporter_may_write
        || prefix_of("wave-reporter", "s3:DeleteObject")
            != ["${ArtifactsBucket.Arn}/state/wave-reporter/*"]
    {
        problems.push(format!(
            "wave-reporter: writes {reporter_writes:?}; it may write its trail, the reports and the remembered apps, and delete only under its trail"
        ));
    }
    let creator_state = prefix_of("job-creator", "s3:PutObject");
    if creator_state != ["${ArtifactsBucket.Arn}/state/job-creator/*"] {
        problems.push(format!(
            "job-creator: s3:PutObject must be on the artifacts bucket's state/job-creator/* only, not {creator_state:?}"
        ));
    }
    let planner_writes = prefix_of("app-planner", "s3:PutObject");
    let planner_reads = prefix_of("app-planner", "s3:GetObject");
    let planner_state = [
        "${ArtifactsBucket.Arn}/state/apps/*",
        "${ArtifactsBucket.Arn}/state/app-planner/*",
    ];
    let plan = "${ArtifactsBucket.Arn}/${PlanKey}";
    if planner_writes != planner_state
        || planner_reads
            .iter()
            .any(|r| r != plan && !planner_state.contains(&r.as_str()))
    {
        problems.push(format!(
            "app-planner: writes {planner_writes:?} and reads {planner_reads:?}; expected its state prefixes, plus the plan for reading"
        ));
    }
    let generator_writes = prefix_of("template-generator", "s3:PutObject");
    let wanted = [
        "${ArtifactsBucket.Arn}/apps/*",
        "${ArtifactsBucket.Arn}/state/apps/*",
    ];
    if generator_writes != wanted {
        problems.push(format!(
            "template-generator: s3:PutObject must be on the artifacts bucket's apps/* and state/apps/* only, not {generator_writes:?}"
        ));
    }
    // Remembered apps: both functions read and write exactly the shared index's prefix
    // of the artifacts bucket (the generator also reads SMS's own template bucket); the
    // launcher also its own ledger.
    let launcher = [
        "${ArtifactsBucket.Arn}/state/apps/*",
        "${ArtifactsBucket.Arn}/state/app-launcher/*",
    ];
    let launcher_reads = [
        "${ArtifactsBucket.Arn}/state/apps/*",
        "${ArtifactsBucket.Arn}/state/app-launcher/*",
        "${ArtifactsBucket.Arn}/state/app-planner/resolved.json",
    ];
    let generator = ["${ArtifactsBucket.Arn}/state/apps/*"];
    for (name, action, wanted) in [
        ("app-launcher", "s3:PutObject", &launcher[..]),
        ("app-launcher", "s3:GetObject", &launcher_reads[..]),
        ("template-generator", "s3:GetObject", &generator[..]),
    ] {
        let on_artifacts: Vec<String> = prefix_of(name, action)
            .into_iter()
            .filter(|resource| resource.starts_with("${ArtifactsBucket.Arn}"))
            .collect();
        if on_artifacts != wanted {
            problems.push(format!(
                "{name}: {action} on the artifacts bucket must be on {wanted:?} only, not {on_artifacts:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- (c) runtime and build -----------------------------------------------------------

#[test]
fn every_function_is_a_cargo_lambda_arm64_binary_named_after_it() {
    let template = template();
    let functions: BTreeSet<&str> = resources(&template)
        .iter()
        .filter(|(_, resource)| type_of(resource) == "AWS::Serverless::Function")
        .filter_map(|(id, _)| id.as_str())
        .collect();
    let wanted: BTreeSet<&str> = expected().iter().map(|e| e.logical_id).collect();
    assert_eq!(
        functions, wanted,
        "the template's functions differ from the ones this test knows"
    );

    let mut problems = Vec::new();
    for expected in expected() {
        let name = expected.name;
        let id = expected.logical_id;
        let property = |key| function_property(&template, id, key);
        if property("Runtime").and_then(Value::as_str) != Some("provided.al2023") {
            problems.push(format!(
                "{name}: Runtime is {:?}, expected provided.al2023",
                property("Runtime")
            ));
        }
        if property("Handler").and_then(Value::as_str) != Some("bootstrap") {
            problems.push(format!(
                "{name}: Handler is {:?}, expected bootstrap",
                property("Handler")
            ));
        }
        if property("Architectures").map(strings) != Some(vec!["arm64".to_owned()]) {
            problems.push(format!(
                "{name}: Architectures is {:?}, expected [arm64]",
                property("Architectures")
            ));
        }
        let metadata = get(resource(&template, id), &["Metadata"]);
        let build_method = metadata
            .and_then(|m| get(m, &["BuildMethod"]))
            .and_then(Value::as_str);
        if build_method != Some("rust-cargolambda") {
            problems.push(format!(
                "{name}: Metadata.BuildMethod is {build_method:?}, expected rust-cargolambda"
            ));
        }
        let binary = metadata
            .and_then(|m| get(m, &["BuildProperties", "Binary"]))
            .and_then(Value::as_str);
        if binary != Some(name) {
            problems.push(format!(
                "{name}: Metadata.BuildProperties.Binary is {binary:?}, expected {name}"
            ));
        }
        // cargo-lambda runs `--bin <Binary>` from CodeUri: it must be the workspace root.
        let code_uri = property("CodeUri").and_then(Value::as_str);
        let root = code_uri.map(|uri| repo_root().join("infra").join(uri));
        let is_workspace = root
            .as_ref()
            .and_then(|root| std::fs::read_to_string(root.join("Cargo.toml")).ok())
            .is_some_and(|manifest| manifest.contains("[workspace]"));
        if !is_workspace {
            problems.push(format!(
                "{name}: CodeUri {code_uri:?} is not the cargo workspace root"
            ));
        }
        // The binary sam asks for must exist: functions/<name> is a package of that name.
        let manifest = repo_root().join("functions").join(name).join("Cargo.toml");
        match std::fs::read_to_string(&manifest) {
            Ok(text) if text.contains(&format!("name = \"{name}\"")) => {}
            Ok(_) => problems.push(format!(
                "{name}: {} does not define a package or bin named {name}",
                manifest.display()
            )),
            Err(error) => problems.push(format!(
                "{name}: cannot read {}: {error}",
                manifest.display()
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_function_logs_json_has_a_dead_letter_queue_and_the_right_concurrency() {
    let template = template();
    let mut problems = Vec::new();
    for expected in expected() {
        let name = expected.name;
        let function = resource(&template, expected.logical_id);
        let logging = function_property(&template, expected.logical_id, "LoggingConfig");
        if logging
            .and_then(|l| get(l, &["LogFormat"]))
            .and_then(Value::as_str)
            != Some("JSON")
        {
            problems.push(format!("{name}: LoggingConfig.LogFormat must be JSON"));
        }
        let log_group = logging
            .and_then(|l| get(l, &["LogGroup"]))
            .and_then(ref_target);
        let retained = log_group.is_some_and(|group| {
            let group = resource(&template, group);
            type_of(group) == "AWS::Logs::LogGroup"
                && get(group, &["Properties", "RetentionInDays"]).is_some()
        });
        if !retained {
            problems.push(format!(
                "{name}: LoggingConfig.LogGroup must be a stack log group with a retention"
            ));
        }
        let queue = get(function, &["Properties", "DeadLetterQueue", "TargetArn"])
            .and_then(get_att)
            .and_then(|att| att.strip_suffix(".Arn").map(str::to_owned));
        let is_queue = queue
            .as_deref()
            .is_some_and(|queue| type_of(resource(&template, queue)) == "AWS::SQS::Queue");
        if !is_queue {
            problems.push(format!("{name}: no SQS dead-letter queue"));
        }
        // A reservation the default deploy makes fails on accounts with a small quota.
        if let Some(reserved) = get(function, &["Properties", "ReservedConcurrentExecutions"]) {
            let optional = get(reserved, &["Fn::If"])
                .and_then(Value::as_sequence)
                .is_some_and(|choice| {
                    choice.len() == 3
                        && choice[0].as_str() == Some("ReservesConcurrency")
                        && get(&choice[2], &["Ref"]).and_then(Value::as_str) == Some("AWS::NoValue")
                });
            if !optional {
                problems.push(format!(
                    "{name}: ReservedConcurrentExecutions must be !If [ReservesConcurrency, N, !Ref AWS::NoValue], not {reserved:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_function_is_triggered_by_what_its_handler_accepts() {
    let template = template();
    let mut problems = Vec::new();
    for expected in expected() {
        let name = expected.name;
        let events = get(
            resource(&template, expected.logical_id),
            &["Properties", "Events"],
        )
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
        let mut rules = Vec::new();
        let mut schedules = Vec::new();
        let mut switched = Vec::new();
        for event in events.values() {
            let properties = get(event, &["Properties"]).cloned().unwrap_or(Value::Null);
            match get(event, &["Type"]).and_then(Value::as_str) {
                Some("EventBridgeRule") => {
                    let bus = get(&properties, &["EventBusName"])
                        .and_then(ref_target)
                        .map(str::to_owned);
                    let source = get(&properties, &["Pattern", "source"])
                        .map(strings)
                        .unwrap_or_default();
                    let mut detail_types = get(&properties, &["Pattern", "detail-type"])
                        .map(strings)
                        .unwrap_or_default();
                    detail_types.sort();
                    rules.push((bus, source, detail_types));
                }
                Some("Schedule") | Some("ScheduleV2") if deployed_disabled(&properties) => {
                    switched.push(get(&properties, &["Name"]).cloned());
                }
                Some("Schedule") | Some("ScheduleV2") => {
                    let expression = get(&properties, &["Schedule"])
                        .or_else(|| get(&properties, &["ScheduleExpression"]));
                    schedules.push(expression.and_then(ref_target).map(str::to_owned));
                }
                other => problems.push(format!("{name}: unexpected event type {other:?}")),
            }
        }
        let mut wanted_rules: Vec<_> = expected
            .rules
            .iter()
            .map(|(bus, source, detail_types)| {
                let mut detail_types: Vec<String> =
                    detail_types.iter().map(|d| d.to_string()).collect();
                detail_types.sort();
                (
                    bus.map(str::to_owned),
                    vec![source.to_string()],
                    detail_types,
                )
            })
            .collect();
        wanted_rules.sort();
        rules.sort();
        if rules != wanted_rules {
            problems.push(format!("{name}: EventBridge rules (bus, source, detail-types) are {rules:?}, expected {wanted_rules:?}"));
        }
        let wanted_schedules: Vec<Option<String>> = expected
            .schedule_parameter
            .iter()
            .map(|p| Some(p.to_string()))
            .collect();
        let named_by_variable = expected.switched_schedule.and_then(|variable| {
            get(
                resource(&template, expected.logical_id),
                &["Properties", "Environment", "Variables", variable],
            )
            .cloned()
        });
        let wanted_switched: Vec<Option<Value>> = named_by_variable.into_iter().map(Some).collect();
        if switched != wanted_switched {
            problems.push(format!(
                "{name}: schedules deployed disabled are named {switched:?}; expected one, \
                 named as {:?} names it, and only then",
                expected.switched_schedule
            ));
        }
        if schedules != wanted_schedules {
            problems.push(format!(
                "{name}: schedules are {schedules:?}, expected one from parameter {:?}",
                expected.schedule_parameter
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A function that switches a schedule of its own may switch that rule and no other:
/// the statement granting EnableRule / DisableRule names the rule's ARN by the same
/// `${AWS::StackName}-...` name its `Name` gives it, and no other statement grants them.
#[test]
fn a_function_switches_only_its_own_schedule() {
    let template = template();
    let mut problems = Vec::new();
    for expected in expected() {
        let switching: Vec<Value> = function_statements(&template, &expected)
            .into_iter()
            .filter(|statement| {
                statement_actions(statement)
                    .iter()
                    .any(|a| a == "events:EnableRule" || a == "events:DisableRule")
            })
            .collect();
        let names = switched_schedule_names(resource(&template, expected.logical_id));
        let wanted = match names.as_slice() {
            [] => None,
            [name] => name
                .get("Fn::Sub")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => {
                problems.push(format!(
                    "{}: more than one switched schedule",
                    expected.name
                ));
                continue;
            }
        };
        let granted: Vec<Option<String>> = switching
            .iter()
            .map(|statement| {
                let resource = get(statement, &["Resource", "Fn::Sub"]).and_then(Value::as_str);
                resource.map(str::to_owned)
            })
            .collect();
        let fine = match &wanted {
            None => granted.is_empty(),
            Some(name) => {
                let arn = format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{name}");
                granted == [Some(arn)]
            }
        };
        if !fine {
            problems.push(format!(
                "{}: EnableRule/DisableRule granted on {granted:?}, its switched schedule is {wanted:?}",
                expected.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `Enabled: false` or `State: DISABLED`.
fn deployed_disabled(properties: &Value) -> bool {
    get(properties, &["Enabled"]).and_then(Value::as_bool) == Some(false)
        || get(properties, &["State"]).and_then(Value::as_str) == Some("DISABLED")
}

/// The `Name`s of a function's schedules deployed disabled.
fn switched_schedule_names(function: &Value) -> Vec<Value> {
    let events = get(function, &["Properties", "Events"]).and_then(Value::as_mapping);
    events
        .into_iter()
        .flat_map(|events| events.values())
        .filter_map(|event| get(event, &["Properties"]))
        .filter(|properties| deployed_disabled(properties))
        .filter_map(|properties| get(properties, &["Name"]).cloned())
        .collect()
}

// --- (d) the artifacts bucket ---------------------------------------------------------

#[test]
fn the_artifacts_bucket_is_versioned_encrypted_private_and_tls_only() {
    let template = template();
    let watcher = resource(&template, "JobWatcherFunction");
    let bucket_id = get(
        watcher,
        &["Properties", "Environment", "Variables", "ARTIFACTS_BUCKET"],
    )
    .and_then(ref_target)
    .expect("job-watcher's ARTIFACTS_BUCKET is a !Ref to the bucket");
    let bucket = resource(&template, bucket_id);
    let properties = get(bucket, &["Properties"]).expect("the bucket has Properties");
    let mut problems = Vec::new();

    if get(properties, &["VersioningConfiguration", "Status"]).and_then(Value::as_str)
        != Some("Enabled")
    {
        problems.push(format!("{bucket_id}: versioning is not enabled"));
    }
    let algorithms: Vec<&str> = get(
        properties,
        &["BucketEncryption", "ServerSideEncryptionConfiguration"],
    )
    .and_then(Value::as_sequence)
    .map(|rules| {
        rules
            .iter()
            .filter_map(|rule| get(rule, &["ServerSideEncryptionByDefault", "SSEAlgorithm"]))
            .filter_map(Value::as_str)
            .collect()
    })
    .unwrap_or_default();
    if algorithms.is_empty()
        || !algorithms
            .iter()
            .all(|a| ["AES256", "aws:kms", "aws:kms:dsse"].contains(a))
    {
        problems.push(format!("{bucket_id}: default encryption is {algorithms:?}"));
    }
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        if get(properties, &["PublicAccessBlockConfiguration", flag]).and_then(Value::as_bool)
            != Some(true)
        {
            problems.push(format!(
                "{bucket_id}: PublicAccessBlockConfiguration.{flag} is not true"
            ));
        }
    }
    let expires_noncurrent = get(properties, &["LifecycleConfiguration", "Rules"])
        .and_then(Value::as_sequence)
        .is_some_and(|rules| {
            rules
                .iter()
                .any(|rule| get(rule, &["NoncurrentVersionExpiration"]).is_some())
        });
    if !expires_noncurrent {
        problems.push(format!(
            "{bucket_id}: no lifecycle rule expires noncurrent versions"
        ));
    }

    // A bucket policy on this bucket denying every request not made over TLS.
    let tls_only = resources(&template)
        .values()
        .filter(|policy| type_of(policy) == "AWS::S3::BucketPolicy")
        .filter(|policy| {
            get(policy, &["Properties", "Bucket"]).and_then(ref_target) == Some(bucket_id)
        })
        .flat_map(|policy| {
            get(policy, &["Properties", "PolicyDocument", "Statement"])
                .map(flatten_statements)
                .unwrap_or_default()
        })
        .any(|statement| {
            let deny = get(&statement, &["Effect"]).and_then(Value::as_str) == Some("Deny");
            let everyone = match get(&statement, &["Principal"]) {
                Some(Value::String(p)) => p == "*",
                Some(principal) => get(principal, &["AWS"]).and_then(Value::as_str) == Some("*"),
                None => false,
            };
            let all_actions = get(&statement, &["Action"])
                .map(strings)
                .is_some_and(|a| a == ["s3:*"]);
            let insecure = get(&statement, &["Condition", "Bool", "aws:SecureTransport"])
                .is_some_and(|v| v.as_str() == Some("false") || v.as_bool() == Some(false));
            let resources = get(&statement, &["Resource"])
                .cloned()
                .unwrap_or(Value::Null);
            let resources: Vec<&Value> = match &resources {
                Value::Sequence(items) => items.iter().collect(),
                one => vec![one],
            };
            let covers_bucket = resources
                .iter()
                .any(|r| get_att(r).as_deref() == Some(&format!("{bucket_id}.Arn")));
            let covers_objects = resources.iter().any(|r| {
                get(r, &["Fn::Sub"]).and_then(Value::as_str)
                    == Some(&format!("${{{bucket_id}.Arn}}/*"))
            });
            deny && everyone && all_actions && insecure && covers_bucket && covers_objects
        });
    if !tls_only {
        problems.push(format!(
            "{bucket_id}: no bucket policy statement denies s3:* to everyone on the bucket and \
             its objects when aws:SecureTransport is false"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- the test's own footing ------------------------------------------------------------

#[test]
fn short_form_tags_are_read_as_their_long_form() {
    let value = long_form(
        serde_yaml_ng::from_str(
            "a: !Ref Bus\nb: !GetAtt Bus.Arn\nc: !Sub '${Bucket.Arn}/*'\nd: !If [C, x, !Ref AWS::NoValue]",
        )
        .unwrap(),
    );
    assert_eq!(
        get(&value, &["a", "Ref"]).and_then(Value::as_str),
        Some("Bus")
    );
    assert_eq!(
        get_att(get(&value, &["b"]).unwrap()).as_deref(),
        Some("Bus.Arn")
    );
    assert_eq!(
        get(&value, &["c", "Fn::Sub"]).and_then(Value::as_str),
        Some("${Bucket.Arn}/*")
    );
    let branches = get(&value, &["d", "Fn::If"])
        .and_then(Value::as_sequence)
        .unwrap();
    assert_eq!(ref_target(&branches[2]), Some("AWS::NoValue"));
    assert_eq!(
        flatten_statements(get(&value, &["d"]).unwrap()),
        [Value::from("x")]
    );
}

/// The numbers a function's metrics line carries: its summary's numeric and flag
/// fields, and the SMS and MGN calls the runtime counts (`autopilot_core::metrics`).
fn metric_names(function: &str) -> BTreeSet<String> {
    let summary = match function {
        "catalog-import" => serde_json::to_value(catalog_import::Summary::default()),
        "job-creator" => serde_json::to_value(job_creator::Summary::default()),
        "job-watcher" => serde_json::to_value(job_watcher::Summary::default()),
        "app-planner" => serde_json::to_value(app_planner::Summary::default()),
        "app-launcher" => serde_json::to_value(app_launcher::Summary::default()),
        "template-generator" => serde_json::to_value(template_generator::Summary::default()),
        "wave-reporter" => serde_json::to_value(wave_reporter::Summary::default()),
        "mgn-planner" => serde_json::to_value(mgn_planner::Summary::default()),
        "mgn-watcher" => serde_json::to_value(mgn_watcher::Summary::default()),
        "mgn-launcher" => serde_json::to_value(mgn_launcher::Summary::default()),
        "mgn-import" => serde_json::to_value(mgn_import::Summary::default()),
        other => panic!("no metrics known for {other}"),
    }
    .expect("a summary serializes");
    let own = summary
        .as_object()
        .expect("a summary is an object")
        .iter()
        .filter(|(_, v)| v.is_number() || v.is_boolean())
        .map(|(k, _)| k.clone());
    let added = [
        autopilot_core::metrics::SMS_CALLS,
        autopilot_core::metrics::SMS_THROTTLED,
        autopilot_core::metrics::MGN_CALLS,
        autopilot_core::metrics::MGN_THROTTLED,
    ];
    own.chain(added.map(str::to_owned)).collect()
}

/// How many metrics `dashboard` shows, each checked to be one its function writes.
fn dashboard_metrics(template: &Value, dashboard: &str) -> usize {
    let body = get(
        template,
        &[
            "Resources",
            dashboard,
            "Properties",
            "DashboardBody",
            "Fn::Sub",
        ],
    )
    .and_then(Value::as_str)
    .expect("the dashboard body is a !Sub string")
    .replace("${AWS::Region}", "us-east-1");
    let body: serde_json::Value = serde_json::from_str(&body).expect("the body is JSON");
    let mut shown = 0;
    for widget in body["widgets"].as_array().expect("widgets") {
        for metric in widget["properties"]["metrics"].as_array().expect("metrics") {
            let name = metric[1].as_str().expect("a metric name");
            let function = metric[3].as_str().expect("a Function dimension value");
            assert_eq!(metric[0], autopilot_core::metrics::NAMESPACE, "{metric}");
            assert_eq!(metric[2], autopilot_core::metrics::DIMENSION, "{metric}");
            assert!(
                metric_names(function).contains(name),
                "{dashboard} shows {name} of {function}, which it does not write"
            );
            shown += 1;
        }
    }
    shown
}

#[test]
fn the_dashboard_and_the_metric_alarms_show_only_metrics_the_functions_write() {
    let template = template();
    for (dashboard, least) in [("WaveDashboard", 15), ("MgnDashboard", 15)] {
        let shown = dashboard_metrics(&template, dashboard);
        assert!(shown >= least, "{dashboard}: {shown} metrics shown");
    }
    for (id, alarm) in resources(&template) {
        let props = &alarm["Properties"];
        if type_of(alarm) != "AWS::CloudWatch::Alarm"
            || props["Namespace"].as_str() != Some(autopilot_core::metrics::NAMESPACE)
        {
            continue;
        }
        let function = props["Dimensions"][0]["Value"].as_str().expect("Function");
        let name = props["MetricName"].as_str().expect("MetricName");
        assert!(
            metric_names(function).contains(name),
            "{id:?} watches {name} of {function}, which it does not write"
        );
    }
}

#[test]
fn every_decision_is_archived_for_replay() {
    let template = template();
    let archive = resource(&template, "DecisionArchive");
    assert_eq!(type_of(archive), "AWS::Events::Archive");
    let props = &archive["Properties"];
    assert_eq!(
        get_att(&props["SourceArn"]).as_deref(),
        Some("EventBus.Arn"),
        "archived from the project bus"
    );
    let sources = strings(&props["EventPattern"]["source"]);
    assert_eq!(sources, [autopilot_core::events::EVENT_SOURCE]);
    assert_eq!(
        ref_target(&props["RetentionDays"]),
        Some("DecisionArchiveDays")
    );
}
