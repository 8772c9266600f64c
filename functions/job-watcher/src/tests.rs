//! Unit tests of the job watcher against mocked SMS and S3.

use std::sync::Arc;

use super::*;
use autopilot_core::config::{CommonConfig, JobParameters};
use autopilot_core::error::Retryability;
use autopilot_core::failures::RemediationPolicy;
use autopilot_core::outbox::PUBLISH_MARGIN;
use autopilot_core::runtime;
use autopilot_core::testing::{self, schedule_event};
use aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput;
use aws_sdk_sms::operation::start_on_demand_replication_run::StartOnDemandReplicationRunOutput;
use aws_sdk_sms::types::{
    ReplicationJob as SmsJob, ReplicationJobState as State, ReplicationRun, ReplicationRunState,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

fn config(dry_run: bool) -> JobWatcherConfig {
    JobWatcherConfig {
        common: CommonConfig {
            event_bus_name: "autopilot".into(),
            dry_run,
            max_attempts: 3,
        },
        artifacts_bucket: "artifacts".into(),
        remediation: RemediationPolicy {
            max_attempts_per_server: 3,
            daily_on_demand_limit: 2,
            recreate_failed: false,
        },
        job: JobParameters {
            frequency_hours: 12,
            run_once: false,
            license_type: None,
            role_name: None,
            amis_to_keep: None,
            encrypted: false,
            kms_key_id: None,
            seed_offset_minutes: 0,
        },
        expiry_warning_days: 14,
    }
}

/// The artifacts bucket, kept between invocations like the real snapshot.
#[derive(Clone, Default)]
struct SnapshotStore(testing::MemoryBucket);

impl SnapshotStore {
    fn with(body: &[u8]) -> Self {
        let store = Self::default();
        store.0.put(SNAPSHOT_KEY, body.to_vec());
        store
    }

    fn client(&self) -> (aws_sdk_s3::Client, Rule, Rule) {
        self.0.client()
    }

    fn snapshot(&self) -> FailureSnapshot {
        self.0.json(SNAPSHOT_KEY).expect("snapshot written")
    }
}

fn job(id: &str, state: State, completed_run: Option<&str>) -> SmsJob {
    let mut builder = SmsJob::builder()
        .replication_job_id(id)
        .server_id(format!("s-{id}"))
        .state(state)
        .status_message(format!("{id} status"));
    if let Some(run) = completed_run {
        builder = builder
            .latest_ami_id(format!("ami-{run}"))
            .replication_run_list(
                ReplicationRun::builder()
                    .replication_run_id(run)
                    .state(ReplicationRunState::Completed)
                    .ami_id(format!("ami-{run}"))
                    .completed_time(aws_smithy_types::DateTime::from_secs(1_795_300_000))
                    .build(),
            );
    }
    builder.build()
}

fn sweep(jobs: Vec<SmsJob>) -> Rule {
    mock!(aws_sdk_sms::Client::get_replication_jobs).then_output(move || {
        GetReplicationJobsOutput::builder()
            .set_replication_job_list(Some(jobs.clone()))
            .build()
    })
}

fn start_run() -> Rule {
    mock!(aws_sdk_sms::Client::start_on_demand_replication_run).then_output(|| {
        StartOnDemandReplicationRunOutput::builder()
            .replication_run_id("sms-run-od")
            .build()
    })
}

fn wave_jobs() -> Vec<SmsJob> {
    vec![
        job("j1", State::PausedOnFailure, None),
        job("j2", State::Failed, None),
        job("j3", State::Active, Some("r3")),
    ]
}

#[tokio::test]
async fn a_sweep_alerts_remediates_and_announces_once() {
    let store = SnapshotStore::default();
    let (jobs, start) = (sweep(wave_jobs()), start_run());
    let (s3, _, put) = store.client();
    let (context, events) =
        testing::context(config(false), testing::mock_sms(&[&jobs, &start]), s3);
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!((summary.newly_failed, summary.runs_completed), (2, 1));
    assert_eq!(start.num_calls(), 1, "only the paused job can be resumed");
    let failed = events.of_type("ReplicationJobFailed");
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["state"], "PAUSED_ON_FAILURE");
    assert_eq!(failed[0]["statusMessage"], "j1 status");
    let completed = events.of_type("ReplicationRunCompleted");
    assert_eq!(completed[0]["amiId"], "ami-r3");
    let remediated = events.of_type("ReplicationJobRemediated");
    assert_eq!(remediated.len(), 2);
    assert!(remediated
        .iter()
        .any(|e| e["action"] == "onDemandRunStarted" && e["attempt"] == 1));
    assert!(remediated.iter().any(|e| e["action"] == "held"
        && e["reason"]
            .as_str()
            .unwrap()
            .contains("recreating failed jobs is disabled")));
    // Claimed before acting, again after remediating, emptied after publishing.
    assert_eq!(put.num_calls(), 3);
    let snapshot = store.snapshot();
    assert!(snapshot.outbox.is_empty());
    assert_eq!(snapshot.failures.len(), 2);
    assert_eq!(snapshot.remediations[&"s-j1".into()].len(), 1);

    // The same sweep again: nothing new to alert or announce, the held job stays held.
    let (jobs_again, start_again) = (sweep(wave_jobs()), start_run());
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(
        config(false),
        testing::mock_sms(&[&jobs_again, &start_again]),
        s3,
    );
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!((summary.newly_failed, summary.runs_completed), (0, 0));
    assert!(events.of_type("ReplicationJobFailed").is_empty());
    assert!(events.of_type("ReplicationRunCompleted").is_empty());
    assert!(!events
        .of_type("ReplicationJobRemediated")
        .iter()
        .any(|e| e["action"] == "held"));

    // j1 recovers; a complete sweep without j2 means j2 is gone.
    let recovered = sweep(vec![
        job("j1", State::Active, None),
        job("j3", State::Active, Some("r3")),
    ]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&recovered]), s3);
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.recovered, 2);
    assert_eq!(events.of_type("ReplicationJobRecovered").len(), 2);
    assert!(store.snapshot().failures.is_empty());
}

