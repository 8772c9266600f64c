//! The MGN stand-in's EC2 on the wire (EC2's query protocol, raw): its refusals, and
//! what a launch takes from the server's launch template: the default version's subnet,
//! security groups and key pair must exist (in one VPC) or the launch fails with EC2's
//! error code; the instance it makes passes or fails its status checks and is
//! terminated by TerminateTargetInstances.

use std::time::Duration;

use crate::common;

use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::{json, Value};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    db: {impaired_test_instances: 1}
network:
  subnets: [{id: subnet-0aaaaaaaaaaaaaaa1, vpc: vpc-0aaaaaaaaaaaaaaa1}]
  security_groups:
    - {id: sg-0aaaaaaaaaaaaaaa1, vpc: vpc-0aaaaaaaaaaaaaaa1}
    - {id: sg-0bbbbbbbbbbbbbbb2, vpc: vpc-0bbbbbbbbbbbbbbb2}
  key_pairs: [ops]
"#;

/// One EC2 call over raw HTTP: its status and body.
fn ec2(endpoint: &str, signed: bool, form: &str) -> (u16, String) {
    let mut headers = vec![(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )];
    if signed {
        headers.push(("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00"));
    }
    let (status, _, body) = common::raw_http(endpoint, "POST", "/", &headers, form);
    (status, body)
}

fn code(body: &str) -> &str {
    body.split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_refuses_as_its_query_protocol_does() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    let endpoint = mgn.ec2_endpoint();
    tokio::task::spawn_blocking(move || {
        let (status, body) = ec2(&endpoint, false, "Action=DescribeSubnets&Version=2016-11-15");
        assert_eq!((status, code(&body)), (401, "AuthFailure"), "{body}");
        assert!(body.contains("<Response><Errors><Error>") && body.contains("<RequestID>"), "{body}");
        let (status, body) = ec2(&endpoint, true, "Version=2016-11-15");
        assert_eq!((status, code(&body)), (400, "MissingAction"));
        let (_, body) = ec2(&endpoint, true, "Action=RunInstances&Version=2016-11-15");
        assert_eq!(code(&body), "InvalidAction", "not served: {body}");
        let (_, body) = ec2(&endpoint, true, "Action=DescribeSubnets&Version=2016-11-15&DryRun=maybe");
        assert_eq!(code(&body), "InvalidParameterValue");
        let (status, body) = ec2(&endpoint, true, "Action=DescribeSubnets&Version=2016-11-15&DryRun=true");
        assert_eq!((status, code(&body)), (412, "DryRunOperation"));
        let (status, body) = ec2(&endpoint, true, "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-0aaaaaaaaaaaaaaa1");
        assert_eq!(status, 200);
        assert!(body.contains("<subnetId>subnet-0aaaaaaaaaaaaaaa1</subnetId>"), "{body}");
        assert!(body.starts_with("<?xml") && body.contains("<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"), "{body}");
    })
    .await
    .expect("raw checks");
    mgn.shutdown().await;
}

