//! The EC2 side of the target account: the launch template MGN makes for each source
//! server (and each launch configuration template), their versions, the account's
//! network and instance types, and what a launch takes from the template's default
//! version (the user guide: MGN launches from the default version; right-sizing BASIC
//! picks the instance type itself). A default version naming a subnet, security group,
//! instance type or key pair the account lacks fails the launch with EC2's error code.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::scenario::{Network, NetworkMember};
use crate::schedule::Millis;

use super::Engine;

/// The default VPC's ids, when the scenario declares no network.
pub const DEFAULT_VPC: &str = "vpc-0a1b2c3d4e5f60718";
pub const DEFAULT_SUBNET: &str = "subnet-0a1b2c3d4e5f60718";
pub const DEFAULT_SECURITY_GROUP: &str = "sg-0a1b2c3d4e5f60718";
/// The instance type MGN recommends for every source server (right-sizing BASIC).
pub const RECOMMENDED_INSTANCE_TYPE: &str = "t3.medium";

/// Instance types offered when the scenario declares none: family, sizes, vCPUs, MiB.
pub const DEFAULT_INSTANCE_TYPES: &[(&str, u32, u64)] = &[
    ("t3.micro", 2, 1024),
    ("t3.small", 2, 2048),
    ("t3.medium", 2, 4096),
    ("t3.large", 2, 8192),
    ("t3.xlarge", 4, 16384),
    ("m5.large", 2, 8192),
    ("m5.xlarge", 4, 16384),
    ("m5.2xlarge", 8, 32768),
    ("c5.large", 2, 4096),
    ("c5.xlarge", 4, 8192),
    ("r5.large", 2, 16384),
    ("r5.xlarge", 4, 32768),
    ("r5.2xlarge", 8, 65536),
];

/// One version of a launch template: its data as EC2's member names hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateVersion {
    pub number: u64,
    pub description: Option<String>,
    pub created: Millis,
    pub data: Value,
    /// The `ClientToken` it was made with: the same token gives this version again.
    pub client_token: Option<String>,
}

/// An EC2 launch template.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: String,
    pub created: Millis,
    pub versions: Vec<TemplateVersion>,
    pub default_version: u64,
}

/// The account's launch templates in creation order, found by id or name at once (an
/// estate has one per source server, and every EC2 call names one).
#[derive(Debug, Default)]
pub(super) struct LaunchTemplates {
    all: Vec<LaunchTemplate>,
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

impl LaunchTemplates {
    fn push(&mut self, template: LaunchTemplate) {
        self.by_id.insert(template.id.clone(), self.all.len());
        self.by_name.insert(template.name.clone(), self.all.len());
        self.all.push(template);
    }

    fn by_id(&self, id: &str) -> Option<&LaunchTemplate> {
        self.by_id.get(id).map(|&i| &self.all[i])
    }

    fn by_id_mut(&mut self, id: &str) -> Option<&mut LaunchTemplate> {
        self.by_id.get(id).map(|&i| &mut self.all[i])
    }

    fn by_name(&self, name: &str) -> Option<&LaunchTemplate> {
        self.by_name.get(name).map(|&i| &self.all[i])
    }
}

impl LaunchTemplate {
    /// The version `number`, if it exists.
    pub fn version(&self, number: u64) -> Option<&TemplateVersion> {
        self.versions.iter().find(|v| v.number == number)
    }

    pub fn latest(&self) -> u64 {
        self.versions.last().map_or(1, |v| v.number)
    }
}

/// What the account holds, read once from the scenario's network: each list it declares
/// is the whole truth; one it leaves out is the default VPC's (subnet, group), a dozen
/// common instance types, or no key pair.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AccountEc2 {
    subnets: Vec<NetworkMember>,
    security_groups: Vec<NetworkMember>,
    instance_types: Vec<(String, u32, u64)>,
    key_pairs: Vec<String>,
}