#[tokio::test]
async fn an_sms_event_checks_only_its_job() {
    let store = SnapshotStore::default();
    let single = mock!(aws_sdk_sms::Client::get_replication_jobs)
        .match_requests(|req| req.replication_job_id() == Some("j3"))
        .then_output(|| {
            GetReplicationJobsOutput::builder()
                .replication_job_list(job("j3", State::Active, Some("r3")))
                .build()
        });
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&single]), s3);
    let event = testing::sms_state_change("j3", "r3", "COMPLETED", Some("ami-r3"));
    let summary = handle(event.clone(), context).await.unwrap();
    assert_eq!(summary.runs_completed, 1);
    assert_eq!(events.detail_types(), ["ReplicationRunCompleted"]);

    // The same event delivered twice announces nothing new.
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&single]), s3);
    handle(event, context).await.unwrap();
    assert!(events.all().is_empty());
}

#[tokio::test]
async fn the_service_run_limit_is_a_hold_not_an_error() {
    let store = SnapshotStore::default();
    let jobs = sweep(vec![job("j1", State::PausedOnFailure, None)]);
    let refused =
        mock!(aws_sdk_sms::Client::start_on_demand_replication_run).then_http_response(|| {
            testing::sms_error(
                400,
                "ReplicationRunLimitExceededException",
                "limit of on-demand runs reached",
            )
        });
    let (s3, _, _) = store.client();
    let (context, events) =
        testing::context(config(false), testing::mock_sms(&[&jobs, &refused]), s3);
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.remediations_held, 1);
    let remediated = events.of_type("ReplicationJobRemediated");
    assert!(remediated[0]["reason"]
        .as_str()
        .unwrap()
        .contains("limit of on-demand runs"));
    assert!(
        store.snapshot().remediations.is_empty(),
        "a refused run uses no budget"
    );
}

