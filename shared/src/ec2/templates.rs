//! A server's EC2 launch template, the one MGN made for it and launches from: its default
//! version read in the plan's words ([`TemplateSettings`]), a new version made from it
//! with what the plan wants, and the default version set. A new version replaces whole
//! top-level members (EC2's rule), so the first network interface and the tag
//! specifications are carried over from the version it is made from, with the plan's
//! values laid over them.

use aws_smithy_xml::decode::ScopedDecoder;

use super::{unreadable, xml, Ec2, Query};
use crate::error::AwsCallError;
use crate::plan::launch_template::TemplateSettings;

/// A launch template version as EC2 holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldTemplate {
    pub template_id: String,
    pub version: u64,
    pub settings: TemplateSettings,
    /// The first network interface's members the plan does not set, carried over.
    interface: CarriedInterface,
    /// Each tag specification: its resource type and tags.
    tag_specifications: Vec<(String, Vec<(String, String)>)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CarriedInterface {
    delete_on_termination: Option<String>,
    private_ip: Option<String>,
    description: Option<String>,
}

impl Ec2 {
    /// The default version of the launch template `template_id`.
    pub async fn default_template_version(
        &self,
        template_id: &str,
    ) -> Result<HeldTemplate, AwsCallError> {
        const ACTION: &str = "DescribeLaunchTemplateVersions";
        let query = Query::new(ACTION)
            .param("LaunchTemplateId", template_id)
            .param("LaunchTemplateVersion.1", "$Default");
        let answer = self.call(query).await?;
        let (mut versions, _) = xml::items(&answer, "launchTemplateVersionSet", read_version)
            .map_err(|e| unreadable(ACTION, e))?;
        let held = versions
            .pop()
            .ok_or_else(|| unreadable(ACTION, format!("no default version of {template_id}")))?;
        Ok(HeldTemplate {
            template_id: template_id.to_owned(),
            ..held
        })
    }

    /// A new version of `held`'s template, made from it with `wanted` laid over it;
    /// `token` makes a retried request give the same version. Its number.
    pub async fn new_template_version(
        &self,
        held: &HeldTemplate,
        wanted: &TemplateSettings,
        description: &str,
        token: &str,
    ) -> Result<u64, AwsCallError> {
        const ACTION: &str = "CreateLaunchTemplateVersion";
        let answer = self
            .call(version_query(held, wanted, description, token))
            .await?;
        let mut document = aws_smithy_xml::decode::Document::new(&answer);
        let number = read_created(&mut document).map_err(|e| unreadable(ACTION, e))?;
        number.ok_or_else(|| unreadable(ACTION, "no versionNumber in the answer".into()))
    }

    /// Makes `version` the default of `template_id`, the one MGN launches from.
    pub async fn set_default_template_version(
        &self,
        template_id: &str,
        version: u64,
    ) -> Result<(), AwsCallError> {
        let query = Query::new("ModifyLaunchTemplate")
            .param("LaunchTemplateId", template_id)
            .param("SetDefaultVersion", version);
        self.call(query).await.map(drop)
    }
}

/// The CreateLaunchTemplateVersion request for `wanted` over `held`.
fn version_query(
    held: &HeldTemplate,
    wanted: &TemplateSettings,
    description: &str,
    token: &str,
) -> Query {
    const DATA: &str = "LaunchTemplateData";
    let mut query = Query::new("CreateLaunchTemplateVersion")
        .param("LaunchTemplateId", &held.template_id)
        .param("SourceVersion", held.version)
        .param("VersionDescription", description)
        .param("ClientToken", token);
    let optional = [
        ("InstanceType", &wanted.instance_type),
        ("KeyName", &wanted.key_name),
        ("IamInstanceProfile.Name", &wanted.instance_profile),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            query = query.param(&format!("{DATA}.{name}"), value);
        }
    }
    if wanted.subnet.is_some() || !wanted.security_groups.is_empty() || wanted.public_ip.is_some() {
        query = interface_params(query, held, wanted);
    }
    if !wanted.tags.is_empty() {
        query = tag_params(query, held, wanted);
    }
    query
}

/// The first network interface: the plan's subnet, groups and public address over the
/// held ones, the rest carried over.
fn interface_params(mut query: Query, held: &HeldTemplate, wanted: &TemplateSettings) -> Query {
    let at = "LaunchTemplateData.NetworkInterface.1";
    let groups = if wanted.security_groups.is_empty() {
        &held.settings.security_groups
    } else {
        &wanted.security_groups
    };
    let carried = &held.interface;
    let members = [
        (
            "SubnetId",
            wanted.subnet.clone().or(held.settings.subnet.clone()),
        ),
        (
            "AssociatePublicIpAddress",
            wanted
                .public_ip
                .or(held.settings.public_ip)
                .map(|b| b.to_string()),
        ),
        ("DeleteOnTermination", carried.delete_on_termination.clone()),
        ("PrivateIpAddress", carried.private_ip.clone()),
        ("Description", carried.description.clone()),
    ];
    query = query.param(&format!("{at}.DeviceIndex"), 0);
    for (name, value) in members {
        if let Some(value) = value {
            query = query.param(&format!("{at}.{name}"), value);
        }
    }
    query.list(&format!("{at}.SecurityGroupId"), groups)
}

