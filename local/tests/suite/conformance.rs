//! Conformance with the official SMS model: every operation, error name and enum value
//! the emulator uses exists in service-2.json, the paginated operations match
//! paginators-1.json, and every model operation is either implemented or answered
//! with a clear "not implemented".

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use autopilot_local::sms::protocol::{
    enum_values_used, model_error_names, ErrorCode, IMPLEMENTED_OPERATIONS, TARGET_PREFIX,
    UNIMPLEMENTED_OPERATIONS,
};
use autopilot_local::Scenario;
use serde_json::Value;

fn reference(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/sms-2016-10-24")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("model JSON")
}

#[test]
fn target_prefix_matches_the_model() {
    let model = reference("service-2.json");
    assert_eq!(model["metadata"]["targetPrefix"], TARGET_PREFIX);
    assert_eq!(model["metadata"]["jsonVersion"], "1.1");
}

#[test]
fn every_model_operation_is_implemented_or_declared_unimplemented() {
    let model = reference("service-2.json");
    let ops: BTreeSet<&str> = model["operations"]
        .as_object()
        .expect("operations")
        .keys()
        .map(String::as_str)
        .collect();
    let ours: BTreeSet<&str> = IMPLEMENTED_OPERATIONS
        .iter()
        .chain(UNIMPLEMENTED_OPERATIONS)
        .copied()
        .collect();
    assert_eq!(ops, ours);
    assert_eq!(
        ours.len(),
        IMPLEMENTED_OPERATIONS.len() + UNIMPLEMENTED_OPERATIONS.len(),
        "no overlap"
    );
}

#[test]
fn every_model_error_name_is_an_exception_shape() {
    let model = reference("service-2.json");
    let shapes = model["shapes"].as_object().expect("shapes");
    for name in model_error_names() {
        let shape = shapes
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a shape of the model"));
        assert_eq!(shape["exception"], true, "{name} is not an exception shape");
    }
    // The protocol-level errors are exactly the ones the model does not declare.
    for code in ErrorCode::PROTOCOL {
        assert!(
            !shapes.contains_key(code.name()),
            "{} is in the model after all",
            code.name()
        );
    }
}

#[test]
fn every_enum_value_exists_in_its_shape() {
    let model = reference("service-2.json");
    for (shape, value) in enum_values_used() {
        let allowed = model["shapes"][shape]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{shape} is not an enum shape"));
        assert!(
            allowed.iter().any(|v| v == value),
            "{shape} has no value {value}"
        );
    }
}