#[tokio::test]
async fn an_alert_that_could_not_be_published_is_sent_again() {
    let store = SnapshotStore::default();
    let jobs = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let failing_bus = mock!(aws_sdk_eventbridge::Client::put_events).then_http_response(|| {
        aws_sdk_sms::config::http::HttpResponse::new(
            500.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::from(r#"{"__type":"InternalException"}"#),
        )
    });
    let events_client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&failing_bus]);
    let context = Arc::new(autopilot_core::runtime::Context {
        config: config(false),
        sms: testing::mock_sms(&[&jobs]),
        mgn: testing::unused_mgn(),
        ec2: testing::unused_ec2(),
        s3,
        publisher: autopilot_core::EventPublisher::new(events_client, "autopilot")
            .with_retries(2, std::time::Duration::from_millis(1)),
        clock: testing::fixed_clock(testing::test_now()),
        warm: (),
    });
    let error = handle(schedule_event(), context).await.unwrap_err();
    assert_eq!(error.retryability(), Retryability::Retryable);
    let waiting = store.snapshot().outbox;
    assert!(
        waiting
            .iter()
            .any(|e| e.detail_type == "ReplicationJobFailed"),
        "the alert waits in the outbox: {waiting:?}"
    );

    let jobs = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
    handle(schedule_event(), context).await.unwrap();
    assert_eq!(
        events.of_type("ReplicationJobFailed").len(),
        1,
        "sent once, from the outbox"
    );
    assert!(store.snapshot().outbox.is_empty());
}

#[tokio::test]
async fn an_invocation_cut_off_after_claiming_loses_no_alert() {
    // The previous invocation stored its claim and died before publishing.
    let store = SnapshotStore::default();
    let (first, _) = (sweep(vec![job("j2", State::Failed, None)]), ());
    let (s3, _, _) = store.client();
    let (context, _) = testing::context(config(false), testing::mock_sms(&[&first]), s3);
    handle(schedule_event(), context).await.unwrap();
    let mut claimed = store.snapshot();
    claimed.outbox = vec![OutgoingEvent::new(
        ReplicationJobFailed {
            replication_job_id: "j2".into(),
            server_id: "s-j2".into(),
            vm_name: None,
            app_name: None,
            subject: "server s-j2".into(),
            state: autopilot_core::model::ReplicationJobState::Failed,
            status_message: None,
            failed_since: None,
        },
        false,
    )];
    store
        .0
        .put(SNAPSHOT_KEY, serde_json::to_vec(&claimed).unwrap());
    // The next invocation observes nothing new but publishes what was claimed.
    let again = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&again]), s3);
    let summary = handle(schedule_event(), context).await.unwrap();
    assert_eq!(summary.newly_failed, 0);
    assert_eq!(events.of_type("ReplicationJobFailed").len(), 1);
    assert!(store.snapshot().outbox.is_empty());
}

#[tokio::test]
async fn close_to_the_deadline_events_wait_in_the_outbox_instead_of_going_out() {
    let store = SnapshotStore::default();
    let jobs = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
    let soon = std::time::Instant::now() + PUBLISH_MARGIN / 2;
    let summary = runtime::with_deadline(soon, handle(schedule_event(), context))
        .await
        .unwrap();
    assert_eq!(
        summary.events_deferred, 2,
        "the alert and the hold decision"
    );
    assert!(events.all().is_empty(), "nothing published");
    assert_eq!(store.snapshot().outbox.len(), 2);

    // With time to spare, the next invocation sends them, once.
    let jobs = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
    let later = std::time::Instant::now() + PUBLISH_MARGIN * 30;
    let summary = runtime::with_deadline(later, handle(schedule_event(), context))
        .await
        .unwrap();
    assert_eq!(summary.events_deferred, 0);
    assert_eq!(
        events.detail_types(),
        ["ReplicationJobFailed", "ReplicationJobRemediated"]
    );
    assert!(store.snapshot().outbox.is_empty());
}

#[tokio::test]
async fn a_failure_alerted_by_a_cut_off_invocation_still_gets_its_decision() {
    // The alert went out, but the invocation died before deciding what to do.
    let store = SnapshotStore::default();
    let mut alerted = FailureSnapshot::default();
    alerted.failures.insert(
        "j2".into(),
        autopilot_core::failures::FailureRecord {
            server_id: "s-j2".into(),
            state: "FAILED".into(),
            first_seen: testing::test_now(),
            remediation_decided: false,
        },
    );
    store
        .0
        .put(SNAPSHOT_KEY, serde_json::to_vec(&alerted).unwrap());
    let jobs = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
    handle(schedule_event(), context).await.unwrap();
    assert!(
        events.of_type("ReplicationJobFailed").is_empty(),
        "alerted already"
    );
    let decided = events.of_type("ReplicationJobRemediated");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["action"], "held");
    assert!(store.snapshot().failures[&"j2".into()].remediation_decided);

    // Decided once: the next sweep says nothing more.
    let jobs = sweep(vec![job("j2", State::Failed, None)]);
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
    handle(schedule_event(), context).await.unwrap();
    assert!(events.all().is_empty());
}

