//! App configurations on the wire: GetAppLaunchConfiguration and
//! GetAppReplicationConfiguration answers read into the plan's settings (groups by
//! name), and the plan's settings written as PutAppLaunchConfiguration and
//! PutAppReplicationConfiguration groups (by the ids SMS gave the groups).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sms::types as sms;

use crate::model::ServerId;
use crate::plan::reconcile::{GroupLaunch, LaunchConfig, ReplicationConfig};
use crate::plan::{LaunchSettings, LicenseType, ReplicationSettings, S3Object, ScriptType};

/// A value as the loose decoders compare it: upper case, words joined by `_`.
fn loose(value: &str) -> String {
    value.trim().to_ascii_uppercase().replace([' ', '-'], "_")
}

/// The launch configuration SMS holds, with groups named through `names` (id → name);
/// groups or servers without an id are left out, since nothing could refer to them.
pub fn launch_config_from(
    groups: &[sms::ServerGroupLaunchConfiguration],
    names: &BTreeMap<String, String>,
) -> LaunchConfig {
    let mut config = LaunchConfig::default();
    for group in groups {
        let Some(name) = group.server_group_id().and_then(|id| names.get(id)) else {
            continue;
        };
        let servers = group
            .server_launch_configurations()
            .iter()
            .filter_map(|server| {
                let id = ServerId::from(server.server()?.server_id()?);
                let logical_id = server.logical_id().unwrap_or_default().to_owned();
                Some((id, (logical_id, Arc::new(launch_settings_from(server)))))
            })
            .collect();
        let launch = GroupLaunch {
            launch_order: group.launch_order(),
            servers,
        };
        config.0.insert(name.clone(), launch);
    }
    config
}

fn launch_settings_from(server: &sms::ServerLaunchConfiguration) -> LaunchSettings {
    let object = |location: &sms::S3Location| {
        Some(S3Object {
            bucket: location.bucket()?.to_owned(),
            key: location.key()?.to_owned(),
        })
    };
    LaunchSettings {
        instance_type: server.instance_type().map(str::to_owned),
        vpc: server.vpc().map(str::to_owned),
        subnet: server.subnet().map(str::to_owned),
        security_group: server.security_group().map(str::to_owned),
        ec2_key_name: server.ec2_key_name().map(str::to_owned),
        iam_instance_profile_name: server.iam_instance_profile_name().map(str::to_owned),
        associate_public_ip_address: server.associate_public_ip_address(),
        user_data: server
            .user_data()
            .and_then(|u| u.s3_location())
            .and_then(object),
        configure_script: server.configure_script().and_then(object),
        configure_script_type: server.configure_script_type().and_then(|t| {
            match loose(t.as_str()).as_str() {
                "SHELL_SCRIPT" => Some(ScriptType::ShellScript),
                "POWERSHELL_SCRIPT" => Some(ScriptType::PowershellScript),
                _ => None,
            }
        }),
        // SMS holds none of MGN's launch settings.
        ..LaunchSettings::default()
    }
}

/// The launch configuration as PutAppLaunchConfiguration takes it, groups by the ids
/// in `ids` (name → id); a group without an id is left out.
pub fn launch_config_to(
    config: &LaunchConfig,
    ids: &BTreeMap<String, String>,
) -> Vec<sms::ServerGroupLaunchConfiguration> {
    config
        .0
        .iter()
        .filter_map(|(name, group)| {
            let servers = group
                .servers
                .iter()
                .map(|(id, (logical_id, settings))| launch_settings_to(id, logical_id, settings))
                .collect();
            Some(
                sms::ServerGroupLaunchConfiguration::builder()
                    .server_group_id(ids.get(name)?)
                    .set_launch_order(group.launch_order)
                    .set_server_launch_configurations(Some(servers))
                    .build(),
            )
        })
        .collect()
}

fn launch_settings_to(
    server: &ServerId,
    logical_id: &str,
    settings: &LaunchSettings,
) -> sms::ServerLaunchConfiguration {
    let location = |object: &S3Object| {
        sms::S3Location::builder()
            .bucket(&object.bucket)
            .key(&object.key)
            .build()
    };
    let script_type = settings.configure_script_type.map(|t| match t {
        ScriptType::ShellScript => sms::ScriptType::ShellScript,
        ScriptType::PowershellScript => sms::ScriptType::PowershellScript,
    });
    sms::ServerLaunchConfiguration::builder()
        .server(sms::Server::builder().server_id(server.as_str()).build())
        .logical_id(logical_id)
        .set_instance_type(settings.instance_type.clone())
        .set_vpc(settings.vpc.clone())
        .set_subnet(settings.subnet.clone())
        .set_security_group(settings.security_group.clone())
        .set_ec2_key_name(settings.ec2_key_name.clone())
        .set_iam_instance_profile_name(settings.iam_instance_profile_name.clone())
        .set_associate_public_ip_address(settings.associate_public_ip_address)
        .set_user_data(settings.user_data.as_ref().map(|object| {
            sms::UserData::builder()
                .s3_location(location(object))
                .build()
        }))
        .set_configure_script(settings.configure_script.as_ref().map(location))
        .set_configure_script_type(script_type)
        .build()
}

