//! Reading plans: a worked example, every problem found at once with its line, and
//! round trips.

use super::*;
use proptest::prelude::*;

const EXAMPLE: &str = r#"
version: 1
defaults:
  launch: { instanceType: t3.medium, vpc: vpc-1, subnet: subnet-1, securityGroup: sg-1 }
  replication: { frequency: 12, licenseType: AWS, numberOfRecentAmisToKeep: 3 }
applications:
  - name: payments
    groups:
      - name: db
        launchOrder: 1
        servers: [pay-db-01]
        settings: { launch: { instanceType: r5.large } }
      - name: app
        launchOrder: 2
        servers: ["vmPath:/dc1/payments/app-*"]
  - name: shop
    dependsOn: [payments]
    window: "mon-fri 22:00-06:00"
    replicatedBy: app
    tags: { team: web }
    groups:
      - name: web
        servers: [web-01, web-02]
        serverSettings:
          web-02: { launch: { subnet: subnet-2 } }
  - name: reporting
    launch: manual
    groups: [{ name: all, servers: [rep-01] }]
"#;

fn rejected(text: &str) -> Vec<String> {
    Plan::parse(text)
        .expect_err("the plan is refused")
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_worked_example_reads_and_settings_overlay_field_by_field() {
    let plan = Plan::parse(EXAMPLE).expect("a sound plan");
    assert_eq!(plan.applications.len(), 3);
    let shop = &plan.applications[1];
    assert_eq!(shop.replicated_by, ReplicationRoute::App);
    assert_eq!(plan.applications[2].launch, LaunchMode::Manual);
    let group = &shop.groups[0];
    let web_02 = plan
        .defaults
        .then(&shop.settings)
        .then(&group.settings)
        .then(&group.server_settings["web-02"]);
    assert_eq!(web_02.launch.subnet.as_deref(), Some("subnet-2"));
    assert_eq!(web_02.launch.instance_type.as_deref(), Some("t3.medium"));
    assert_eq!(web_02.replication.frequency, Some(12));
    let db = plan.defaults.then(&plan.applications[0].groups[0].settings);
    assert_eq!(db.launch.instance_type.as_deref(), Some("r5.large"));
}

#[test]
fn every_problem_is_named_with_its_line_at_once() {
    let text = "version: 1
defaults:
  launch: { instanceSize: big }
  replication: { frequency: 48, licenseType: GPL }
applications:
  - name: shop
    dependsOn: [payments, ghost]
    window: someday
    groups:
      - name: web
        servers: [web-01, \"vmColour:blue\"]
  - name: payments
    dependsOn: [shop]
    groups:
      - name: db
        launchOrder: first
        servers: [web-01]
";
    let problems = rejected(text);
    let expected = [
        "line 3, defaults.launch.instanceSize: unknown key `instanceSize`",
        "line 4, defaults.replication.frequency: 48 is above the maximum of 24",
        "line 4, defaults.replication.licenseType: \"GPL\" is not one of \"AWS\", \"BYOL\"",
        "line 16, applications[1].groups[0].launchOrder, application `payments`: expected an integer or nothing, found \"first\"",
    ];
    for (problem, wanted) in problems.iter().zip(expected) {
        assert!(
            problem.starts_with(wanted),
            "{problem}\n  wanted {wanted}\nall: {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");

    // Once the shape is right, the rules speak.
    let text = text
        .replace("{ instanceSize: big }", "{ instanceType: big }")
        .replace("frequency: 48, licenseType: GPL", "frequency: 12")
        .replace("launchOrder: first", "launchOrder: 1");
    let problems = rejected(&text);
    let expected = [
        "line 7, applications[0].dependsOn[1], application `shop`: no application is named `ghost`",
        "line 7, applications[0].dependsOn, application `shop`: dependencies loop: shop -> payments -> shop",
        "line 8, applications[0].window, application `shop`: `someday`",
        "line 11, applications[0].groups[0].servers[1], application `shop`: selector `vmColour:blue`",
        "line 17, applications[1].groups[0].servers[0], application `payments`: `web-01` is already a member at applications[0].groups[0].servers[0]",
    ];
    for wanted in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(wanted)),
            "wanted {wanted}\nall: {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn an_mgn_test_window_is_checked_as_a_window_and_kept_for_the_launcher() {
    let text = "version: 1
applications:
  - name: shop
    launch: manual
    testWindow: \"sat 00:00-06:00\"
    groups: [{name: web, servers: [web-01]}]
  - name: billing
    testWindow: someday
    archive: true
    groups: [{name: db, servers: [db-01]}]
";
    let problems = rejected(text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].starts_with("line 5, applications[0].testWindow, application `shop`: a manual application is launched by a person"), "{problems:#?}");
    assert!(
        problems[1]
            .starts_with("line 8, applications[1].testWindow, application `billing`: `someday`"),
        "{problems:#?}"
    );
    let accepted = text
        .replace("    launch: manual\n", "")
        .replace("someday", "\"sun 00:00-06:00\"");
    let plan = Plan::parse(&accepted).expect("a plan");
    assert!(plan.applications[1].archive);
    assert_eq!(
        plan.applications[0].test_window.as_deref(),
        Some("sat 00:00-06:00")
    );
}

#[test]
fn security_groups_in_either_form_are_one_setting_and_right_sizing_excludes_a_type() {
    let text = "version: 1
defaults:
  launch: { securityGroups: [sg-1, sg-2], testSubnet: subnet-9 }
applications:
  - name: shop
    settings: { launch: { securityGroup: sg-3, instanceType: m5.large } }
    groups:
      - name: web
        servers: [web-01]
        settings: { launch: { rightSizing: basic } }
        serverSettings:
          web-01: { launch: { securityGroup: sg-4, securityGroups: [sg-5] } }
";
    let problems = rejected(text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "line 10, applications[0].groups[0].settings.launch.rightSizing, application `shop`: `rightSizing: basic` lets MGN choose"
        ),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("line 12, applications[0].groups[0].serverSettings.web-01.launch.securityGroups, application `shop`: give `securityGroups` or `securityGroup`, not both"),
        "{problems:#?}"
    );
    let plan = Plan::parse(
        &text
            .replace("rightSizing: basic", "rightSizing: none")
            .replace("securityGroup: sg-4, ", ""),
    )
    .expect("a plan");
    let app = &plan.applications[0];
    let shop = plan.defaults.then(&app.settings).launch;
    assert_eq!(
        shop.groups(),
        ["sg-3"],
        "the application's one group replaces the list"
    );
    assert_eq!(shop.test_subnet.as_deref(), Some("subnet-9"));
    let group = &app.groups[0];
    let web_01 = plan.defaults.then(&app.settings).then(&group.settings);
    let web_01 = web_01.then(&group.server_settings["web-01"]).launch;
    assert_eq!(web_01.groups(), ["sg-5"]);
    assert_eq!(web_01.security_group, None);
    assert_eq!(LaunchSettings::default().groups(), Vec::<String>::new());
}

