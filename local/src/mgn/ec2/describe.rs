//! The account's network, instance types, key pairs and the instances MGN launched, over
//! EC2's query protocol. An id asked for that the account lacks is EC2's `.NotFound`
//! error for its kind; filters narrow by the names EC2 documents for them.

use super::query::{Params, Xml};
use super::{page, Answer, Ec2Error};
use crate::mgn::engine::{rfc3339_millis, Engine, Instance, InstanceChecks};
use crate::scenario::NetworkMember;

const AVAILABILITY_ZONE: &str = "us-east-1a";
const OWNER: &str = "123456789012";

/// Every id asked for must exist, else `code`.
fn all_known(asked: &[String], known: &[String], code: &str, what: &str) -> Result<(), Ec2Error> {
    match asked.iter().find(|id| !known.contains(id)) {
        Some(id) => Err(Ec2Error::new(
            code,
            format!("the {what} '{id}' does not exist"),
        )),
        None => Ok(()),
    }
}

/// Whether `value` passes the filter named `name` (absent filters pass everything).
fn passes(filters: &[(String, Vec<String>)], name: &str, value: &str) -> bool {
    filters
        .iter()
        .filter(|(n, _)| n == name)
        .all(|(_, values)| values.iter().any(|v| v == value))
}

pub(super) fn subnets(engine: &mut Engine, params: &Params) -> Answer {
    let asked = params.list("SubnetId");
    let all = engine.subnets();
    let ids: Vec<String> = all.iter().map(|s| s.id.clone()).collect();
    all_known(&asked, &ids, "InvalidSubnetID.NotFound", "subnet ID")?;
    let filters = params.filters();
    let kept: Vec<&NetworkMember> = all
        .iter()
        .filter(|s| asked.is_empty() || asked.contains(&s.id))
        .filter(|s| passes(&filters, "vpc-id", &s.vpc) && passes(&filters, "subnet-id", &s.id))
        .collect();
    let mut xml = Xml::default();
    xml.items("subnetSet", kept.iter().enumerate(), |x, (k, s)| {
        x.leaf("subnetId", &s.id)
            .leaf("vpcId", &s.vpc)
            .leaf("state", "available")
            .leaf("availabilityZone", AVAILABILITY_ZONE)
            .leaf("cidrBlock", format!("172.31.{}.0/20", k * 16))
            .leaf("availableIpAddressCount", 4091)
            .leaf("defaultForAz", false)
            .leaf("mapPublicIpOnLaunch", false)
            .leaf("ownerId", OWNER);
    });
    Ok(xml)
}

pub(super) fn security_groups(engine: &mut Engine, params: &Params) -> Answer {
    let asked = params.list("GroupId");
    let all = engine.security_groups();
    let ids: Vec<String> = all.iter().map(|g| g.id.clone()).collect();
    all_known(&asked, &ids, "InvalidGroup.NotFound", "security group")?;
    let filters = params.filters();
    let kept: Vec<&NetworkMember> = all
        .iter()
        .filter(|g| asked.is_empty() || asked.contains(&g.id))
        .filter(|g| passes(&filters, "vpc-id", &g.vpc) && passes(&filters, "group-id", &g.id))
        .collect();
    let mut xml = Xml::default();
    xml.items("securityGroupInfo", kept, |x, g| {
        x.leaf("ownerId", OWNER)
            .leaf("groupId", &g.id)
            .leaf("groupName", format!("group-{}", &g.id[3..]))
            .leaf("groupDescription", "security group")
            .leaf("vpcId", &g.vpc);
    });
    Ok(xml)
}

pub(super) fn instance_types(engine: &mut Engine, params: &Params) -> Answer {
    let asked = params.list("InstanceType");
    let all = engine.instance_types();
    let names: Vec<String> = all.iter().map(|(t, _, _)| t.clone()).collect();
    if let Some(missing) = asked.iter().find(|t| !names.contains(t)) {
        return Err(Ec2Error::new(
            "InvalidInstanceType",
            format!("the following supplied instance types do not exist: [{missing}]"),
        ));
    }
    let kept: Vec<_> = all
        .iter()
        .filter(|(t, _, _)| asked.is_empty() || asked.contains(t))
        .collect();
    let (from, to, next) = page(
        "DescribeInstanceTypes",
        &asked.join(","),
        params,
        kept.len(),
        (5, 100),
    )?;
    let mut xml = Xml::default();
    xml.items("instanceTypeSet", &kept[from..to], |x, (t, cpus, mib)| {
        x.leaf("instanceType", t).leaf("currentGeneration", true);
        x.open("vCpuInfo")
            .leaf("defaultVCpus", cpus)
            .close("vCpuInfo");
        x.open("memoryInfo")
            .leaf("sizeInMiB", mib)
            .close("memoryInfo");
    });
    if let Some(token) = next {
        xml.leaf("nextToken", token);
    }
    Ok(xml)
}

