//! IAM least privilege, derived from the code: each function's SMS, MGN and EC2
//! permissions in `infra/template.yaml` must equal the operations its code can call,
//! both ways.
//!
//! What a function can call is read from its source, not typed here:
//! - direct SDK calls, `.get_servers()`, `.start_test()`, … — every operation of the
//!   service's model (the stand-ins' lists of the models' operations) in snake_case;
//! - calls of the core's shared helpers (`shared/src/sms/api.rs`, and
//!   `shared/src/mgn/{api,launch,groupings,configurations,imports}.rs`), called as
//!   `module::name(`, each
//!   mapped to the SDK calls in that helper's own body and in the functions it calls
//!   there, read from those files;
//! - the warm app cache (`shared/src/app_cache.rs`): a function whose context keeps an
//!   `AppCache` gets the SMS operations of the helpers app_cache.rs calls;
//! - EC2, reached through the core's own query client (`shared/src/ec2/`): each of its
//!   methods names the actions it sends.
//!
//! Unit tests (`tests.rs`, and everything from `#[cfg(test)]` on in a source file) are
//! not code that runs in Lambda and are left out. The check is lexical: an operation
//! mentioned in a comment counts too (a false alarm at worst, never a missed call).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use autopilot_local::sms::protocol::{IMPLEMENTED_OPERATIONS, UNIMPLEMENTED_OPERATIONS};
use serde_yaml_ng::Value;

/// (function directory, logical id of its AWS::Serverless::Function, services it calls).
const FUNCTIONS: [(&str, &str, &[&str]); 10] = [
    ("catalog-import", "CatalogImportFunction", &["sms"]),
    ("job-creator", "JobCreatorFunction", &["sms"]),
    ("job-watcher", "JobWatcherFunction", &["sms"]),
    ("template-generator", "TemplateGeneratorFunction", &["sms"]),
    ("app-launcher", "AppLauncherFunction", &["sms"]),
    ("wave-reporter", "WaveReporterFunction", &["sms", "mgn"]),
    ("mgn-planner", "MgnPlannerFunction", &["mgn", "ec2"]),
    ("mgn-watcher", "MgnWatcherFunction", &["mgn"]),
    ("mgn-import", "MgnImportFunction", &["mgn"]),
    ("mgn-launcher", "MgnLauncherFunction", &["mgn", "ec2"]),
];

/// The core's EC2 client's methods and the actions each sends (checked below against
/// shared/src/ec2/).
const EC2_METHODS: [(&str, &[&str]); 5] = [
    ("instance_statuses", &["DescribeInstanceStatus"]),
    (
        "account",
        &[
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeInstanceTypes",
            "DescribeKeyPairs",
        ],
    ),
    (
        "default_template_version",
        &["DescribeLaunchTemplateVersions"],
    ),
    ("new_template_version", &["CreateLaunchTemplateVersion"]),
    ("set_default_template_version", &["ModifyLaunchTemplate"]),
];

/// Calls the code makes that the template does not grant yet, each a reported bug: the
/// test tolerates exactly these and fails once one is fixed, so the entry is removed.
/// (template-generator's sms:ListApps, found by this test, is granted now.)
const KNOWN_MISSING: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

