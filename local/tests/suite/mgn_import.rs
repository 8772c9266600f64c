//! StartImport on the MGN stand-in through aws-sdk-mgn: an inventory CSV in the local
//! S3 becomes waves, applications and servers (an agentless server waits for its agent
//! in PENDING_INSTALLATION); rows and columns it cannot use are listed as errors by row;
//! a file that cannot be read fails the import; one import runs at a time.

use std::time::Duration;

use crate::common;

use autopilot_local::mgn::MgnOptions;
use autopilot_local::Scenario;
use aws_sdk_mgn::error::ProvideErrorMetadata;
use aws_sdk_mgn::types::{ImportErrorType, ImportStatus, LifeCycleState, S3BucketSource};
use aws_sdk_mgn::Client;

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}]
mgn:
  servers:
    web: {user_provided_id: CMDB-1}
    db: {user_provided_id: CMDB-2, agent_installed_at_secs: 5000}
"#;

const INVENTORY: &str =
    "\u{feff}mgn:wave:name,mgn:app:name,mgn:server:user-provided-id,mgn:app:tag:team,colour\n\
wave 1,shop,CMDB-1,web,blue\n\
wave 1,shop,CMDB-2,,\n\
wave 2,ledger,CMDB-9,finance,\n\
,,,,green\n\
wave 1,ledger,,,\n";

fn source(key: &str) -> S3BucketSource {
    S3BucketSource::builder()
        .s3_bucket("inventory")
        .s3_key(key)
        .build()
        .expect("a source")
}

async fn servers_by_user_id(
    client: &Client,
) -> Vec<(String, LifeCycleState, Option<String>, bool)> {
    let listed = client
        .describe_source_servers()
        .send()
        .await
        .expect("listed");
    listed
        .items()
        .iter()
        .map(|s| {
            (
                s.user_provided_id().unwrap_or_default().to_owned(),
                s.life_cycle()
                    .and_then(|l| l.state())
                    .cloned()
                    .expect("a state"),
                s.application_id().map(str::to_owned),
                s.data_replication_info().is_some(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_becomes_waves_applications_and_servers_awaiting_their_agents() {
    let root = tempfile::tempdir().expect("a directory");
    std::fs::create_dir_all(root.path().join("inventory")).expect("bucket");
    std::fs::write(root.path().join("inventory/estate.csv"), INVENTORY).expect("file");
    let options = MgnOptions {
        s3_root: Some(root.path().to_path_buf()),
        ..MgnOptions::default()
    };
    let (mgn, client) =
        common::mgn_account(Scenario::from_text(SCENARIO).expect("scenario"), options).await;

    let not_csv = client
        .start_import()
        .s3_bucket_source(source("estate.xlsx"))
        .send()
        .await
        .expect_err("not a .csv");
    assert_eq!(
        not_csv.into_service_error().code(),
        Some("ValidationException")
    );
    let task = client
        .start_import()
        .s3_bucket_source(source("estate.csv"))
        .client_token("t-1")
        .send()
        .await
        .expect("202");
    let task = task.import_task().cloned().expect("a task");
    assert_eq!(task.status(), Some(&ImportStatus::Pending));
    let again = client
        .start_import()
        .s3_bucket_source(source("estate.csv"))
        .client_token("t-1")
        .send()
        .await
        .expect("same token");
    assert_eq!(
        again.import_task().and_then(|t| t.import_id()),
        task.import_id(),
        "idempotent"
    );
    let busy = client
        .start_import()
        .s3_bucket_source(source("estate.csv"))
        .send()
        .await
        .expect_err("one at a time");
    assert_eq!(busy.into_service_error().code(), Some("ConflictException"));

    mgn.advance(Duration::from_secs(20));
    let listed = client.list_imports().send().await.expect("listed");
    let done = &listed.items()[0];
    assert_eq!(done.status(), Some(&ImportStatus::Succeeded));
    let summary = done.summary().expect("a summary");
    assert_eq!(summary.waves().map(|w| w.created_count()), Some(2));
    assert_eq!(summary.applications().map(|a| a.created_count()), Some(2));
    assert_eq!(
        summary
            .servers()
            .map(|s| (s.created_count(), s.modified_count())),
        Some((2, 1))
    );
    let errors = client
        .list_import_errors()
        .import_id(task.import_id().expect("an id"))
        .send()
        .await
        .expect("errors");
    let rows: Vec<(Option<i64>, ImportErrorType)> = errors
        .items()
        .iter()
        .map(|e| {
            (
                e.error_data().map(|d| d.row_number()),
                e.error_type().cloned().expect("a type"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (Some(1), ImportErrorType::ValidationError),
            (Some(5), ImportErrorType::ValidationError),
            (Some(6), ImportErrorType::ValidationError),
        ],
        "the unknown column, the row naming nothing, ledger moved to another wave"
    );

    let servers = servers_by_user_id(&client).await;
    let find = |id: &str| servers.iter().find(|s| s.0 == id).cloned().expect(id);
    assert_eq!(find("CMDB-1").1, LifeCycleState::NotReady, "its agent runs");
    assert_eq!(
        (find("CMDB-2").1, find("CMDB-2").3),
        (LifeCycleState::PendingInstallation, false)
    );
    assert_eq!(
        find("CMDB-9").1,
        LifeCycleState::PendingInstallation,
        "the inventory's alone"
    );
    assert_eq!(find("CMDB-1").2, find("CMDB-2").2, "one application");
    let listed = client
        .describe_source_servers()
        .send()
        .await
        .expect("listed");
    let inventory_only = listed
        .items()
        .iter()
        .find(|s| s.user_provided_id() == Some("CMDB-9"))
        .expect("CMDB-9");
    assert!(
        inventory_only.source_properties().is_none(),
        "no agent, no hints"
    );
    mgn.advance(Duration::from_secs(5000));
    let servers = servers_by_user_id(&client).await;
    let db = servers
        .iter()
        .find(|s| s.0 == "CMDB-2")
        .cloned()
        .expect("db");
    assert_eq!(
        (db.1, db.3),
        (LifeCycleState::NotReady, true),
        "the agent took it over"
    );
    assert_eq!(servers.len(), 3);
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_file_cannot_be_read_fails_with_a_processing_error() {
    let root = tempfile::tempdir().expect("a directory");
    let options = MgnOptions {
        s3_root: Some(root.path().to_path_buf()),
        ..MgnOptions::default()
    };
    let (mgn, client) =
        common::mgn_account(Scenario::from_text(SCENARIO).expect("scenario"), options).await;
    let task = client
        .start_import()
        .s3_bucket_source(source("missing.csv"))
        .send()
        .await
        .expect("202");
    let id = task
        .import_task()
        .and_then(|t| t.import_id())
        .expect("an id")
        .to_owned();
    mgn.advance(Duration::from_secs(20));
    let listed = client.list_imports().send().await.expect("listed");
    assert_eq!(listed.items()[0].status(), Some(&ImportStatus::Failed));
    let errors = client
        .list_import_errors()
        .import_id(&id)
        .send()
        .await
        .expect("errors");
    let error = &errors.items()[0];
    assert_eq!(error.error_type(), Some(&ImportErrorType::ProcessingError));
    let raw = error
        .error_data()
        .and_then(|d| d.raw_error())
        .unwrap_or_default();
    assert!(raw.contains("s3://inventory/missing.csv"), "{raw}");
    mgn.shutdown().await;
}
