//! Conformance of the MGN stand-in's protocol tables with the official model
//! (`mgn-2020-02-26`): every model operation is routed at the model's method, URI and
//! success code, the paginated listings are those `paginators-1.json` names, and every
//! model error the stand-in answers with is an exception shape of the model with the same
//! HTTP status.

use std::collections::BTreeSet;
use std::path::PathBuf;

use autopilot_local::mgn::protocol::{
    route_of, ErrorKind, ValidationReason, BEFORE_INITIALIZE, PAGINATED, ROUTES,
};
use autopilot_local::mgn::settings;
use serde_json::Value;

pub(crate) fn reference(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/mgn-2020-02-26")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("model JSON")
}

#[test]
fn the_model_is_rest_json_signed_with_sigv4() {
    let model = reference("service-2.json");
    assert_eq!(model["metadata"]["protocol"], "rest-json");
    assert_eq!(model["metadata"]["signatureVersion"], "v4");
    assert_eq!(model["metadata"]["signingName"], "mgn");
}

#[test]
fn every_model_operation_is_routed_where_the_model_puts_it() {
    let model = reference("service-2.json");
    let operations = model["operations"].as_object().expect("operations");
    let routed: BTreeSet<&str> = ROUTES.iter().map(|r| r.operation).collect();
    let modelled: BTreeSet<&str> = operations.keys().map(String::as_str).collect();
    assert_eq!(routed, modelled);
    for route in ROUTES {
        let http = &operations[route.operation]["http"];
        let context = route.operation;
        assert_eq!(http["method"], route.method, "{context}");
        assert_eq!(http["requestUri"], route.uri(), "{context}");
        let success = http["responseCode"].as_u64().unwrap_or(200);
        assert_eq!(success, u64::from(route.success), "{context}");
        // Routing finds the operation back from its own method and URI.
        let path = route
            .uri()
            .replace("{resourceArn}", "arn:aws:mgn:us-east-1:1:wave/wave-1");
        let (found, _) = route_of(route.method, &path).expect("routed");
        assert_eq!(found.operation, route.operation);
    }
}

#[test]
fn the_paginated_listings_are_the_paginators() {
    let paginators = reference("paginators-1.json");
    let named: BTreeSet<&str> = paginators["pagination"]
        .as_object()
        .expect("pagination")
        .keys()
        .map(String::as_str)
        .collect();
    let ours: BTreeSet<&str> = PAGINATED.iter().copied().collect();
    assert_eq!(ours, named);
    for (operation, paginator) in paginators["pagination"].as_object().expect("pagination") {
        assert_eq!(paginator["input_token"], "nextToken", "{operation}");
        assert_eq!(paginator["output_token"], "nextToken", "{operation}");
        assert_eq!(paginator["limit_key"], "maxResults", "{operation}");
    }
}

#[test]
fn every_model_error_is_an_exception_shape_with_its_status() {
    let model = reference("service-2.json");
    let shapes = model["shapes"].as_object().expect("shapes");
    let exceptions: BTreeSet<&str> = shapes
        .iter()
        .filter(|(_, shape)| shape["exception"] == true)
        .map(|(name, _)| name.as_str())
        .collect();
    let ours: BTreeSet<&str> = ErrorKind::MODEL.iter().map(|e| e.name()).collect();
    assert_eq!(
        ours, exceptions,
        "the stand-in names every model error, and only those"
    );
    for error in ErrorKind::MODEL {
        let shape = &shapes[error.name()];
        assert_eq!(
            shape["error"]["httpStatusCode"].as_u64(),
            Some(u64::from(error.status())),
            "{}",
            error.name()
        );
    }
}

