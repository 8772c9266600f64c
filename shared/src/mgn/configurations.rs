//! MGN's launch and replication configurations of one source server, the parts the
//! plan sets (`plan::mgn_settings`): read with Get…Configuration, changed with
//! Update…Configuration, each field in MGN's words both ways; and the EC2 launch
//! template MGN launches the server from.

use aws_sdk_mgn::operation::get_launch_configuration::GetLaunchConfigurationOutput;
use aws_sdk_mgn::types::{
    BootMode as MgnBootMode, Licensing, ReplicationConfigurationDataPlaneRouting,
    ReplicationConfigurationEbsEncryption, TargetInstanceTypeRightSizingMethod,
};
use aws_sdk_mgn::Client;

use crate::error::AwsCallError;
use crate::model::ServerId;
use crate::plan::mgn_settings::{MgnLaunch, MgnReplication};
use crate::plan::{BootMode, DataPlaneRouting, RightSizing};

async fn get_launch(
    mgn: &Client,
    server: &ServerId,
) -> Result<GetLaunchConfigurationOutput, AwsCallError> {
    mgn.get_launch_configuration()
        .source_server_id(server.as_str())
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "GetLaunchConfiguration", &error))
}

/// What MGN holds of a server's launch: the settings the plan sets, and the EC2 launch
/// template it launches the server from (one per server, for the server's life).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldLaunch {
    pub settings: MgnLaunch,
    /// None when MGN's answer named no template.
    pub template_id: Option<String>,
}

/// The EC2 launch template MGN launches `server` from.
pub async fn launch_template_id(mgn: &Client, server: &ServerId) -> Result<String, AwsCallError> {
    template_id_of(&get_launch(mgn, server).await?)
}

fn template_id_of(held: &GetLaunchConfigurationOutput) -> Result<String, AwsCallError> {
    held.ec2_launch_template_id()
        .map(str::to_owned)
        .ok_or_else(|| {
            let missing = crate::paging::MissingField {
                service: "MGN",
                shape: "LaunchConfiguration",
                field: "ec2LaunchTemplateID",
            };
            AwsCallError::unusable_answer(
                "MGN",
                "GetLaunchConfiguration",
                "MissingField",
                missing.to_string(),
            )
        })
}

/// The launch configuration MGN holds for `server`, with its template.
pub async fn launch(mgn: &Client, server: &ServerId) -> Result<HeldLaunch, AwsCallError> {
    let held = get_launch(mgn, server).await?;
    Ok(HeldLaunch {
        settings: launch_settings(&held),
        template_id: held.ec2_launch_template_id().map(str::to_owned),
    })
}

fn launch_settings(held: &GetLaunchConfigurationOutput) -> MgnLaunch {
    MgnLaunch {
        right_sizing: held
            .target_instance_type_right_sizing_method()
            .and_then(|m| match m {
                TargetInstanceTypeRightSizingMethod::None => Some(RightSizing::None),
                TargetInstanceTypeRightSizingMethod::Basic => Some(RightSizing::Basic),
                _ => None,
            }),
        byol: held.licensing().and_then(Licensing::os_byol),
        boot_mode: held.boot_mode().and_then(|mode| match mode {
            MgnBootMode::LegacyBios => Some(BootMode::LegacyBios),
            MgnBootMode::Uefi => Some(BootMode::Uefi),
            MgnBootMode::UseSource => Some(BootMode::UseSource),
            _ => None,
        }),
        copy_private_ip: held.copy_private_ip(),
        copy_tags: held.copy_tags(),
    }
}

/// Sets the fields `change` gives on `server`'s launch configuration, the others left
/// as they are.
pub async fn update_launch(
    mgn: &Client,
    server: &ServerId,
    change: &MgnLaunch,
) -> Result<(), AwsCallError> {
    let right_sizing = change.right_sizing.map(|r| match r {
        RightSizing::None => TargetInstanceTypeRightSizingMethod::None,
        RightSizing::Basic => TargetInstanceTypeRightSizingMethod::Basic,
    });
    let boot_mode = change.boot_mode.map(|b| match b {
        BootMode::LegacyBios => MgnBootMode::LegacyBios,
        BootMode::Uefi => MgnBootMode::Uefi,
        BootMode::UseSource => MgnBootMode::UseSource,
    });
    let licensing = change
        .byol
        .map(|byol| Licensing::builder().os_byol(byol).build());
    mgn.update_launch_configuration()
        .source_server_id(server.as_str())
        .set_target_instance_type_right_sizing_method(right_sizing)
        .set_boot_mode(boot_mode)
        .set_licensing(licensing)
        .set_copy_private_ip(change.copy_private_ip)
        .set_copy_tags(change.copy_tags)
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "UpdateLaunchConfiguration", &error))?;
    Ok(())
}

/// The replication configuration MGN holds for `server`.
pub async fn replication(mgn: &Client, server: &ServerId) -> Result<MgnReplication, AwsCallError> {
    let held = mgn
        .get_replication_configuration()
        .source_server_id(server.as_str())
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "GetReplicationConfiguration", &error))?;
    let custom_key = held.ebs_encryption() == Some(&ReplicationConfigurationEbsEncryption::Custom);
    Ok(MgnReplication {
        staging_subnet: held.staging_area_subnet_id().map(str::to_owned),
        replication_server_instance_type: held
            .replication_server_instance_type()
            .map(str::to_owned),
        dedicated_replication_server: held.use_dedicated_replication_server(),
        bandwidth_throttling: u64::try_from(held.bandwidth_throttling()).ok(),
        data_plane_routing: held.data_plane_routing().and_then(|routing| match routing {
            ReplicationConfigurationDataPlaneRouting::PrivateIp => {
                Some(DataPlaneRouting::PrivateIp)
            }
            ReplicationConfigurationDataPlaneRouting::PublicIp => Some(DataPlaneRouting::PublicIp),
            _ => None,
        }),
        create_public_ip: held.create_public_ip(),
        volume_key: held
            .ebs_encryption_key_arn()
            .filter(|_| custom_key)
            .map(str::to_owned),
    })
}

/// Sets the fields `change` gives on `server`'s replication configuration, the others
/// left as they are; a volume key makes the volumes' encryption CUSTOM.
pub async fn update_replication(
    mgn: &Client,
    server: &ServerId,
    change: &MgnReplication,
) -> Result<(), AwsCallError> {
    let routing = change.data_plane_routing.map(|routing| match routing {
        DataPlaneRouting::PrivateIp => ReplicationConfigurationDataPlaneRouting::PrivateIp,
        DataPlaneRouting::PublicIp => ReplicationConfigurationDataPlaneRouting::PublicIp,
    });
    let bandwidth = change
        .bandwidth_throttling
        .map(|mbps| i64::try_from(mbps).unwrap_or(i64::MAX));
    let encryption = change
        .volume_key
        .as_ref()
        .map(|_| ReplicationConfigurationEbsEncryption::Custom);
    mgn.update_replication_configuration()
        .source_server_id(server.as_str())
        .set_staging_area_subnet_id(change.staging_subnet.clone())
        .set_replication_server_instance_type(change.replication_server_instance_type.clone())
        .set_use_dedicated_replication_server(change.dedicated_replication_server)
        .set_bandwidth_throttling(bandwidth)
        .set_data_plane_routing(routing)
        .set_create_public_ip(change.create_public_ip)
        .set_ebs_encryption(encryption)
        .set_ebs_encryption_key_arn(change.volume_key.clone())
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "UpdateReplicationConfiguration", &error))?;
    Ok(())
}
