//! GenerateTemplate and GenerateChangeSet: real CloudFormation documents written to the local S3.
//!
//! The template has one `AWS::EC2::Instance` per member server with `ImageId` from the
//! server's latest AMI, and the app's launch configuration (instance type, subnet,
//! security group, key name, logical id) where given. Launch order becomes
//! `DependsOn`: every instance depends on the instances of the nearest lower launch
//! order, which chains the groups the way CloudFormation needs. The change set, only
//! for a LAUNCHED app, lists the instances whose AMI changed since the launch, in the
//! shape of CloudFormation's `DescribeChangeSet` `Changes`, with the new template.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::sms::engine::{epoch_secs, rfc3339, Engine};
use crate::sms::protocol::{ApiError, AppLaunchStatus, ErrorCode, OutputFormat};

/// Default instance type when the launch configuration names none.
const DEFAULT_INSTANCE_TYPE: &str = "t3.medium";

struct Instance {
    server_id: String,
    logical_id: String,
    order: i64,
    properties: Map<String, Value>,
}

fn launch_entry<'a>(config: Option<&'a Value>, group_id: &str) -> Option<&'a Value> {
    config?
        .get("serverGroupLaunchConfigurations")?
        .as_array()?
        .iter()
        .find(|g| g.get("serverGroupId").and_then(Value::as_str) == Some(group_id))
}

fn server_entry<'a>(group: Option<&'a Value>, server_id: &str) -> Option<&'a Value> {
    group?
        .get("serverLaunchConfigurations")?
        .as_array()?
        .iter()
        .find(|s| {
            s.get("server")
                .and_then(|x| x.get("serverId"))
                .and_then(Value::as_str)
                == Some(server_id)
        })
}

/// CloudFormation logical ids are alphanumeric: "shop-web-01" becomes "ShopWeb01".
fn logical_id(name: &str) -> String {
    let mut out = String::new();
    for part in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Server");
    }
    out
}

fn instances(e: &Engine, app: usize) -> Result<Vec<Instance>, ApiError> {
    let a = &e.apps[app];
    let missing = e.members_without_ami(a);
    if !missing.is_empty() {
        return Err(ApiError::not_permitted(format!(
            "Cannot generate a template for app {}: servers without a completed replication run: {}",
            a.id,
            missing.join(", ")
        )));
    }
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for (gi, g) in a.groups.iter().enumerate() {
        let group_cfg = launch_entry(a.launch_config.as_ref(), &g.id);
        let order = group_cfg
            .and_then(|c| c.get("launchOrder"))
            .and_then(Value::as_i64)
            .unwrap_or(gi as i64 + 1);
        for sid in &g.server_ids {
            let cfg = server_entry(group_cfg, sid);
            let field = |k: &str| {
                cfg.and_then(|c| c.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let vm_name = e
                .server_by_id
                .get(sid)
                .map(|&i| e.servers[i].vm_name.clone())
                .unwrap_or_else(|| sid.clone());
            let mut id = field("logicalId").unwrap_or_else(|| logical_id(&vm_name));
            let base = id.clone();
            let mut n = 2;
            while !used.insert(id.clone()) && n < 10_000 {
                id = format!("{base}{n}");
                n += 1;
            }
            let mut props = Map::new();
            props.insert(
                "ImageId".into(),
                e.latest_ami_of(sid).unwrap_or_default().into(),
            );
            props.insert(
                "InstanceType".into(),
                field("instanceType")
                    .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into())
                    .into(),
            );
            if let Some(subnet) = field("subnet") {
                props.insert("SubnetId".into(), subnet.into());
            }
            if let Some(sg) = field("securityGroup") {
                props.insert("SecurityGroupIds".into(), json!([sg]));
            }
            if let Some(key) = field("ec2KeyName") {
                props.insert("KeyName".into(), key.into());
            }
            if let Some(profile) = field("iamInstanceProfileName") {
                props.insert("IamInstanceProfile".into(), profile.into());
            }
            props.insert(
                "Tags".into(),
                json!([
                    { "Key": "Name", "Value": vm_name },
                    { "Key": "sms:appId", "Value": a.id },
                    { "Key": "sms:serverId", "Value": sid },
                ]),
            );
            out.push(Instance {
                server_id: sid.clone(),
                logical_id: id,
                order,
                properties: props,
            });
        }
    }
    Ok(out)
}

fn template_doc(e: &Engine, app: usize, list: &[Instance]) -> Value {
    let a = &e.apps[app];
    let mut resources = Map::new();
    for inst in list {
        let previous = list
            .iter()
            .filter(|o| o.order < inst.order)
            .map(|o| o.order)
            .max();
        let depends: Vec<Value> = list
            .iter()
            .filter(|o| Some(o.order) == previous)
            .map(|o| Value::String(o.logical_id.clone()))
            .collect();
        let mut res = Map::new();
        res.insert("Type".into(), "AWS::EC2::Instance".into());
        if !depends.is_empty() {
            res.insert("DependsOn".into(), Value::Array(depends));
        }
        res.insert("Properties".into(), Value::Object(inst.properties.clone()));
        resources.insert(inst.logical_id.clone(), Value::Object(res));
    }
    let outputs: Map<String, Value> = list
        .iter()
        .map(|i| {
            (
                format!("{}InstanceId", i.logical_id),
                json!({ "Description": format!("Instance of server {}", i.server_id), "Value": { "Ref": i.logical_id } }),
            )
        })
        .collect();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("AWS Server Migration Service application {} ({})", a.name, a.id),
        "Resources": resources,
        "Outputs": outputs,
    })
}

