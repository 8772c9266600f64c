//! Replication and launch settings on the MGN stand-in through aws-sdk-mgn: the default
//! templates InitializeService makes, a server's configurations taken from them, updates
//! checked member by member against the model, and the templates' own life.

use crate::common;

use autopilot_local::mgn::MgnOptions;
use autopilot_local::Scenario;
use aws_sdk_mgn::error::ProvideErrorMetadata;
use aws_sdk_mgn::types::{
    BootMode, LaunchDisposition, Licensing, ReplicationConfigurationDataPlaneRouting,
    ReplicationConfigurationDefaultLargeStagingDiskType, ReplicationConfigurationEbsEncryption,
    TargetInstanceTypeRightSizingMethod,
};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web, volumes: [{size_gb: 20}, {size_gb: 50}]}]
network:
  subnets: [{id: subnet-0aaaaaaaaaaaaaaa1, vpc: vpc-1}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_take_their_settings_from_the_templates_and_keep_their_updates() {
    let (mgn, client) = common::mgn_account(
        Scenario::from_text(SCENARIO).expect("scenario"),
        MgnOptions::default(),
    )
    .await;
    let templates = client
        .describe_replication_configuration_templates()
        .send()
        .await
        .expect("listed");
    assert_eq!(
        templates.items().len(),
        1,
        "InitializeService made the default"
    );
    assert_eq!(
        templates.items()[0].staging_area_subnet_id(),
        Some("subnet-0aaaaaaaaaaaaaaa1"),
        "in the account's subnet"
    );
    let launch_templates = client
        .describe_launch_configuration_templates()
        .send()
        .await
        .expect("listed");
    assert_eq!(launch_templates.items().len(), 1);

    let servers = client
        .describe_source_servers()
        .send()
        .await
        .expect("listed");
    let id = servers.items()[0]
        .source_server_id()
        .expect("an id")
        .to_owned();
    let replication = client
        .get_replication_configuration()
        .source_server_id(&id)
        .send()
        .await
        .expect("GetReplicationConfiguration");
    assert_eq!(replication.replicated_disks().len(), 2);
    assert_eq!(replication.name(), Some("web"));
    let updated = client
        .update_replication_configuration()
        .source_server_id(&id)
        .bandwidth_throttling(100)
        .data_plane_routing(ReplicationConfigurationDataPlaneRouting::PublicIp)
        .send()
        .await
        .expect("UpdateReplicationConfiguration");
    assert_eq!(updated.bandwidth_throttling(), 100);
    assert_eq!(
        updated.staging_area_subnet_id(),
        Some("subnet-0aaaaaaaaaaaaaaa1"),
        "the rest kept"
    );
    let refused = client
        .update_replication_configuration()
        .source_server_id(&id)
        .bandwidth_throttling(10_001)
        .send()
        .await
        .expect_err("past the model's bound")
        .into_service_error();
    assert_eq!(refused.code(), Some("ValidationException"));

    let launch = client
        .update_launch_configuration()
        .source_server_id(&id)
        .target_instance_type_right_sizing_method(TargetInstanceTypeRightSizingMethod::None)
        .copy_private_ip(true)
        .licensing(Licensing::builder().os_byol(true).build())
        .boot_mode(BootMode::Uefi)
        .launch_disposition(LaunchDisposition::Started)
        .send()
        .await
        .expect("UpdateLaunchConfiguration");
    assert_eq!(launch.copy_private_ip(), Some(true));
    assert!(launch
        .ec2_launch_template_id()
        .is_some_and(|t| t.starts_with("lt-") && t.len() == 20));
    let read = client
        .get_launch_configuration()
        .source_server_id(&id)
        .send()
        .await
        .expect("GetLaunchConfiguration");
    assert_eq!(read.boot_mode(), Some(&BootMode::Uefi));
    assert_eq!(read.licensing().and_then(|l| l.os_byol()), Some(true));
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_created_updated_and_deleted_but_never_the_last() {
    let (mgn, client) = common::mgn_account(
        Scenario::from_text(SCENARIO).expect("scenario"),
        MgnOptions::default(),
    )
    .await;
    let incomplete = client
        .create_replication_configuration_template()
        .staging_area_subnet_id("subnet-0aaaaaaaaaaaaaaa1")
        .send()
        .await
        .expect_err("most settings are required")
        .into_service_error();
    assert_eq!(incomplete.code(), Some("ValidationException"));
    let created = client
        .create_replication_configuration_template()
        .staging_area_subnet_id("subnet-0aaaaaaaaaaaaaaa1")
        .associate_default_security_group(true)
        .set_replication_servers_security_groups_ids(Some(vec![]))
        .replication_server_instance_type("t3.small")
        .use_dedicated_replication_server(false)
        .default_large_staging_disk_type(ReplicationConfigurationDefaultLargeStagingDiskType::Gp3)
        .ebs_encryption(ReplicationConfigurationEbsEncryption::Default)
        .bandwidth_throttling(0)
        .data_plane_routing(ReplicationConfigurationDataPlaneRouting::PrivateIp)
        .create_public_ip(false)
        .set_staging_area_tags(Some(Default::default()))
        .tags("team", "migration")
        .send()
        .await
        .expect("created");
    let template = created.replication_configuration_template_id().to_owned();
    assert!(template.starts_with("rct-"));
    let updated = client
        .update_replication_configuration_template()
        .replication_configuration_template_id(&template)
        .replication_server_instance_type("m5.large")
        .send()
        .await
        .expect("updated");
    assert_eq!(updated.replication_server_instance_type(), Some("m5.large"));
    let filtered = client
        .describe_replication_configuration_templates()
        .replication_configuration_template_ids(&template)
        .send()
        .await
        .expect("filtered");
    assert_eq!(filtered.items().len(), 1);
    client
        .delete_replication_configuration_template()
        .replication_configuration_template_id(&template)
        .send()
        .await
        .expect("deleted");
    let launch = client
        .describe_launch_configuration_templates()
        .send()
        .await
        .expect("listed");
    let last = launch.items()[0]
        .launch_configuration_template_id()
        .to_owned();
    let refused = client
        .delete_launch_configuration_template()
        .launch_configuration_template_id(&last)
        .send()
        .await
        .expect_err("the last one")
        .into_service_error();
    assert_eq!(refused.code(), Some("ConflictException"));
    mgn.shutdown().await;
}
