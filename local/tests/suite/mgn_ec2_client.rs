//! The core's EC2 status-check client (`autopilot_core::ec2`) against the MGN stand-in's
//! EC2: SigV4-signed query requests, copies initializing then passing, an impaired one
//! failing, and EC2's own error for an instance it does not know.

use std::time::Duration;

use autopilot_core::cutover::CheckStatus;
use autopilot_core::ec2::Ec2;
use autopilot_local::harness::clients::{sdk_config, StaticCredentials};
use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::json;

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}]
mgn:
  timing: {initial_sync_secs: 600, status_checks_secs: 180}
  servers:
    db: {impaired_test_instances: 1}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_checks_read_from_the_stand_ins_ec2() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("MGN starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(11 * 30 + 601));
    let listed = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let ids: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sourceServerID"].as_str().unwrap().to_owned())
        .collect();
    mgn.call("StartTest", &json!({ "sourceServerIDs": ids }))
        .expect("StartTest");
    mgn.advance(Duration::from_secs(30 + 600));
    let listed = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let instances: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["launchedInstance"]["ec2InstanceID"]
                .as_str()
                .expect("launched")
                .to_owned()
        })
        .collect();

    let ec2 = Ec2::new(
        &sdk_config(StaticCredentials::LOCAL, None),
        Some(mgn.ec2_endpoint()),
        1,
    );
    let statuses = ec2.instance_statuses(&instances).await.expect("described");
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses.iter().all(|s| s.status == CheckStatus::Pending),
        "{statuses:?}"
    );

    mgn.advance(Duration::from_secs(181));
    let statuses = ec2.instance_statuses(&instances).await.expect("described");
    let by_instance = |id: &str| {
        statuses
            .iter()
            .find(|s| s.instance_id == id)
            .map(|s| s.status.clone())
    };
    assert_eq!(by_instance(&instances[0]), Some(CheckStatus::Passed), "web");
    assert!(
        matches!(by_instance(&instances[1]), Some(CheckStatus::Failed(why)) if why.contains("impaired")),
        "db: {statuses:?}"
    );

    let error = ec2
        .instance_statuses(&["i-0123456789abcdef9".to_owned()])
        .await
        .expect_err("unknown instance");
    assert_eq!(error.kind.name(), "InvalidInstanceID.NotFound", "{error}");
    assert_eq!((error.service, error.status), ("EC2", Some(400)));
}
