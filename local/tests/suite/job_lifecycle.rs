//! What the catalog and the job list say of a job that ended, through the real
//! aws-sdk-sms client: a job that FAILED for good or was deleted leaves the server with
//! its job id and `replicationJobTerminated` true (the model: "deleted or failed"); a
//! live job leaves it false. A deletion takes `deletion_secs` (DELETING, then DELETED),
//! during which the server gets no new job; the DELETED job stays listed for
//! `deleted_job_listing_secs`, and its AMIs stay.

use crate::common;

use std::time::Duration;

use autopilot_local::{EmulatorHandle, Scenario};
use aws_sdk_sms::types::ReplicationJobState;

fn scenario() -> Scenario {
    scenario_with("")
}

fn scenario_with(extra: &str) -> Scenario {
    Scenario::from_text(&format!(
        r#"
name: job-lifecycle
seed: 5
timing: {{ catalog_import_secs: 60, run_start_delay_secs: 60, default_replication_secs: 600, failing_secs: 60, deletion_secs: 300, deleted_job_listing_secs: 3600 }}
connectors: [{{ vm_manager_name: vcenter }}]
servers:
  - {{ vm_name: healthy-01 }}
  - {{ vm_name: broken-01, fail_runs: 2, after_failures: failed }}
{extra}
"#,
    ))
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
    imported_with(scenario()).await
}

async fn imported_with(scenario: Scenario) -> (EmulatorHandle, aws_sdk_sms::Client) {
    let emu = common::start(scenario).await;
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
    emu.advance(Duration::from_secs(300));
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
    assert_eq!(deleted.detail.state, "Deleted");
    assert_eq!(deleted.detail.replication_run_id, "N/A");
    assert_eq!(deleted.resources, vec![job_arn]);
    emu.shutdown().await;
}

/// Every listed job: (id, state, latest AMI).
async fn listed(sms: &aws_sdk_sms::Client) -> Vec<(String, ReplicationJobState, Option<String>)> {
    let answer = sms
        .get_replication_jobs()
        .send()
        .await
        .expect("GetReplicationJobs");
    answer
        .replication_job_list()
        .iter()
        .map(|j| {
            (
                j.replication_job_id().unwrap_or_default().to_owned(),
                j.state().cloned().expect("state"),
                j.latest_ami_id().map(str::to_owned),
            )
        })
        .collect()
}

/// CreateReplicationJob's error code for the server named `vm`, or "" if it succeeded.
async fn create_error(emu: &EmulatorHandle, sms: &aws_sdk_sms::Client, vm: &str) -> String {
    let answer = sms
        .create_replication_job()
        .server_id(common::server_id(emu, vm))
        .seed_replication_time(aws_sdk_sms::primitives::DateTime::from_secs(
            emu.now().timestamp(),
        ))
        .send()
        .await;
    match answer {
        Ok(_) => String::new(),
        Err(e) => aws_sdk_sms::error::ProvideErrorMetadata::code(&e)
            .unwrap_or_default()
            .to_owned(),
    }
}

#[tokio::test]
async fn a_deletion_takes_time_keeps_the_amis_and_the_deleted_job_stays_listed_a_while() {
    let (emu, sms) = imported().await;
    let (server, job) = create_job(&emu, &sms, "healthy-01").await;
    emu.advance(Duration::from_secs(3600));
    let ami = listed(&sms).await[0].2.clone().expect("a run completed");
    sms.delete_replication_job()
        .replication_job_id(&job)
        .send()
        .await
        .expect("DeleteReplicationJob");
    assert_eq!(
        listed(&sms).await,
        [(
            job.clone(),
            ReplicationJobState::Deleting,
            Some(ami.clone())
        )]
    );
    assert_eq!(
        catalog_entry(&sms, &server).await,
        (Some(job.clone()), Some(true))
    );
    assert_eq!(
        create_error(&emu, &sms, "healthy-01").await,
        "ReplicationJobAlreadyExistsException",
        "the DELETING job still holds the server"
    );
    let again = sms
        .delete_replication_job()
        .replication_job_id(&job)
        .send()
        .await;
    assert!(again.is_err(), "a job is deleted once");

    emu.advance(Duration::from_secs(300));
    assert_eq!(
        listed(&sms).await,
        [(job.clone(), ReplicationJobState::Deleted, Some(ami.clone()))]
    );
    assert!(
        !emu.state().pruned_amis.contains(&ami),
        "a deletion keeps the AMIs"
    );
    assert_eq!(create_error(&emu, &sms, "healthy-01").await, "");
    let (new_job, _, _) = listed(&sms).await.pop().expect("the new job");
    assert_eq!(
        catalog_entry(&sms, &server).await,
        (Some(new_job.clone()), Some(false))
    );

    // After `deleted_job_listing_secs` the DELETED job is no longer listed.
    emu.advance(Duration::from_secs(3600));
    let ids: Vec<String> = listed(&sms).await.into_iter().map(|j| j.0).collect();
    assert_eq!(ids, [new_job]);
    emu.shutdown().await;
}