#[tokio::test]
async fn dry_run_decides_without_resuming() {
    let store = SnapshotStore::default();
    let (jobs, start) = (
        sweep(vec![job("j1", State::PausedOnFailure, None)]),
        start_run(),
    );
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(config(true), testing::mock_sms(&[&jobs, &start]), s3);
    handle(schedule_event(), context).await.unwrap();
    assert_eq!(start.num_calls(), 0);
    let remediated = events.of_type("ReplicationJobRemediated");
    assert_eq!(remediated[0]["dryRun"], true);
    assert_eq!(remediated[0]["action"], "onDemandRunStarted");
}

#[tokio::test]
async fn a_corrupt_snapshot_stops_the_watcher_instead_of_realerting_everything() {
    let store = SnapshotStore::with(b"{not json");
    let jobs = sweep(wave_jobs());
    let (s3, _, put) = store.client();
    let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
    let error = handle(schedule_event(), context).await.unwrap_err();
    assert!(
        matches!(error, AutopilotError::CorruptState { .. }),
        "{error}"
    );
    assert_eq!(error.retryability(), Retryability::Permanent);
    assert_eq!(put.num_calls(), 0);
    assert!(events.all().is_empty());
}

fn recreating() -> JobWatcherConfig {
    let mut config = config(false);
    config.remediation.recreate_failed = true;
    config
}

fn delete_job() -> Rule {
    mock!(aws_sdk_sms::Client::delete_replication_job).then_output(|| {
        aws_sdk_sms::operation::delete_replication_job::DeleteReplicationJobOutput::builder()
            .build()
    })
}

/// DeleteReplicationJob whose answer the watcher never gets as a success.
fn delete_answer_lost() -> Rule {
    mock!(aws_sdk_sms::Client::delete_replication_job).then_http_response(|| {
        testing::sms_error(400, "UnauthorizedOperationException", "answer lost")
    })
}

fn create_refused(code: &'static str) -> Rule {
    mock!(aws_sdk_sms::Client::create_replication_job)
        .then_http_response(move || testing::sms_error(400, code, "the old job is being deleted"))
}

fn create_ok() -> Rule {
    mock!(aws_sdk_sms::Client::create_replication_job).then_output(|| {
        aws_sdk_sms::operation::create_replication_job::CreateReplicationJobOutput::builder()
            .replication_job_id("sms-job-new")
            .build()
    })
}

/// One scheduled invocation of the recreating watcher against `rules`.
async fn sweep_with(
    store: &SnapshotStore,
    rules: &[&Rule],
) -> (Result<Summary, AutopilotError>, testing::PublishedEvents) {
    let (s3, _, _) = store.client();
    let (context, events) = testing::context(recreating(), testing::mock_sms(rules), s3);
    (handle(schedule_event(), context).await, events)
}

