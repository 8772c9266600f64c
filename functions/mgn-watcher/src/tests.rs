//! Unit tests of the MGN watcher against mocked MGN and S3 (the stand-in plays whole
//! episodes in `local/tests/suite/mgn_watcher.rs`).

use super::*;
use autopilot_core::config::CommonConfig;
use autopilot_core::replication_health::{HealthPolicy, ProblemKind};
use autopilot_core::testing::{self, schedule_event, MemoryBucket, PublishedEvents};
use aws_sdk_mgn::operation::describe_source_servers::DescribeSourceServersOutput;
use aws_sdk_mgn::operation::retry_data_replication::RetryDataReplicationOutput;
use aws_sdk_mgn::types::{
    DataReplicationError, DataReplicationErrorString, DataReplicationInfo, DataReplicationState,
    IdentificationHints, LifeCycle, LifeCycleState, SourceProperties, SourceServer as Wire,
};
use aws_smithy_mocks::{mock, Rule};
use chrono::Duration;
use serde_json::json;

fn config(dry_run: bool) -> MgnWatcherConfig {
    MgnWatcherConfig {
        common: CommonConfig {
            event_bus_name: "autopilot".into(),
            dry_run,
            max_attempts: 3,
        },
        artifacts_bucket: "artifacts".into(),
        health: HealthPolicy {
            lag_threshold: Duration::minutes(60),
            sync_grace: Duration::minutes(60),
            max_retries_per_server: 2,
            retry_interval: Duration::minutes(60),
        },
    }
}

