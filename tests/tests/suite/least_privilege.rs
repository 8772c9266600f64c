//! IAM least privilege, derived from the code: each function's SMS permissions in
//! `infra/template.yaml` must equal the SMS operations its code can call, both ways.
//!
//! What a function can call is read from its source, not typed here:
//! - direct SDK calls, `.get_servers()`, `.launch_app()`, … — every operation of the SMS
//!   model (the emulator's list of the model's operations) in snake_case;
//! - calls of the shared helpers in `shared/src/sms/api.rs` (`sms::api::servers(…)`),
//!   each mapped to the SDK calls in that helper's own body, read from that file;
//! - the warm app cache (`shared/src/app_cache.rs`): a function whose context keeps an
//!   `AppCache` gets the operations of the helpers app_cache.rs calls.
//!
//! Unit tests (`tests.rs`, and everything from `#[cfg(test)]` on in a source file) are
//! not code that runs in Lambda and are left out. The check is lexical: an operation
//! mentioned in a comment counts too (a false alarm at worst, never a missed call).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use autopilot_local::sms::protocol::{IMPLEMENTED_OPERATIONS, UNIMPLEMENTED_OPERATIONS};
use serde_yaml_ng::Value;

/// (function directory, logical id of its AWS::Serverless::Function).
const FUNCTIONS: [(&str, &str); 5] = [
    ("catalog-import", "CatalogImportFunction"),
    ("job-creator", "JobCreatorFunction"),
    ("job-watcher", "JobWatcherFunction"),
    ("template-generator", "TemplateGeneratorFunction"),
    ("app-launcher", "AppLauncherFunction"),
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

/// SDK operations called in `code` as `.snake_case_name()` (builder call).
fn sdk_calls(code: &str) -> BTreeSet<String> {
    IMPLEMENTED_OPERATIONS
        .iter()
        .chain(UNIMPLEMENTED_OPERATIONS)
        .filter(|op| code.contains(&format!(".{}()", snake(op))))
        .map(|op| (*op).to_owned())
        .collect()
}

/// Each public helper of `sms/api.rs` and the SDK operations its body calls.
fn helper_operations() -> BTreeMap<String, BTreeSet<String>> {
    let code = runtime_code(&root().join("shared/src/sms/api.rs"));
    let mut helpers = BTreeMap::new();
    let starts: Vec<(usize, String)> = code
        .match_indices("pub async fn ")
        .map(|(at, marker)| {
            let name: String = code[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (at, name)
        })
        .collect();
    let mut bodies = BTreeMap::new();
    for (i, (at, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(code.len(), |(next, _)| *next);
        bodies.insert(name.clone(), &code[*at..end]);
        helpers.insert(name.clone(), sdk_calls(&code[*at..end]));
    }
    // A helper built on another (`servers` on `servers_each`) calls what that one calls.
    loop {
        let mut grown = false;
        for (name, body) in &bodies {
            for (_, other) in starts.iter().filter(|(_, other)| other != name) {
                if calls_function(body, other) {
                    let inherited = helpers[other].clone();
                    let calls = helpers.get_mut(name).expect("every helper has its calls");
                    let before = calls.len();
                    calls.extend(inherited);
                    grown |= calls.len() > before;
                }
            }
        }
        if !grown {
            return helpers;
        }
    }
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

/// Helpers of `sms::api` called in `code` as `api::name(` (the functions import the
/// module) or `sms::api::name(`.
fn helpers_called(code: &str, helpers: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    helpers
        .keys()
        .filter(|name| code.contains(&format!("api::{name}(")))
        .cloned()
        .collect()
}

/// The SMS operations a function's code can call, each with where it comes from.
fn derived_operations(function: &str) -> BTreeMap<String, String> {
    let helpers = helper_operations();
    let mut found = BTreeMap::new();
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
    for op in sdk_calls(&code) {
        found.insert(op, "a direct SDK call".to_owned());
    }
    let mut record = |helper: &str, via: &str| {
        for op in &helpers[helper] {
            found
                .entry(op.clone())
                .or_insert_with(|| format!("{via}sms::api::{helper}"));
        }
    };
    for helper in helpers_called(&code, &helpers) {
        record(&helper, "");
    }
    if code.contains("AppCache") {
        let cache = runtime_code(&root().join("shared/src/app_cache.rs"));
        for helper in helpers_called(&cache, &helpers) {
            record(&helper, "AppCache -> ");
        }
    }
    found
}

/// Every `sms:` action in a function's policies, Fn::If branches included.
fn granted_actions(template: &Value, logical_id: &str) -> BTreeSet<String> {
    fn collect(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::String(s) if s.starts_with("sms:") => {
                out.insert(s["sms:".len()..].to_owned());
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
fn the_helper_mapping_is_read_from_sms_api() {
    let helpers = helper_operations();
    assert_eq!(
        helpers["servers"],
        BTreeSet::from(["GetServers".to_owned()])
    );
    assert_eq!(
        helpers["app_summaries"],
        BTreeSet::from(["ListApps".to_owned()])
    );
    assert_eq!(
        helpers["create_replication_job"],
        BTreeSet::from(["CreateReplicationJob".to_owned()])
    );
    assert!(
        helpers.values().all(|ops| !ops.is_empty()),
        "every helper calls SMS: {helpers:?}"
    );
    assert_eq!(
        snake("StartOnDemandReplicationRun"),
        "start_on_demand_replication_run"
    );
}

#[test]
fn each_function_is_granted_exactly_the_sms_actions_its_code_calls() {
    let template = template();
    let mut problems = Vec::new();
    for (function, logical_id) in FUNCTIONS {
        let derived = derived_operations(function);
        assert!(!derived.is_empty(), "{function}: no SMS call found");
        let granted = granted_actions(&template, logical_id);
        for (op, source) in &derived {
            let known = KNOWN_MISSING.contains(&(function, op.as_str()));
            if known && granted.contains(op) {
                problems.push(format!(
                    "{logical_id} now grants sms:{op}: remove ({function}, {op}) from KNOWN_MISSING"
                ));
            } else if known {
                eprintln!("KNOWN BUG: {function} calls {op} (through {source}) without sms:{op}");
            } else if !granted.contains(op) {
                problems.push(format!(
                    "{function} calls {op} (through {source}) but {logical_id} is not granted sms:{op}"
                ));
            }
        }
        for op in &granted {
            if !derived.contains_key(op) {
                problems.push(format!(
                    "{logical_id} is granted sms:{op}, which {function}'s code never calls"
                ));
            }
        }
        eprintln!("{function}: code calls {derived:?}; granted {granted:?}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
