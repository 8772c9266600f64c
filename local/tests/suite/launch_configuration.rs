//! Launching needs a launch configuration, through the real aws-sdk-sms client: an app
//! without one is refused; a put configuration is checked (CONFIGURATION_IN_PROGRESS,
//! then READY_FOR_LAUNCH or CONFIGURATION_INVALID naming every problem, against the
//! scenario's declared network); launches the scenario makes fail end LAUNCH_FAILED
//! with a message and may be retried; the other reading of an unconfigured launch
//! (accepted, then LAUNCH_FAILED) plays when the scenario asks for it.

use crate::common;

use std::time::Duration;

use autopilot_local::{EmulatorHandle, Scenario};
use aws_sdk_sms::types::{
    AppLaunchStatus, Server, ServerGroupLaunchConfiguration, ServerLaunchConfiguration,
};
use aws_sdk_sms::Client;

/// Two servers in one app, an account with one VPC, and what else `extra` adds.
fn scenario(extra: &str) -> Scenario {
    Scenario::from_text(&format!(
        r#"
name: launch-configuration
seed: 3
timing: {{ catalog_import_secs: 60, run_start_delay_secs: 60, default_replication_secs: 600, configuration_secs: 60 }}
connectors: [{{ vm_manager_name: vcenter }}]
servers: [{{ vm_name: web-01 }}, {{ vm_name: db-01 }}]
network:
  vpcs: [vpc-1]
  subnets: [{{ id: subnet-1, vpc: vpc-1 }}, {{ id: subnet-9, vpc: vpc-9 }}]
  security_groups: [{{ id: sg-1, vpc: vpc-1 }}]
  key_pairs: [ops]
  instance_types: [t3.small, t3.medium]
{extra}
"#
    ))
    .expect("valid scenario")
}

const PLAIN_APP: &str =
    "apps: [{ name: shop, groups: [{ name: tier, servers: [web-01, db-01] }] }]";

/// The emulator with the catalog imported and every member of `shop` replicated.
async fn replicated(scenario: Scenario) -> (EmulatorHandle, Client, String) {
    let emu = common::start(scenario).await;
    let sms = common::sms(&emu).await;
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(61));
    let apps = sms.list_apps().send().await.expect("ListApps");
    let app = apps.apps()[0].app_id().expect("app id").to_owned();
    sms.start_app_replication()
        .app_id(&app)
        .send()
        .await
        .expect("StartAppReplication");
    emu.advance(Duration::from_secs(3 * 3600));
    (emu, sms, app)
}