#[test]
fn text_that_is_not_yaml_names_its_line() {
    let problems = rejected("version: 1\napplications: [\n");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("line "), "{problems:?}");
    assert!(problems[0].contains("not YAML"), "{problems:?}");
}

#[test]
fn the_committed_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json");
    let fresh = serde_json::to_string_pretty(&Plan::schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(
        committed,
        Plan::schema(),
        "run UPDATE_SCHEMAS=1 cargo test -p autopilot-core committed_schema"
    );
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

prop_compose! {
    fn plan()(names in proptest::collection::btree_set(name(), 1..5), order in proptest::option::of(0i32..5), manual in any::<bool>()) -> Plan {
        let applications = names.into_iter().enumerate().map(|(i, name)| PlannedApp {
            groups: vec![PlannedGroup {
                name: "g".into(),
                launch_order: order,
                servers: vec![format!("{name}-vm-{i}")],
                settings: Settings::default(),
                server_settings: BTreeMap::new(),
            }],
            name,
            description: None,
            tags: BTreeMap::new(),
            launch: if manual { LaunchMode::Manual } else { LaunchMode::Automatic },
            window: None,
            test_window: None,
            wave: None,
            archive: false,
            depends_on: Vec::new(),
            replicated_by: ReplicationRoute::Jobs,
            finalize: Finalize::default(),
            settings: Settings::default(),
        }).collect();
        Plan { version: PLAN_VERSION, prune: false, defaults: Settings::default(), applications }
    }
}

proptest! {
    #[test]
    fn plans_round_trip_through_json(plan in plan()) {
        let text = serde_json::to_string_pretty(&plan).unwrap();
        prop_assert_eq!(Plan::parse(&text).unwrap(), plan);
    }

    #[test]
    fn a_member_claimed_twice_is_always_found(plan in plan(), from in 0usize..5, to in 0usize..5) {
        let mut plan = plan;
        let count = plan.applications.len();
        let (from, to) = (from % count, to % count);
        let stolen = plan.applications[from].groups[0].servers[0].clone();
        plan.applications[to].groups[0].servers.push(stolen.clone());
        let text = serde_json::to_string(&plan).unwrap();
        let problems = Plan::parse(&text).unwrap_err().problems;
        prop_assert!(problems.iter().any(|p| p.message.contains(&format!("`{stolen}` is already a member"))), "{:?}", problems);
    }
}

/// A catalog server with a VM name and path, for the plan's tests.
pub(super) fn server(id: &str, name: &str, path: &str) -> crate::model::Server {
    crate::model::Server {
        id: id.into(),
        vm: crate::model::VmServer {
            vm_name: Some(name.into()),
            vm_path: Some(path.into()),
            ..Default::default()
        },
        replication_job_id: None,
        replication_job_terminated: false,
    }
}

#[test]
fn a_plan_resolves_against_the_catalog_with_settings_and_logical_ids() {
    let plan = Plan::parse(EXAMPLE).unwrap();
    let catalog = vec![
        server("s-1", "pay-db-01", "/dc1/payments/pay-db-01"),
        server("s-2", "app-1", "/dc1/payments/app-1"),
        server("s-3", "app-2", "/dc1/payments/app-2"),
        server("s-4", "web-01", "/dc1/web/web-01"),
        server("s-5", "web-02", "/dc1/web/web-02"),
    ];
    let wave = desired::resolve(&plan, &catalog);
    assert!(wave.conflicts.is_empty(), "{:?}", wave.conflicts);
    assert_eq!(wave.waiting.len(), 1, "rep-01 is not discovered yet");
    assert_eq!(wave.waiting[0].member, "rep-01");
    let payments = &wave.apps[0];
    let members: Vec<(&str, &str)> = payments
        .servers()
        .map(|s| (s.server_id.as_str(), s.logical_id.as_str()))
        .collect();
    assert_eq!(
        members,
        [("s-1", "PayDb01"), ("s-2", "App1"), ("s-3", "App2")]
    );
    assert_eq!(
        payments.groups[0].servers[0]
            .launch
            .instance_type
            .as_deref(),
        Some("r5.large")
    );
    let web_02 = &wave.apps[1].groups[0].servers[1];
    assert_eq!(web_02.launch.subnet.as_deref(), Some("subnet-2"));
    assert!(
        wave.apps[2].groups.is_empty(),
        "reporting waits for its server"
    );
}

#[test]
fn shared_names_and_servers_claimed_twice_are_conflicts() {
    let text = "version: 1
applications:
  - name: a
    groups: [{ name: g, servers: [twin, \"vmPath:/dc1/shared/*\"] }]
  - name: b
    groups: [{ name: g, servers: [\"vmPath:/dc1/*\"] }]
";
    let plan = Plan::parse(text).unwrap();
    let catalog = vec![
        server("s-1", "twin", "/dc1/x/twin"),
        server("s-2", "twin", "/dc2/y/twin"),
        server("s-3", "db", "/dc1/shared/db"),
    ];
    let wave = desired::resolve(&plan, &catalog);
    let reasons: Vec<&str> = wave.conflicts.iter().map(|c| c.reason.as_str()).collect();
    assert_eq!(wave.conflicts.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("s-1, s-2"), "{reasons:?}");
    assert!(
        reasons[1].contains("db (s-3) is already a member of `a`"),
        "{reasons:?}"
    );
    assert_eq!(
        wave.apps[1]
            .servers()
            .map(|s| s.server_id.as_str())
            .collect::<Vec<_>>(),
        ["s-1"]
    );
}

#[test]
fn logical_ids_are_alphanumeric_start_with_a_letter_and_are_unique() {
    let mut taken = std::collections::BTreeSet::new();
    assert_eq!(
        desired::logical_id("01-db.corp", &mut taken),
        "Server01DbCorp"
    );
    assert_eq!(desired::logical_id("web_01", &mut taken), "Web01");
    assert_eq!(desired::logical_id("web-01", &mut taken), "Web012");
}

#[test]
fn the_readme_example_is_a_sound_plan() {
    let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(readme).unwrap();
    let section = readme
        .split("## The wave plan")
        .nth(1)
        .expect("the README has the section");
    let example = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a YAML example");
    let plan = Plan::parse(example).unwrap_or_else(|refusal| panic!("{refusal}"));
    assert_eq!(plan.applications.len(), 3);
}