#[test]
fn every_error_an_operation_can_return_is_declared_for_it() {
    // The model lists, per operation, the errors it may return. The emulator keeps to
    // those lists for the errors that depend on the operation.
    let model = reference("service-2.json");
    let declared = |op: &str| -> BTreeSet<String> {
        model["operations"][op]["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["shape"].as_str().map(str::to_string))
            .collect()
    };
    let expectations: &[(&str, &[&str])] = &[
        ("ImportServerCatalog", &["NoConnectorsAvailableException"]),
        (
            "CreateReplicationJob",
            &[
                "InvalidParameterException",
                "MissingRequiredParameterException",
                "ReplicationJobAlreadyExistsException",
                "ServerCannotBeReplicatedException",
                "NoConnectorsAvailableException",
                "OperationNotPermittedException",
            ],
        ),
        (
            "UpdateReplicationJob",
            &[
                "ReplicationJobNotFoundException",
                "InvalidParameterException",
                "OperationNotPermittedException",
            ],
        ),
        ("DeleteReplicationJob", &["ReplicationJobNotFoundException"]),
        (
            "StartOnDemandReplicationRun",
            &[
                "ReplicationRunLimitExceededException",
                "OperationNotPermittedException",
                "InvalidParameterException",
            ],
        ),
        (
            "LaunchApp",
            &[
                "OperationNotPermittedException",
                "InvalidParameterException",
            ],
        ),
        ("GenerateChangeSet", &["OperationNotPermittedException"]),
        ("GenerateTemplate", &["OperationNotPermittedException"]),
        ("GetServers", &["InvalidParameterException"]),
        (
            "GetReplicationRuns",
            &[
                "InvalidParameterException",
                "MissingRequiredParameterException",
            ],
        ),
    ];
    for (op, errors) in expectations {
        let d = declared(op);
        for e in *errors {
            assert!(d.contains(*e), "{op} does not declare {e}");
        }
    }
}

#[test]
fn paginated_operations_match_the_paginators_file() {
    let paginators = reference("paginators-1.json");
    let model = reference("service-2.json");
    for (op, p) in paginators["pagination"].as_object().expect("pagination") {
        assert!(
            IMPLEMENTED_OPERATIONS.contains(&op.as_str()),
            "{op} paginates but is not implemented"
        );
        let input = model["operations"][op]["input"]["shape"]
            .as_str()
            .expect("input shape");
        assert!(model["shapes"][input]["members"]
            .get("maxResults")
            .is_some());
        assert_eq!(p["input_token"], "nextToken");
        assert_eq!(p["limit_key"], "maxResults");
    }
}

/// Every implemented operation answers through the real SDK with its modelled output
/// (or a modelled error), which checks our JSON against the SDK's deserialisers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_implemented_operation_round_trips_through_the_sdk() {
    let emu = common::start(Scenario::hand_made_apps()).await;
    let sms = common::sms(&emu).await;
    let now = || aws_sdk_sms::primitives::DateTime::from_secs(emu.now().timestamp());
    sms.get_connectors()
        .max_results(1)
        .send()
        .await
        .expect("GetConnectors");
    sms.import_server_catalog()
        .send()
        .await
        .expect("ImportServerCatalog");
    emu.advance(std::time::Duration::from_secs(200));
    sms.get_servers()
        .max_results(5)
        .send()
        .await
        .expect("GetServers");
    // Servers that belong to no scenario app (a server may be in one app only).
    let ids = [
        common::server_id(&emu, "build-01"),
        common::server_id(&emu, "build-02"),
    ];
    let job = sms
        .create_replication_job()
        .server_id(&ids[0])
        .seed_replication_time(now())
        .license_type(aws_sdk_sms::types::LicenseType::Byol)
        .run_once(false)
        .encrypted(true)
        .kms_key_id("alias/aws/ebs")
        .description("conformance")
        .send()
        .await
        .expect("CreateReplicationJob")
        .replication_job_id()
        .map(str::to_string)
        .expect("id");
    emu.advance(std::time::Duration::from_secs(100));
    sms.get_replication_jobs()
        .max_results(10)
        .send()
        .await
        .expect("GetReplicationJobs");
    sms.get_replication_runs()
        .replication_job_id(&job)
        .send()
        .await
        .expect("GetReplicationRuns");
    sms.update_replication_job()
        .replication_job_id(&job)
        .frequency(6)
        .send()
        .await
        .expect("UpdateReplicationJob");
    let created = sms
        .create_app()
        .name("conformance-app")
        .description("made by the test")
        .role_name("sms")
        .server_groups(
            aws_sdk_sms::types::ServerGroup::builder()
                .name("g1")
                .server_list(
                    aws_sdk_sms::types::Server::builder()
                        .server_id(&ids[1])
                        .build(),
                )
                .build(),
        )
        .tags(
            aws_sdk_sms::types::Tag::builder()
                .key("k")
                .value("v")
                .build(),
        )
        .send()
        .await
        .expect("CreateApp");
    let app = created
        .app_summary()
        .and_then(|s| s.app_id())
        .map(str::to_string)
        .expect("app id");
    let group = created.server_groups()[0]
        .server_group_id()
        .map(str::to_string)
        .expect("group id");
    sms.get_app().app_id(&app).send().await.expect("GetApp");
    sms.list_apps()
        .app_ids(&app)
        .send()
        .await
        .expect("ListApps");
    sms.update_app()
        .app_id(&app)
        .name("renamed")
        .send()
        .await
        .expect("UpdateApp");
    sms.put_app_launch_configuration()
        .app_id(&app)
        .auto_launch(false)
        .server_group_launch_configurations(
            aws_sdk_sms::types::ServerGroupLaunchConfiguration::builder()
                .server_group_id(&group)
                .launch_order(1)
                .server_launch_configurations(
                    aws_sdk_sms::types::ServerLaunchConfiguration::builder()
                        .server(
                            aws_sdk_sms::types::Server::builder()
                                .server_id(&ids[1])
                                .build(),
                        )
                        .logical_id("Web01")
                        .instance_type("t3.small")
                        .subnet("subnet-1")
                        .security_group("sg-1")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("PutAppLaunchConfiguration");
    let lc = sms
        .get_app_launch_configuration()
        .app_id(&app)
        .send()
        .await
        .expect("GetAppLaunchConfiguration");
    assert_eq!(
        lc.server_group_launch_configurations()[0].launch_order(),
        Some(1)
    );
    sms.put_app_replication_configuration()
        .app_id(&app)
        .server_group_replication_configurations(
            aws_sdk_sms::types::ServerGroupReplicationConfiguration::builder()
                .server_group_id(&group)
                .server_replication_configurations(
                    aws_sdk_sms::types::ServerReplicationConfiguration::builder()
                        .server(
                            aws_sdk_sms::types::Server::builder()
                                .server_id(&ids[1])
                                .build(),
                        )
                        .server_replication_parameters(
                            aws_sdk_sms::types::ServerReplicationParameters::builder()
                                .frequency(24)
                                .seed_time(now())
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("PutAppReplicationConfiguration");
    sms.get_app_replication_configuration()
        .app_id(&app)
        .send()
        .await
        .expect("GetAppReplicationConfiguration");
    sms.start_app_replication()
        .app_id(&app)
        .send()
        .await
        .expect("StartAppReplication");
    emu.advance(std::time::Duration::from_secs(3 * 3600));
    let summary = sms.get_app().app_id(&app).send().await.expect("GetApp");
    assert_eq!(
        summary.app_summary().and_then(|s| s.replication_status()),
        Some(&aws_sdk_sms::types::AppReplicationStatus::Replicated)
    );
    sms.launch_app()
        .app_id(&app)
        .send()
        .await
        .expect("LaunchApp");
    emu.advance(std::time::Duration::from_secs(3600));
    sms.generate_template()
        .app_id(&app)
        .send()
        .await
        .expect("GenerateTemplate");
    sms.generate_change_set()
        .app_id(&app)
        .send()
        .await
        .expect("GenerateChangeSet");
    sms.terminate_app()
        .app_id(&app)
        .send()
        .await
        .expect("TerminateApp");
    emu.advance(std::time::Duration::from_secs(3600));
    sms.stop_app_replication()
        .app_id(&app)
        .send()
        .await
        .expect("StopAppReplication");
    sms.delete_app_launch_configuration()
        .app_id(&app)
        .send()
        .await
        .expect("DeleteAppLaunchConfiguration");
    sms.delete_app_replication_configuration()
        .app_id(&app)
        .send()
        .await
        .expect("DeleteAppReplicationConfiguration");
    sms.delete_app()
        .app_id(&app)
        .send()
        .await
        .expect("DeleteApp");
    sms.start_on_demand_replication_run()
        .replication_job_id(&job)
        .send()
        .await
        .expect("StartOnDemandReplicationRun");
    sms.delete_replication_job()
        .replication_job_id(&job)
        .send()
        .await
        .expect("DeleteReplicationJob");
    let connector = sms
        .get_connectors()
        .send()
        .await
        .expect("GetConnectors")
        .connector_list()[1]
        .connector_id()
        .map(str::to_string)
        .expect("connector");
    sms.disassociate_connector()
        .connector_id(&connector)
        .send()
        .await
        .expect("DisassociateConnector");
    sms.delete_server_catalog()
        .send()
        .await
        .expect("DeleteServerCatalog");

    let counts = emu.call_counts();
    for op in IMPLEMENTED_OPERATIONS {
        assert!(
            counts.get(*op).copied().unwrap_or(0) >= 1,
            "{op} was not exercised"
        );
    }
    // A model operation the emulator does not implement says so.
    let err = sms
        .import_app_catalog()
        .send()
        .await
        .expect_err("not implemented");
    let meta = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(meta, Some(501));
    let text = format!("{:?}", err.into_service_error());
    assert!(
        text.contains("is not implemented by the sms-autopilot emulator"),
        "{text}"
    );
    emu.shutdown().await;
}

/// `local/FIDELITY.md` has a row for every operation of the model, each with a source
/// and a verdict, so no behaviour of the emulator goes unaccounted for.
#[test]
fn the_fidelity_ledger_has_a_row_for_every_operation() {
    let ledger = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("FIDELITY.md"),
    )
    .expect("local/FIDELITY.md");
    let rows: Vec<&str> = ledger.lines().filter(|l| l.starts_with("| `")).collect();
    for operation in IMPLEMENTED_OPERATIONS
        .iter()
        .chain(UNIMPLEMENTED_OPERATIONS)
    {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("| `{operation}` |")))
            .unwrap_or_else(|| panic!("FIDELITY.md has no row for {operation}"));
        let cells: Vec<&str> = row.split(" | ").collect();
        assert_eq!(
            cells.len(),
            4,
            "{operation}: operation | behaviour | source | verdict"
        );
        let verdict = cells[3];
        assert!(
            ["documented", "inferred", "assumed"]
                .iter()
                .any(|v| verdict.starts_with(v)),
            "{operation}: verdict {verdict:?}"
        );
    }
}
