//! The core's EC2 client (`autopilot_core::ec2`) against moto's EC2, an implementation
//! independent of the stand-in's: the account asked about (what it lacks left out, not
//! failing the call), a launch template's default version read, a new version made
//! over it and made the default, and read back as the plan wanted it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use autopilot_core::ec2::Ec2;
use autopilot_core::plan::launch_template::{AccountQuestions, TemplateSettings};
use autopilot_local::harness::clients::{sdk_config, StaticCredentials};
use serde_json::Value;

use crate::common::moto;

/// The ids `ec2_moto_account.py` made in moto.
fn make_account(python: &PathBuf, endpoint: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/suite/ec2_moto_account.py");
    let output = Command::new(python)
        .arg(&script)
        .arg(endpoint)
        .output()
        .expect("the set-up runs");
    assert!(
        output.status.success(),
        "the set-up failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the ids")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_ec2_client_reads_and_versions_on_motos_ec2() {
    let test = "the_core_ec2_client_reads_and_versions_on_motos_ec2";
    let Some(moto) = moto::start_or_skip(test).await else {
        return;
    };
    let python = moto::moto_venv()
        .expect("moto's venv")
        .with_file_name("python");
    let endpoint = moto.endpoint.clone();
    let ids = tokio::task::spawn_blocking(move || make_account(&python, &endpoint))
        .await
        .expect("set-up");
    let id = |key: &str| ids[key].as_str().expect(key).to_owned();
    let ec2 = Ec2::new(
        &sdk_config(StaticCredentials::LOCAL, None),
        Some(moto.endpoint.clone()),
        1,
    );

    let questions = AccountQuestions {
        subnets: [id("subnet_a"), "subnet-0123456789abcdef9".into()].into(),
        security_groups: [id("group_b"), "sg-0123456789abcdef9".into()].into(),
        instance_types: ["m5.large".into(), "m5.huge".into()].into(),
        key_pairs: ["ops".into(), "nobody".into()].into(),
    };
    let account = ec2.account(&questions).await.expect("asked");
    assert_eq!(
        account.subnets,
        BTreeMap::from([(id("subnet_a"), id("vpc_a"))])
    );
    assert_eq!(
        account.security_groups,
        BTreeMap::from([(id("group_b"), id("vpc_b"))])
    );
    assert_eq!(
        account.instance_types,
        BTreeSet::from(["m5.large".to_owned()])
    );
    assert_eq!(account.key_pairs, BTreeSet::from(["ops".to_owned()]));

    let template = id("template");
    let held = ec2
        .default_template_version(&template)
        .await
        .expect("default version");
    assert_eq!(held.version, 1);
    assert_eq!(held.settings.instance_type.as_deref(), Some("t3.medium"));
    assert_eq!(held.settings.subnet, Some(id("subnet_a")));
    assert_eq!(held.settings.security_groups, [id("group_a")]);
    let wanted = TemplateSettings {
        instance_type: Some("m5.large".into()),
        subnet: Some(id("subnet_b")),
        security_groups: vec![id("group_b")],
        key_name: Some("ops".into()),
        tags: BTreeMap::from([("team".to_owned(), "web".to_owned())]),
        ..TemplateSettings::default()
    };
    let made = ec2
        .new_template_version(&held, &wanted, "sms-autopilot: cutover", "token-1")
        .await
        .expect("created");
    assert_eq!(made, 2);
    ec2.set_default_template_version(&template, made)
        .await
        .expect("default set");
    let now = ec2
        .default_template_version(&template)
        .await
        .expect("default version");
    assert_eq!(now.version, 2);
    assert!(wanted.held_by(&now.settings), "{:?}", now.settings);
    assert_eq!(
        now.settings.tags.get("Name").map(String::as_str),
        Some("web")
    );
}