/// SMS refuses the new job while the old one is DELETING (whichever error it gives):
/// the watcher is not failed for it, waits while the deletion runs, then creates the
/// job, with one alert and one budget attempt for the whole recreation.
#[tokio::test]
async fn a_recreation_refused_while_the_old_job_is_deleting_carries_on_later() {
    for code in [
        "ReplicationJobAlreadyExistsException",
        "OperationNotPermittedException",
    ] {
        let store = SnapshotStore::default();
        let (jobs, delete, refused) = (
            sweep(vec![job("j2", State::Failed, None)]),
            delete_job(),
            create_refused(code),
        );
        let (summary, events) = sweep_with(&store, &[&jobs, &delete, &refused]).await;
        let summary = summary.expect("a refused creation is no error");
        assert_eq!((summary.newly_failed, summary.remediation_errors), (1, 0));
        assert_eq!((delete.num_calls(), refused.num_calls()), (1, 1));
        let remediated = events.of_type("ReplicationJobRemediated");
        assert_eq!(remediated.len(), 1);
        assert_eq!(remediated[0]["action"], "jobDeleted", "{code}");
        assert!(store
            .snapshot()
            .pending_recreations
            .contains_key(&"s-j2".into()));

        // Still DELETING: nothing is called, nothing announced but the job's going.
        let (jobs, create) = (sweep(vec![job("j2", State::Deleting, None)]), create_ok());
        let (summary, events) = sweep_with(&store, &[&jobs, &create]).await;
        assert_eq!(summary.unwrap().recreations_waiting, 1);
        assert_eq!(create.num_calls(), 0);
        assert!(events.of_type("ReplicationJobFailed").is_empty());
        assert!(events.of_type("ReplicationJobRemediated").is_empty());

        // DELETED, still listed: the new job is created and announced.
        let (jobs, create) = (sweep(vec![job("j2", State::Deleted, None)]), create_ok());
        let (summary, events) = sweep_with(&store, &[&jobs, &create]).await;
        assert_eq!(summary.unwrap().recreations_completed, 1);
        assert_eq!(create.num_calls(), 1);
        assert!(events.of_type("ReplicationJobFailed").is_empty());
        let remediated = events.of_type("ReplicationJobRemediated");
        assert_eq!(remediated[0]["action"], "jobRecreated");
        assert_eq!(remediated[0]["newReplicationJobId"], "sms-job-new");
        assert_eq!(
            (
                remediated[0]["replicationJobId"].as_str(),
                remediated[0]["attempt"].as_u64()
            ),
            (Some("j2"), Some(1))
        );
        let snapshot = store.snapshot();
        assert!(snapshot.pending_recreations.is_empty());
        assert_eq!(snapshot.remediations[&"s-j2".into()].len(), 1);
    }
}

/// A deletion whose outcome never reached the snapshot (the answer lost, or the
/// invocation cut off after the call): the claim stored before the call still gets the
/// server its new job, counted once against its budget; while the old job is still
/// FAILED the deletion is simply decided again.
#[tokio::test]
async fn a_deletion_whose_outcome_was_lost_still_gets_its_server_a_new_job() {
    let store = SnapshotStore::default();
    let (jobs, lost) = (
        sweep(vec![job("j2", State::Failed, None)]),
        delete_answer_lost(),
    );
    let (summary, _) = sweep_with(&store, &[&jobs, &lost]).await;
    assert!(summary.is_err(), "the failed call is reported");
    let claimed = store.snapshot();
    assert_eq!(
        claimed.pending_recreations[&"s-j2".into()].old_job,
        "j2".into()
    );
    assert!(claimed.remediations.is_empty(), "nothing recorded as done");

    // Still FAILED: the deletion is decided and made again, the claim waits for it.
    let (jobs, delete, create) = (
        sweep(vec![job("j2", State::Failed, None)]),
        delete_job(),
        create_refused("OperationNotPermittedException"),
    );
    let (summary, _) = sweep_with(&store, &[&jobs, &delete, &create]).await;
    assert_eq!(summary.unwrap().remediations_started, 1);
    assert_eq!(delete.num_calls(), 1);

    // The job went: the claim makes the new job, and the budget counts one attempt.
    let (jobs, create) = (sweep(vec![job("j2", State::Deleted, None)]), create_ok());
    let (summary, events) = sweep_with(&store, &[&jobs, &create]).await;
    assert_eq!(summary.unwrap().recreations_completed, 1);
    assert_eq!(create.num_calls(), 1);
    let remediated = events.of_type("ReplicationJobRemediated");
    assert_eq!(remediated[0]["action"], "jobRecreated");
    let snapshot = store.snapshot();
    assert!(snapshot.pending_recreations.is_empty());
    assert_eq!(snapshot.remediations[&"s-j2".into()].len(), 1);
}

/// The claim alone, the deletion made and never recorded (cut off right after the
/// call): the next sweep finds the old job DELETED and creates the new one.
#[tokio::test]
async fn a_claimed_deletion_cut_off_before_it_was_recorded_is_carried_on() {
    let store = SnapshotStore::default();
    let (jobs, lost) = (
        sweep(vec![job("j2", State::Failed, None)]),
        delete_answer_lost(),
    );
    let _ = sweep_with(&store, &[&jobs, &lost]).await;
    let (jobs, create) = (sweep(vec![job("j2", State::Deleted, None)]), create_ok());
    let (summary, events) = sweep_with(&store, &[&jobs, &create]).await;
    assert_eq!(summary.unwrap().recreations_completed, 1);
    assert_eq!(create.num_calls(), 1);
    let remediated = events.of_type("ReplicationJobRemediated");
    assert_eq!(remediated.len(), 1);
    assert_eq!(remediated[0]["attempt"].as_u64(), Some(1));
    assert_eq!(store.snapshot().remediations[&"s-j2".into()].len(), 1);
}