async fn status(sms: &Client, app: &str) -> (AppLaunchStatus, String) {
    let answer = sms.get_app().app_id(app).send().await.expect("GetApp");
    let summary = answer.app_summary().expect("summary");
    (
        summary.launch_status().cloned().expect("launch status"),
        summary
            .launch_status_message()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn launch_refusal(sms: &Client, app: &str) -> String {
    let error = sms
        .launch_app()
        .app_id(app)
        .send()
        .await
        .expect_err("LaunchApp is refused");
    let service = error.into_service_error();
    assert!(
        service.is_operation_not_permitted_exception(),
        "{service:?}"
    );
    service.to_string()
}

/// A server's launch settings.
fn server(id: &str, logical_id: &str, subnet: &str) -> ServerLaunchConfiguration {
    ServerLaunchConfiguration::builder()
        .server(Server::builder().server_id(id).build())
        .logical_id(logical_id)
        .instance_type("t3.small")
        .vpc("vpc-1")
        .subnet(subnet)
        .security_group("sg-1")
        .ec2_key_name("ops")
        .build()
}

/// Puts `servers` as the launch configuration of the app's only group.
async fn put(sms: &Client, app: &str, servers: Vec<ServerLaunchConfiguration>) {
    let answer = sms.get_app().app_id(app).send().await.expect("GetApp");
    let group = answer.server_groups()[0]
        .server_group_id()
        .expect("group id");
    sms.put_app_launch_configuration()
        .app_id(app)
        .auto_launch(false)
        .server_group_launch_configurations(
            ServerGroupLaunchConfiguration::builder()
                .server_group_id(group)
                .launch_order(1)
                .set_server_launch_configurations(Some(servers))
                .build(),
        )
        .send()
        .await
        .expect("PutAppLaunchConfiguration");
}

/// Puts a complete, valid configuration for both members; returns web-01's server id.
async fn put_complete(emu: &EmulatorHandle, sms: &Client, app: &str) -> String {
    let (web, db) = (
        common::server_id(emu, "web-01"),
        common::server_id(emu, "db-01"),
    );
    put(
        sms,
        app,
        vec![
            server(&web, "Web01", "subnet-1"),
            server(&db, "Db01", "subnet-1"),
        ],
    )
    .await;
    web
}

#[tokio::test]
async fn an_app_without_a_launch_configuration_is_refused() {
    let (emu, sms, app) = replicated(scenario(PLAIN_APP)).await;
    let (launch_status, _) = status(&sms, &app).await;
    assert_eq!(launch_status, AppLaunchStatus::ReadyForConfiguration);
    let refusal = launch_refusal(&sms, &app).await;
    assert!(refusal.contains("has no launch configuration"), "{refusal}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_complete_configuration_is_checked_then_launches() {
    let (emu, sms, app) = replicated(scenario(PLAIN_APP)).await;
    put_complete(&emu, &sms, &app).await;
    assert_eq!(
        status(&sms, &app).await.0,
        AppLaunchStatus::ConfigurationInProgress
    );
    let refusal = launch_refusal(&sms, &app).await;
    assert!(refusal.contains("being checked"), "{refusal}");
    emu.advance(Duration::from_secs(61));
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::ReadyForLaunch);
    sms.launch_app()
        .app_id(&app)
        .send()
        .await
        .expect("LaunchApp");
    emu.advance(Duration::from_secs(11 * 60));
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::Launched);
    emu.shutdown().await;
}

#[tokio::test]
async fn an_incomplete_or_foreign_configuration_is_invalid_naming_each_problem() {
    let (emu, sms, app) = replicated(scenario(PLAIN_APP)).await;
    let (web, db) = (
        common::server_id(&emu, "web-01"),
        common::server_id(&emu, "db-01"),
    );
    let mut no_logical_id = server(&web, "Web01", "subnet-1");
    no_logical_id.logical_id = None;
    put(&sms, &app, vec![no_logical_id]).await;
    emu.advance(Duration::from_secs(61));
    let (launch_status, message) = status(&sms, &app).await;
    assert_eq!(launch_status, AppLaunchStatus::ConfigurationInvalid);
    assert!(
        message.contains(&format!("server {web}: logicalId is missing")),
        "{message}"
    );
    assert!(
        message.contains(&format!("server {db} has no launch configuration")),
        "{message}"
    );

    put(
        &sms,
        &app,
        vec![
            server(&web, "Web01", "subnet-2"),
            server(&db, "Db01", "subnet-9"),
        ],
    )
    .await;
    emu.advance(Duration::from_secs(61));
    let (launch_status, message) = status(&sms, &app).await;
    assert_eq!(launch_status, AppLaunchStatus::ConfigurationInvalid);
    assert!(
        message.contains("subnet subnet-2 does not exist in the account"),
        "{message}"
    );
    assert!(
        message.contains("subnet subnet-9 is in vpc-9, not in vpc-1"),
        "{message}"
    );
    let refusal = launch_refusal(&sms, &app).await;
    assert!(
        refusal.contains("subnet subnet-2 does not exist"),
        "{refusal}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn injected_launch_failures_end_launch_failed_then_a_relaunch_succeeds() {
    let app = r#"apps:
  - name: shop
    groups: [{ name: tier, servers: [web-01, db-01] }]
    launch: { instance_type: t3.small, subnet: subnet-1, security_group: sg-1, vpc: vpc-1 }
    launch_failures: 1"#;
    let (emu, sms, app) = replicated(scenario(app)).await;
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::ReadyForLaunch);
    sms.launch_app()
        .app_id(&app)
        .send()
        .await
        .expect("LaunchApp");
    emu.advance(Duration::from_secs(11 * 60));
    let (launch_status, message) = status(&sms, &app).await;
    assert_eq!(launch_status, AppLaunchStatus::LaunchFailed);
    assert!(
        message.starts_with("Launch failed: CloudFormation stack"),
        "{message}"
    );
    sms.launch_app()
        .app_id(&app)
        .send()
        .await
        .expect("LaunchApp again");
    emu.advance(Duration::from_secs(11 * 60));
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::Launched);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_other_reading_accepts_an_unconfigured_launch_and_fails_it() {
    let extra = format!("{PLAIN_APP}\nreadings: {{ unconfigured_launch: fails_later }}");
    let (emu, sms, app) = replicated(scenario(&extra)).await;
    sms.launch_app()
        .app_id(&app)
        .send()
        .await
        .expect("accepted");
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::LaunchPending);
    emu.advance(Duration::from_secs(11 * 60));
    let (launch_status, message) = status(&sms, &app).await;
    assert_eq!(launch_status, AppLaunchStatus::LaunchFailed);
    assert!(
        message.contains("the app has no launch configuration"),
        "{message}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_change_of_members_checks_the_configuration_again() {
    let (emu, sms, app) = replicated(scenario(PLAIN_APP)).await;
    let web = put_complete(&emu, &sms, &app).await;
    emu.advance(Duration::from_secs(61));
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::ReadyForLaunch);
    let answer = sms.get_app().app_id(&app).send().await.expect("GetApp");
    let mut group = answer.server_groups()[0].clone();
    group.server_list = Some(vec![Server::builder().server_id(&web).build()]);
    sms.update_app()
        .app_id(&app)
        .server_groups(group)
        .send()
        .await
        .expect("UpdateApp");
    assert_eq!(
        status(&sms, &app).await.0,
        AppLaunchStatus::ConfigurationInProgress
    );
    emu.advance(Duration::from_secs(61));
    assert_eq!(status(&sms, &app).await.0, AppLaunchStatus::ReadyForLaunch);
    emu.shutdown().await;
}