#[test]
fn only_operations_without_the_uninitialized_error_answer_before_initialize_service() {
    let model = reference("service-2.json");
    let operations = model["operations"].as_object().expect("operations");
    let free: BTreeSet<&str> = operations
        .iter()
        .filter(|(_, op)| {
            !op["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["shape"] == "UninitializedAccountException")
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let ours: BTreeSet<&str> = BEFORE_INITIALIZE.iter().copied().collect();
    assert_eq!(ours, free);
    assert!(ours.contains("InitializeService"));
    assert!(!ours.contains("DescribeSourceServers"));
}

#[test]
fn the_validation_reasons_are_the_models() {
    let model = reference("service-2.json");
    let listed: Vec<&str> = model["shapes"]["ValidationExceptionReason"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let ours: Vec<&str> = ValidationReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(ours, listed);
    let members = model["shapes"]["ValidationException"]["members"]
        .as_object()
        .expect("members");
    for field in ["message", "reason", "fieldList"] {
        assert!(members.contains_key(field), "{field}");
    }
}

#[test]
fn every_enum_the_stand_in_declares_has_the_models_values() {
    let model = reference("service-2.json");
    let shapes = model["shapes"].as_object().expect("shapes");
    let enums = autopilot_local::mgn::model::enums();
    assert!(enums.len() >= 12, "{} enums", enums.len());
    for (shape, ours) in enums {
        let listed: Vec<&str> = shapes[shape]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{shape} is not an enum of the model"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(ours, listed, "{shape}");
    }
}

#[test]
fn the_fidelity_ledger_has_a_row_for_every_operation_served() {
    let ledger = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("FIDELITY.md"),
    )
    .expect("local/FIDELITY.md");
    let (_, mgn) = ledger
        .split_once("# The MGN stand-in")
        .expect("FIDELITY.md has an MGN section");
    let served = autopilot_local::mgn::SERVED_OPERATIONS
        .iter()
        .chain(&["InitializeService"])
        .chain(autopilot_local::mgn::ec2::OPERATIONS);
    for operation in served {
        let row = mgn
            .lines()
            .find(|l| l.starts_with(&format!("| `{operation}` |")))
            .unwrap_or_else(|| panic!("FIDELITY.md's MGN section has no row for {operation}"));
        let cells: Vec<&str> = row.split(" | ").collect();
        assert_eq!(
            cells.len(),
            4,
            "{operation}: operation | behaviour | source | verdict"
        );
        assert!(
            ["documented", "inferred", "assumed", "contested"]
                .iter()
                .any(|v| cells[3].starts_with(v)),
            "{operation}: verdict {:?}",
            cells[3]
        );
    }
}

/// Checks one settings member against the model shape `shape`.
fn settings_member_fits(model: &Value, at: &str, shape: &str, kind: settings::Kind) {
    use settings::Kind;
    let spec = &model["shapes"][shape];
    let kind_of = spec["type"].as_str().unwrap_or_default();
    match kind {
        Kind::Bool => assert_eq!(kind_of, "boolean", "{at}"),
        Kind::Enum(values) => {
            let modelled: Vec<&str> = spec["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(values, modelled.as_slice(), "{at}");
        }
        Kind::Text(max) => {
            assert_eq!(kind_of, "string", "{at}");
            assert_eq!(spec["max"].as_u64(), Some(max as u64), "{at}");
        }
        Kind::HexId(prefix) => {
            assert!(
                spec["pattern"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(prefix)),
                "{at}"
            );
        }
        Kind::HexIds(prefix, max) => {
            assert_eq!(
                (kind_of, spec["max"].as_u64()),
                ("list", Some(max as u64)),
                "{at}"
            );
            let member = spec["member"]["shape"].as_str().unwrap_or_default();
            settings_member_fits(model, at, member, Kind::HexId(prefix));
        }
        Kind::Long(min, max) => {
            assert!(matches!(kind_of, "long" | "integer"), "{at}");
            assert_eq!(spec["min"].as_i64().unwrap_or(0), min, "{at} min");
            assert_eq!(spec["max"].as_i64().unwrap_or(i64::MAX), max, "{at} max");
        }
        Kind::Tags => assert_eq!(kind_of, "map", "{at}"),
        Kind::Object(rules) => settings_table_fits(model, at, shape, rules),
        Kind::Objects(rules, max) => {
            assert_eq!(
                (kind_of, spec["max"].as_u64()),
                ("list", Some(max as u64)),
                "{at}"
            );
            let member = spec["member"]["shape"].as_str().unwrap_or_default();
            settings_table_fits(model, at, member, rules);
        }
        Kind::Opaque => assert!(matches!(kind_of, "structure" | "list" | "map"), "{at}"),
    }
}

fn settings_table_fits(model: &Value, at: &str, shape: &str, rules: &[settings::Rule]) {
    let members = &model["shapes"][shape]["members"];
    for rule in rules {
        let member = members[rule.name]["shape"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: {shape} has no member {}", rule.name));
        settings_member_fits(model, &format!("{at}.{}", rule.name), member, rule.kind);
    }
}

#[test]
fn the_settings_tables_are_the_models_members() {
    let model = reference("service-2.json");
    for (shape, tables) in settings::tables() {
        for table in tables {
            settings_table_fits(&model, shape, shape, table);
        }
    }
}
