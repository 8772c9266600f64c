//! The MGN watcher's real handler against the MGN stand-in, every five simulated
//! minutes for five hours: a stall is alerted once, retried once and its end announced;
//! a backlog that outgrows the lag threshold is alerted once and its end announced; the
//! healthy server is never named.

use std::sync::Arc;
use std::time::Duration;

use autopilot_core::config::MgnWatcherConfig;
use autopilot_local::harness::payloads::rule_event;

use crate::common::mgn_world::{of_type, MgnWorld};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}, {vm_name: app}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    web: {backlogs: [{at_secs: 2000, for_secs: 7200, gib: 40}]}
    db: {stalls: [{at_secs: 2000, error: AGENT_NOT_SEEN}]}
"#;

/// Each event's server and problem.
fn problems<'a>(events: &[&'a serde_json::Value]) -> Vec<(&'a str, &'a str)> {
    events
        .iter()
        .map(|d| {
            (
                d["vmName"].as_str().unwrap(),
                d["problem"].as_str().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_on_the_stand_in_are_alerted_once_retried_and_their_ends_announced() {
    let world = MgnWorld::start(SCENARIO).await;
    let mgn = Arc::clone(&world.mgn);
    let context = world.context::<MgnWatcherConfig>(&[]);

    let mut published = Vec::new();
    for _ in 0..60 {
        mgn.advance(Duration::from_secs(300));
        let summary =
            mgn_watcher::handle(rule_event(mgn.now(), "mgn-watcher"), Arc::clone(&context))
                .await
                .expect("every sweep succeeds");
        assert_eq!(summary.servers_observed, 3);
        published.extend(world.published());
    }

    let detected = of_type(&published, "ReplicationProblemDetected");
    assert_eq!(
        problems(&detected),
        [("db", "stalled"), ("web", "lagging")],
        "{detected:#?}"
    );
    assert_eq!(detected[0]["detail"], "AGENT_NOT_SEEN");
    let retried = of_type(&published, "ReplicationRetried");
    assert_eq!(retried.len(), 1, "{retried:#?}");
    assert_eq!(
        (
            retried[0]["action"].as_str(),
            retried[0]["attempt"].as_u64()
        ),
        (Some("retried"), Some(1))
    );
    let cleared = of_type(&published, "ReplicationProblemCleared");
    assert_eq!(
        problems(&cleared),
        [("db", "stalled"), ("web", "lagging")],
        "{cleared:#?}"
    );
    for (detected, cleared) in detected.iter().zip(&cleared) {
        assert_eq!(
            detected["since"], cleared["since"],
            "one episode named once"
        );
    }
    assert_eq!(published.len(), 5, "nothing else was said");
    let counts = mgn.call_counts();
    assert_eq!(counts.get("RetryDataReplication"), Some(&1));

    world.shutdown().await;
}
