use super::*;
use autopilot_core::plan::{BootMode, RightSizing};

#[test]
fn a_byte_order_mark_quotes_and_blank_columns_are_read_as_a_spreadsheet_means_them() {
    let csv = "\u{feff}application,group,vm_name,launch,depends_on,launch_order\n\
               shop,web,web-01,manual,base,\n\
               shop,web,\"web,02\",,,2\n\
               base,db,db-01,,,1\n";
    let plan = plan_from_csv(csv).unwrap();
    let shop = &plan.applications[0];
    assert_eq!(
        shop.launch,
        LaunchMode::Manual,
        "a blank takes the earlier rows' value"
    );
    assert_eq!(shop.depends_on, ["base"]);
    assert_eq!(shop.groups[0].servers, ["web-01", "web,02"]);
    assert_eq!(shop.groups[0].launch_order, Some(2), "given on a later row");
}

#[test]
fn a_row_with_more_fields_than_the_header_is_refused() {
    let csv = "application,group,vm_name,security_group\nshop,web,web-01,sg-1,sg-2\n";
    let problems = plan_from_csv(csv).unwrap_err().0;
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("row 2: 5 fields where the header has 4"),
        "{problems:?}"
    );
}

#[test]
fn mgn_columns_give_the_wave_the_windows_and_archiving_of_each_application() {
    let csv = "application,group,vm_name,wave,window,test_window,archive\n\
               shop,web,web-01,wave-1,sat 00:00-06:00,fri 20:00-23:00,yes\n\
               shop,web,web-02,,,,\n\
               base,db,db-01,wave-1,,,no\n";
    let plan = plan_from_csv(csv).unwrap();
    let shop = &plan.applications[0];
    assert_eq!(shop.wave.as_deref(), Some("wave-1"));
    assert_eq!(shop.window.as_deref(), Some("sat 00:00-06:00"));
    assert_eq!(shop.test_window.as_deref(), Some("fri 20:00-23:00"));
    assert!(shop.archive);
    assert!(!plan.applications[1].archive);

    let disagreeing = "application,group,vm_name,wave,archive\n\
                       shop,web,web-01,wave-1,maybe\n\
                       shop,web,web-02,wave-2,\n";
    let problems = plan_from_csv(disagreeing).unwrap_err().0;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("row 2, column E (archive): `maybe` is neither yes nor no")),
        "{problems:?}"
    );
    let waves = "application,group,vm_name,wave\nshop,web,web-01,wave-1\nshop,web,web-02,wave-2\n";
    let problems = plan_from_csv(waves).unwrap_err().0;
    assert!(
        problems[0].starts_with("row 3, column D (wave): differs from the earlier rows of `shop`"),
        "{problems:?}"
    );
}

#[test]
fn a_test_window_the_plan_refuses_is_named_by_its_cell() {
    let csv = "application,group,vm_name,test_window\nshop,web,web-01,\nshop,web,web-02,someday\n";
    let problems = plan_from_csv(csv).unwrap_err().0;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("row 3, column D (test_window): `someday`"),
        "{problems:?}"
    );
}

#[test]
fn mgn_settings_columns_become_the_servers_settings() {
    let csv = "application,group,vm_name,right_sizing,byol,boot_mode,staging_subnet,\
               security_groups,test_subnet,test_security_groups\n\
               shop,web,web-01,basic,yes,uefi,subnet-0a,sg-1; sg-2,subnet-0t,sg-9\n\
               shop,web,web-02,,,,,,,\n";
    let plan = plan_from_csv(csv).unwrap();
    let group = &plan.applications[0].groups[0];
    let web_01 = &group.server_settings["web-01"];
    assert_eq!(web_01.launch.right_sizing, Some(RightSizing::Basic));
    assert_eq!(web_01.launch.byol, Some(true));
    assert_eq!(web_01.launch.boot_mode, Some(BootMode::Uefi));
    assert_eq!(web_01.launch.groups(), ["sg-1", "sg-2"]);
    assert_eq!(web_01.launch.test_subnet.as_deref(), Some("subnet-0t"));
    assert_eq!(
        web_01.launch.test_security_groups,
        Some(vec!["sg-9".into()])
    );
    assert_eq!(
        web_01.replication.staging_subnet.as_deref(),
        Some("subnet-0a")
    );
    assert!(
        !group.server_settings.contains_key("web-02"),
        "a blank row sets nothing"
    );

    let bad = "application,group,vm_name,boot_mode,copy_private_ip\n\
               shop,web,web-01,bios,\n\
               shop,web,web-02,,maybe\n";
    let problems = plan_from_csv(bad).unwrap_err().0;
    assert_eq!(
        problems,
        [
            "row 2, column D (boot_mode): `bios` is none of legacy_bios, uefi, use_source",
            "row 3, column E (copy_private_ip): `maybe` is neither yes nor no"
        ]
    );
}