fn server(id: &str, state: DataReplicationState) -> Wire {
    let mut info = DataReplicationInfo::builder().data_replication_state(state.clone());
    if state == DataReplicationState::Stalled {
        info = info.data_replication_error(
            DataReplicationError::builder()
                .error(DataReplicationErrorString::FailedToConnectAgentToReplicationServer)
                .build(),
        );
    }
    Wire::builder()
        .source_server_id(id)
        .is_archived(false)
        .life_cycle(
            LifeCycle::builder()
                .state(LifeCycleState::ReadyForTest)
                .build(),
        )
        .data_replication_info(info.build())
        .source_properties(
            SourceProperties::builder()
                .identification_hints(
                    IdentificationHints::builder()
                        .hostname(format!("{id}-host"))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// MGN listing `servers` in one page, and accepting RetryDataReplication.
fn account(servers: Vec<Wire>) -> (Rule, Rule) {
    let listing = mock!(aws_sdk_mgn::Client::describe_source_servers).then_output(move || {
        DescribeSourceServersOutput::builder()
            .set_items(Some(servers.clone()))
            .build()
    });
    let retry = mock!(aws_sdk_mgn::Client::retry_data_replication).then_output(|| {
        RetryDataReplicationOutput::builder()
            .source_server_id("s-stalled")
            .build()
    });
    (listing, retry)
}

/// One invocation on `bucket` with MGN answering by `rules`.
async fn invoke(
    payload: Value,
    bucket: &MemoryBucket,
    rules: &[&Rule],
    dry_run: bool,
) -> (Result<Summary, AutopilotError>, PublishedEvents) {
    let (events, recorded) = testing::recording_bus();
    let (s3, _, _) = bucket.client();
    let context = Arc::new(autopilot_core::runtime::Context {
        config: config(dry_run),
        sms: testing::mock_sms(&[]),
        mgn: testing::mock_mgn(rules),
        ec2: testing::unused_ec2(),
        s3,
        publisher: autopilot_core::EventPublisher::new(events, "autopilot"),
        clock: testing::fixed_clock(testing::test_now()),
        warm: (),
    });
    (handle(payload, context).await, recorded)
}

#[tokio::test]
async fn a_stall_is_alerted_and_retried_once_and_its_end_announced() {
    let bucket = MemoryBucket::default();
    let stalled = vec![
        server("s-stalled", DataReplicationState::Stalled),
        server("s-healthy", DataReplicationState::Continuous),
    ];
    let (listing, retry) = account(stalled.clone());
    let (summary, events) = invoke(schedule_event(), &bucket, &[&listing, &retry], false).await;
    let summary = summary.expect("the sweep succeeds");
    assert_eq!((summary.servers_observed, summary.problems_raised), (2, 1));
    assert_eq!((summary.retries_started, retry.num_calls()), (1, 1));
    let detected = events.of_type("ReplicationProblemDetected");
    assert_eq!(detected.len(), 1);
    assert_eq!(detected[0]["serverId"], "s-stalled");
    assert_eq!(detected[0]["vmName"], "s-stalled-host");
    assert_eq!(detected[0]["problem"], "stalled");
    assert_eq!(
        detected[0]["detail"],
        "FAILED_TO_CONNECT_AGENT_TO_REPLICATION_SERVER"
    );
    assert_eq!(detected[0]["state"], "STALLED");
    let retried = events.of_type("ReplicationRetried");
    assert_eq!(
        (retried[0]["action"].clone(), retried[0]["attempt"].clone()),
        (json!("retried"), json!(1))
    );
    let stored: HealthSnapshot = bucket.json(SNAPSHOT_KEY).expect("snapshot stored");
    assert!(stored.outbox.is_empty(), "everything published");
    assert_eq!(stored.retries.len(), 1);

    // The same stall a moment later: nothing new, no second retry within the interval.
    let (listing, retry) = account(stalled);
    let (summary, events) = invoke(schedule_event(), &bucket, &[&listing, &retry], false).await;
    assert_eq!(summary.unwrap().problems_ongoing, 1);
    assert!(events.all().is_empty());
    assert_eq!(retry.num_calls(), 0);

    // Replicating again: the episode's end, named as its start was.
    let (listing, retry) = account(vec![server("s-stalled", DataReplicationState::Continuous)]);
    let (summary, events) = invoke(schedule_event(), &bucket, &[&listing, &retry], false).await;
    assert_eq!(summary.unwrap().problems_cleared, 1);
    let cleared = events.of_type("ReplicationProblemCleared");
    assert_eq!(cleared[0]["since"], detected[0]["since"]);
    assert_eq!(cleared[0]["state"], "CONTINUOUS");
    assert_eq!(cleared[0]["key"], detected[0]["key"]);
}

#[tokio::test]
async fn a_dry_run_decides_and_says_so_without_retrying() {
    let bucket = MemoryBucket::default();
    let (listing, retry) = account(vec![server("s-stalled", DataReplicationState::Stalled)]);
    let (summary, events) = invoke(schedule_event(), &bucket, &[&listing, &retry], true).await;
    assert_eq!(summary.unwrap().retries_started, 1);
    assert_eq!(retry.num_calls(), 0, "no mutating call in a dry run");
    let retried = events.of_type("ReplicationRetried");
    assert_eq!(retried[0]["dryRun"], true);
    assert!(retried[0]["key"].as_str().unwrap().starts_with("dry-run/"));
}

#[tokio::test]
async fn an_event_reads_the_one_server_it_names() {
    let bucket = MemoryBucket::default();
    let (listing, retry) = account(vec![server("s-stalled", DataReplicationState::Stalled)]);
    let mut event = testing::schedule_event();
    event["source"] = json!("aws.mgn");
    event["detail-type"] = json!("MGN Source Server Data Replication Stalled Change");
    event["resources"] = json!(["arn:aws:mgn:us-east-1:123456789012:source-server/s-stalled"]);
    event["detail"] = json!({"state": "STALLED"});
    let (summary, events) = invoke(event, &bucket, &[&listing, &retry], false).await;
    let summary = summary.expect("handled");
    assert_eq!(summary.trigger, "STALLED s-stalled");
    assert_eq!(summary.problems_raised, 1);
    assert_eq!(events.of_type("ReplicationProblemDetected").len(), 1);
    let stored: HealthSnapshot = bucket.json(SNAPSHOT_KEY).unwrap();
    assert!(stored.episodes[&"s-stalled".into()].contains_key(&ProblemKind::Stalled));
}

#[tokio::test]
async fn a_refused_event_reads_and_changes_nothing() {
    let mut wrong_source = testing::schedule_event();
    wrong_source["source"] = json!("aws.sms");
    let mut no_server = testing::schedule_event();
    no_server["source"] = json!("aws.mgn");
    no_server["detail-type"] = json!("MGN Source Server Data Replication Stalled Change");
    no_server["detail"] = json!({"state": "STALLED"});
    for (payload, expected) in [
        (
            wrong_source,
            "this function accepts scheduled events and aws.mgn",
        ),
        (no_server, "names no source server ARN"),
    ] {
        let (events, _) = testing::recording_bus();
        let context = Arc::new(autopilot_core::runtime::Context {
            config: config(false),
            sms: testing::mock_sms(&[]),
            mgn: testing::unused_mgn(),
            ec2: testing::unused_ec2(),
            s3: testing::unused_s3(),
            publisher: autopilot_core::EventPublisher::new(events, "autopilot"),
            clock: testing::fixed_clock(testing::test_now()),
            warm: (),
        });
        let error = handle(payload, context).await.expect_err("refused");
        assert!(error.to_string().contains(expected), "{error}");
    }
}
