//! The EC2 launch template a server is launched from on MGN, as the plan wants it: the
//! instance type, subnet, security groups, key pair, instance profile and tags of its
//! cutover, and (when the plan gives tests another network) of its test. What the
//! account must hold for them is asked of EC2 once per run ([`AccountQuestions`]), and
//! each setting the account cannot honour is a [`SettingProblem`] named with its plan
//! field, so the planner can name the line that set it ([`setting_path`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::digest::Digest;
use serde::{Deserialize, Serialize};

use super::{LaunchSettings, Plan};

/// What one launch template version should hold; `None` (or empty) leaves a member as
/// the template has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSettings {
    pub instance_type: Option<String>,
    pub subnet: Option<String>,
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
    pub instance_profile: Option<String>,
    pub public_ip: Option<bool>,
    /// Tags of the launched instance, beside the ones the template has.
    pub tags: BTreeMap<String, String>,
}

impl TemplateSettings {
    /// Whether `held` gives every value these settings set.
    pub fn held_by(&self, held: &TemplateSettings) -> bool {
        let same =
            |wanted: &Option<String>, held: &Option<String>| wanted.is_none() || wanted == held;
        same(&self.instance_type, &held.instance_type)
            && same(&self.subnet, &held.subnet)
            && same(&self.key_name, &held.key_name)
            && same(&self.instance_profile, &held.instance_profile)
            && (self.public_ip.is_none() || self.public_ip == held.public_ip)
            && (self.security_groups.is_empty() || self.security_groups == held.security_groups)
            && self.tags.iter().all(|(k, v)| held.tags.get(k) == Some(v))
    }
}

/// The template versions the plan wants for one server: its cutover's, and its test's
/// when tests run in another network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantedTemplates {
    pub cutover: TemplateSettings,
    pub test: Option<TemplateSettings>,
    /// The VPC the plan says the cutover subnet is in (SMS's `vpc`), checked.
    pub vpc: Option<String>,
    /// How the plan wrote the groups: `securityGroups` or `securityGroup`.
    #[serde(skip)]
    pub groups_field: &'static str,
}

/// One setting the account cannot honour, by the plan field that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The plan's name of the field, e.g. `subnet` or `testSecurityGroups`.
    pub field: &'static str,
    pub message: String,
}

impl WantedTemplates {
    /// What `launch` (and the application's `tags`) ask of the server's launch template;
    /// none when they ask nothing of it.
    pub fn of(launch: &LaunchSettings, tags: &BTreeMap<String, String>) -> Option<Self> {
        let cutover = TemplateSettings {
            instance_type: launch.instance_type.clone(),
            subnet: launch.subnet.clone(),
            security_groups: launch.groups(),
            key_name: launch.ec2_key_name.clone(),
            instance_profile: launch.iam_instance_profile_name.clone(),
            public_ip: launch.associate_public_ip_address,
            tags: tags.clone(),
        };
        let test =
            (launch.test_subnet.is_some() || launch.test_security_groups.is_some()).then(|| {
                TemplateSettings {
                    subnet: launch
                        .test_subnet
                        .clone()
                        .or_else(|| cutover.subnet.clone()),
                    security_groups: launch
                        .test_security_groups
                        .clone()
                        .unwrap_or_else(|| cutover.security_groups.clone()),
                    ..cutover.clone()
                }
            });
        if cutover == TemplateSettings::default() && test.is_none() {
            return None;
        }
        let groups_field = if launch.security_groups.is_some() {
            "securityGroups"
        } else {
            "securityGroup"
        };
        Some(Self {
            cutover,
            test,
            vpc: launch.vpc.clone(),
            groups_field,
        })
    }

    /// A stable digest of what is wanted, for the planner's books.
    pub fn digest(&self) -> Digest {
        Digest::of_json(self)
    }

    /// Adds what the account must hold for these settings to `questions`.
    pub fn ask(&self, questions: &mut AccountQuestions) {
        for settings in std::iter::once(&self.cutover).chain(&self.test) {
            questions.subnets.extend(settings.subnet.clone());
            questions
                .security_groups
                .extend(settings.security_groups.iter().cloned());
            questions
                .instance_types
                .extend(settings.instance_type.clone());
            questions.key_pairs.extend(settings.key_name.clone());
        }
    }

