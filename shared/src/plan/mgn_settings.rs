//! The settings MGN keeps per source server, as the plan wants them: its launch
//! configuration (right-sizing, licensing, boot mode, the private IP and tags copied:
//! [`MgnLaunch`]) and its replication configuration (staging subnet, replication
//! servers, bandwidth, data path, volume key: [`MgnReplication`]); for each, what must
//! change from what MGN holds, and the digest the planner keeps so that settings
//! already put are not read again until the plan changes them.

use crate::digest::Digest;
use serde::Serialize;

use super::{BootMode, DataPlaneRouting, LaunchSettings, ReplicationSettings, RightSizing};

/// The wanted value when `held` differs from it.
fn differs<T: PartialEq + Clone>(wanted: &Option<T>, held: &Option<T>) -> Option<T> {
    wanted.clone().filter(|w| held.as_ref() != Some(w))
}

/// MGN's launch configuration fields, each set or left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MgnLaunch {
    pub right_sizing: Option<RightSizing>,
    pub byol: Option<bool>,
    pub boot_mode: Option<BootMode>,
    pub copy_private_ip: Option<bool>,
    pub copy_tags: Option<bool>,
}

impl MgnLaunch {
    /// What `settings` ask of MGN's launch configuration; none when they ask nothing.
    /// An instance type given without right-sizing turns right-sizing off, else MGN's
    /// recommendation would replace it.
    pub fn wanted(settings: &LaunchSettings) -> Option<Self> {
        let type_given = settings.instance_type.as_ref().map(|_| RightSizing::None);
        let wanted = Self {
            right_sizing: settings.right_sizing.or(type_given),
            byol: settings.byol,
            boot_mode: settings.boot_mode,
            copy_private_ip: settings.copy_private_ip,
            copy_tags: settings.copy_tags,
        };
        (wanted != Self::default()).then_some(wanted)
    }

    /// A stable digest of what is wanted, for the planner's books.
    pub fn digest(&self) -> Digest {
        Digest::of_json(self)
    }

    /// The wanted fields `held` does not give; none when it gives them all.
    pub fn change_from(&self, held: &MgnLaunch) -> Option<MgnLaunch> {
        let change = Self {
            right_sizing: differs(&self.right_sizing, &held.right_sizing),
            byol: differs(&self.byol, &held.byol),
            boot_mode: differs(&self.boot_mode, &held.boot_mode),
            copy_private_ip: differs(&self.copy_private_ip, &held.copy_private_ip),
            copy_tags: differs(&self.copy_tags, &held.copy_tags),
        };
        (change != Self::default()).then_some(change)
    }
}

/// MGN's replication configuration fields, each set or left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MgnReplication {
    pub staging_subnet: Option<String>,
    pub replication_server_instance_type: Option<String>,
    pub dedicated_replication_server: Option<bool>,
    pub bandwidth_throttling: Option<u64>,
    pub data_plane_routing: Option<DataPlaneRouting>,
    pub create_public_ip: Option<bool>,
    /// The KMS key of the replicated volumes (MGN's CUSTOM EBS encryption).
    pub volume_key: Option<String>,
}

impl MgnReplication {
    /// What `settings` ask of MGN's replication configuration; none when they ask
    /// nothing.
    pub fn wanted(settings: &ReplicationSettings) -> Option<Self> {
        let wanted = Self {
            staging_subnet: settings.staging_subnet.clone(),
            replication_server_instance_type: settings.replication_server_instance_type.clone(),
            dedicated_replication_server: settings.dedicated_replication_server,
            bandwidth_throttling: settings.bandwidth_throttling,
            data_plane_routing: settings.data_plane_routing,
            create_public_ip: settings.create_public_ip,
            volume_key: settings.kms_key_id.clone(),
        };
        (wanted != Self::default()).then_some(wanted)
    }

    /// A stable digest of what is wanted, for the planner's books.
    pub fn digest(&self) -> Digest {
        Digest::of_json(self)
    }

    /// The wanted fields `held` does not give; none when it gives them all.
    pub fn change_from(&self, held: &MgnReplication) -> Option<MgnReplication> {
        let change = Self {
            staging_subnet: differs(&self.staging_subnet, &held.staging_subnet),
            replication_server_instance_type: differs(
                &self.replication_server_instance_type,
                &held.replication_server_instance_type,
            ),
            dedicated_replication_server: differs(
                &self.dedicated_replication_server,
                &held.dedicated_replication_server,
            ),
            bandwidth_throttling: differs(&self.bandwidth_throttling, &held.bandwidth_throttling),
            data_plane_routing: differs(&self.data_plane_routing, &held.data_plane_routing),
            create_public_ip: differs(&self.create_public_ip, &held.create_public_ip),
            volume_key: differs(&self.volume_key, &held.volume_key),
        };
        (change != Self::default()).then_some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_plan_sets_and_mgn_lacks_is_changed() {
        assert_eq!(MgnLaunch::wanted(&LaunchSettings::default()), None);
        let settings = LaunchSettings {
            right_sizing: Some(RightSizing::Basic),
            copy_private_ip: Some(true),
            instance_type: Some("m5.large".into()),
            ..LaunchSettings::default()
        };
        let wanted = MgnLaunch::wanted(&settings).expect("asks something");
        let held = MgnLaunch {
            right_sizing: Some(RightSizing::Basic),
            byol: Some(false),
            boot_mode: Some(BootMode::UseSource),
            copy_private_ip: Some(false),
            copy_tags: Some(true),
        };
        let change = wanted.change_from(&held).expect("the private IP differs");
        assert_eq!(
            change,
            MgnLaunch {
                copy_private_ip: Some(true),
                ..MgnLaunch::default()
            }
        );
        let settled = MgnLaunch {
            copy_private_ip: Some(true),
            ..held
        };
        assert_eq!(wanted.change_from(&settled), None);
        assert_eq!(
            wanted.digest(),
            MgnLaunch::wanted(&settings).unwrap().digest()
        );
        assert_ne!(wanted.digest(), settled.digest());
        let typed = LaunchSettings {
            instance_type: Some("m5.large".into()),
            ..LaunchSettings::default()
        };
        let typed = MgnLaunch::wanted(&typed).expect("a type turns right-sizing off");
        assert_eq!(typed.right_sizing, Some(RightSizing::None));
    }

    #[test]
    fn replication_settings_mgn_holds_are_compared_field_by_field() {
        let sms_only = ReplicationSettings {
            frequency: Some(12),
            ..ReplicationSettings::default()
        };
        assert_eq!(
            MgnReplication::wanted(&sms_only),
            None,
            "SMS's fields ask MGN nothing"
        );
        let settings = ReplicationSettings {
            staging_subnet: Some("subnet-0a".into()),
            bandwidth_throttling: Some(100),
            kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
            ..ReplicationSettings::default()
        };
        let wanted = MgnReplication::wanted(&settings).expect("asks something");
        let held = MgnReplication {
            staging_subnet: Some("subnet-0a".into()),
            bandwidth_throttling: Some(0),
            data_plane_routing: Some(DataPlaneRouting::PrivateIp),
            ..MgnReplication::default()
        };
        let change = wanted.change_from(&held).expect("bandwidth and key differ");
        assert_eq!(change.staging_subnet, None);
        assert_eq!(change.bandwidth_throttling, Some(100));
        assert_eq!(change.volume_key, settings.kms_key_id);
    }
}
