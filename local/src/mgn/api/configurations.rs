//! Replication and launch configurations on the wire: a server's (Get and Update) and
//! the templates' (Describe, Create, Update, Delete), each read through the settings
//! tables of `settings.rs`.

use serde_json::{json, Value};

use super::settings::{
    self, Rule, LAUNCH, LAUNCH_OF_A_SERVER, LAUNCH_OF_A_TEMPLATE, REPLICATION,
    REPLICATION_OF_A_SERVER,
};
use super::{check_id, opt_str, page, req_id, str_list, tags};
use crate::mgn::engine::{Engine, SettingsKind, SettingsTemplate};
use crate::mgn::error::MgnError;

use SettingsKind::{Launch, Replication};

fn server_tables(kind: SettingsKind) -> [&'static [Rule]; 2] {
    match kind {
        Replication => [REPLICATION, REPLICATION_OF_A_SERVER],
        Launch => [LAUNCH, LAUNCH_OF_A_SERVER],
    }
}

pub(super) fn get(
    engine: &mut Engine,
    input: &Value,
    kind: SettingsKind,
) -> Result<Value, MgnError> {
    let id = req_id(input, "sourceServerID", "s-")?;
    render_configuration(engine, kind, &id)
}

pub(super) fn update(
    engine: &mut Engine,
    input: &Value,
    kind: SettingsKind,
) -> Result<Value, MgnError> {
    let id = req_id(input, "sourceServerID", "s-")?;
    let changes = settings::read(input, &server_tables(kind))?;
    engine.update_configuration(kind, &id, changes)?;
    render_configuration(engine, kind, &id)
}

/// The model's ReplicationConfiguration or LaunchConfiguration.
fn render_configuration(engine: &Engine, kind: SettingsKind, id: &str) -> Result<Value, MgnError> {
    let mut out = engine.configuration(kind, id)?.clone();
    out.insert("sourceServerID".into(), json!(id));
    if kind == Launch {
        let template = &engine.source_server(id)?.ec2_launch_template;
        out.insert("ec2LaunchTemplateID".into(), json!(template));
    }
    Ok(Value::Object(out))
}

/// The template id member, its prefix, and the listing's filter member.
fn template_names(kind: SettingsKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Replication => (
            "replicationConfigurationTemplateID",
            "rct-",
            "replicationConfigurationTemplateIDs",
        ),
        Launch => (
            "launchConfigurationTemplateID",
            "lct-",
            "launchConfigurationTemplateIDs",
        ),
    }
}

fn template_tables(kind: SettingsKind) -> Vec<&'static [Rule]> {
    match kind {
        Replication => vec![REPLICATION],
        Launch => vec![LAUNCH, LAUNCH_OF_A_TEMPLATE],
    }
}

/// CreateReplicationConfigurationTemplate requires every setting but the key, FIPS,
/// protocol and local-zone ones (the model's `required`); the launch one requires none.
const REPLICATION_TEMPLATE_REQUIRED: &[&str] = &[
    "stagingAreaSubnetId",
    "associateDefaultSecurityGroup",
    "replicationServersSecurityGroupsIDs",
    "replicationServerInstanceType",
    "useDedicatedReplicationServer",
    "defaultLargeStagingDiskType",
    "ebsEncryption",
    "bandwidthThrottling",
    "dataPlaneRouting",
    "createPublicIP",
    "stagingAreaTags",
];

pub(super) fn create_template(
    engine: &mut Engine,
    input: &Value,
    kind: SettingsKind,
) -> Result<Value, MgnError> {
    if kind == Replication {
        if let Some(missing) = REPLICATION_TEMPLATE_REQUIRED
            .iter()
            .find(|m| input.get(**m).is_none_or(Value::is_null))
        {
            return Err(MgnError::field(missing, "is required"));
        }
    }
    let settings = settings::read(input, &template_tables(kind))?;
    let tags = tags(input)?;
    let template = engine.new_template(kind, settings, tags).clone();
    Ok(render_template(kind, &template))
}

pub(super) fn update_template(
    engine: &mut Engine,
    input: &Value,
    kind: SettingsKind,
) -> Result<Value, MgnError> {
    let (member, prefix, _) = template_names(kind);
    let id = req_id(input, member, prefix)?;
    if kind == Replication {
        // The request may name the template's ARN; it must then be this template's.
        if let Some(arn) = opt_str(input, "arn")? {
            let found = engine
                .templates(kind)
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.arn.clone());
            if found.is_some_and(|a| a != arn) {
                return Err(MgnError::field(
                    "arn",
                    format!("{arn} is not the ARN of {id}"),
                ));
            }
        }
    }
    let changes = settings::read(input, &template_tables(kind))?;
    let template = engine.update_template(kind, &id, changes)?.clone();
    Ok(render_template(kind, &template))
}

pub(super) fn delete_template(
    engine: &mut Engine,
    input: &Value,
    kind: SettingsKind,
) -> Result<Value, MgnError> {
    let (member, prefix, _) = template_names(kind);
    let id = req_id(input, member, prefix)?;
    engine.delete_template(kind, &id)?;
    Ok(json!({}))
}

pub(super) fn describe_templates(
    engine: &mut Engine,
    input: &Value,
    kind: SettingsKind,
) -> Result<Value, MgnError> {
    let (_, prefix, filter) = template_names(kind);
    let ids = str_list(input, filter, (0, 200), |f, s| check_id(f, s, prefix))?.unwrap_or_default();
    let kept: Vec<&SettingsTemplate> = engine
        .templates(kind)
        .iter()
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .collect();
    let operation = match kind {
        Replication => "DescribeReplicationConfigurationTemplates",
        Launch => "DescribeLaunchConfigurationTemplates",
    };
    let (from, to, next) = page(operation, &ids.join(","), input, kept.len())?;
    let items: Vec<Value> = kept[from..to]
        .iter()
        .map(|t| render_template(kind, t))
        .collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

/// The model's ReplicationConfigurationTemplate or LaunchConfigurationTemplate.
fn render_template(kind: SettingsKind, template: &SettingsTemplate) -> Value {
    let (member, _, _) = template_names(kind);
    let mut out = template.settings.clone();
    out.insert(member.into(), json!(template.id));
    out.insert("arn".into(), json!(template.arn));
    out.insert("tags".into(), json!(template.tags));
    if kind == Launch {
        out.insert(
            "ec2LaunchTemplateID".into(),
            json!(template.ec2_launch_template),
        );
    }
    Value::Object(out)
}