impl AccountEc2 {
    pub(super) fn of(network: Option<&Network>) -> Self {
        let in_default_vpc = |id: &str| {
            vec![NetworkMember {
                id: id.into(),
                vpc: DEFAULT_VPC.into(),
            }]
        };
        let instance_types = match network.and_then(|n| n.instance_types.as_ref()) {
            Some(list) => list
                .iter()
                .map(|t| {
                    let known = DEFAULT_INSTANCE_TYPES.iter().find(|(name, _, _)| name == t);
                    let (cpus, mib) = known.map_or((2, 4096), |(_, c, m)| (*c, *m));
                    (t.clone(), cpus, mib)
                })
                .collect(),
            None => DEFAULT_INSTANCE_TYPES
                .iter()
                .map(|(t, c, m)| ((*t).to_owned(), *c, *m))
                .collect(),
        };
        Self {
            subnets: network
                .and_then(|n| n.subnets.clone())
                .unwrap_or_else(|| in_default_vpc(DEFAULT_SUBNET)),
            security_groups: network
                .and_then(|n| n.security_groups.clone())
                .unwrap_or_else(|| in_default_vpc(DEFAULT_SECURITY_GROUP)),
            instance_types,
            key_pairs: network
                .and_then(|n| n.key_pairs.clone())
                .unwrap_or_default(),
        }
    }
}

/// What a launch resolved from the template: where and how the instance runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    pub instance_type: String,
    pub subnet: String,
    pub vpc: String,
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
}

impl Engine {
    /// The account's subnets (the scenario's, or the default VPC's).
    pub(crate) fn subnets(&self) -> &[NetworkMember] {
        &self.account_ec2.subnets
    }

    /// The account's security groups (the scenario's, or the default VPC's).
    pub(crate) fn security_groups(&self) -> &[NetworkMember] {
        &self.account_ec2.security_groups
    }

    /// The instance types offered, with vCPUs and memory.
    pub(crate) fn instance_types(&self) -> &[(String, u32, u64)] {
        &self.account_ec2.instance_types
    }

    /// The account's key pair names (none unless the scenario declares them).
    pub(crate) fn key_pairs(&self) -> &[String] {
        &self.account_ec2.key_pairs
    }

    /// Makes the launch template `id` with its first version, as MGN does for a server.
    pub(super) fn new_launch_template(&mut self, id: &str, name: &str) {
        let subnet = self.subnets().first();
        let group = subnet.and_then(|s| self.security_groups().iter().find(|g| g.vpc == s.vpc));
        let data = json!({
            "InstanceType": RECOMMENDED_INSTANCE_TYPE,
            "NetworkInterfaces": [{
                "DeviceIndex": 0,
                "SubnetId": subnet.map(|s| &s.id),
                "Groups": group.map(|g| vec![&g.id]).unwrap_or_default(),
                "AssociatePublicIpAddress": false,
                "DeleteOnTermination": true,
            }],
            "TagSpecifications": [{
                "ResourceType": "instance",
                "Tags": [{ "Key": "Name", "Value": name }],
            }],
            "DisableApiTermination": false,
            "Monitoring": { "Enabled": false },
        });
        self.launch_templates_ec2.push(LaunchTemplate {
            id: id.to_owned(),
            name: format!("{name}-{id}"),
            created: self.now,
            versions: vec![TemplateVersion {
                number: 1,
                description: None,
                created: self.now,
                data,
                client_token: None,
            }],
            default_version: 1,
        });
    }

    /// The launch template `id`, if the account has it.
    pub(crate) fn launch_template(&self, id: &str) -> Option<&LaunchTemplate> {
        self.launch_templates_ec2.by_id(id)
    }

    /// The launch template named `name`, if the account has it.
    pub(crate) fn launch_template_named(&self, name: &str) -> Option<&LaunchTemplate> {
        self.launch_templates_ec2.by_name(name)
    }

    /// Every launch template, in creation order.
    pub(crate) fn launch_templates_ec2(&self) -> &[LaunchTemplate] {
        &self.launch_templates_ec2.all
    }

