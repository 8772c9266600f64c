//! `autopilot-local plan` as an engineer runs it before putting a plan in the bucket:
//! what the planner would create, the launch order, the servers left out and those the
//! catalog lacks, and exit codes a script can use (0 nothing to change, 4 changes, 3 a
//! refused or conflicting plan or an input that is not text, 2 the command could not
//! run).

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-local");

/// A catalog of four servers and no application.
const SCENARIO: &str = "name: rehearsal
connectors: [{ vm_manager_name: vcenter }]
servers:
  - { id: s-00000001, vm_name: db-01 }
  - { id: s-00000002, vm_name: web-01 }
  - { id: s-00000003, vm_name: web-02 }
  - { id: s-00000004, vm_name: spare-01 }
";

fn plan(dir: &Path, plan: &str) -> Output {
    std::fs::write(dir.join("scenario.yaml"), SCENARIO).unwrap();
    std::fs::write(dir.join("plan.yaml"), plan).unwrap();
    Command::new(BIN)
        .args(["plan", "plan.yaml", "--scenario", "scenario.yaml"])
        .current_dir(dir)
        .output()
        .expect("run autopilot-local plan")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_plan_to_apply_lists_its_applications_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan(
        dir.path(),
        "version: 1
defaults: { launch: { instanceType: t3.small, subnet: subnet-1, securityGroup: sg-1 } }
applications:
  - name: front
    dependsOn: [base]
    replicatedBy: app
    groups: [{ name: web, servers: [\"vmName:web-*\"] }]
  - name: base
    groups: [{ name: db, launchOrder: 1, servers: [db-01, db-02] }]
",
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{text}");
    assert!(text.contains("+ create front"), "{text}");
    assert!(
        text.contains("web-02 (s-00000003) as Web02 [t3.small, subnet-1, sg-1]"),
        "{text}"
    );
    assert!(text.contains("replicated by app replication"), "{text}");
    assert!(text.contains("Launch order: base -> front"), "{text}");
    assert!(
        text.contains("Servers in no application (1): spare-01"),
        "{text}"
    );
    assert!(
        text.contains("Waiting for the catalog: db-02 in base/db"),
        "{text}"
    );
}

#[test]
fn a_refused_plan_names_each_problem_with_its_line_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan(
        dir.path(),
        "version: 1\napplications:\n  - name: a\n    dependsOn: [ghost]\n    groups: [{ name: g, servers: [db-01] }]\n",
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(
        text.contains(
            "line 4, applications[0].dependsOn[0], application `a`: no application is named `ghost`"
        ),
        "{text}"
    );
}

#[test]
fn members_that_conflict_in_the_catalog_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan(
        dir.path(),
        "version: 1
applications:
  - { name: a, groups: [{ name: g, servers: [\"vmName:web-*\"] }] }
  - { name: b, groups: [{ name: g, servers: [\"vmName:*-01\"] }] }
",
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(
        text.contains(
            "line 4, applications[1].groups[0].servers[0], application `b`: group `g`, `vmName:*-01`: web-01 (s-00000002) is already a member of `a`"
        ),
        "{text}"
    );
    assert!(
        !text.contains("create"),
        "a refused rehearsal prints nothing it would do: {text}"
    );
}

#[test]
fn an_empty_plan_changes_nothing_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan(dir.path(), "version: 1\napplications: []\n");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

fn csv_to_plan(dir: &Path, csv: &str) -> Output {
    std::fs::write(dir.join("wave.csv"), csv).unwrap();
    Command::new(BIN)
        .args(["csv-to-plan", "wave.csv"])
        .current_dir(dir)
        .output()
        .expect("run autopilot-local csv-to-plan")
}

#[test]
fn a_spreadsheet_becomes_a_plan_the_planner_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let output = csv_to_plan(
        dir.path(),
        "Application,Group,Launch Order,VM Name,Instance Type,Subnet,Security Group,Depends On,Replicated By
base,db,1,db-01,r5.large,subnet-1,sg-1,,
front,web,2,web-01,t3.small,subnet-1,sg-1,base,app
front,web,2,\"web-02\",t3.small,subnet-1,sg-1,base,app
",
    );
    let yaml = stdout(&output);
    assert!(
        output.status.success(),
        "{yaml}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(dir.path().join("plan.yaml"), &yaml).unwrap();
    let rehearsed = plan(dir.path(), &yaml);
    let text = stdout(&rehearsed);
    assert_eq!(rehearsed.status.code(), Some(4), "{text}");
    assert!(text.contains("Launch order: base -> front"), "{text}");
    assert!(
        text.contains("db-01 (s-00000001) as Db01 [r5.large, subnet-1, sg-1]"),
        "{text}"
    );
}

#[test]
fn every_bad_row_is_named_and_no_plan_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let output = csv_to_plan(
        dir.path(),
        "application,group,vm_name,launch_order,launch
base,db,db-01,first,
base,db,db-01,1,
other,g,,1,
later,g,x-01,1,sometimes
",
    );
    assert_eq!(output.status.code(), Some(3));
    assert!(stdout(&output).is_empty(), "no plan is printed");
    let errors = String::from_utf8_lossy(&output.stderr).into_owned();
    for wanted in [
        "row 2, column D (launch_order): `first` is not a whole number",
        "row 3, column C (vm_name): `db-01` is already listed in row 2",
        "row 4, column C (vm_name): application, group and vm_name are all needed",
        "row 5, column E (launch): `sometimes` is none of automatic, manual, rollback",
    ] {
        assert!(errors.contains(wanted), "wanted {wanted}\n{errors}");
    }
}

/// A scenario whose application was made by hand with a launch configuration (and
/// already adopted: it carries the planner's tag): a plan that asks for the same
/// changes nothing; one that asks for another instance type
/// changes its launch configuration.
#[test]
fn an_application_made_by_hand_is_compared_with_its_launch_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "{SCENARIO}apps:
  - name: shop
    tags: {{ \"autopilot:plan\": shop }}
    groups: [{{ name: web, launch_order: 1, servers: [web-01, web-02] }}]
    launch: {{ instance_type: t3.small, subnet: subnet-1, security_group: sg-1 }}
"
    );
    std::fs::write(dir.path().join("scenario.yaml"), scenario).unwrap();
    let rehearse = |instance_type: &str| {
        let text = format!(
            "version: 1
applications:
  - name: shop
    settings: {{ launch: {{ instanceType: {instance_type}, subnet: subnet-1, securityGroup: sg-1 }} }}
    groups: [{{ name: web, launchOrder: 1, servers: [web-01, web-02] }}]
"
        );
        std::fs::write(dir.path().join("plan.yaml"), text).unwrap();
        Command::new(BIN)
            .args(["plan", "plan.yaml", "--scenario", "scenario.yaml"])
            .current_dir(dir.path())
            .output()
            .expect("run autopilot-local plan")
    };
    let same = rehearse("t3.small");
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    let other = rehearse("m5.large");
    assert_eq!(other.status.code(), Some(4), "{}", stdout(&other));
    assert!(
        stdout(&other).contains("~ launch configuration of shop"),
        "{}",
        stdout(&other)
    );
}

/// `aws sms get-servers` output in which two VMs share a name, as vCenter allows in
/// two folders.
const TWINS_DUMP: &str = r#"{"serverList": [
  {"serverId": "s-00000011", "vmServer": {"vmName": "dup-01", "vmPath": "/dc1/a/dup-01", "vmManagerName": "vc"}},
  {"serverId": "s-00000012", "vmServer": {"vmName": "dup-01", "vmPath": "/dc1/b/dup-01", "vmManagerName": "vc"}},
  {"serverId": "s-00000013", "vmServer": {"vmName": "solo-01", "vmManagerName": "vc"}}
]}"#;

fn plan_against_dump(dir: &Path, members: &str) -> Output {
    std::fs::write(dir.join("servers.json"), TWINS_DUMP).unwrap();
    let text = format!(
        "version: 1\napplications:\n  - name: a\n    groups: [{{ name: g, servers: {members} }}]\n"
    );
    std::fs::write(dir.join("plan.yaml"), text).unwrap();
    Command::new(BIN)
        .args(["plan", "plan.yaml", "--get-servers", "servers.json"])
        .current_dir(dir)
        .output()
        .expect("run autopilot-local plan")
}

#[test]
fn a_vm_name_two_servers_of_a_real_catalog_share_is_refused_as_the_planner_would() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan_against_dump(dir.path(), "[dup-01, solo-01]");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("plan.yaml is refused"), "{text}");
    assert!(
        text.contains("2 catalog servers share that VM name (s-00000011, s-00000012)"),
        "{text}"
    );
    assert!(!text.contains("create"), "{text}");
    for told_apart in ["[\"serverId:s-00000012\"]", "[\"vmPath:/dc1/b/*\"]"] {
        let output = plan_against_dump(dir.path(), told_apart);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(4), "{told_apart}: {text}");
        assert!(text.contains("dup-01 (s-00000012)"), "{text}");
    }
}

#[test]
fn a_file_that_is_not_text_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let binary = [0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe, 0x00, 0x81];
    std::fs::write(dir.path().join("plan.xlsx"), binary).unwrap();
    for args in [
        ["plan", "plan.xlsx"].as_slice(),
        ["csv-to-plan", "plan.xlsx"].as_slice(),
    ] {
        let output = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run autopilot-local");
        let errors = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {errors}");
        assert!(errors.contains("plan.xlsx: not UTF-8 text"), "{errors}");
    }
}

#[test]
fn a_sheet_is_refused_by_the_row_and_column_the_user_sees() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "application,group,vm_name,instnce_type\nshop,web,web-01,t3.small\n",
            "row 1, column D (instnce_type): no column is called `instnce_type`; did you mean `instance_type`?",
        ),
        (
            "application,group,vm_name,depends_on\nshop,web,web-01,\nshop,web,web-02,ghost\n",
            "row 3, column D (depends_on): no application is named `ghost`",
        ),
        (
            "application,group,vm_name,depends_on\nshop,web,web-01,base\nbase,db,db-01,shop\n",
            "row 2, column D (depends_on): dependencies loop: shop -> base -> shop",
        ),
        (
            "application,group,vm_name,launch_order\nshop,web,web-01,1\nshop,web,\"web\n02\",2\n",
            "row 3, column D (launch_order): 2 differs from 1, given earlier for group `web`",
        ),
    ];
    for (csv, wanted) in cases {
        let output = csv_to_plan(dir.path(), csv);
        let errors = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(3), "{csv}\n{errors}");
        assert!(errors.contains(wanted), "wanted {wanted}\n{errors}");
        assert!(!errors.contains("Some("), "{errors}");
        assert!(
            !errors.contains("line "),
            "no line of a generated plan: {errors}"
        );
    }
}

/// Four source servers of an MGN account, one archived, two reporting one hostname.
const SOURCE_SERVERS_DUMP: &str = r#"{"items": [
  {"sourceServerID": "s-0000000000000000a", "userProvidedID": "CMDB-7",
   "sourceProperties": {"identificationHints": {"hostname": "db-01", "fqdn": "db-01.corp.example.com", "vmPath": "/dc1/db/db-01"}}},
  {"sourceServerID": "s-0000000000000000b",
   "sourceProperties": {"identificationHints": {"hostname": "web", "fqdn": "web.dc1.corp.example.com"}}},
  {"sourceServerID": "s-0000000000000000c",
   "sourceProperties": {"identificationHints": {"hostname": "web", "fqdn": "web.dc2.corp.example.com"}}},
  {"sourceServerID": "s-0000000000000000d", "isArchived": true,
   "sourceProperties": {"identificationHints": {"hostname": "old-01"}}}
]}"#;