pub(super) fn key_pairs(engine: &mut Engine, params: &Params) -> Answer {
    let asked = params.list("KeyName");
    let all = engine.key_pairs();
    all_known(&asked, all, "InvalidKeyPair.NotFound", "key pair")?;
    let kept: Vec<(usize, &String)> = all
        .iter()
        .enumerate()
        .filter(|(_, k)| asked.is_empty() || asked.contains(k))
        .collect();
    let mut xml = Xml::default();
    xml.items("keySet", kept, |x, (k, name)| {
        x.leaf("keyPairId", format!("key-{k:017x}"))
            .leaf("keyType", "rsa")
            .leaf("keyName", name)
            .leaf("keyFingerprint", format!("{:02x}", k).repeat(20));
    });
    Ok(xml)
}

/// The instances asked for (all when none is), each known, else InvalidInstanceID.NotFound.
fn asked_instances<'e>(engine: &'e Engine, params: &Params) -> Result<Vec<&'e Instance>, Ec2Error> {
    let asked = params.list("InstanceId");
    let ids: Vec<String> = engine.instances().iter().map(|i| i.id.clone()).collect();
    all_known(&asked, &ids, "InvalidInstanceID.NotFound", "instance ID")?;
    Ok(engine
        .instances()
        .iter()
        .filter(|i| asked.is_empty() || asked.contains(&i.id))
        .collect())
}

/// An instance's state: running until terminated.
fn state(i: &Instance) -> (u8, &'static str) {
    if i.terminated.is_some() {
        (48, "terminated")
    } else {
        (16, "running")
    }
}

pub(super) fn instances(engine: &mut Engine, params: &Params) -> Answer {
    let filters = params.filters();
    let kept: Vec<&Instance> = asked_instances(engine, params)?
        .into_iter()
        .filter(|i| passes(&filters, "instance-state-name", state(i).1))
        .collect();
    let (from, to, next) = page(
        "DescribeInstances",
        &format!("{filters:?}"),
        params,
        kept.len(),
        (5, 1000),
    )?;
    let mut xml = Xml::default();
    xml.items("reservationSet", &kept[from..to], |x, i| {
        x.leaf("reservationId", format!("r-{}", &i.id[2..]))
            .leaf("ownerId", OWNER);
        x.items("instancesSet", [*i], write_instance);
    });
    if let Some(token) = next {
        xml.leaf("nextToken", token);
    }
    Ok(xml)
}

fn write_instance(x: &mut Xml, i: &Instance) {
    let (code, name) = state(i);
    let p = &i.placement;
    x.leaf("instanceId", &i.id);
    x.open("instanceState")
        .leaf("code", code)
        .leaf("name", name)
        .close("instanceState");
    x.leaf("instanceType", &p.instance_type)
        .leaf("launchTime", rfc3339_millis(i.launched));
    x.open("placement")
        .leaf("availabilityZone", AVAILABILITY_ZONE)
        .leaf("tenancy", "default")
        .close("placement");
    x.leaf("subnetId", &p.subnet)
        .leaf("vpcId", &p.vpc)
        .leaf("privateIpAddress", &i.private_ip);
    if let Some(key) = &p.key_name {
        x.leaf("keyName", key);
    }
    x.items("groupSet", &p.security_groups, |x, g| {
        x.leaf("groupId", g);
    });
    x.items(
        "tagSet",
        [("AWSApplicationMigrationServiceSourceServerID", &i.server_id)],
        |x, (k, v)| {
            x.leaf("key", k).leaf("value", v);
        },
    );
}

pub(super) fn instance_status(engine: &mut Engine, params: &Params) -> Answer {
    let all = params.flag("IncludeAllInstances")?;
    let kept: Vec<&Instance> = asked_instances(engine, params)?
        .into_iter()
        .filter(|i| all || i.terminated.is_none())
        .collect();
    let (from, to, next) = page(
        "DescribeInstanceStatus",
        &all.to_string(),
        params,
        kept.len(),
        (5, 1000),
    )?;
    let mut xml = Xml::default();
    xml.items("instanceStatusSet", &kept[from..to], |x, i| {
        let (code, name) = state(i);
        x.leaf("instanceId", &i.id)
            .leaf("availabilityZone", AVAILABILITY_ZONE);
        x.open("instanceState")
            .leaf("code", code)
            .leaf("name", name)
            .close("instanceState");
        let (summary, detail) = match (i.terminated, i.checks) {
            (Some(_), _) => ("not-applicable", "insufficient-data"),
            (None, InstanceChecks::Initializing) => ("initializing", "initializing"),
            (None, InstanceChecks::Ok) => ("ok", "passed"),
            (None, InstanceChecks::Impaired) => ("impaired", "failed"),
        };
        for tag in ["systemStatus", "instanceStatus"] {
            x.open(tag).leaf("status", summary);
            x.items("details", [detail], |x, d| {
                x.leaf("name", "reachability").leaf("status", d);
            });
            x.close(tag);
        }
    });
    if let Some(token) = next {
        xml.leaf("nextToken", token);
    }
    Ok(xml)
}