    /// CreateLaunchTemplateVersion: `data` over the source version's (or nothing); a
    /// `token` given before gives the version it made.
    pub(crate) fn new_template_version(
        &mut self,
        id: &str,
        (source, token): (Option<u64>, Option<String>),
        description: Option<String>,
        data: Value,
    ) -> Result<&TemplateVersion, String> {
        let now = self.now;
        let template = self.template_mut(id)?;
        let made = template
            .versions
            .iter()
            .position(|v| token.is_some() && v.client_token == token);
        if let Some(index) = made {
            return Ok(&template.versions[index]);
        }
        let mut merged = match source {
            None => json!({}),
            Some(n) => template.version(n).map(|v| v.data.clone()).ok_or_else(|| {
                format!(
                    "InvalidLaunchTemplateId.VersionNotFound: version {n} of {id} does not exist"
                )
            })?,
        };
        if let (Some(base), Some(over)) = (merged.as_object_mut(), data.as_object()) {
            base.extend(over.clone());
        }
        let number = template.latest() + 1;
        template.versions.push(TemplateVersion {
            number,
            description,
            created: now,
            data: merged,
            client_token: token,
        });
        Ok(&template.versions[template.versions.len() - 1])
    }

    /// ModifyLaunchTemplate's SetDefaultVersion.
    pub(crate) fn set_default_version(
        &mut self,
        id: &str,
        number: u64,
    ) -> Result<&LaunchTemplate, String> {
        let template = self.template_mut(id)?;
        if template.version(number).is_none() {
            return Err(format!(
                "InvalidLaunchTemplateId.VersionNotFound: version {number} of {id} does not exist"
            ));
        }
        template.default_version = number;
        Ok(template)
    }

    /// The launch template `id` to change, or EC2's error for a template it lacks.
    fn template_mut(&mut self, id: &str) -> Result<&mut LaunchTemplate, String> {
        self.launch_templates_ec2.by_id_mut(id).ok_or_else(|| {
            format!("InvalidLaunchTemplateId.NotFound: the launch template {id} does not exist")
        })
    }

    /// Where a launch of the server `server` puts its instance, from the default version
    /// of its template, or the EC2 error that fails the launch.
    pub(super) fn placement(&self, server: usize) -> Result<Placement, String> {
        let s = &self.servers[server];
        let template = self
            .launch_template(&s.ec2_launch_template)
            .ok_or_else(|| {
                format!(
                    "InvalidLaunchTemplateId.NotFound: {}",
                    s.ec2_launch_template
                )
            })?;
        let data = &template
            .version(template.default_version)
            .map(|v| v.data.clone())
            .unwrap_or_default();
        let right_sizing = s.launch_settings.get("targetInstanceTypeRightSizingMethod");
        let instance_type = match right_sizing.and_then(Value::as_str) {
            Some("BASIC") => RECOMMENDED_INSTANCE_TYPE.to_owned(),
            _ => data["InstanceType"]
                .as_str()
                .unwrap_or(RECOMMENDED_INSTANCE_TYPE)
                .to_owned(),
        };
        if !self
            .instance_types()
            .iter()
            .any(|(t, _, _)| *t == instance_type)
        {
            return Err(format!(
                "InvalidParameterValue: the instance type {instance_type} is not offered"
            ));
        }
        let interface = &data["NetworkInterfaces"][0];
        let subnet_id = interface["SubnetId"].as_str().unwrap_or_default();
        let subnet = self
            .subnets()
            .iter()
            .find(|s| s.id == subnet_id)
            .ok_or_else(|| {
                format!("InvalidSubnetID.NotFound: the subnet ID '{subnet_id}' does not exist")
            })?;
        let mut groups: Vec<String> = string_list(&interface["Groups"]);
        groups.extend(string_list(&data["SecurityGroupIds"]));
        let known = self.security_groups();
        for group in &groups {
            match known.iter().find(|g| g.id == *group) {
                None => return Err(format!("InvalidGroup.NotFound: the security group '{group}' does not exist")),
                Some(g) if g.vpc != subnet.vpc => {
                    return Err(format!(
                        "InvalidParameter: security group {group} and subnet {} belong to different networks",
                        subnet.id
                    ))
                }
                Some(_) => {}
            }
        }
        let key_name = data["KeyName"].as_str().map(str::to_owned);
        if let Some(key) = &key_name {
            if !self.key_pairs().iter().any(|k| k == key) {
                return Err(format!(
                    "InvalidKeyPair.NotFound: the key pair '{key}' does not exist"
                ));
            }
        }
        Ok(Placement {
            instance_type,
            subnet: subnet.id.clone(),
            vpc: subnet.vpc.clone(),
            security_groups: groups,
            key_name,
        })
    }
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}