fn plan_against_source_servers(dir: &Path, members: &str) -> Output {
    std::fs::write(dir.join("source-servers.json"), SOURCE_SERVERS_DUMP).unwrap();
    let text = format!(
        "version: 1\napplications:\n  - name: a\n    groups: [{{ name: g, servers: {members} }}]\n"
    );
    std::fs::write(dir.join("plan.yaml"), text).unwrap();
    Command::new(BIN)
        .args([
            "plan",
            "plan.yaml",
            "--describe-source-servers",
            "source-servers.json",
        ])
        .current_dir(dir)
        .output()
        .expect("run autopilot-local plan")
}

#[test]
fn a_plan_is_rehearsed_against_an_mgn_account_by_its_identification_hints() {
    let dir = tempfile::tempdir().unwrap();
    let output = plan_against_source_servers(dir.path(), "[db-01, \"fqdn:web.dc2.*\"]");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(4), "{text}");
    assert!(
        text.contains("against 3 catalog servers (MGN)"),
        "archived left out: {text}"
    );
    assert!(text.contains("db-01 (s-0000000000000000a)"), "{text}");
    assert!(text.contains("web (s-0000000000000000c)"), "{text}");
    let by_id = plan_against_source_servers(dir.path(), "[\"userProvidedId:CMDB-7\"]");
    assert!(stdout(&by_id).contains("db-01 (s-0000000000000000a)"));
    let twins = plan_against_source_servers(dir.path(), "[web]");
    let text = stdout(&twins);
    assert_eq!(twins.status.code(), Some(3), "{text}");
    assert!(
        text.contains(
            "2 catalog servers share that hostname (s-0000000000000000b, s-0000000000000000c); name the one meant as `serverId:ID` or with an `fqdn:` selector"
        ),
        "a hostname two servers report is refused: {text}"
    );
    let archived = plan_against_source_servers(dir.path(), "[old-01]");
    assert!(
        stdout(&archived).contains("Waiting for the catalog: old-01"),
        "an archived server is not in the catalog: {}",
        stdout(&archived)
    );
}
