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

const NETWORK: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}]
network:
  vpcs: [vpc-a, vpc-b]
  subnets: [{id: subnet-a, vpc: vpc-a}, {id: subnet-b, vpc: vpc-b}]
  security_groups: [{id: sg-a, vpc: vpc-a}, {id: sg-b, vpc: vpc-b}]
  key_pairs: [ops]
  instance_types: [t3.medium, m5.large]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_templates_and_the_account_read_and_changed_through_the_stand_ins_ec2() {
    use autopilot_core::plan::launch_template::{AccountQuestions, TemplateSettings};
    use std::collections::BTreeMap;

    let mgn = MgnHandle::start(Scenario::from_text(NETWORK).expect("scenario"), 0)
        .await
        .expect("MGN starts");
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(60));
    let listed = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let server = listed["items"][0]["sourceServerID"].as_str().unwrap();
    let configuration = mgn
        .call(
            "GetLaunchConfiguration",
            &json!({ "sourceServerID": server }),
        )
        .expect("launch configuration");
    let template_id = configuration["ec2LaunchTemplateID"].as_str().unwrap();
    let ec2 = Ec2::new(
        &sdk_config(StaticCredentials::LOCAL, None),
        Some(mgn.ec2_endpoint()),
        1,
    );

    let questions = AccountQuestions {
        subnets: ["subnet-a", "subnet-x"].map(String::from).into(),
        security_groups: ["sg-b", "sg-x"].map(String::from).into(),
        instance_types: ["m5.large", "m5.huge"].map(String::from).into(),
        key_pairs: ["ops", "nobody"].map(String::from).into(),
    };
    let account = ec2.account(&questions).await.expect("asked");
    assert_eq!(
        account.subnets,
        BTreeMap::from([("subnet-a".to_owned(), "vpc-a".to_owned())])
    );
    assert_eq!(
        account.security_groups,
        BTreeMap::from([("sg-b".to_owned(), "vpc-b".to_owned())])
    );
    assert_eq!(account.instance_types, ["m5.large".to_owned()].into());
    assert_eq!(account.key_pairs, ["ops".to_owned()].into());

    let held = ec2
        .default_template_version(template_id)
        .await
        .expect("default version");
    assert_eq!(held.version, 1);
    assert_eq!(held.settings.subnet.as_deref(), Some("subnet-a"));
    assert_eq!(held.settings.security_groups, ["sg-a"]);
    assert_eq!(
        held.settings.tags.get("Name").map(String::as_str),
        Some("web")
    );
    let wanted = TemplateSettings {
        instance_type: Some("m5.large".into()),
        subnet: Some("subnet-b".into()),
        security_groups: vec!["sg-b".into()],
        key_name: Some("ops".into()),
        tags: BTreeMap::from([("team".to_owned(), "web".to_owned())]),
        ..TemplateSettings::default()
    };
    let made = ec2
        .new_template_version(&held, &wanted, "sms-autopilot cutover", "token-1")
        .await
        .expect("created");
    assert_eq!(made, 2);
    let again = ec2
        .new_template_version(&held, &wanted, "sms-autopilot cutover", "token-1")
        .await
        .expect("the same token");
    assert_eq!(again, 2, "a retried request gives the version it made");
    ec2.set_default_template_version(template_id, made)
        .await
        .expect("default set");
    let now = ec2
        .default_template_version(template_id)
        .await
        .expect("default version");
    assert_eq!(now.version, 2);
    assert!(wanted.held_by(&now.settings), "{:?}", now.settings);
    assert_eq!(now.settings.tags.len(), 2, "the Name tag is kept");

    let missing = ec2
        .set_default_template_version(template_id, 9)
        .await
        .expect_err("no version 9");
    assert_eq!(
        missing.kind.name(),
        "InvalidLaunchTemplateId.VersionNotFound"
    );
}