fn render(doc: &Value, format: OutputFormat) -> Result<Vec<u8>, ApiError> {
    match format {
        OutputFormat::Json => serde_json::to_vec_pretty(doc)
            .map_err(|e| ApiError::new(ErrorCode::InternalError, format!("rendering JSON: {e}"))),
        OutputFormat::Yaml => serde_yaml_ng::to_string(doc)
            .map(String::into_bytes)
            .map_err(|e| ApiError::new(ErrorCode::InternalError, format!("rendering YAML: {e}"))),
    }
}

fn extension(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Json => "json",
        OutputFormat::Yaml => "yaml",
    }
}

/// GenerateTemplate.
pub fn generate_template(
    e: &mut Engine,
    app: usize,
    format: OutputFormat,
) -> Result<Value, ApiError> {
    let list = instances(e, app)?;
    let doc = template_doc(e, app, &list);
    let body = render(&doc, format)?;
    let bucket = e.cfg.template_bucket.clone();
    let id = e.apps[app].id.clone();
    let key = format!(
        "{id}/{id}-template-{}.{}",
        epoch_secs(e.now) as i64,
        extension(format)
    );
    e.write_object(&bucket, &key, &body)?;
    Ok(json!({ "s3Location": { "bucket": bucket, "key": key } }))
}

/// GenerateChangeSet.
pub fn generate_change_set(
    e: &mut Engine,
    app: usize,
    format: OutputFormat,
) -> Result<Value, ApiError> {
    let a = &e.apps[app];
    let Some(details) = a
        .launch_details
        .clone()
        .filter(|_| a.launch_status == AppLaunchStatus::Launched)
    else {
        return Err(ApiError::not_permitted(format!(
            "App {} is not launched (launch status {}); a change set needs a launched stack",
            a.id, a.launch_status
        )));
    };
    let list = instances(e, app)?;
    let a = &e.apps[app];
    let changes: Vec<Value> = list
        .iter()
        .filter_map(|inst| {
            let after = inst.properties.get("ImageId")?.as_str()?.to_string();
            let before = a.launched_amis.get(&inst.server_id).cloned();
            if before.as_deref() == Some(after.as_str()) {
                return None;
            }
            let action = if before.is_some() { "Modify" } else { "Add" };
            Some(json!({
                "Type": "Resource",
                "ResourceChange": {
                    "Action": action,
                    "LogicalResourceId": inst.logical_id,
                    "ResourceType": "AWS::EC2::Instance",
                    "Replacement": "True",
                    "Scope": ["Properties"],
                    "Details": [{
                        "Target": { "Attribute": "Properties", "Name": "ImageId", "RequiresRecreation": "Always" },
                        "Evaluation": "Static",
                        "ChangeSource": "DirectModification",
                        "Before": before,
                        "After": after,
                    }],
                },
            }))
        })
        .collect();
    let doc = crate::sms::api::compact(json!({
        "AppId": a.id,
        "StackName": details.stack_name,
        "StackId": details.stack_id,
        "ChangeSetName": format!("sms-changeset-{}", epoch_secs(e.now) as i64),
        "CreationTime": rfc3339(e.now),
        "Changes": changes,
        "TemplateBody": template_doc(e, app, &list),
    }));
    let body = render(&doc, format)?;
    let bucket = e.cfg.template_bucket.clone();
    let id = a.id.clone();
    let key = format!(
        "{id}/{id}-changeset-{}.{}",
        epoch_secs(e.now) as i64,
        extension(format)
    );
    e.write_object(&bucket, &key, &body)?;
    Ok(json!({ "s3Location": { "bucket": bucket, "key": key } }))
}

#[cfg(test)]
mod tests {
    use super::logical_id;

    #[test]
    fn logical_ids_are_alphanumeric() {
        assert_eq!(logical_id("shop-web-01"), "ShopWeb01");
        assert_eq!(logical_id("01-db"), "Server01Db");
        assert_eq!(logical_id("--"), "Server");
    }
}
