//! EC2's query protocol, both ways: a form-encoded request read into its parameters
//! (lists flattened as `Name.1`, `Name.2`, structures as `Name.Member`), and an XML
//! answer written element by element (lists as `<name><item>…</item></name>`). The
//! launch template data a request carries and an answer returns is described once,
//! member by member with its name each way, in [`TEMPLATE_DATA`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

/// What a member holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Str,
    Int,
    Bool,
    Struct(&'static [Field]),
    /// A list whose members an answer writes as `<item>`.
    List(&'static Shape),
    /// A list of strings whose members an answer writes under their own element name
    /// (the model's member `locationName`, e.g. `groupId`).
    Named(&'static str),
}

/// One member: its name in the model, in a request (`queryName`, else the capitalised
/// `locationName`, else the member name) and in an answer (its `locationName`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    pub member: &'static str,
    pub query: &'static str,
    pub xml: &'static str,
    pub shape: Shape,
}

const fn field(
    member: &'static str,
    query: &'static str,
    xml: &'static str,
    shape: Shape,
) -> Field {
    Field {
        member,
        query,
        xml,
        shape,
    }
}

const STR: Shape = Shape::Str;

const IAM_INSTANCE_PROFILE: &[Field] = &[
    field("Arn", "Arn", "arn", Shape::Str),
    field("Name", "Name", "name", Shape::Str),
];

const MONITORING: &[Field] = &[field("Enabled", "Enabled", "enabled", Shape::Bool)];

const PLACEMENT: &[Field] = &[
    field(
        "AvailabilityZone",
        "AvailabilityZone",
        "availabilityZone",
        Shape::Str,
    ),
    field("Tenancy", "Tenancy", "tenancy", Shape::Str),
    field("GroupName", "GroupName", "groupName", Shape::Str),
];

const NETWORK_INTERFACE: &[Field] = &[
    field("DeviceIndex", "DeviceIndex", "deviceIndex", Shape::Int),
    field("SubnetId", "SubnetId", "subnetId", Shape::Str),
    field(
        "Groups",
        "SecurityGroupId",
        "groupSet",
        Shape::Named("groupId"),
    ),
    field(
        "AssociatePublicIpAddress",
        "AssociatePublicIpAddress",
        "associatePublicIpAddress",
        Shape::Bool,
    ),
    field(
        "DeleteOnTermination",
        "DeleteOnTermination",
        "deleteOnTermination",
        Shape::Bool,
    ),
    field(
        "PrivateIpAddress",
        "PrivateIpAddress",
        "privateIpAddress",
        Shape::Str,
    ),
    field("Description", "Description", "description", Shape::Str),
];

const TAG: &[Field] = &[
    field("Key", "Key", "key", Shape::Str),
    field("Value", "Value", "value", Shape::Str),
];

const TAG_SPECIFICATION: &[Field] = &[
    field("ResourceType", "ResourceType", "resourceType", Shape::Str),
    field("Tags", "Tag", "tagSet", Shape::List(&Shape::Struct(TAG))),
];

/// The launch template data the stand-in keeps (`RequestLaunchTemplateData` in,
/// `ResponseLaunchTemplateData` out); any other member of a request is refused.
pub const TEMPLATE_DATA: &[Field] = &[
    field("ImageId", "ImageId", "imageId", Shape::Str),
    field("InstanceType", "InstanceType", "instanceType", Shape::Str),
    field("KeyName", "KeyName", "keyName", Shape::Str),
    field(
        "IamInstanceProfile",
        "IamInstanceProfile",
        "iamInstanceProfile",
        Shape::Struct(IAM_INSTANCE_PROFILE),
    ),
    field(
        "NetworkInterfaces",
        "NetworkInterface",
        "networkInterfaceSet",
        Shape::List(&Shape::Struct(NETWORK_INTERFACE)),
    ),
    field(
        "SecurityGroupIds",
        "SecurityGroupId",
        "securityGroupIdSet",
        Shape::List(&STR),
    ),
    field(
        "TagSpecifications",
        "TagSpecification",
        "tagSpecificationSet",
        Shape::List(&Shape::Struct(TAG_SPECIFICATION)),
    ),
    field(
        "Monitoring",
        "Monitoring",
        "monitoring",
        Shape::Struct(MONITORING),
    ),
    field(
        "DisableApiTermination",
        "DisableApiTermination",
        "disableApiTermination",
        Shape::Bool,
    ),
    field(
        "Placement",
        "Placement",
        "placement",
        Shape::Struct(PLACEMENT),
    ),
    field("UserData", "UserData", "userData", Shape::Str),
    field("EbsOptimized", "EbsOptimized", "ebsOptimized", Shape::Bool),
    field(
        "InstanceInitiatedShutdownBehavior",
        "InstanceInitiatedShutdownBehavior",
        "instanceInitiatedShutdownBehavior",
        Shape::Str,
    ),
];

/// A request's parameters.
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Reads a form-encoded body (and the URL's query, which the SDKs leave empty).
    pub fn parse(body: &[u8], query: &str) -> Self {
        let pairs = form_urlencoded::parse(body).chain(form_urlencoded::parse(query.as_bytes()));
        Self(
            pairs
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean parameter (`true` / `false`), or an error naming it.
    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(format!(
                "InvalidParameterValue: {name} must be true or false, got {other:?}"
            )),
        }
    }

    /// The indices `prefix.N…` carries, in numeric order.
    fn indices(&self, prefix: &str) -> Vec<u32> {
        let lead = format!("{prefix}.");
        let found: BTreeSet<u32> = self
            .0
            .range(lead.clone()..)
            .take_while(|(k, _)| k.starts_with(&lead))
            .filter_map(|(k, _)| k[lead.len()..].split('.').next()?.parse().ok())
            .collect();
        found.into_iter().collect()
    }

    /// A flattened list of strings: `prefix.1`, `prefix.2`, …
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.indices(prefix)
            .into_iter()
            .filter_map(|i| self.get(&format!("{prefix}.{i}")).map(str::to_owned))
            .collect()
    }

    /// `Filter.N.Name` with its `Filter.N.Value.M`s.
    pub fn filters(&self) -> Vec<(String, Vec<String>)> {
        self.indices("Filter")
            .into_iter()
            .filter_map(|i| {
                let name = self.get(&format!("Filter.{i}.Name"))?.to_owned();
                Some((name, self.list(&format!("Filter.{i}.Value"))))
            })
            .collect()
    }

    /// The names of the parameters under `prefix.` that `fields` do not describe.
    pub fn unknown_under(&self, prefix: &str, fields: &[Field]) -> Vec<String> {
        let lead = format!("{prefix}.");
        self.0
            .keys()
            .filter_map(|k| k.strip_prefix(&lead).map(|rest| (k, rest)))
            .filter(|(_, rest)| !describes(fields, rest))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The structure `fields` describe, read from the parameters under `prefix.`.
    pub fn read(&self, prefix: &str, fields: &[Field]) -> Result<Value, String> {
        let mut out = Map::new();
        for f in fields {
            let key = format!("{prefix}.{}", f.query);
            if let Some(value) = self.read_shape(&key, f.shape)? {
                out.insert(f.member.to_owned(), value);
            }
        }
        Ok(Value::Object(out))
    }

    fn read_shape(&self, key: &str, shape: Shape) -> Result<Option<Value>, String> {
        let bad = |what: &str| format!("InvalidParameterValue: {key} must be {what}");
        Ok(match shape {
            Shape::Str => self.get(key).map(|v| json!(v)),
            Shape::Int => match self.get(key) {
                None => None,
                Some(v) => Some(json!(v.parse::<i64>().map_err(|_| bad("an integer"))?)),
            },
            Shape::Bool => match self.get(key) {
                None => None,
                Some("true") => Some(json!(true)),
                Some("false") => Some(json!(false)),
                Some(_) => return Err(bad("true or false")),
            },
            Shape::Struct(fields) => {
                let present = self.0.keys().any(|k| k.starts_with(&format!("{key}.")));
                if present {
                    Some(self.read(key, fields)?)
                } else {
                    None
                }
            }
            Shape::Named(_) => self.read_shape(key, Shape::List(&STR))?,
            Shape::List(item) => {
                let indices = self.indices(key);
                if indices.is_empty() {
                    return Ok(None);
                }
                let mut items = Vec::new();
                for i in indices {
                    if let Some(v) = self.read_shape(&format!("{key}.{i}"), *item)? {
                        items.push(v);
                    }
                }
                Some(Value::Array(items))
            }
        })
    }
}

/// Whether `rest` (a parameter name past a structure's prefix) names a member of `fields`.
fn describes(fields: &[Field], rest: &str) -> bool {
    let (head, tail) = rest.split_once('.').unwrap_or((rest, ""));
    let Some(f) = fields.iter().find(|f| f.query == head) else {
        return false;
    };
    fits(f.shape, tail)
}

fn fits(shape: Shape, tail: &str) -> bool {
    match shape {
        Shape::Str | Shape::Int | Shape::Bool => tail.is_empty(),
        Shape::Struct(fields) => !tail.is_empty() && describes(fields, tail),
        Shape::Named(_) => fits(Shape::List(&STR), tail),
        Shape::List(item) => {
            let (index, rest) = tail.split_once('.').unwrap_or((tail, ""));
            index.parse::<u32>().is_ok() && fits(*item, rest)
        }
    }
}

/// An XML answer, written in order.
#[derive(Debug, Default)]
pub struct Xml(String);

impl Xml {
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    /// `<tag>text</tag>`, the text escaped.
    pub fn leaf(&mut self, tag: &str, text: impl std::fmt::Display) -> &mut Self {
        let text = text.to_string();
        self.open(tag);
        for c in text.chars() {
            match c {
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '&' => self.0.push_str("&amp;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&apos;"),
                c => self.0.push(c),
            }
        }
        self.close(tag)
    }

    /// `<tag><item>…</item>…</tag>`, each item written by `each`.
    pub fn items<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.open(tag);
        for item in items {
            self.open("item");
            each(self, item);
            self.close("item");
        }
        self.close(tag)
    }

    /// The structure `fields` describe, from a value kept by member names.
    pub fn data(&mut self, fields: &[Field], value: &Value) -> &mut Self {
        for f in fields {
            let Some(v) = value.get(f.member).filter(|v| !v.is_null()) else {
                continue;
            };
            self.shape(f.xml, f.shape, v);
        }
        self
    }

    fn shape(&mut self, tag: &str, shape: Shape, value: &Value) {
        match shape {
            Shape::Str | Shape::Int | Shape::Bool => {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                self.leaf(tag, text);
            }
            Shape::Struct(fields) => {
                self.open(tag).data(fields, value).close(tag);
            }
            Shape::List(item) => {
                let items = value.as_array().cloned().unwrap_or_default();
                self.open(tag);
                for v in &items {
                    self.shape("item", *item, v);
                }
                self.close(tag);
            }
            Shape::Named(member) => {
                let items = value.as_array().cloned().unwrap_or_default();
                self.open(tag);
                for v in &items {
                    self.shape(member, STR, v);
                }
                self.close(tag);
            }
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_data_reads_from_flattened_parameters_and_writes_as_xml_sets() {
        let body = "Action=CreateLaunchTemplateVersion&LaunchTemplateData.InstanceType=m5.large\
            &LaunchTemplateData.NetworkInterface.1.SubnetId=subnet-1\
            &LaunchTemplateData.NetworkInterface.1.SecurityGroupId.2=sg-2\
            &LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1=sg-1\
            &LaunchTemplateData.NetworkInterface.1.DeviceIndex=0\
            &LaunchTemplateData.TagSpecification.1.Tag.1.Key=Name\
            &LaunchTemplateData.TagSpecification.1.Tag.1.Value=a%26b\
            &LaunchTemplateData.Monitoring.Enabled=true";
        let params = Params::parse(body.as_bytes(), "");
        assert!(params
            .unknown_under("LaunchTemplateData", TEMPLATE_DATA)
            .is_empty());
        let data = params
            .read("LaunchTemplateData", TEMPLATE_DATA)
            .expect("reads");
        assert_eq!(
            data["NetworkInterfaces"][0]["Groups"],
            json!(["sg-1", "sg-2"])
        );
        assert_eq!(data["NetworkInterfaces"][0]["DeviceIndex"], json!(0));
        let mut xml = Xml::default();
        xml.data(TEMPLATE_DATA, &data);
        let text = xml.into_string();
        assert!(
            text.contains("<instanceType>m5.large</instanceType>"),
            "{text}"
        );
        assert!(
            text.contains("<groupSet><groupId>sg-1</groupId><groupId>sg-2</groupId></groupSet>"),
            "{text}"
        );
        assert!(
            text.contains("<tagSet><item><key>Name</key><value>a&amp;b</value></item></tagSet>"),
            "{text}"
        );
        assert!(
            text.contains("<monitoring><enabled>true</enabled></monitoring>"),
            "{text}"
        );

        let odd = Params::parse(
            b"LaunchTemplateData.Bogus=1&LaunchTemplateData.NetworkInterface.x.SubnetId=s",
            "",
        );
        assert_eq!(
            odd.unknown_under("LaunchTemplateData", TEMPLATE_DATA).len(),
            2
        );
    }
}
