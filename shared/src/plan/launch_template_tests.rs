//! Launch template settings: what the plan asks, what the account cannot honour, and
//! where the plan set it.

use super::*;

fn account() -> Ec2Account {
    Ec2Account {
        subnets: [("subnet-a", "vpc-a"), ("subnet-b", "vpc-b")]
            .map(|(s, v)| (s.to_owned(), v.to_owned()))
            .into(),
        security_groups: [("sg-a", "vpc-a"), ("sg-b", "vpc-b")]
            .map(|(s, v)| (s.to_owned(), v.to_owned()))
            .into(),
        instance_types: ["m5.large".to_owned()].into(),
        key_pairs: ["ops".to_owned()].into(),
    }
}

fn launch(subnet: &str, groups: &[&str]) -> LaunchSettings {
    LaunchSettings {
        instance_type: Some("m5.large".into()),
        subnet: Some(subnet.into()),
        security_groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
        ec2_key_name: Some("ops".into()),
        ..LaunchSettings::default()
    }
}

#[test]
fn nothing_asked_of_the_template_wants_nothing() {
    let mgn_only = LaunchSettings {
        copy_private_ip: Some(true),
        ..LaunchSettings::default()
    };
    assert_eq!(WantedTemplates::of(&mgn_only, &BTreeMap::new()), None);
    let tags = BTreeMap::from([("team".to_owned(), "web".to_owned())]);
    let tagged = WantedTemplates::of(&mgn_only, &tags).expect("tags are asked");
    assert_eq!(tagged.cutover.tags, tags);
    assert_eq!(tagged.test, None);
}

#[test]
fn settings_the_account_honours_raise_no_problem_and_others_are_named() {
    let sound = WantedTemplates::of(&launch("subnet-a", &["sg-a"]), &BTreeMap::new()).unwrap();
    assert_eq!(sound.check(&account()), []);
    let mut questions = AccountQuestions::default();
    sound.ask(&mut questions);
    assert_eq!(questions.subnets, BTreeSet::from(["subnet-a".to_owned()]));
    assert_eq!(questions.key_pairs, BTreeSet::from(["ops".to_owned()]));
    assert!(!questions.is_empty());

    let mut wrong = launch("subnet-a", &["sg-b", "sg-x"]);
    wrong.instance_type = Some("m5.huge".into());
    wrong.ec2_key_name = Some("nobody".into());
    wrong.vpc = Some("vpc-b".into());
    let wanted = WantedTemplates::of(&wrong, &BTreeMap::new()).unwrap();
    let problems: Vec<(&str, String)> = wanted
        .check(&account())
        .into_iter()
        .map(|p| (p.field, p.message))
        .collect();
    assert_eq!(
        problems,
        [
            (
                "instanceType",
                "instance type m5.huge is not offered in the account's region".into()
            ),
            ("ec2KeyName", "key pair nobody does not exist".into()),
            ("vpc", "subnet subnet-a is in vpc-a, not vpc-b".into()),
            (
                "securityGroups",
                "security group sg-b is in vpc-b, not in vpc-a of subnet subnet-a".into()
            ),
            (
                "securityGroups",
                "security group sg-x does not exist".into()
            ),
        ]
    );
    let nowhere = WantedTemplates::of(&launch("subnet-x", &["sg-a"]), &BTreeMap::new()).unwrap();
    assert_eq!(
        nowhere.check(&account())[0],
        SettingProblem {
            field: "subnet",
            message: "subnet subnet-x does not exist".into()
        }
    );
}

#[test]
fn a_test_network_is_a_second_template_checked_on_its_own() {
    let mut settings = launch("subnet-a", &["sg-a"]);
    settings.test_subnet = Some("subnet-b".into());
    let wanted = WantedTemplates::of(&settings, &BTreeMap::new()).unwrap();
    let test = wanted.test.as_ref().expect("a test network");
    assert_eq!(test.subnet.as_deref(), Some("subnet-b"));
    assert_eq!(test.instance_type, wanted.cutover.instance_type);
    let problems = wanted.check(&account());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "testSecurityGroups");
    assert!(problems[0]
        .message
        .contains("sg-a is in vpc-a, not in vpc-b"));
    settings.test_security_groups = Some(vec!["sg-b".into()]);
    let wanted = WantedTemplates::of(&settings, &BTreeMap::new()).unwrap();
    assert_eq!(wanted.check(&account()), []);
    let mut alone = LaunchSettings {
        test_subnet: Some("subnet-b".into()),
        ..LaunchSettings::default()
    };
    let problems = WantedTemplates::of(&alone, &BTreeMap::new())
        .unwrap()
        .check(&account());
    assert_eq!(problems[0].field, "testSubnet", "{problems:?}");
    assert!(problems[0].message.contains("cutover's `subnet`"));
    alone.test_subnet = None;
    alone.test_security_groups = Some(vec!["sg-b".into()]);
    let problems = WantedTemplates::of(&alone, &BTreeMap::new())
        .unwrap()
        .check(&account());
    assert_eq!(problems[0].field, "testSecurityGroups", "{problems:?}");
    assert_ne!(
        wanted.digest(),
        WantedTemplates::of(&launch("subnet-a", &["sg-a"]), &BTreeMap::new())
            .unwrap()
            .digest()
    );
}

#[test]
fn a_template_holds_what_is_wanted_when_every_set_value_matches() {
    let wanted = TemplateSettings {
        instance_type: Some("m5.large".into()),
        security_groups: vec!["sg-a".into()],
        tags: BTreeMap::from([("team".to_owned(), "web".to_owned())]),
        ..TemplateSettings::default()
    };
    let mut held = TemplateSettings {
        instance_type: Some("m5.large".into()),
        subnet: Some("subnet-a".into()),
        security_groups: vec!["sg-a".into()],
        tags: BTreeMap::from([
            ("Name".to_owned(), "web-01".to_owned()),
            ("team".to_owned(), "web".to_owned()),
        ]),
        ..TemplateSettings::default()
    };
    assert!(wanted.held_by(&held));
    held.tags.insert("team".into(), "ops".into());
    assert!(!wanted.held_by(&held));
    held.tags.insert("team".into(), "web".into());
    held.security_groups.push("sg-b".into());
    assert!(!wanted.held_by(&held), "the groups are one list");
}

#[test]
fn a_setting_is_found_at_the_most_specific_level_that_gives_it() {
    let plan = Plan::parse(
        "version: 1
defaults:
  launch: { subnet: subnet-a, instanceType: m5.large }
applications:
  - name: shop
    settings: { launch: { securityGroups: [sg-a] } }
    groups:
      - name: web
        servers: [web-01, web-02]
        settings: { launch: { instanceType: t3.medium } }
        serverSettings:
          web-02: { launch: { subnet: subnet-b } }
",
    )
    .expect("a plan");
    let path = |vm, field| setting_path(&plan, "shop", "web", vm, field);
    assert_eq!(path("web-01", "subnet"), "defaults.launch.subnet");
    assert_eq!(
        path("web-02", "subnet"),
        "applications[0].groups[0].serverSettings.web-02.launch.subnet"
    );
    assert_eq!(
        path("web-01", "instanceType"),
        "applications[0].groups[0].settings.launch.instanceType"
    );
    assert_eq!(
        path("web-01", "securityGroups"),
        "applications[0].settings.launch.securityGroups"
    );
    assert_eq!(
        path("web-01", "testSubnet"),
        "applications[0].settings.launch.testSubnet"
    );
    assert_eq!(
        setting_path(&plan, "gone", "web", "web-01", "subnet"),
        "defaults.launch.subnet"
    );
}