/// A recreation whose server got a job from someone else meanwhile is simply done.
#[tokio::test]
async fn a_pending_recreation_ends_when_the_server_has_a_job_again() {
    let store = SnapshotStore::default();
    let (jobs, delete, refused) = (
        sweep(vec![job("j2", State::Failed, None)]),
        delete_job(),
        create_refused("OperationNotPermittedException"),
    );
    sweep_with(&store, &[&jobs, &delete, &refused])
        .await
        .0
        .unwrap();
    let mut other = job("j9", State::Pending, None);
    other.server_id = Some("s-j2".into());
    let (jobs, create) = (
        sweep(vec![job("j2", State::Deleted, None), other]),
        create_ok(),
    );
    let (summary, _) = sweep_with(&store, &[&jobs, &create]).await;
    assert_eq!(summary.unwrap().recreations_completed, 0);
    assert_eq!(create.num_calls(), 0);
    assert!(store.snapshot().pending_recreations.is_empty());
}

/// A job created again takes the accepted wave plan's replication settings for its
/// server, not the watcher's own; the alert and the remediation name its application.
#[tokio::test]
async fn a_recreated_job_takes_the_plans_settings_for_its_server() {
    use autopilot_core::plan::resolved::{ResolvedPlan, ServerPolicy, RESOLVED_KEY};
    use autopilot_core::plan::{ReplicationRoute, ReplicationSettings};
    let store = SnapshotStore::default();
    let mut plan = ResolvedPlan::default();
    plan.servers.insert(
        "s-j2".into(),
        ServerPolicy {
            app: "office".into(),
            route: ReplicationRoute::Jobs,
            replication: std::sync::Arc::new(ReplicationSettings {
                frequency: Some(6),
                number_of_recent_amis_to_keep: Some(2),
                ..Default::default()
            }),
            launch_template: None,
        },
    );
    store
        .0
        .put(RESOLVED_KEY, serde_json::to_vec(&plan).unwrap());
    let create = mock!(aws_sdk_sms::Client::create_replication_job)
        .match_requests(|request| {
            request.frequency() == Some(6) && request.number_of_recent_amis_to_keep() == Some(2)
        })
        .then_output(|| {
            aws_sdk_sms::operation::create_replication_job::CreateReplicationJobOutput::builder()
                .replication_job_id("sms-job-new")
                .build()
        });
    let (jobs, delete) = (sweep(vec![job("j2", State::Failed, None)]), delete_job());
    let (summary, events) = sweep_with(&store, &[&jobs, &delete, &create]).await;
    assert_eq!(summary.unwrap().remediation_errors, 0);
    assert_eq!(create.num_calls(), 1, "created with the plan's settings");
    let remediated = events.of_type("ReplicationJobRemediated");
    assert_eq!(remediated[0]["action"], "jobRecreated");
    // The alert and the remediation name the application the plan places the server in.
    let failed = events.of_type("ReplicationJobFailed");
    assert_eq!(failed[0]["appName"], "office");
    assert_eq!(failed[0]["subject"], "server s-j2 of application office");
    assert_eq!(
        remediated[0]["subject"],
        "server s-j2 of application office"
    );
}

