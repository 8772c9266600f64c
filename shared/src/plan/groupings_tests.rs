use super::*;
use crate::migration::{CutoverPhase, CutoverState, ReplicationPhase, ReplicationState};
use crate::model::VmServer;
use crate::plan::{desired, Plan};

fn server(id: &str, hostname: &str, app: Option<&str>) -> SourceServer {
    SourceServer {
        id: id.into(),
        vm: VmServer {
            vm_name: Some(hostname.to_owned()),
            hostname: Some(hostname.to_owned()),
            ..VmServer::default()
        },
        replication: ReplicationState {
            phase: ReplicationPhase::Replicating,
            status: "CONTINUOUS".into(),
        },
        cutover: CutoverState {
            phase: CutoverPhase::ReadyToTest,
            status: "READY_FOR_TEST".into(),
        },
        replication_error: None,
        lag_seconds: None,
        sync_eta: None,
        archived: false,
        application_id: app.map(str::to_owned),
    }
}

const PLAN: &str = "version: 1
applications:
  - name: shop
    wave: wave-1
    groups: [{name: web, servers: [web-01, web-02]}]
  - name: billing
    wave: wave-1
    groups: [{name: db, servers: [db-01]}]
  - name: batch
    groups: [{name: jobs, servers: [batch-01]}]
";

fn placed(servers: &[SourceServer]) -> Vec<Placement> {
    servers.iter().map(Placement::from).collect()
}

fn resolved(servers: &[SourceServer]) -> DesiredWave {
    let plan = Plan::parse(PLAN).expect("plan");
    let catalog: Vec<_> = servers.iter().map(SourceServer::catalog_entry).collect();
    desired::resolve(&plan, &catalog)
}

fn held(id: &str, name: &str, wave: Option<&str>, managed: bool) -> HeldApplication {
    HeldApplication {
        id: id.into(),
        name: name.into(),
        wave_id: wave.map(str::to_owned),
        managed,
    }
}

#[test]
fn the_plans_waves_and_applications_are_created_once() {
    let servers = [server("s-1", "web-01", None), server("s-3", "db-01", None)];
    let wave = resolved(&servers);
    let apps = [held("app-1", "shop", None, true)];
    let made = creations(&wave, &apps, &[]);
    assert_eq!(made.waves, ["wave-1"]);
    let names: Vec<&str> = made.applications.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["billing", "batch"]);
    let waves = [HeldWave {
        id: "wave-9".into(),
        name: "wave-1".into(),
    }];
    assert!(creations(&wave, &apps, &waves).waves.is_empty());
}

#[test]
fn servers_join_their_application_and_applications_their_wave() {
    let servers = [
        server("s-1", "web-01", Some("app-1")),
        server("s-2", "web-02", None),
        server("s-3", "db-01", Some("app-1")),
        server("s-4", "old-01", Some("app-1")),
        server("s-5", "hand-01", Some("app-3")),
        server("s-6", "batch-01", Some("app-4")),
    ];
    let wave = resolved(&servers);
    let apps = [
        held("app-1", "shop", Some("wave-9"), true),
        held("app-2", "billing", None, true),
        held("app-3", "by-hand", None, false),
        held("app-4", "batch", None, false),
    ];
    let waves = [HeldWave {
        id: "wave-9".into(),
        name: "wave-1".into(),
    }];
    let calls = associations(&wave, &apps, &waves, &placed(&servers));
    let join = |app: &str, name: &str, servers: &[&str]| Association::Join {
        app_id: app.into(),
        app_name: name.into(),
        servers: servers.iter().map(|s| ServerId::from(*s)).collect(),
    };
    let leave = |app: &str, name: &str, servers: &[&str]| Association::Leave {
        app_id: app.into(),
        app_name: name.into(),
        servers: servers.iter().map(|s| ServerId::from(*s)).collect(),
    };
    assert_eq!(
        calls,
        [
            leave("app-1", "shop", &["s-3", "s-4"]),
            join("app-1", "shop", &["s-2"]),
            join("app-2", "billing", &["s-3"]),
            Association::IntoWave {
                wave_id: "wave-9".into(),
                wave_name: "wave-1".into(),
                app_ids: vec!["app-2".into()],
            },
        ],
        "db-01 leaves shop for billing; old-01 leaves the managed shop; hand-01 stays"
    );
    let settled = [
        server("s-1", "web-01", Some("app-1")),
        server("s-2", "web-02", Some("app-1")),
        server("s-3", "db-01", Some("app-2")),
        server("s-6", "batch-01", Some("app-4")),
    ];
    let apps = [
        held("app-1", "shop", Some("wave-9"), true),
        held("app-2", "billing", Some("wave-9"), true),
        held("app-4", "batch", None, false),
    ];
    assert!(associations(&wave, &apps, &waves, &placed(&settled)).is_empty());
}

#[test]
fn associations_go_fifty_ids_a_call() {
    let mut text = String::from("version: 1\napplications:\n  - name: big\n    groups: [{name: all, servers: [\"hostname:host-*\"]}]\n");
    text.push('\n');
    let plan = Plan::parse(&text).expect("plan");
    let servers: Vec<_> = (0..120)
        .map(|i| server(&format!("s-{i:03}"), &format!("host-{i:03}"), None))
        .collect();
    let catalog: Vec<_> = servers.iter().map(SourceServer::catalog_entry).collect();
    let wave = desired::resolve(&plan, &catalog);
    let calls = associations(
        &wave,
        &[held("app-1", "big", None, true)],
        &[],
        &placed(&servers),
    );
    let sizes: Vec<usize> = calls
        .iter()
        .map(|c| match c {
            Association::Join { servers, .. } => servers.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
}

#[test]
fn an_application_in_another_wave_leaves_it_first() {
    let wave = resolved(&[]);
    let waves = [
        HeldWave {
            id: "wave-9".into(),
            name: "wave-1".into(),
        },
        HeldWave {
            id: "wave-8".into(),
            name: "wave-0".into(),
        },
    ];
    let apps = [
        held("app-1", "shop", Some("wave-8"), true),
        held("app-2", "billing", Some("wave-9"), true),
    ];
    let calls = associations(&wave, &apps, &waves, &[]);
    assert_eq!(
        calls,
        [
            Association::OutOfWave {
                wave_id: "wave-8".into(),
                wave_name: "wave-0".into(),
                app_ids: vec!["app-1".into()]
            },
            Association::IntoWave {
                wave_id: "wave-9".into(),
                wave_name: "wave-1".into(),
                app_ids: vec!["app-1".into()]
            },
        ]
    );
}
