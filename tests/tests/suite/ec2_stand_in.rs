//! The MGN stand-in's EC2 through boto3 (a real AWS client, from moto's venv), checked
//! two ways: every element of every answer must be one the official EC2 model (botocore's)
//! names, and each call a migration backend makes must come out as it does on moto's
//! EC2 (an independent implementation): the same values and the same error codes.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::moto;

use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::{json, Value};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}]
mgn:
  timing: {initial_sync_secs: 600}
network:
  vpcs: [vpc-0aaaaaaaaaaaaaaa1, vpc-0bbbbbbbbbbbbbbb2]
  subnets: [{id: subnet-0aaaaaaaaaaaaaaa1, vpc: vpc-0aaaaaaaaaaaaaaa1}]
  security_groups:
    - {id: sg-0aaaaaaaaaaaaaaa1, vpc: vpc-0aaaaaaaaaaaaaaa1}
    - {id: sg-0bbbbbbbbbbbbbbb2, vpc: vpc-0bbbbbbbbbbbbbbb2}
  key_pairs: [ops]
"#;

/// The codes EC2 documents for the calls that must be refused (its error-code page).
const EXPECTED_REFUSALS: &[(&str, &str)] = &[
    ("missing subnet", "InvalidSubnetID.NotFound"),
    ("missing group", "InvalidGroup.NotFound"),
    ("missing type", "InvalidInstanceType"),
    ("missing key", "InvalidKeyPair.NotFound"),
    ("missing instance", "InvalidInstanceID.NotFound"),
    ("missing version", "InvalidLaunchTemplateId.VersionNotFound"),
    ("missing template", "InvalidLaunchTemplateId.NotFound"),
    (
        "default to missing version",
        "InvalidLaunchTemplateId.VersionNotFound",
    ),
    ("dry run", "DryRunOperation"),
];

/// The stand-in's account with one test instance launched; the ids the probe needs.
fn launched_account(mgn: &MgnHandle) -> Value {
    mgn.call("InitializeService", &json!({}))
        .expect("initialized");
    mgn.advance(Duration::from_secs(11 * 30 + 601));
    let servers = mgn
        .call("DescribeSourceServers", &json!({}))
        .expect("listed");
    let id = servers["items"][0]["sourceServerID"]
        .as_str()
        .expect("an id")
        .to_owned();
    mgn.call("StartTest", &json!({ "sourceServerIDs": [id] }))
        .expect("StartTest");
    mgn.advance(Duration::from_secs(30 + 600));
    let server = mgn
        .call(
            "DescribeSourceServers",
            &json!({ "filters": { "sourceServerIDs": [id] } }),
        )
        .expect("listed");
    let instance = server["items"][0]["launchedInstance"]["ec2InstanceID"].clone();
    let launch = mgn
        .call("GetLaunchConfiguration", &json!({ "sourceServerID": id }))
        .expect("launch configuration");
    json!({
        "vpc": "vpc-0aaaaaaaaaaaaaaa1",
        "subnet": "subnet-0aaaaaaaaaaaaaaa1",
        "group": "sg-0aaaaaaaaaaaaaaa1",
        "template": launch["ec2LaunchTemplateID"],
        "instance": instance,
        "key": "ops",
        "missing_subnet": "subnet-0123456789abcdef9",
        "missing_group": "sg-0123456789abcdef9",
        "missing_instance": "i-0123456789abcdef9",
        "missing_template": "lt-0123456789abcdef9",
    })
}

/// Runs the probe with moto's venv's Python against `endpoint`.
fn probe(python: &PathBuf, endpoint: &str, ids: &str, strict: bool) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/suite/ec2_probe.py");
    let mut command = Command::new(python);
    command.arg(&script).arg(endpoint).arg(ids);
    if strict {
        command.arg("--strict");
    }
    let output = command.output().expect("the probe runs");
    assert!(
        output.status.success(),
        "the probe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the probe's report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ec2_stand_in_answers_as_the_model_and_moto_do() {
    let Some(moto) = moto::start_or_skip("the_ec2_stand_in_answers_as_the_model_and_moto_do").await
    else {
        return;
    };
    let python = moto::moto_venv()
        .expect("moto's venv")
        .with_file_name("python");
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    let ids = launched_account(&mgn).to_string();
    let (ours_endpoint, moto_endpoint) = (mgn.ec2_endpoint(), moto.endpoint.clone());
    let (ours, theirs) = tokio::task::spawn_blocking(move || {
        let ours = probe(&python, &ours_endpoint, &ids, true);
        let theirs = probe(&python, &moto_endpoint, "moto", false);
        (ours, theirs)
    })
    .await
    .expect("the probes");

    assert_eq!(
        ours["unknown_elements"],
        json!([]),
        "elements the model lacks"
    );
    let probes = ours["probes"].as_array().expect("probes");
    assert!(probes.len() >= 20, "{ours}");
    let mut differences = Vec::new();
    for (mine, moto) in probes
        .iter()
        .zip(theirs["probes"].as_array().expect("probes"))
    {
        let name = mine["name"].as_str().unwrap_or_default();
        if mine != moto {
            differences.push(format!("{name}: ours {mine} / moto {moto}"));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    let code = |name: &str| {
        let found = probes.iter().find(|p| p["name"] == name);
        found.map(|p| p["code"].clone()).unwrap_or_default()
    };
    for (name, expected) in EXPECTED_REFUSALS {
        assert_eq!(code(name), json!(expected), "{name}");
    }
    let result = |name: &str| {
        probes
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["result"].clone())
    };
    assert_eq!(
        result("default now"),
        Some(json!([[2, "t3.large", ["<group>"]]]))
    );
    assert_eq!(
        result("instance"),
        Some(json!([["<instance>", "running", "<subnet>"]]))
    );
    mgn.shutdown().await;
}
