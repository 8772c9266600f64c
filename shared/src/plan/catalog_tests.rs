//! Plans resolved against a catalog as users write them: VM names several servers
//! share, settings for servers a selector takes, conflicts named by their line and
//! application, and a KMS key that would be ignored.

use super::desired::{self, DesiredWave};
use super::tests::server;
use super::*;
use crate::model::Server;
use crate::wave_policy::VmField;
use catalog_index::{CatalogServer, HintedServer};

/// Two VMs called `twin` in two data centres, and a database.
fn catalog() -> Vec<Server> {
    vec![
        server("s-1", "twin", "/dc1/x/twin"),
        server("s-2", "twin", "/dc2/y/twin"),
        server("s-3", "db", "/dc1/shared/db"),
    ]
}

fn resolved(text: &str) -> DesiredWave {
    let plan = Plan::parse(text).unwrap_or_else(|refusal| panic!("{refusal}"));
    desired::resolve(&plan, &catalog())
}

fn one_app(members: &str) -> String {
    format!("version: 1\napplications:\n  - name: shop\n    groups:\n      - name: web\n        servers: {members}\n")
}

#[test]
fn a_vm_name_servers_share_is_refused_unless_the_plan_tells_them_apart() {
    for ambiguous in ["[twin]", "[db, twin]", "[\"vmName:twin\", twin]"] {
        let wave = resolved(&one_app(ambiguous));
        let reasons: Vec<&str> = wave.conflicts.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(reasons.len(), 1, "{ambiguous}: {reasons:?}");
        assert!(reasons[0].contains("s-1, s-2"), "{reasons:?}");
        assert!(reasons[0].contains("serverId:"), "{reasons:?}");
    }
    for told_apart in [
        "[\"serverId:s-2\"]",
        "[\"vmPath:/dc2/*\"]",
        "[\"vmPath:/dc2/y/twin\", db]",
    ] {
        let wave = resolved(&one_app(told_apart));
        assert!(
            wave.conflicts.is_empty(),
            "{told_apart}: {:?}",
            wave.conflicts
        );
        let ids: Vec<&str> = wave.apps[0]
            .servers()
            .map(|s| s.server_id.as_str())
            .collect();
        assert!(
            ids.contains(&"s-2") && !ids.contains(&"s-1"),
            "{told_apart}: {ids:?}"
        );
    }
}

