//! GenerateTemplate and GenerateChangeSet: real CloudFormation documents written to the local S3.
//!
//! The template has one `AWS::EC2::Instance` per member server with `ImageId` from the
//! server's latest AMI, and the app's launch configuration (instance type, subnet,
//! security group, key name, logical id) where given. Launch order becomes
//! `DependsOn`: every instance depends on the instances of the nearest lower launch
//! order, which chains the groups the way CloudFormation needs. The change set, only
//! for a LAUNCHED app, lists the instances whose AMI changed since the launch, in the
//! shape of CloudFormation's `DescribeChangeSet` `Changes`, with the new template.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{epoch_secs, rfc3339, App, AppKey, Engine};
use crate::sms::protocol::{compact, ApiError, AppLaunchStatus, ErrorCode, OutputFormat};

/// Default instance type when the launch configuration names none.
const DEFAULT_INSTANCE_TYPE: &str = "t3.medium";

/// An object the emulator wrote into the local S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenObject {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

/// Where a generated document was written (the model's `S3Location`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Location {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
}

struct Instance {
    server_id: String,
    logical_id: String,
    order: i64,
    properties: Map<String, Value>,
}

impl Engine {
    /// GenerateTemplate.
    pub(crate) fn generate_template(
        &mut self,
        key: AppKey,
        format: OutputFormat,
    ) -> Result<S3Location, ApiError> {
        let app = &self.apps[key.0];
        let list = self.instances(app)?;
        let doc = template_doc(app, &list);
        let body = render(&doc, format)?;
        self.write_document(key, "template", format, &body)
    }

    /// GenerateChangeSet.
    pub(crate) fn generate_change_set(
        &mut self,
        key: AppKey,
        format: OutputFormat,
    ) -> Result<S3Location, ApiError> {
        let a = &self.apps[key.0];
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
        let list = self.instances(a)?;
        let doc = compact(json!({
            "AppId": a.id,
            "StackName": details.stack_name,
            "StackId": details.stack_id,
            "ChangeSetName": format!("sms-changeset-{}", epoch_secs(self.now) as i64),
            "CreationTime": rfc3339(self.now),
            "Changes": image_changes(&list, &a.launched_amis),
            "TemplateBody": template_doc(a, &list),
        }));
        let body = render(&doc, format)?;
        self.write_document(key, "changeset", format, &body)
    }

    /// Every member server as a template instance; refused while one has no AMI yet.
    fn instances(&self, a: &App) -> Result<Vec<Instance>, ApiError> {
        let missing = self.members_without_ami(a);
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
                out.push(self.instance(a, sid, cfg, order, &mut used));
            }
        }
        Ok(out)
    }

    /// One server's instance; `used` keeps logical ids unique across the template.
    fn instance(
        &self,
        a: &App,
        sid: &str,
        cfg: Option<&Value>,
        order: i64,
        used: &mut BTreeSet<String>,
    ) -> Instance {
        let field = |k: &str| {
            cfg.and_then(|c| c.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let vm_name = self
            .server(sid)
            .map(|s| s.vm_name.clone())
            .unwrap_or_else(|| sid.to_string());
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
            self.latest_ami_of(sid).unwrap_or_default().into(),
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
        Instance {
            server_id: sid.to_string(),
            logical_id: id,
            order,
            properties: props,
        }
    }

    /// Writes a generated document under the app's prefix in the template bucket.
    fn write_document(
        &mut self,
        key: AppKey,
        kind: &str,
        format: OutputFormat,
        body: &[u8],
    ) -> Result<S3Location, ApiError> {
        let bucket = self.cfg.template_bucket.clone();
        let id = self.apps[key.0].id.clone();
        let object_key = format!(
            "{id}/{id}-{kind}-{}.{}",
            epoch_secs(self.now) as i64,
            extension(format)
        );
        self.write_object(&bucket, &object_key, body)?;
        Ok(S3Location {
            bucket,
            key: object_key,
        })
    }

    /// Records and writes an object into the local S3 directory.
    fn write_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> Result<(), ApiError> {
        let root = self.s3_root.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::InternalError, "the local S3 is not running")
        })?;
        let bucket_dir = root.join(bucket);
        if !bucket_dir.is_dir() {
            return Err(ApiError::invalid(format!(
                "S3 bucket {bucket} does not exist"
            )));
        }
        let path = bucket_dir.join(key);
        let io = |e: std::io::Error| {
            ApiError::new(
                ErrorCode::InternalError,
                format!("writing s3://{bucket}/{key}: {e}"),
            )
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Write then rename so the S3 server never serves a half-written template.
        let tmp = root.join(format!(".sms-emulator-{}.tmp", self.schedule.pushed()));
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        self.written.push(WrittenObject {
            bucket: bucket.into(),
            key: key.into(),
        });
        Ok(())
    }
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
pub(super) fn logical_id(name: &str) -> String {
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

fn template_doc(a: &App, list: &[Instance]) -> Value {
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

/// The instances whose AMI differs from the launch's, as `DescribeChangeSet` `Changes`.
fn image_changes(list: &[Instance], launched_amis: &BTreeMap<String, String>) -> Vec<Value> {
    list.iter()
        .filter_map(|inst| {
            let after = inst.properties.get("ImageId")?.as_str()?.to_string();
            let before = launched_amis.get(&inst.server_id).cloned();
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
        .collect()
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
