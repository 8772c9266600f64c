//! An app's own life, through the real aws-sdk-sms client: its status passes through
//! CREATING, UPDATING and DELETING (a DELETING app refuses changes, then leaves
//! ListApps); its replication status passes through the states the model names, from
//! pending to the delta states, and through stopping to stopped.

use crate::common;

use std::time::Duration;

use autopilot_local::{EmulatorHandle, Scenario};
use aws_sdk_sms::types::{AppReplicationStatus as Replication, AppStatus, ServerGroup};
use aws_sdk_sms::Client;

fn scenario() -> Scenario {
    Scenario::from_text(
        r#"
name: app-lifecycle
seed: 5
timing: { catalog_import_secs: 60, run_start_delay_secs: 60, default_replication_secs: 600, app_status_secs: 30 }
connectors: [{ vm_manager_name: vcenter }]
servers: [{ vm_name: web-01 }, { vm_name: db-01 }]
"#,
    )
    .expect("valid scenario")
}

/// The emulator with the catalog imported; the catalog's server ids.
async fn imported() -> (EmulatorHandle, Client, Vec<String>) {
    let emu = common::start(scenario()).await;
    let sms = common::sms(&emu).await;
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(61));
    let servers = sms.get_servers().send().await.expect("GetServers");
    let ids = servers
        .server_list()
        .iter()
        .filter_map(|s| s.server_id().map(str::to_owned))
        .collect();
    (emu, sms, ids)
}

async fn create_app(sms: &Client, servers: &[String]) -> String {
    let mut group = ServerGroup::builder().name("tier");
    for id in servers {
        group = group.server_list(aws_sdk_sms::types::Server::builder().server_id(id).build());
    }
    let created = sms
        .create_app()
        .name("shop")
        .server_groups(group.build())
        .send()
        .await
        .expect("CreateApp");
    created
        .app_summary()
        .and_then(|s| s.app_id())
        .expect("app id")
        .to_owned()
}

async fn app_status(sms: &Client, app: &str) -> (AppStatus, Replication) {
    let answer = sms.get_app().app_id(app).send().await.expect("GetApp");
    let summary = answer.app_summary().expect("summary");
    (
        summary.status().cloned().expect("status"),
        summary
            .replication_status()
            .cloned()
            .expect("replication status"),
    )
}

#[tokio::test]
async fn an_app_is_creating_then_active_updating_then_active_and_deleting_then_gone() {
    let (emu, sms, servers) = imported().await;
    let app = create_app(&sms, &servers).await;
    assert_eq!(app_status(&sms, &app).await.0, AppStatus::Creating);
    emu.advance(Duration::from_secs(31));
    assert_eq!(app_status(&sms, &app).await.0, AppStatus::Active);

    sms.update_app()
        .app_id(&app)
        .description("the web shop")
        .send()
        .await
        .expect("UpdateApp");
    assert_eq!(app_status(&sms, &app).await.0, AppStatus::Updating);
    emu.advance(Duration::from_secs(31));
    assert_eq!(app_status(&sms, &app).await.0, AppStatus::Active);

    sms.delete_app()
        .app_id(&app)
        .send()
        .await
        .expect("DeleteApp");
    let listed = sms.list_apps().send().await.expect("ListApps");
    assert_eq!(listed.apps()[0].status(), Some(&AppStatus::Deleting));
    let refused = sms
        .update_app()
        .app_id(&app)
        .name("renamed")
        .send()
        .await
        .expect_err("a DELETING app refuses changes")
        .into_service_error();
    assert!(
        refused.is_operation_not_permitted_exception(),
        "{refused:?}"
    );
    assert!(format!("{refused:?}").contains("DELETING"), "{refused:?}");
    emu.advance(Duration::from_secs(31));
    let listed = sms.list_apps().send().await.expect("ListApps");
    assert!(
        listed.apps().is_empty(),
        "a DELETED app is no longer listed"
    );
    let gone = sms
        .get_app()
        .app_id(&app)
        .send()
        .await
        .expect_err("deleted");
    assert!(gone.into_service_error().is_invalid_parameter_exception());
}

#[tokio::test]
async fn app_replication_passes_through_its_documented_states() {
    let (emu, sms, servers) = imported().await;
    let app = create_app(&sms, &servers).await;
    emu.advance(Duration::from_secs(31));
    assert_eq!(
        app_status(&sms, &app).await.1,
        Replication::ReadyForConfiguration
    );
    sms.start_app_replication()
        .app_id(&app)
        .send()
        .await
        .expect("StartAppReplication");
    let jobs = sms.get_replication_jobs().send().await.expect("jobs");
    assert_eq!(jobs.replication_job_list().len(), 2, "a job per member");
    assert_eq!(
        app_status(&sms, &app).await.1,
        Replication::ReplicationPending
    );
    emu.advance(Duration::from_secs(120));
    assert_eq!(
        app_status(&sms, &app).await.1,
        Replication::ReplicationInProgress
    );
    emu.advance(Duration::from_secs(900));
    assert_eq!(app_status(&sms, &app).await.1, Replication::Replicated);

    // The next scheduled runs replicate the deltas.
    let mut seen = Vec::new();
    for _ in 0..(26 * 6) {
        emu.advance(Duration::from_secs(600));
        let status = app_status(&sms, &app).await.1;
        if seen.last() != Some(&status) {
            seen.push(status);
        }
    }
    assert!(
        seen.contains(&Replication::DeltaReplicationInProgress)
            && seen.last() == Some(&Replication::DeltaReplicated),
        "{seen:?}"
    );

    sms.stop_app_replication()
        .app_id(&app)
        .send()
        .await
        .expect("StopAppReplication");
    let stopping = app_status(&sms, &app).await.1;
    assert!(
        matches!(
            stopping,
            Replication::ReplicationStopping | Replication::ReplicationStopped
        ),
        "{stopping:?}"
    );
    emu.advance(Duration::from_secs(3600));
    assert_eq!(
        app_status(&sms, &app).await.1,
        Replication::ReplicationStopped
    );
}

#[tokio::test]
async fn a_repeated_create_app_with_its_client_token_makes_no_second_app() {
    let (_emu, sms, servers) = imported().await;
    let create = |token: &'static str| {
        let group = ServerGroup::builder()
            .name("tier")
            .server_list(
                aws_sdk_sms::types::Server::builder()
                    .server_id(&servers[0])
                    .build(),
            )
            .build();
        sms.create_app()
            .name("shop")
            .client_token(token)
            .server_groups(group)
            .send()
    };
    let first = create("plan-shop").await.expect("CreateApp");
    let again = create("plan-shop").await.expect("the same CreateApp again");
    let id = |answer: &aws_sdk_sms::operation::create_app::CreateAppOutput| {
        answer
            .app_summary()
            .and_then(|s| s.app_id())
            .map(str::to_owned)
    };
    assert_eq!(id(&first), id(&again));
    let listed = sms.list_apps().send().await.expect("ListApps");
    assert_eq!(listed.apps().len(), 1);
    let other = create("another-token")
        .await
        .expect_err("the server is taken");
    assert!(other.into_service_error().is_invalid_parameter_exception());
}