#[test]
fn a_conflict_is_named_by_its_file_line_path_and_application() {
    let text = "version: 1
applications:
  - name: base
    groups: [{ name: all, servers: [\"vmPath:/dc1/*\"] }]
  - name: shop
    groups:
      - name: web
        servers:
          - db
          - twin
";
    let plan = Plan::parse(text).unwrap();
    let wave = desired::resolve(&plan, &catalog());
    let refusal = PlanRejected::of_conflicts(text, &wave.conflicts);
    let problems: Vec<String> = refusal.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[1].starts_with(
            "line 10, applications[1].groups[0].servers[1], application `shop`: group `web`, `twin`: 2 catalog servers share"
        ),
        "{problems:#?}"
    );
    assert!(
        problems[0].starts_with(
            "line 9, applications[1].groups[0].servers[0], application `shop`: group `web`, `db`: db (s-3) is already a member of `base`"
        ),
        "{problems:#?}"
    );
    assert_eq!(
        wave.conflicts[0].path,
        "applications[1].groups[0].servers[0]"
    );
}

#[test]
fn servers_a_selector_takes_get_their_own_settings_by_vm_name() {
    let text = "version: 1
defaults: { launch: { instanceType: t3.small } }
applications:
  - name: shop
    groups:
      - name: all
        servers: [\"vmPath:/dc1/*\"]
        serverSettings:
          db: { launch: { instanceType: r5.large } }
";
    let wave = resolved(text);
    assert!(wave.conflicts.is_empty(), "{:?}", wave.conflicts);
    let types: Vec<(&str, Option<&str>)> = wave.apps[0]
        .servers()
        .map(|s| (s.vm_name.as_str(), s.launch.instance_type.as_deref()))
        .collect();
    assert_eq!(
        types,
        [("twin", Some("t3.small")), ("db", Some("r5.large"))]
    );

    // A VM the selector does not take is a conflict; one the catalog lacks waits.
    let elsewhere = text.replace("vmPath:/dc1/*", "vmPath:/dc2/*");
    let wave = resolved(&elsewhere);
    assert_eq!(wave.conflicts.len(), 1, "{:?}", wave.conflicts);
    assert_eq!(
        wave.conflicts[0].path,
        "applications[0].groups[0].serverSettings.db"
    );
    assert!(
        wave.conflicts[0].reason.contains("does not take"),
        "{:?}",
        wave.conflicts
    );
    let unknown = text.replace("db: {", "db-9: {");
    let wave = resolved(&unknown);
    assert!(wave.conflicts.is_empty(), "{:?}", wave.conflicts);
    assert_eq!(wave.waiting.len(), 1);
    assert_eq!(wave.waiting[0].member, "db-9");

    // Settings for a name two taken servers share are ambiguous.
    let both_twins = "version: 1
applications:
  - name: shop
    groups:
      - name: all
        servers: [\"vmName:tw*\"]
        serverSettings: { twin: { launch: { instanceType: m5.large } } }
";
    let wave = resolved(both_twins);
    assert_eq!(wave.conflicts.len(), 1, "{:?}", wave.conflicts);
    assert!(
        wave.conflicts[0].reason.contains("s-1, s-2"),
        "{:?}",
        wave.conflicts
    );

    // A group of VM names only still names its settings' VMs among them.
    let named = "version: 1
applications:
  - name: shop
    groups:
      - name: all
        servers: [db]
        serverSettings: { twin: { launch: { instanceType: m5.large } } }
";
    let problems = Plan::parse(named).unwrap_err().problems;
    assert!(
        problems[0].message.contains("not named among"),
        "{problems:?}"
    );
}

#[test]
fn a_kms_key_that_would_be_ignored_is_refused_at_the_level_that_sets_it() {
    let at = |text: &str| -> Vec<String> {
        match Plan::parse(text) {
            Ok(_) => Vec::new(),
            Err(refusal) => refusal.problems.iter().map(|p| p.path.clone()).collect(),
        }
    };
    let plan = |defaults: &str, app: &str, server: &str| {
        format!(
            "version: 1
defaults: {{ replication: {{ {defaults} }} }}
applications:
  - name: shop
    settings: {{ replication: {{ {app} }} }}
    groups:
      - name: web
        servers: [db]
        serverSettings: {{ db: {{ replication: {{ {server} }} }} }}
"
        )
    };
    let key = "kmsKeyId: alias/migration";
    let cases = [
        (plan(key, "", ""), vec!["defaults.replication.kmsKeyId"]),
        (
            plan("", "", key),
            vec!["applications[0].groups[0].serverSettings.db.replication.kmsKeyId"],
        ),
        (
            plan(&format!("{key}, encrypted: true"), "encrypted: false", ""),
            vec!["applications[0].settings.replication.encrypted"],
        ),
        (
            plan(&format!("{key}, encrypted: false"), "", ""),
            vec!["defaults.replication.kmsKeyId"],
        ),
        (plan("encrypted: true", "", key), vec![]),
        (plan(&format!("{key}, encrypted: true"), "", ""), vec![]),
        (plan("", "encrypted: false", ""), vec![]),
    ];
    for (text, expected) in cases {
        assert_eq!(at(&text), expected, "{text}");
    }
}

#[test]
fn the_hints_a_plan_never_reads_are_forgotten_and_it_resolves_the_same() {
    let mut catalog = catalog();
    for (server, n) in catalog.iter_mut().zip(1..) {
        server.vm.hostname = server.vm.vm_name.clone();
        server.vm.fqdn = Some(format!("host-{n}.corp"));
        server.vm.vmware_uuid = Some(format!("uuid-{n}"));
        server.vm.user_provided_id = Some(format!("asset-{n}"));
    }
    for members in [
        "[db]",
        "[\"fqdn:host-2.*\", db]",
        "[\"vmPath:/dc1/*\"]",
        "[twin]",
    ] {
        let plan = Plan::parse(&one_app(members)).unwrap_or_else(|refusal| panic!("{refusal}"));
        let hints = catalog_index::NamedHints::of(&plan);
        let kept: Vec<HintedServer> = catalog
            .iter()
            .map(|server| hints.keep(server.id.clone(), server.vm.clone()))
            .collect();
        assert_eq!(
            desired::resolve(&plan, &kept),
            desired::resolve(&plan, &catalog),
            "{members}"
        );
        let hint = |field| kept[1].hint(field);
        assert_eq!(hint(VmField::VmName), Some("twin"), "{members}");
        assert_eq!(hint(VmField::Hostname), Some("twin"), "{members}");
        assert_eq!(hint(VmField::ServerId), Some("s-2"), "{members}");
        assert_eq!(
            hint(VmField::Fqdn).is_some(),
            members.contains("fqdn:"),
            "{members}"
        );
        assert_eq!(
            hint(VmField::VmPath).is_some(),
            members.contains("vmPath:"),
            "{members}"
        );
        assert_eq!(
            (hint(VmField::VmwareUuid), hint(VmField::UserProvidedId)),
            (None, None),
            "{members}"
        );
    }
}

#[test]
fn a_hinted_server_is_a_fraction_of_a_whole_catalog_entry() {
    // At 100,000 MGN source servers each byte here is 0.1 MB of the planner's peak.
    assert!(std::mem::size_of::<HintedServer>() <= 40);
    assert!(std::mem::size_of::<Server>() >= 7 * std::mem::size_of::<HintedServer>());
}