fn snake(operation: &str) -> String {
    let mut out = String::new();
    for (i, c) in operation.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The code of a source file that runs in Lambda: unit tests cut off.
fn runtime_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A service the functions call through the SDK: its model's operations and the
/// core's helper files, by the module name callers write before a helper.
struct Service {
    operations: Vec<&'static str>,
    helper_files: Vec<(&'static str, &'static str)>,
}

fn service(prefix: &str) -> Service {
    match prefix {
        "sms" => Service {
            operations: IMPLEMENTED_OPERATIONS
                .iter()
                .chain(UNIMPLEMENTED_OPERATIONS)
                .copied()
                .collect(),
            helper_files: vec![("api", "shared/src/sms/api.rs")],
        },
        "mgn" => Service {
            operations: autopilot_local::mgn::protocol::ROUTES
                .iter()
                .map(|route| route.operation)
                .collect(),
            helper_files: vec![
                ("api", "shared/src/mgn/api.rs"),
                ("launch", "shared/src/mgn/launch.rs"),
                ("groupings", "shared/src/mgn/groupings.rs"),
                ("configurations", "shared/src/mgn/configurations.rs"),
                ("imports", "shared/src/mgn/imports.rs"),
            ],
        },
        other => panic!("no service {other}"),
    }
}

/// SDK operations of `service` called in `code` as `.snake_case_name()` (builder call).
fn sdk_calls(service: &Service, code: &str) -> BTreeSet<String> {
    service
        .operations
        .iter()
        .filter(|op| code.contains(&format!(".{}()", snake(op))))
        .map(|op| (*op).to_owned())
        .collect()
}

/// Each function of a helper file (`fn`, `async fn`, public or not) and its body.
fn function_bodies(code: &str) -> Vec<(String, bool, &str)> {
    let mut starts: Vec<(usize, String, bool)> = Vec::new();
    for marker in ["pub async fn ", "pub fn ", "\nasync fn ", "\nfn "] {
        for (at, _) in code.match_indices(marker) {
            let name: String = code[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            starts.push((at, name, marker.starts_with("pub")));
        }
    }
    starts.sort();
    starts
        .iter()
        .enumerate()
        .map(|(i, (at, name, public))| {
            let end = starts.get(i + 1).map_or(code.len(), |(next, _, _)| *next);
            (name.clone(), *public, &code[*at..end])
        })
        .collect()
}

/// Each public helper of `service`'s files, by `module::name`, and the SDK operations
/// its body calls (and those of the file's functions it calls).
fn helper_operations(service: &Service) -> BTreeMap<String, BTreeSet<String>> {
    let mut helpers = BTreeMap::new();
    for (module, path) in &service.helper_files {
        let code = runtime_code(&root().join(path));
        let bodies = function_bodies(&code);
        let mut calls: BTreeMap<&str, BTreeSet<String>> = bodies
            .iter()
            .map(|(name, _, body)| (name.as_str(), sdk_calls(service, body)))
            .collect();
        // A helper built on another (`servers` on `servers_each`) calls what that one calls.
        loop {
            let mut grown = false;
            for (name, _, body) in &bodies {
                for (other, _, _) in bodies.iter().filter(|(other, _, _)| other != name) {
                    if calls_function(body, other) {
                        let inherited = calls[other.as_str()].clone();
                        let own = calls.get_mut(name.as_str()).expect("every function");
                        let before = own.len();
                        own.extend(inherited);
                        grown |= own.len() > before;
                    }
                }
            }
            if !grown {
                break;
            }
        }
        for (name, public, _) in &bodies {
            if *public {
                helpers.insert(format!("{module}::{name}"), calls[name.as_str()].clone());
            }
        }
    }
    helpers
}

/// Whether `code` calls `name(` itself, not a longer name ending with it.
fn calls_function(code: &str, name: &str) -> bool {
    code.match_indices(&format!("{name}(")).any(|(at, _)| {
        !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Helpers called in `code` as `module::name(`.
fn helpers_called(code: &str, helpers: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    helpers
        .keys()
        .filter(|qualified| code.contains(&format!("{qualified}(")))
        .cloned()
        .collect()
}

/// A function's runtime code: every source file but its unit tests.
fn function_code(function: &str) -> String {
    let dir = root().join("functions").join(function).join("src");
    let mut code = String::new();
    for entry in std::fs::read_dir(&dir).expect("function sources") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            code.push_str(&runtime_code(&path));
        }
    }
    code
}

/// The actions (`prefix:Operation`) a function's code can call, each with where it
/// comes from.
fn derived_actions(function: &str, services: &[&str]) -> BTreeMap<String, String> {
    let code = function_code(function);
    let mut found = BTreeMap::new();
    for prefix in services.iter().filter(|p| **p != "ec2") {
        let service = service(prefix);
        let helpers = helper_operations(&service);
        for op in sdk_calls(&service, &code) {
            found.insert(format!("{prefix}:{op}"), "a direct SDK call".to_owned());
        }
        let mut record = |helper: &str, via: &str| {
            for op in &helpers[helper] {
                found
                    .entry(format!("{prefix}:{op}"))
                    .or_insert_with(|| format!("{via}{prefix}::{helper}"));
            }
        };
        for helper in helpers_called(&code, &helpers) {
            record(&helper, "");
        }
        if *prefix == "sms" && code.contains("AppCache") {
            let cache = runtime_code(&root().join("shared/src/app_cache.rs"));
            for helper in helpers_called(&cache, &helpers) {
                record(&helper, "AppCache -> ");
            }
        }
    }
    if services.contains(&"ec2") {
        for (method, actions) in EC2_METHODS {
            if code.contains(&format!(".{method}(")) {
                for op in actions {
                    found.insert(format!("ec2:{op}"), format!("ec2::Ec2::{method}"));
                }
            }
        }
    }
    found
}

/// Every `sms:`, `mgn:` and `ec2:` action in a function's policies, Fn::If branches
/// included.
fn granted_actions(template: &Value, logical_id: &str) -> BTreeSet<String> {
    fn collect(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::String(s) if ["sms:", "mgn:", "ec2:"].iter().any(|p| s.starts_with(p)) => {
                out.insert(s.clone());
            }
            Value::Sequence(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Mapping(map) => map.values().for_each(|v| collect(v, out)),
            Value::Tagged(tagged) => collect(&tagged.value, out),
            _ => {}
        }
    }
    let policies = template
        .get("Resources")
        .and_then(|r| r.get(logical_id))
        .and_then(|r| r.get("Properties"))
        .and_then(|p| p.get("Policies"))
        .unwrap_or_else(|| panic!("{logical_id} has no Policies"));
    let mut out = BTreeSet::new();
    collect(policies, &mut out);
    out
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).expect("template");
    serde_yaml_ng::from_str(&text).expect("template parses")
}

#[test]
fn the_helper_mapping_is_read_from_the_cores_helper_files() {
    let helpers = helper_operations(&service("sms"));
    let ops = |list: &[&str]| {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(helpers["api::servers"], ops(&["GetServers"]));
    assert_eq!(helpers["api::app_summaries"], ops(&["ListApps"]));
    assert_eq!(
        helpers["api::create_replication_job"],
        ops(&["CreateReplicationJob"])
    );
    assert!(
        helpers.values().all(|ops| !ops.is_empty()),
        "every helper calls SMS: {helpers:?}"
    );
    let mgn = helper_operations(&service("mgn"));
    // Through a private function of the same file.
    assert_eq!(mgn["launch::launch_job"], ops(&["DescribeJobs"]));
    assert_eq!(
        mgn["api::source_servers"],
        ops(&["DescribeSourceServers"]),
        "through source_servers_each"
    );
    assert_eq!(
        snake("StartOnDemandReplicationRun"),
        "start_on_demand_replication_run"
    );
    let ec2_dir = root().join("shared/src/ec2");
    let ec2: String = ["status.rs", "account.rs", "templates.rs"]
        .iter()
        .map(|file| runtime_code(&ec2_dir.join(file)))
        .collect();
    for (method, actions) in EC2_METHODS {
        assert!(ec2.contains(&format!("pub async fn {method}(")), "{method}");
        for op in actions {
            assert!(ec2.contains(&format!("\"{op}\"")), "{op}");
        }
    }
}

#[test]
fn each_function_is_granted_exactly_the_actions_its_code_calls() {
    let template = template();
    let mut problems = Vec::new();
    for (function, logical_id, services) in FUNCTIONS {
        let derived = derived_actions(function, services);
        assert!(!derived.is_empty(), "{function}: no service call found");
        let granted = granted_actions(&template, logical_id);
        for (action, source) in &derived {
            let op = action.split_once(':').map_or("", |(_, op)| op);
            let known = KNOWN_MISSING.contains(&(function, op));
            if known && granted.contains(action) {
                problems.push(format!(
                    "{logical_id} now grants {action}: remove ({function}, {op}) from KNOWN_MISSING"
                ));
            } else if known {
                eprintln!("KNOWN BUG: {function} calls {op} (through {source}) without {action}");
            } else if !granted.contains(action) {
                problems.push(format!(
                    "{function} calls {op} (through {source}) but {logical_id} is not granted {action}"
                ));
            }
        }
        for action in &granted {
            // Tags given at creation are authorized as TagResource.
            let tags_on_creation =
                action == "mgn:TagResource" && derived.keys().any(|a| a.starts_with("mgn:Create"));
            if !derived.contains_key(action) && !tags_on_creation {
                problems.push(format!(
                    "{logical_id} is granted {action}, which {function}'s code never calls"
                ));
            }
        }
        eprintln!("{function}: code calls {derived:?}; granted {granted:?}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
