//! What the catalog says of a server whose job ended, through the real aws-sdk-sms
//! client: a job that FAILED for good or was deleted leaves the server with its job id
//! and `replicationJobTerminated` true (the model: "deleted or failed"); a live job
//! leaves it false.

mod common;

use std::time::Duration;

use autopilot_local::{EmulatorHandle, Scenario};
use aws_sdk_sms::types::ReplicationJobState;

fn scenario() -> Scenario {
    Scenario::from_text(
        r#"
name: job-lifecycle
seed: 5
timing: { catalog_import_secs: 60, run_start_delay_secs: 60, default_replication_secs: 600, failing_secs: 60 }
connectors: [{ vm_manager_name: vcenter }]
servers:
  - { vm_name: healthy-01 }
  - { vm_name: broken-01, fail_runs: 2, after_failures: failed }
"#,
    )
    .expect("valid scenario")
}

/// `(replicationJobId, replicationJobTerminated)` of the server named `vm`.
async fn catalog_entry(sms: &aws_sdk_sms::Client, id: &str) -> (Option<String>, Option<bool>) {
    let answer = sms.get_servers().send().await.expect("GetServers");
    let server = answer
        .server_list()
        .iter()
        .find(|s| s.server_id() == Some(id))
        .expect("server listed");
    (
        server.replication_job_id().map(str::to_owned),
        server.replication_job_terminated(),
    )
}

/// The emulator with its catalog imported, and an SDK client on it.
async fn imported() -> (EmulatorHandle, aws_sdk_sms::Client) {
    let emu = common::start(scenario()).await;
    let sms = common::sms(&emu).await;
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(61));
    (emu, sms)
}

/// A job for the server named `vm`, seeded now: (server id, job id).
async fn create_job(emu: &EmulatorHandle, sms: &aws_sdk_sms::Client, vm: &str) -> (String, String) {
    let server = common::server_id(emu, vm);
    let created = sms
        .create_replication_job()
        .server_id(&server)
        .seed_replication_time(aws_sdk_sms::primitives::DateTime::from_secs(
            emu.now().timestamp(),
        ))
        .send()
        .await
        .expect("CreateReplicationJob");
    let job = created.replication_job_id().expect("id").to_owned();
    (server, job)
}

#[tokio::test]
async fn failed_and_deleted_jobs_leave_the_server_terminated() {
    let (emu, sms) = imported().await;
    let mut jobs = Vec::new();
    for vm in ["healthy-01", "broken-01"] {
        jobs.push(create_job(&emu, &sms, vm).await);
    }
    // Two failing runs of 5 minutes each, a minute of FAILING after each.
    emu.advance(Duration::from_secs(3600));
    let (broken, broken_job) = &jobs[1];
    let listed = sms
        .get_replication_jobs()
        .replication_job_id(broken_job)
        .send()
        .await
        .expect("GetReplicationJobs");
    assert_eq!(
        listed.replication_job_list()[0].state(),
        Some(&ReplicationJobState::Failed)
    );
    assert_eq!(
        catalog_entry(&sms, broken).await,
        (Some(broken_job.clone()), Some(true)),
        "a FAILED job is terminated"
    );
    let (healthy, healthy_job) = &jobs[0];
    assert_eq!(
        catalog_entry(&sms, healthy).await,
        (Some(healthy_job.clone()), Some(false))
    );
    sms.delete_replication_job()
        .replication_job_id(healthy_job)
        .send()
        .await
        .expect("DeleteReplicationJob");
    let (_, terminated) = catalog_entry(&sms, healthy).await;
    assert_eq!(terminated, Some(true), "a deleted job is terminated");
    emu.shutdown().await;
}

/// SMS's own events name the job by ARN in `resources`, the run too when a run
/// completed, and a deleted job's event names no run ("N/A"), as the CloudWatch Events
/// guide's samples show.
#[tokio::test]
async fn job_events_carry_the_arns_and_a_deletion_names_no_run() {
    let (emu, sms) = imported().await;
    let (_, job) = create_job(&emu, &sms, "healthy-01").await;
    emu.advance(Duration::from_secs(3600));
    sms.delete_replication_job()
        .replication_job_id(&job)
        .send()
        .await
        .expect("DeleteReplicationJob");
    let job_arn = format!("arn:aws:sms:us-east-1:123456789012:{job}");
    let events = emu.events();
    let completed = events
        .iter()
        .find(|e| e.is_run_completion())
        .expect("a run completed");
    let run = &completed.detail.replication_run_id;
    assert_eq!(
        completed.resources,
        vec![job_arn.clone(), format!("{job_arn}/{run}")]
    );
    let deleted = events.last().expect("events");
    assert_eq!(deleted.detail.state, "DELETED");
    assert_eq!(deleted.detail.replication_run_id, "N/A");
    assert_eq!(deleted.resources, vec![job_arn]);
    emu.shutdown().await;
}