/// The other reading: a server whose job is DELETING is refused with
/// OperationNotPermittedException.
#[tokio::test]
async fn the_other_reading_refuses_a_job_while_deleting_as_not_permitted() {
    let (emu, sms) = imported_with(scenario_with(
        "readings: { create_while_deleting: not_permitted }",
    ))
    .await;
    let (_, job) = create_job(&emu, &sms, "healthy-01").await;
    sms.delete_replication_job()
        .replication_job_id(&job)
        .send()
        .await
        .expect("DeleteReplicationJob");
    assert_eq!(
        create_error(&emu, &sms, "healthy-01").await,
        "OperationNotPermittedException"
    );
    emu.advance(Duration::from_secs(300));
    assert_eq!(create_error(&emu, &sms, "healthy-01").await, "");
    emu.shutdown().await;
}

/// SMS announced only Completed (a run's AMI), Failed and Deleted, in title case; the
/// states it did not announce are in the job's history only.
#[tokio::test]
async fn only_completed_failed_and_deleted_are_announced() {
    let (emu, sms) = imported().await;
    let (_, broken) = create_job(&emu, &sms, "broken-01").await;
    let (_, healthy) = create_job(&emu, &sms, "healthy-01").await;
    emu.advance(Duration::from_secs(3600));
    sms.delete_replication_job()
        .replication_job_id(&healthy)
        .send()
        .await
        .expect("DeleteReplicationJob");
    emu.advance(Duration::from_secs(300));
    let announced = |job: &str| -> Vec<String> {
        emu.events()
            .iter()
            .filter(|e| e.detail.replication_job_id == job)
            .map(|e| e.detail.state.clone())
            .collect()
    };
    assert_eq!(announced(&broken), ["Failed"]);
    let healthy_states = announced(&healthy);
    assert_eq!(healthy_states.last().map(String::as_str), Some("Deleted"));
    assert!(healthy_states[..healthy_states.len() - 1]
        .iter()
        .all(|s| s == "Completed"));
    assert!(emu.events().iter().all(|e| e.detail.version == "1.0"));
    let state = emu.state();
    let history = &state.jobs.iter().find(|j| j.id == broken).unwrap().history;
    assert!(
        history.len() > 3,
        "every state is in the history: {history:?}"
    );
    emu.shutdown().await;
}

/// `faults.dropped_sms_events` keeps a seeded share of events from subscribers.
#[tokio::test]
async fn a_share_of_events_is_dropped_the_same_way_under_a_seed() {
    let dropped = || async {
        let scenario = scenario_with("faults: { dropped_sms_events: 0.5 }\n");
        let (emu, sms) = imported_with(scenario).await;
        let mut delivered = emu.subscribe_events();
        create_job(&emu, &sms, "healthy-01").await;
        create_job(&emu, &sms, "broken-01").await;
        emu.advance(Duration::from_secs(6 * 3600));
        let mut got = Vec::new();
        while let Ok(event) = delivered.try_recv() {
            got.push(event.id);
        }
        let emitted = emu.events().len() as u64;
        let counted = emu.sms_faults_injected().events_dropped;
        emu.shutdown().await;
        assert_eq!(got.len() as u64 + counted, emitted);
        assert!(counted > 0 && !got.is_empty(), "{counted} of {emitted}");
        got
    };
    assert_eq!(dropped().await, dropped().await);
}