/// A server whose 90 days of replication end within the warning period is warned of
/// once, with its VM name; one further from its end is not.
#[tokio::test]
async fn a_server_near_the_end_of_its_replication_is_warned_once() {
    let now = testing::test_now().timestamp();
    let day = 86_400;
    let seeded = |id: &str, days_ago: i64| {
        SmsJob::builder()
            .replication_job_id(id)
            .server_id(format!("s-{id}"))
            .vm_server(
                aws_sdk_sms::types::VmServer::builder()
                    .vm_name(format!("vm-{id}"))
                    .build(),
            )
            .state(State::Active)
            .seed_replication_time(aws_smithy_types::DateTime::from_secs(now - days_ago * day))
            .build()
    };
    let store = SnapshotStore::default();
    for expected in [1, 0] {
        let jobs = sweep(vec![seeded("old", 80), seeded("young", 30)]);
        let (s3, _, _) = store.client();
        let (context, events) = testing::context(config(false), testing::mock_sms(&[&jobs]), s3);
        let summary = handle(schedule_event(), context).await.unwrap();
        assert_eq!(summary.expiry_warnings, expected);
        let warnings = events.of_type("ReplicationExpiring");
        assert_eq!(warnings.len(), expected, "warned once");
        if expected == 1 {
            assert_eq!(warnings[0]["serverId"], "s-old");
            assert_eq!(warnings[0]["vmName"], "vm-old");
            assert_eq!(warnings[0]["daysLeft"], 10);
            // No plan places the server: the warning names no application.
            assert_eq!(warnings[0]["appName"], serde_json::Value::Null);
            assert_eq!(warnings[0]["subject"], "VM vm-old (server s-old)");
        }
    }
    assert!(store.snapshot().expiry_warned.contains(&"s-old".into()));
}

#[tokio::test]
async fn a_sweep_announces_a_bounded_number_of_runs_and_the_next_sweeps_the_rest() {
    let extra = 3;
    let mut jobs: Vec<SmsJob> = (0..RUN_ANNOUNCEMENTS_PER_INVOCATION + extra)
        .map(|n| job(&format!("done-{n}"), State::Active, Some(&format!("r{n}"))))
        .collect();
    // Listed last, completed first: the oldest runs go out first, whatever the order.
    let early = aws_smithy_types::DateTime::from_secs(1_795_000_000);
    for (n, slot) in jobs
        .iter_mut()
        .enumerate()
        .skip(RUN_ANNOUNCEMENTS_PER_INVOCATION)
    {
        *slot = SmsJob::builder()
            .replication_job_id(format!("done-{n}"))
            .server_id(format!("s-done-{n}"))
            .state(State::Active)
            .latest_ami_id(format!("ami-r{n}"))
            .replication_run_list(
                ReplicationRun::builder()
                    .replication_run_id(format!("r{n}"))
                    .state(ReplicationRunState::Completed)
                    .ami_id(format!("ami-r{n}"))
                    .completed_time(early)
                    .build(),
            )
            .build();
    }
    jobs.push(job("failing", State::Failed, None));
    jobs.push(job("quiet", State::Active, None));
    let listed = jobs.len();
    let store = SnapshotStore::default();

    let mut announced = Vec::new();
    for (deferred_before, completed, deferred) in [
        (None, RUN_ANNOUNCEMENTS_PER_INVOCATION, extra),
        (Some(extra), extra, 0),
        (Some(0), 0, 0),
    ] {
        let rule = sweep(jobs.clone());
        let (s3, _, _) = store.client();
        let (context, events) = testing::context(config(false), testing::mock_sms(&[&rule]), s3);
        let summary = handle(schedule_event(), context).await.unwrap();
        assert_eq!(summary.jobs_observed, listed, "every listed job is counted");
        assert_eq!(
            (summary.runs_completed, summary.runs_deferred),
            (completed, deferred),
            "after {deferred_before:?} deferred"
        );
        let runs = events.of_type("ReplicationRunCompleted");
        assert_eq!(runs.len(), completed);
        if deferred_before.is_none() {
            let last = format!("r{}", RUN_ANNOUNCEMENTS_PER_INVOCATION + extra - 1);
            assert!(
                runs.iter().any(|e| e["replicationRunId"] == last.as_str()),
                "the oldest run is announced first though listed last"
            );
        }
        announced.extend(runs.iter().map(|e| e["replicationRunId"].to_string()));
        // The failure is alerted by the first sweep, whatever the cap.
        let failed = events.of_type("ReplicationJobFailed").len();
        assert_eq!(failed, usize::from(deferred_before.is_none()));
    }
    let distinct: std::collections::BTreeSet<_> = announced.iter().collect();
    assert_eq!(distinct.len(), RUN_ANNOUNCEMENTS_PER_INVOCATION + extra);
    assert_eq!(distinct.len(), announced.len(), "no run announced twice");
    let snapshot = store.snapshot();
    assert_eq!(
        snapshot.announced_runs.len(),
        RUN_ANNOUNCEMENTS_PER_INVOCATION + extra
    );
    assert!(snapshot.outbox.is_empty());
}
