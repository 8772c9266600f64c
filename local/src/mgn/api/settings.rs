//! The settings documents MGN keeps (a server's replication and launch configurations,
//! and the templates new servers take them from), described member by member as the
//! model declares them, so one reader validates every update and one test
//! (`mgn_conformance`) checks each table against the model's shapes.

use serde_json::{Map, Value};

use crate::mgn::error::MgnError;

/// What a member holds, with the model's constraints on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    /// One of the model's enum values.
    Enum(&'static [&'static str]),
    /// Text of at most this many characters.
    Text(usize),
    /// An id: this prefix and at least 8 hex digits (subnets, security groups).
    HexId(&'static str),
    /// A list of at most `max` such ids.
    HexIds(&'static str, usize),
    /// An integer within bounds.
    Long(i64, i64),
    /// A tag map (at most 50, keys 1–128, values ≤ 256 characters).
    Tags,
    /// A structure whose members are described in turn.
    Object(&'static [Rule]),
    /// A list (at most `max`) of structures described in turn.
    Objects(&'static [Rule], usize),
    /// A structure the stand-in keeps without looking inside (an object, as the model's).
    Opaque,
}

/// One member of a settings document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub name: &'static str,
    pub kind: Kind,
}

const fn rule(name: &'static str, kind: Kind) -> Rule {
    Rule { name, kind }
}

const STAGING_DISK_TYPES: &[&str] = &["AUTO", "GP2", "IO1", "SC1", "ST1", "STANDARD", "GP3", "IO2"];

const REPLICATED_DISK: &[Rule] = &[
    rule("deviceName", Kind::Text(256)),
    rule("isBootDisk", Kind::Bool),
    rule("stagingDiskType", Kind::Enum(STAGING_DISK_TYPES)),
    rule("iops", Kind::Long(0, i64::MAX)),
    rule("throughput", Kind::Long(0, i64::MAX)),
];

/// A replication configuration's settings (ReplicationConfiguration, and the template's).
pub const REPLICATION: &[Rule] = &[
    rule("stagingAreaSubnetId", Kind::HexId("subnet-")),
    rule("associateDefaultSecurityGroup", Kind::Bool),
    rule(
        "replicationServersSecurityGroupsIDs",
        Kind::HexIds("sg-", 32),
    ),
    rule("replicationServerInstanceType", Kind::Text(255)),
    rule("useDedicatedReplicationServer", Kind::Bool),
    rule(
        "defaultLargeStagingDiskType",
        Kind::Enum(&["GP2", "ST1", "GP3"]),
    ),
    rule("ebsEncryption", Kind::Enum(&["DEFAULT", "CUSTOM"])),
    rule("ebsEncryptionKeyArn", Kind::Text(2048)),
    rule("bandwidthThrottling", Kind::Long(0, 10_000)),
    rule("dataPlaneRouting", Kind::Enum(&["PRIVATE_IP", "PUBLIC_IP"])),
    rule("createPublicIP", Kind::Bool),
    rule("stagingAreaTags", Kind::Tags),
    rule("useFipsEndpoint", Kind::Bool),
    rule("internetProtocol", Kind::Enum(&["IPV4", "IPV6"])),
    rule("storeSnapshotOnLocalZone", Kind::Bool),
];

/// What only a server's replication configuration holds.
pub const REPLICATION_OF_A_SERVER: &[Rule] = &[
    rule("name", Kind::Text(128)),
    rule("replicatedDisks", Kind::Objects(REPLICATED_DISK, 60)),
];

const LICENSING: &[Rule] = &[rule("osByol", Kind::Bool)];

const POST_LAUNCH_ACTIONS: &[Rule] = &[
    rule(
        "deployment",
        Kind::Enum(&["TEST_AND_CUTOVER", "CUTOVER_ONLY", "TEST_ONLY"]),
    ),
    rule("s3LogBucket", Kind::Text(63)),
    rule("s3OutputKeyPrefix", Kind::Text(256)),
    rule("cloudWatchLogGroupName", Kind::Text(512)),
    rule("ssmDocuments", Kind::Opaque),
];

/// A launch configuration's settings (LaunchConfiguration, and the template's).
pub const LAUNCH: &[Rule] = &[
    rule("launchDisposition", Kind::Enum(&["STOPPED", "STARTED"])),
    rule(
        "targetInstanceTypeRightSizingMethod",
        Kind::Enum(&["NONE", "BASIC"]),
    ),
    rule("copyPrivateIp", Kind::Bool),
    rule("copyTags", Kind::Bool),
    rule("licensing", Kind::Object(LICENSING)),
    rule(
        "bootMode",
        Kind::Enum(&["LEGACY_BIOS", "UEFI", "USE_SOURCE"]),
    ),
    rule("postLaunchActions", Kind::Object(POST_LAUNCH_ACTIONS)),
    rule("enableMapAutoTagging", Kind::Bool),
    rule("mapAutoTaggingMpeID", Kind::Text(256)),
];

/// What only a server's launch configuration holds.
pub const LAUNCH_OF_A_SERVER: &[Rule] = &[rule("name", Kind::Text(128))];

const DISK_CONF: &[Rule] = &[
    rule(
        "volumeType",
        Kind::Enum(&["io1", "io2", "gp3", "gp2", "st1", "sc1", "standard"]),
    ),
    rule("iops", Kind::Long(100, 64_000)),
    rule("throughput", Kind::Long(125, 1000)),
];

/// What only a launch configuration template holds.
pub const LAUNCH_OF_A_TEMPLATE: &[Rule] = &[
    rule("associatePublicIpAddress", Kind::Bool),
    rule("smallVolumeMaxSize", Kind::Long(0, i64::MAX)),
    rule("smallVolumeConf", Kind::Object(DISK_CONF)),
    rule("largeVolumeConf", Kind::Object(DISK_CONF)),
    rule("enableParametersEncryption", Kind::Bool),
    rule("parametersEncryptionKey", Kind::Text(2048)),
];

/// The members of `input` the `tables` describe, each checked; members they do not
/// describe are left to the caller (ids, accountID) or ignored.
pub fn read(input: &Value, tables: &[&[Rule]]) -> Result<Map<String, Value>, MgnError> {
    let mut out = Map::new();
    for rule in tables.iter().flat_map(|t| t.iter()) {
        match input.get(rule.name) {
            None | Some(Value::Null) => {}
            Some(value) => {
                check(rule.name, rule.kind, value)?;
                out.insert(rule.name.to_owned(), value.clone());
            }
        }
    }
    Ok(out)
}

fn check(at: &str, kind: Kind, value: &Value) -> Result<(), MgnError> {
    let wrong = |what: &str| Err(MgnError::field(at, what.to_owned()));
    match kind {
        Kind::Bool if value.is_boolean() => Ok(()),
        Kind::Bool => wrong("must be a boolean"),
        Kind::Enum(values) => match value.as_str() {
            Some(s) if values.contains(&s) => Ok(()),
            _ => wrong(&format!("must be one of {}", values.join(", "))),
        },
        Kind::Text(max) => match value.as_str() {
            Some(s) if s.chars().count() <= max => Ok(()),
            _ => wrong(&format!("must be text of at most {max} characters")),
        },
        Kind::HexId(prefix) => match value.as_str() {
            Some(s) if is_hex_id(s, prefix) => Ok(()),
            _ => wrong(&format!("must be {prefix} and at least 8 hex digits")),
        },
        Kind::HexIds(prefix, max) => match value.as_array() {
            Some(ids)
                if ids.len() <= max
                    && ids
                        .iter()
                        .all(|i| i.as_str().is_some_and(|s| is_hex_id(s, prefix))) =>
            {
                Ok(())
            }
            _ => wrong(&format!(
                "must be a list of at most {max} ids, each {prefix} and hex digits"
            )),
        },
        Kind::Long(min, max) => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            _ => wrong(&format!("must be an integer from {min} to {max}")),
        },
        Kind::Tags => super::tags(&serde_json::json!({ "tags": value })).map(|_| ()),
        Kind::Object(rules) => {
            if !value.is_object() {
                return wrong("must be an object");
            }
            for rule in rules {
                if let Some(member) = value.get(rule.name).filter(|v| !v.is_null()) {
                    check(&format!("{at}.{}", rule.name), rule.kind, member)?;
                }
            }
            Ok(())
        }
        Kind::Objects(rules, max) => match value.as_array() {
            Some(items) if items.len() <= max => items
                .iter()
                .enumerate()
                .try_for_each(|(k, item)| check(&format!("{at}[{k}]"), Kind::Object(rules), item)),
            _ => wrong(&format!("must be a list of at most {max} objects")),
        },
        Kind::Opaque if value.is_object() || value.is_array() => Ok(()),
        Kind::Opaque => wrong("must be an object or a list"),
    }
}

fn is_hex_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|hex| hex.len() >= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Every table, by the request shape its members belong to (for the conformance test).
pub fn tables() -> Vec<(&'static str, Vec<&'static [Rule]>)> {
    vec![
        (
            "UpdateReplicationConfigurationRequest",
            vec![REPLICATION, REPLICATION_OF_A_SERVER],
        ),
        (
            "UpdateReplicationConfigurationTemplateRequest",
            vec![REPLICATION],
        ),
        (
            "UpdateLaunchConfigurationRequest",
            vec![LAUNCH, LAUNCH_OF_A_SERVER],
        ),
        (
            "UpdateLaunchConfigurationTemplateRequest",
            vec![LAUNCH, LAUNCH_OF_A_TEMPLATE],
        ),
    ]
}