/// The replication configuration SMS holds, groups named through `names` (id → name).
pub fn replication_config_from(
    groups: &[sms::ServerGroupReplicationConfiguration],
    names: &BTreeMap<String, String>,
) -> ReplicationConfig {
    let mut config = ReplicationConfig::default();
    for group in groups {
        let Some(name) = group.server_group_id().and_then(|id| names.get(id)) else {
            continue;
        };
        let servers = group
            .server_replication_configurations()
            .iter()
            .filter_map(|server| {
                let id = ServerId::from(server.server()?.server_id()?);
                let parameters = server.server_replication_parameters();
                Some((
                    id,
                    Arc::new(
                        parameters
                            .map(replication_settings_from)
                            .unwrap_or_default(),
                    ),
                ))
            })
            .collect();
        config.0.insert(name.clone(), servers);
    }
    config
}

fn replication_settings_from(parameters: &sms::ServerReplicationParameters) -> ReplicationSettings {
    ReplicationSettings {
        frequency: parameters.frequency().and_then(|f| u32::try_from(f).ok()),
        run_once: parameters.run_once(),
        license_type: parameters
            .license_type()
            .and_then(|t| match loose(t.as_str()).as_str() {
                "AWS" => Some(LicenseType::Aws),
                "BYOL" => Some(LicenseType::Byol),
                _ => None,
            }),
        number_of_recent_amis_to_keep: parameters
            .number_of_recent_amis_to_keep()
            .and_then(|n| u32::try_from(n).ok()),
        encrypted: parameters.encrypted(),
        kms_key_id: parameters.kms_key_id().map(str::to_owned),
        // SMS holds none of MGN's replication settings.
        ..ReplicationSettings::default()
    }
}

/// The replication configuration as PutAppReplicationConfiguration takes it.
pub fn replication_config_to(
    config: &ReplicationConfig,
    ids: &BTreeMap<String, String>,
) -> Vec<sms::ServerGroupReplicationConfiguration> {
    config
        .0
        .iter()
        .filter_map(|(name, servers)| {
            let servers = servers
                .iter()
                .map(|(id, settings)| {
                    sms::ServerReplicationConfiguration::builder()
                        .server(sms::Server::builder().server_id(id.as_str()).build())
                        .server_replication_parameters(replication_settings_to(settings))
                        .build()
                })
                .collect();
            Some(
                sms::ServerGroupReplicationConfiguration::builder()
                    .server_group_id(ids.get(name)?)
                    .set_server_replication_configurations(Some(servers))
                    .build(),
            )
        })
        .collect()
}

fn replication_settings_to(settings: &ReplicationSettings) -> sms::ServerReplicationParameters {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    sms::ServerReplicationParameters::builder()
        .set_frequency(settings.frequency.map(count))
        .set_run_once(settings.run_once)
        .set_license_type(settings.license_type.map(|t| match t {
            LicenseType::Aws => sms::LicenseType::Aws,
            LicenseType::Byol => sms::LicenseType::Byol,
        }))
        .set_number_of_recent_amis_to_keep(settings.number_of_recent_amis_to_keep.map(count))
        .set_encrypted(settings.encrypted)
        .set_kms_key_id(settings.kms_key_id.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let by_name: BTreeMap<String, String> = [("web", "sg-1"), ("db", "sg-2")]
            .into_iter()
            .map(|(n, i)| (n.to_owned(), i.to_owned()))
            .collect();
        let by_id = by_name
            .iter()
            .map(|(n, i)| (i.clone(), n.clone()))
            .collect();
        (by_name, by_id)
    }

    #[test]
    fn launch_configurations_survive_the_wire() {
        let settings = LaunchSettings {
            instance_type: Some("m5.large".into()),
            subnet: Some("subnet-1".into()),
            security_group: Some("sg-9".into()),
            associate_public_ip_address: Some(false),
            user_data: Some(S3Object {
                bucket: "b".into(),
                key: "k".into(),
            }),
            configure_script_type: Some(ScriptType::PowershellScript),
            ..LaunchSettings::default()
        };
        let mut config = LaunchConfig::default();
        config.0.insert(
            "web".into(),
            GroupLaunch {
                launch_order: Some(2),
                servers: [(
                    ServerId::from("s-1"),
                    ("Web01".to_owned(), Arc::new(settings)),
                )]
                .into(),
            },
        );
        config.0.insert("db".into(), GroupLaunch::default());
        let (by_name, by_id) = ids();
        let wire = launch_config_to(&config, &by_name);
        assert_eq!(launch_config_from(&wire, &by_id), config);
    }

    #[test]
    fn replication_configurations_survive_the_wire_and_read_loosely() {
        let settings = ReplicationSettings {
            frequency: Some(6),
            license_type: Some(LicenseType::Byol),
            number_of_recent_amis_to_keep: Some(2),
            encrypted: Some(true),
            ..ReplicationSettings::default()
        };
        let mut config = ReplicationConfig::default();
        config.0.insert(
            "db".into(),
            [(ServerId::from("s-2"), Arc::new(settings))].into(),
        );
        let (by_name, by_id) = ids();
        let wire = replication_config_to(&config, &by_name);
        assert_eq!(replication_config_from(&wire, &by_id), config);
        let spelled = sms::ServerReplicationParameters::builder()
            .license_type(sms::LicenseType::from("byol"))
            .build();
        assert_eq!(
            replication_settings_from(&spelled).license_type,
            Some(LicenseType::Byol)
        );
    }
}