fn server_ids(mgn: &MgnHandle) -> Vec<(String, String)> {
    let listed = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|s| {
            let id = s["sourceServerID"].as_str().unwrap_or_default().to_owned();
            let template = mgn
                .call("GetLaunchConfiguration", &json!({ "sourceServerID": id }))
                .expect("config");
            (
                id,
                template["ec2LaunchTemplateID"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Tests `id` and answers the job's participant, with the log's raw error if it failed.
fn test_once(mgn: &MgnHandle, id: &str) -> (Value, Option<String>) {
    let job = mgn
        .call("StartTest", &json!({ "sourceServerIDs": [id] }))
        .expect("StartTest");
    let job_id = job["job"]["jobID"].as_str().unwrap_or_default().to_owned();
    mgn.advance(Duration::from_secs(30 + 600));
    let jobs = mgn
        .call(
            "DescribeJobs",
            &json!({ "filters": { "jobIDs": [job_id] } }),
        )
        .expect("jobs");
    let log = mgn
        .call("DescribeJobLogItems", &json!({ "jobID": job_id }))
        .expect("log");
    let error = log["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|i| i["eventData"]["rawError"].as_str().map(str::to_owned));
    (jobs["items"][0]["participatingServers"][0].clone(), error)
}

/// Makes a new version of `template` with `data` (query parameters) and sets it default.
fn default_version(endpoint: &str, template: &str, data: &str) {
    let (status, body) = ec2(endpoint, true, &format!("Action=CreateLaunchTemplateVersion&Version=2016-11-15&LaunchTemplateId={template}&SourceVersion=1&{data}"));
    assert_eq!(status, 200, "{body}");
    let number = body
        .split("<versionNumber>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = ec2(endpoint, true, &format!("Action=ModifyLaunchTemplate&Version=2016-11-15&LaunchTemplateId={template}&SetDefaultVersion={number}"));
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_takes_the_default_version_and_fails_on_what_the_account_lacks() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    let mgn = std::sync::Arc::new(mgn);
    let playing = std::sync::Arc::clone(&mgn);
    // Raw HTTP blocks: the calls run off the runtime that serves them.
    tokio::task::spawn_blocking(move || launches_against_the_template(&playing))
        .await
        .expect("the launches");
    if let Ok(mgn) = std::sync::Arc::try_unwrap(mgn) {
        mgn.shutdown().await;
    }
}

fn launches_against_the_template(mgn: &MgnHandle) {
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(11 * 30 + 601));
    let servers = server_ids(mgn);
    let (web, web_template) = servers[0].clone();
    let (db, _) = servers[1].clone();
    let endpoint = mgn.ec2_endpoint();

    let unknown = ec2(&endpoint, true, &format!("Action=CreateLaunchTemplateVersion&Version=2016-11-15&LaunchTemplateId={web_template}&LaunchTemplateData.Colour=blue")).1;
    assert_eq!(code(&unknown), "UnknownParameter", "{unknown}");

    let bad_subnet = "LaunchTemplateData.NetworkInterface.1.DeviceIndex=0&LaunchTemplateData.NetworkInterface.1.SubnetId=subnet-0123456789abcdef9";
    default_version(&endpoint, &web_template, bad_subnet);
    let (participant, error) = test_once(mgn, &web);
    assert_eq!(participant["launchStatus"], "FAILED");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("InvalidSubnetID.NotFound")),
        "{error:?}"
    );

    let other_vpc = "LaunchTemplateData.NetworkInterface.1.DeviceIndex=0&LaunchTemplateData.NetworkInterface.1.SubnetId=subnet-0aaaaaaaaaaaaaaa1&LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1=sg-0bbbbbbbbbbbbbbb2";
    default_version(&endpoint, &web_template, other_vpc);
    let (_, error) = test_once(mgn, &web);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("different networks")),
        "{error:?}"
    );

    let no_key = "LaunchTemplateData.NetworkInterface.1.DeviceIndex=0&LaunchTemplateData.NetworkInterface.1.SubnetId=subnet-0aaaaaaaaaaaaaaa1&LaunchTemplateData.KeyName=missing";
    default_version(&endpoint, &web_template, no_key);
    let (_, error) = test_once(mgn, &web);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("InvalidKeyPair.NotFound")),
        "{error:?}"
    );

    let good = "LaunchTemplateData.NetworkInterface.1.DeviceIndex=0&LaunchTemplateData.NetworkInterface.1.SubnetId=subnet-0aaaaaaaaaaaaaaa1&LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1=sg-0aaaaaaaaaaaaaaa1&LaunchTemplateData.KeyName=ops";
    default_version(&endpoint, &web_template, good);
    let (participant, _) = test_once(mgn, &web);
    assert_eq!(participant["launchStatus"], "LAUNCHED");
    let web_instance = participant["launchedEc2InstanceID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (db_participant, _) = test_once(mgn, &db);
    let db_instance = db_participant["launchedEc2InstanceID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    checks_settle_and_terminate(mgn, &web, (&web_instance, &db_instance));
}

/// web's checks end ok, db's impaired (its scenario); then web's instance is terminated.
fn checks_settle_and_terminate(
    mgn: &MgnHandle,
    web: &str,
    (web_instance, db_instance): (&str, &str),
) {
    let endpoint = mgn.ec2_endpoint();
    mgn.advance(Duration::from_secs(180));
    let ids = format!("InstanceId.1={web_instance}&InstanceId.2={db_instance}");
    let status = ec2(
        &endpoint,
        true,
        &format!("Action=DescribeInstanceStatus&Version=2016-11-15&{ids}"),
    )
    .1;
    let web_part = &status[status.find(web_instance).expect("web's status")..];
    let db_part = &status[status.find(db_instance).expect("db's status")..];
    assert!(
        web_part.contains("<instanceStatus><status>ok</status>"),
        "{status}"
    );
    assert!(
        db_part.contains("<instanceStatus><status>impaired</status>"),
        "{status}"
    );
    mgn.call(
        "ChangeServerLifeCycleState",
        &json!({ "sourceServerID": web, "lifeCycle": { "state": "READY_FOR_CUTOVER" } }),
    )
    .expect("marked");
    mgn.call(
        "TerminateTargetInstances",
        &json!({ "sourceServerIDs": [web] }),
    )
    .expect("terminating");
    mgn.advance(Duration::from_secs(30 + 120));
    let form = format!("Action=DescribeInstances&Version=2016-11-15&InstanceId.1={web_instance}");
    let described = ec2(&endpoint, true, &form).1;
    assert!(described.contains("<name>terminated</name>"), "{described}");
    assert!(described.contains("<keyName>ops</keyName>"), "{described}");
}