    /// Every setting `account` cannot honour: a subnet, security group, instance type
    /// or key pair it lacks, a subnet outside the plan's VPC, a group outside its
    /// subnet's VPC.
    pub fn check(&self, account: &Ec2Account) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let mut report = |field: &'static str, message: String| {
            problems.push(SettingProblem { field, message });
        };
        let cutover = &self.cutover;
        if let Some(wanted) = &cutover.instance_type {
            if !account.instance_types.contains(wanted) {
                report(
                    "instanceType",
                    format!("instance type {wanted} is not offered in the account's region"),
                );
            }
        }
        if let Some(key) = &cutover.key_name {
            if !account.key_pairs.contains(key) {
                report("ec2KeyName", format!("key pair {key} does not exist"));
            }
        }
        let networks = [
            Some((cutover, "subnet", self.groups_field)),
            self.test
                .as_ref()
                .map(|test| (test, "testSubnet", "testSecurityGroups")),
        ];
        if let Some(test) = &self.test {
            if test.subnet != cutover.subnet && cutover.subnet.is_none() {
                report(
                    "testSubnet",
                    "a test subnet needs the cutover's `subnet` beside it".into(),
                );
            }
            if test.security_groups != cutover.security_groups && cutover.security_groups.is_empty()
            {
                report(
                    "testSecurityGroups",
                    "test security groups need the cutover's `securityGroups` beside them".into(),
                );
            }
        }
        for (settings, subnet_field, groups_field) in networks.into_iter().flatten() {
            let vpc = subnet_vpc(settings, account, subnet_field, &mut report);
            if subnet_field == "subnet" {
                if let (Some(wanted), Some(actual)) = (&self.vpc, vpc) {
                    if wanted != actual {
                        let subnet = settings.subnet.as_deref().unwrap_or_default();
                        report(
                            "vpc",
                            format!("subnet {subnet} is in {actual}, not {wanted}"),
                        );
                    }
                }
            }
            for group in &settings.security_groups {
                match (account.security_groups.get(group), vpc) {
                    (None, _) => report(
                        groups_field,
                        format!("security group {group} does not exist"),
                    ),
                    (Some(in_vpc), Some(vpc)) if in_vpc != vpc => report(
                        groups_field,
                        format!(
                            "security group {group} is in {in_vpc}, not in {vpc} of subnet {}",
                            settings.subnet.as_deref().unwrap_or_default()
                        ),
                    ),
                    _ => {}
                }
            }
        }
        problems.dedup();
        problems
    }
}

/// The VPC of `settings`' subnet; a subnet the account lacks is reported.
fn subnet_vpc<'a>(
    settings: &TemplateSettings,
    account: &'a Ec2Account,
    field: &'static str,
    report: &mut impl FnMut(&'static str, String),
) -> Option<&'a String> {
    let subnet = settings.subnet.as_ref()?;
    let vpc = account.subnets.get(subnet);
    if vpc.is_none() {
        report(field, format!("subnet {subnet} does not exist"));
    }
    vpc
}

/// A server's launch template versions the planner made: its cutover's (the default
/// it leaves) and its test's when tests run in another network (the launcher makes
/// each the default before its launch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateVersions {
    pub template_id: String,
    pub cutover: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<u64>,
}

/// The versions made for a server and the digest of what the plan wanted of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplatesMade {
    pub digest: Digest,
    pub versions: TemplateVersions,
}

/// What the planner asks EC2 about the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountQuestions {
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    pub instance_types: BTreeSet<String>,
    pub key_pairs: BTreeSet<String>,
}

impl AccountQuestions {
    pub fn is_empty(&self) -> bool {
        self.subnets.is_empty()
            && self.security_groups.is_empty()
            && self.instance_types.is_empty()
            && self.key_pairs.is_empty()
    }
}

/// What EC2 answered: of the things asked, those the account holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ec2Account {
    /// Subnet id → its VPC.
    pub subnets: BTreeMap<String, String>,
    /// Security group id → its VPC.
    pub security_groups: BTreeMap<String, String>,
    pub instance_types: BTreeSet<String>,
    pub key_pairs: BTreeSet<String>,
}

/// Where the plan sets `field` for `vm` of group `group` in application `app`: the
/// most specific level that gives it (the server's, the group's, the application's,
/// the defaults'); the application's settings when none does.
pub fn setting_path(plan: &Plan, app: &str, group: &str, vm: &str, field: &str) -> String {
    let sets = |launch: &LaunchSettings| {
        serde_json::to_value(launch)
            .ok()
            .and_then(|value| value.get(field).cloned())
            .is_some_and(|value| !value.is_null())
    };
    let Some((a, planned)) = plan
        .applications
        .iter()
        .enumerate()
        .find(|(_, planned)| planned.name == app)
    else {
        return format!("defaults.launch.{field}");
    };
    if let Some((g, planned_group)) = planned
        .groups
        .iter()
        .enumerate()
        .find(|(_, planned_group)| planned_group.name == group)
    {
        let group_path = format!("applications[{a}].groups[{g}]");
        if planned_group
            .server_settings
            .get(vm)
            .is_some_and(|settings| sets(&settings.launch))
        {
            return format!("{group_path}.serverSettings.{vm}.launch.{field}");
        }
        if sets(&planned_group.settings.launch) {
            return format!("{group_path}.settings.launch.{field}");
        }
    }
    if sets(&planned.settings.launch) || !sets(&plan.defaults.launch) {
        return format!("applications[{a}].settings.launch.{field}");
    }
    format!("defaults.launch.{field}")
}

#[cfg(test)]
#[path = "launch_template_tests.rs"]
mod tests;
