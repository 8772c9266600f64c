//! MGN's launch configuration of one source server, the part the plan sets
//! (`plan::mgn_launch`): read with GetLaunchConfiguration, changed with
//! UpdateLaunchConfiguration, each field in MGN's words both ways.

use aws_sdk_mgn::types::{BootMode as MgnBootMode, Licensing, TargetInstanceTypeRightSizingMethod};
use aws_sdk_mgn::Client;

use crate::error::AwsCallError;
use crate::model::ServerId;
use crate::plan::mgn_launch::MgnLaunch;
use crate::plan::{BootMode, RightSizing};

/// What MGN holds for `server`.
pub async fn get(mgn: &Client, server: &ServerId) -> Result<MgnLaunch, AwsCallError> {
    let held = mgn
        .get_launch_configuration()
        .source_server_id(server.as_str())
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "GetLaunchConfiguration", &error))?;
    Ok(MgnLaunch {
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
    })
}

/// Sets the fields `change` gives on `server`'s launch configuration, the others left
/// as they are.
pub async fn update(
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
