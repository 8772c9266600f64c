//! The limits the SMS sources state, through the real aws-sdk-sms client: 90 days of
//! replication per server from its first run, after which its job is terminated (FAILED,
//! with the reason) and it takes no new job; and the catalog's EXPIRED status, which no
//! source dates, played only where a scenario asks for it.

use crate::common;

use std::time::Duration;

use autopilot_local::{EmulatorHandle, Scenario};
use aws_sdk_sms::error::ProvideErrorMetadata;
use aws_sdk_sms::types::{ReplicationJobState, ServerCatalogStatus};

const DAY: u64 = 86_400;

fn scenario(extra: &str) -> Scenario {
    Scenario::from_text(&format!(
        r#"
name: limits
seed: 9
timing: {{ catalog_import_secs: 60, run_start_delay_secs: 60, default_replication_secs: 600 }}
connectors: [{{ vm_manager_name: vcenter }}]
servers:
  - {{ vm_name: db-01 }}
{extra}
"#
    ))
    .expect("valid scenario")
}

async fn imported(scenario: Scenario) -> (EmulatorHandle, aws_sdk_sms::Client, String) {
    let emu = common::start(scenario).await;
    let sms = common::sms(&emu).await;
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(61));
    let server = common::server_id(&emu, "db-01");
    (emu, sms, server)
}

/// CreateReplicationJob for `server`, seeded now and daily: the job id, or the error code.
async fn create(
    emu: &EmulatorHandle,
    sms: &aws_sdk_sms::Client,
    server: &str,
) -> Result<String, String> {
    sms.create_replication_job()
        .server_id(server)
        .frequency(24)
        .seed_replication_time(aws_sdk_sms::primitives::DateTime::from_secs(
            emu.now().timestamp(),
        ))
        .send()
        .await
        .map(|o| o.replication_job_id().unwrap_or_default().to_owned())
        .map_err(|e| e.code().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn after_90_days_of_replication_the_job_is_terminated_and_no_new_one_is_taken() {
    let (emu, sms, server) = imported(scenario("")).await;
    let job = create(&emu, &sms, &server).await.expect("job");
    emu.advance(Duration::from_secs(89 * DAY));
    let state = |jobs: &aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput| {
        jobs.replication_job_list()[0].state().cloned()
    };
    let listed = sms.get_replication_jobs().send().await.expect("jobs");
    assert_eq!(state(&listed), Some(ReplicationJobState::Active));

    emu.advance(Duration::from_secs(2 * DAY));
    let listed = sms.get_replication_jobs().send().await.expect("jobs");
    assert_eq!(state(&listed), Some(ReplicationJobState::Failed));
    let message = listed.replication_job_list()[0]
        .status_message()
        .unwrap_or_default();
    assert!(message.contains("90 days"), "{message}");
    let servers = sms.get_servers().send().await.expect("servers");
    let entry = &servers.server_list()[0];
    assert_eq!(entry.replication_job_terminated(), Some(true));
    // The catalog never expires unless a scenario says so.
    assert_eq!(
        servers.server_catalog_status(),
        Some(&ServerCatalogStatus::Available)
    );
    let announced: Vec<String> = emu
        .events()
        .iter()
        .filter(|e| e.detail.replication_job_id == job && e.detail.ami_id.is_none())
        .map(|e| e.detail.state.clone())
        .collect();
    assert_eq!(announced, ["Failed"]);

    sms.delete_replication_job()
        .replication_job_id(&job)
        .send()
        .await
        .expect("delete");
    emu.advance(Duration::from_secs(3600));
    assert_eq!(
        create(&emu, &sms, &server).await,
        Err("OperationNotPermittedException".to_owned()),
        "the 90 days are per server, not per job"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_catalog_expires_where_the_scenario_says_and_an_import_renews_it() {
    let extra = "readings: { catalog_expires_after_secs: 3600 }";
    let (emu, sms, server) = imported(scenario(extra)).await;
    emu.advance(Duration::from_secs(3600));
    let servers = sms.get_servers().send().await.expect("servers");
    assert_eq!(
        servers.server_catalog_status(),
        Some(&ServerCatalogStatus::Expired)
    );
    assert!(servers.server_list().is_empty());
    assert_eq!(
        create(&emu, &sms, &server).await,
        Err("InvalidParameterException".to_owned())
    );
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(61));
    let servers = sms.get_servers().send().await.expect("servers");
    assert_eq!(servers.server_list().len(), 1);
    assert!(create(&emu, &sms, &server).await.is_ok());
    emu.shutdown().await;
}