/// The tag specifications held, with the plan's tags laid over the instance's.
fn tag_params(mut query: Query, held: &HeldTemplate, wanted: &TemplateSettings) -> Query {
    let mut specifications = held.tag_specifications.clone();
    if !specifications.iter().any(|(kind, _)| kind == "instance") {
        specifications.push(("instance".into(), Vec::new()));
    }
    for (n, (kind, tags)) in specifications.iter().enumerate() {
        let at = format!("LaunchTemplateData.TagSpecification.{}", n + 1);
        query = query.param(&format!("{at}.ResourceType"), kind);
        let mut laid: Vec<(String, String)> = tags
            .iter()
            .filter(|(key, _)| kind != "instance" || !wanted.tags.contains_key(key))
            .cloned()
            .collect();
        if kind == "instance" {
            laid.extend(wanted.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for (m, (key, value)) in laid.iter().enumerate() {
            query = query
                .param(&format!("{at}.Tag.{}.Key", m + 1), key)
                .param(&format!("{at}.Tag.{}.Value", m + 1), value);
        }
    }
    query
}

/// One `launchTemplateVersionSet` item: its number and data.
fn read_version(item: &mut ScopedDecoder<'_, '_>) -> Result<HeldTemplate, String> {
    let mut held = HeldTemplate::default();
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_owned();
        match name.as_str() {
            "versionNumber" => held.version = number(&xml::text(&mut field)?)?,
            "launchTemplateData" => read_data(&mut field, &mut held)?,
            _ => {}
        }
    }
    Ok(held)
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("versionNumber `{text}` is not a number"))
}

/// The members of `launchTemplateData` the plan sets or a new version carries over.
fn read_data(data: &mut ScopedDecoder<'_, '_>, held: &mut HeldTemplate) -> Result<(), String> {
    let mut top_level_groups = Vec::new();
    while let Some(mut field) = data.next_tag() {
        let name = field.start_el().local().to_owned();
        let settings = &mut held.settings;
        match name.as_str() {
            "instanceType" => settings.instance_type = Some(xml::text(&mut field)?),
            "keyName" => settings.key_name = Some(xml::text(&mut field)?),
            "iamInstanceProfile" => {
                settings.instance_profile = xml::child_text(&mut field, "name")?
            }
            "securityGroupIdSet" => top_level_groups = xml::texts(&mut field)?,
            "networkInterfaceSet" => {
                if let Some(mut first) = field.next_tag() {
                    read_interface(&mut first, held)?;
                }
            }
            "tagSpecificationSet" => {
                while let Some(mut item) = field.next_tag() {
                    held.tag_specifications
                        .push(read_tag_specification(&mut item)?);
                }
            }
            _ => {}
        }
    }
    if held.settings.security_groups.is_empty() {
        held.settings.security_groups = top_level_groups;
    }
    let instance_tags = held
        .tag_specifications
        .iter()
        .filter(|(kind, _)| kind == "instance");
    held.settings.tags = instance_tags
        .flat_map(|(_, tags)| tags.iter().cloned())
        .collect();
    Ok(())
}

fn read_interface(
    interface: &mut ScopedDecoder<'_, '_>,
    held: &mut HeldTemplate,
) -> Result<(), String> {
    while let Some(mut field) = interface.next_tag() {
        let name = field.start_el().local().to_owned();
        match name.as_str() {
            "subnetId" => held.settings.subnet = Some(xml::text(&mut field)?),
            "groupSet" => held.settings.security_groups = xml::texts(&mut field)?,
            "associatePublicIpAddress" => {
                held.settings.public_ip = Some(xml::text(&mut field)? == "true");
            }
            "deleteOnTermination" => {
                held.interface.delete_on_termination = Some(xml::text(&mut field)?);
            }
            "privateIpAddress" => held.interface.private_ip = Some(xml::text(&mut field)?),
            "description" => held.interface.description = Some(xml::text(&mut field)?),
            _ => {}
        }
    }
    Ok(())
}

fn read_tag_specification(
    item: &mut ScopedDecoder<'_, '_>,
) -> Result<(String, Vec<(String, String)>), String> {
    let (mut kind, mut tags) = (String::new(), Vec::new());
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_owned();
        match name.as_str() {
            "resourceType" => kind = xml::text(&mut field)?,
            "tagSet" => {
                while let Some(mut tag) = field.next_tag() {
                    let (mut key, mut value) = (String::new(), String::new());
                    while let Some(mut part) = tag.next_tag() {
                        let part_name = part.start_el().local().to_owned();
                        match part_name.as_str() {
                            "key" => key = xml::text(&mut part)?,
                            "value" => value = xml::text(&mut part)?,
                            _ => {}
                        }
                    }
                    tags.push((key, value));
                }
            }
            _ => {}
        }
    }
    Ok((kind, tags))
}

/// The `versionNumber` of a CreateLaunchTemplateVersion answer's `launchTemplateVersion`.
fn read_created(
    document: &mut aws_smithy_xml::decode::Document<'_>,
) -> Result<Option<u64>, String> {
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    while let Some(mut element) = root.next_tag() {
        if element.start_el().matches("launchTemplateVersion") {
            if let Some(text) = xml::child_text(&mut element, "versionNumber")? {
                return number(&text).map(Some);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "templates_tests.rs"]
mod tests;
