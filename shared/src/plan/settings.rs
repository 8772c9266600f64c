//! The settings a plan gives its servers, at each level (defaults, application, group,
//! server): launch settings (EC2's and, on MGN, its launch configuration's) and
//! replication settings; a more specific level wins field by field ([`Settings::then`]),
//! and [`LaunchSettings::covers`] says whether held settings give what is wanted.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::migration::LicenseType;

/// Launch and replication settings; every field may be left to a wider level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub launch: LaunchSettings,
    #[serde(default)]
    pub replication: ReplicationSettings,
}

/// The launch settings of a server: the model's `ServerLaunchConfiguration` without
/// the logical ID, which the planner derives from the VM name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LaunchSettings {
    /// EC2 instance type, e.g. `m5.large`.
    pub instance_type: Option<String>,
    /// VPC id.
    pub vpc: Option<String>,
    /// Subnet id.
    pub subnet: Option<String>,
    /// Security group id.
    pub security_group: Option<String>,
    /// EC2 key pair name.
    pub ec2_key_name: Option<String>,
    /// IAM instance profile name.
    pub iam_instance_profile_name: Option<String>,
    /// Give the instance a public IP address.
    pub associate_public_ip_address: Option<bool>,
    /// User data, from S3.
    pub user_data: Option<S3Object>,
    /// A script run at startup, from S3.
    pub configure_script: Option<S3Object>,
    /// What kind of script `configureScript` is.
    pub configure_script_type: Option<ScriptType>,
    /// MGN: how the instance type is chosen: `none` (the launch template's) or `basic`
    /// (MGN's recommendation from the source server's CPUs and memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right_sizing: Option<RightSizing>,
    /// MGN: bring your own operating system licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byol: Option<bool>,
    /// MGN: the launched instance's boot mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_mode: Option<BootMode>,
    /// MGN: give the launched instance the source server's private IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_private_ip: Option<bool>,
    /// MGN: copy the source server's tags to the launched instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_tags: Option<bool>,
    /// MGN: the launched instance's security groups, all in its subnet's VPC; one
    /// setting with `securityGroup` (a level that gives either replaces both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// MGN: the subnet a test launches into, when tests run in another network than
    /// the cutover; `subnet` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subnet: Option<String>,
    /// MGN: the security groups of a test launch, in `testSubnet`'s VPC; the cutover's
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_security_groups: Option<Vec<String>>,
}

/// MGN's `TargetInstanceTypeRightSizingMethod`, as the plan writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RightSizing {
    None,
    Basic,
}

/// MGN's `BootMode`, as the plan writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BootMode {
    LegacyBios,
    Uefi,
    UseSource,
}

/// An object in S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

/// The model's `ScriptType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScriptType {
    #[serde(rename = "SHELL_SCRIPT")]
    ShellScript,
    #[serde(rename = "POWERSHELL_SCRIPT")]
    PowershellScript,
}

/// The replication settings of a server: the model's `ServerReplicationParameters`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicationSettings {
    /// Hours between replication runs, 1 to 24.
    #[schemars(range(min = 1, max = 24))]
    pub frequency: Option<u32>,
    /// One run only.
    pub run_once: Option<bool>,
    /// License of the AMIs: `AWS` or `BYOL`.
    pub license_type: Option<LicenseType>,
    /// AMIs kept per server; 0 keeps all.
    pub number_of_recent_amis_to_keep: Option<u32>,
    /// Encrypt the AMIs.
    pub encrypted: Option<bool>,
    /// KMS key for encrypted AMIs (on MGN, for the replicated volumes).
    pub kms_key_id: Option<String>,
    /// MGN: the subnet of the staging area, where the replication servers run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_subnet: Option<String>,
    /// MGN: the replication servers' instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_server_instance_type: Option<String>,
    /// MGN: a replication server for this source server alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedicated_replication_server: Option<bool>,
    /// MGN: the replication's bandwidth cap in Mbps; 0 sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_throttling: Option<u64>,
    /// MGN: the data path, `privateIp` or `publicIp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_plane_routing: Option<DataPlaneRouting>,
    /// MGN: give the replication servers public IP addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_public_ip: Option<bool>,
}

/// MGN's `ReplicationConfigurationDataPlaneRouting`, as the plan writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DataPlaneRouting {
    PrivateIp,
    PublicIp,
}

impl Settings {
    /// These settings with `specific` laid over them, field by field.
    pub fn then(&self, specific: &Settings) -> Settings {
        Settings {
            launch: self.launch.then(&specific.launch),
            replication: self.replication.then(&specific.replication),
        }
    }
}

/// Whether every field `wanted` sets has the same value in `held`.
macro_rules! covered {
    ($held:expr, $wanted:expr, $($field:ident),+) => {
        $(($wanted.$field.is_none() || $held.$field == $wanted.$field))&&+
    };
}

/// Lays `specific` over `general`: each field of `specific` that is set wins.
macro_rules! overlay {
    ($general:expr, $specific:expr, $($field:ident),+) => {
        Self { $($field: $specific.$field.clone().or_else(|| $general.$field.clone())),+ }
    };
}

impl LaunchSettings {
    /// Whether these (held) settings give every value `wanted` sets, of the fields SMS
    /// holds (MGN's are compared by `launch_configuration`).
    pub fn covers(&self, wanted: &LaunchSettings) -> bool {
        covered!(
            self,
            wanted,
            instance_type,
            vpc,
            subnet,
            security_group,
            ec2_key_name,
            iam_instance_profile_name,
            associate_public_ip_address,
            user_data,
            configure_script,
            configure_script_type
        )
    }

    pub fn then(&self, specific: &LaunchSettings) -> LaunchSettings {
        let mut laid: LaunchSettings = overlay!(
            self,
            specific,
            instance_type,
            vpc,
            subnet,
            security_group,
            ec2_key_name,
            iam_instance_profile_name,
            associate_public_ip_address,
            user_data,
            configure_script,
            configure_script_type,
            right_sizing,
            byol,
            boot_mode,
            copy_private_ip,
            copy_tags,
            security_groups,
            test_subnet,
            test_security_groups
        );
        // `securityGroup` and `securityGroups` are one setting in two forms.
        if specific.security_group.is_some() && specific.security_groups.is_none() {
            laid.security_groups = None;
        }
        if specific.security_groups.is_some() && specific.security_group.is_none() {
            laid.security_group = None;
        }
        laid
    }

    /// The launched instance's security groups, in either form.
    pub fn groups(&self) -> Vec<String> {
        match (&self.security_groups, &self.security_group) {
            (Some(groups), _) => groups.clone(),
            (None, Some(group)) => vec![group.clone()],
            (None, None) => Vec::new(),
        }
    }
}

impl ReplicationSettings {
    /// Whether these (held) settings give every value `wanted` sets, of the fields SMS
    /// holds (MGN's are compared by `mgn_settings`).
    pub fn covers(&self, wanted: &ReplicationSettings) -> bool {
        covered!(
            self,
            wanted,
            frequency,
            run_once,
            license_type,
            number_of_recent_amis_to_keep,
            encrypted,
            kms_key_id
        )
    }

    pub fn then(&self, specific: &ReplicationSettings) -> ReplicationSettings {
        overlay!(
            self,
            specific,
            frequency,
            run_once,
            license_type,
            number_of_recent_amis_to_keep,
            encrypted,
            kms_key_id,
            staging_subnet,
            replication_server_instance_type,
            dedicated_replication_server,
            bandwidth_throttling,
            data_plane_routing,
            create_public_ip
        )
    }
}
