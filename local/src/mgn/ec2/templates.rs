//! Launch templates over EC2's query protocol: the ones MGN made, their versions (by
//! number, `$Latest` or `$Default`, or a range), a new version from a source version,
//! and the default version set.

use super::query::{Params, Xml, TEMPLATE_DATA};
use super::{page, Answer, Ec2Error};
use crate::mgn::engine::{rfc3339_millis, Engine, LaunchTemplate};

/// Who EC2 says created the templates: MGN, on the account's behalf.
const CREATED_BY: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForApplicationMigrationService/mgn";

fn not_found(id: &str) -> Ec2Error {
    Ec2Error::new(
        "InvalidLaunchTemplateId.NotFound",
        format!("the launch template {id} does not exist"),
    )
}

/// The template the request names by `LaunchTemplateId` (or `LaunchTemplateName`).
fn named<'e>(engine: &'e Engine, params: &Params) -> Result<&'e LaunchTemplate, Ec2Error> {
    if let Some(id) = params.get("LaunchTemplateId") {
        return engine.launch_template(id).ok_or_else(|| not_found(id));
    }
    let name = params.get("LaunchTemplateName").ok_or_else(|| {
        Ec2Error::new(
            "MissingParameter",
            "the request must name LaunchTemplateId or LaunchTemplateName",
        )
    })?;
    engine.launch_template_named(name).ok_or_else(|| {
        Ec2Error::new(
            "InvalidLaunchTemplateName.NotFoundException",
            format!("no launch template is named {name}"),
        )
    })
}

fn write_template(xml: &mut Xml, t: &LaunchTemplate) {
    xml.leaf("launchTemplateId", &t.id)
        .leaf("launchTemplateName", &t.name)
        .leaf("createTime", rfc3339_millis(t.created))
        .leaf("createdBy", CREATED_BY)
        .leaf("defaultVersionNumber", t.default_version)
        .leaf("latestVersionNumber", t.latest());
}

pub(super) fn describe_launch_templates(engine: &mut Engine, params: &Params) -> Answer {
    let ids = params.list("LaunchTemplateId");
    let names = params.list("LaunchTemplateName");
    if let Some(missing) = ids.iter().find(|id| engine.launch_template(id).is_none()) {
        return Err(not_found(missing));
    }
    let kept: Vec<&LaunchTemplate> = engine
        .launch_templates_ec2()
        .iter()
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .filter(|t| names.is_empty() || names.contains(&t.name))
        .collect();
    let filter = format!("{ids:?}{names:?}");
    let (from, to, next) = page(
        "DescribeLaunchTemplates",
        &filter,
        params,
        kept.len(),
        (1, 200),
    )?;
    let mut xml = Xml::default();
    xml.items("launchTemplates", &kept[from..to], |x, t| {
        write_template(x, t)
    });
    if let Some(token) = next {
        xml.leaf("nextToken", token);
    }
    Ok(xml)
}

/// The version numbers `LaunchTemplateVersion.N` names (`$Latest`, `$Default` or a
/// number); all versions within `MinVersion`..=`MaxVersion` when it names none.
fn versions_named(t: &LaunchTemplate, params: &Params) -> Result<Vec<u64>, Ec2Error> {
    let named = params.list("LaunchTemplateVersion");
    if named.is_empty() {
        let bound = |name: &str, default: u64| match params.get(name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().map_err(|_| {
                Ec2Error::new(
                    "InvalidParameterValue",
                    format!("{name} must be a version number"),
                )
            }),
        };
        let (min, max) = (bound("MinVersion", 1)?, bound("MaxVersion", u64::MAX)?);
        return Ok(t
            .versions
            .iter()
            .map(|v| v.number)
            .filter(|n| (min..=max).contains(n))
            .collect());
    }
    named
        .iter()
        .map(|v| {
            let number = match v.as_str() {
                "$Latest" => t.latest(),
                "$Default" => t.default_version,
                other => other.parse().map_err(|_| {
                    Ec2Error::new(
                        "InvalidLaunchTemplateId.VersionNotFound",
                        format!("{other} is not a version of {}", t.id),
                    )
                })?,
            };
            t.version(number).map(|_| number).ok_or_else(|| {
                Ec2Error::new(
                    "InvalidLaunchTemplateId.VersionNotFound",
                    format!("version {number} of {} does not exist", t.id),
                )
            })
        })
        .collect()
}

fn write_version(xml: &mut Xml, t: &LaunchTemplate, number: u64) {
    let Some(v) = t.version(number) else { return };
    xml.leaf("launchTemplateId", &t.id)
        .leaf("launchTemplateName", &t.name)
        .leaf("versionNumber", v.number);
    if let Some(description) = &v.description {
        xml.leaf("versionDescription", description);
    }
    xml.leaf("createTime", rfc3339_millis(v.created))
        .leaf("createdBy", CREATED_BY)
        .leaf("defaultVersion", v.number == t.default_version)
        .open("launchTemplateData")
        .data(TEMPLATE_DATA, &v.data)
        .close("launchTemplateData");
}

pub(super) fn describe_versions(engine: &mut Engine, params: &Params) -> Answer {
    let t = named(engine, params)?;
    let numbers = versions_named(t, params)?;
    let filter = format!("{}{numbers:?}", t.id);
    let (from, to, next) = page(
        "DescribeLaunchTemplateVersions",
        &filter,
        params,
        numbers.len(),
        (1, 200),
    )?;
    let mut xml = Xml::default();
    xml.items("launchTemplateVersionSet", &numbers[from..to], |x, n| {
        write_version(x, t, *n)
    });
    if let Some(token) = next {
        xml.leaf("nextToken", token);
    }
    Ok(xml)
}

pub(super) fn create_version(engine: &mut Engine, params: &Params) -> Answer {
    let unknown = params.unknown_under("LaunchTemplateData", TEMPLATE_DATA);
    if let Some(name) = unknown.first() {
        return Err(Ec2Error::new(
            "UnknownParameter",
            format!("the parameter {name} is not recognized"),
        ));
    }
    let id = named(engine, params)?.id.clone();
    let data = params.read("LaunchTemplateData", TEMPLATE_DATA)?;
    if data.as_object().is_none_or(|d| d.is_empty()) && params.get("SourceVersion").is_none() {
        return Err(Ec2Error::new(
            "MissingParameter",
            "the request must contain LaunchTemplateData",
        ));
    }
    let source = match params.get("SourceVersion") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            Ec2Error::new(
                "InvalidLaunchTemplateId.VersionNotFound",
                format!("{v} is not a version of {id}"),
            )
        })?),
    };
    let description = params.get("VersionDescription").map(str::to_owned);
    let token = params.get("ClientToken").map(str::to_owned);
    let number = engine
        .new_template_version(&id, (source, token), description, data)?
        .number;
    let t = engine.launch_template(&id).ok_or_else(|| not_found(&id))?;
    let mut xml = Xml::default();
    xml.open("launchTemplateVersion");
    write_version(&mut xml, t, number);
    xml.close("launchTemplateVersion");
    Ok(xml)
}

pub(super) fn modify(engine: &mut Engine, params: &Params) -> Answer {
    let id = named(engine, params)?.id.clone();
    let t = match params.get("SetDefaultVersion") {
        None => engine.launch_template(&id).ok_or_else(|| not_found(&id))?,
        Some(v) => {
            let number = v.parse::<u64>().map_err(|_| {
                Ec2Error::new(
                    "InvalidLaunchTemplateId.VersionNotFound",
                    format!("{v} is not a version of {id}"),
                )
            })?;
            engine.set_default_version(&id, number)?
        }
    };
    let mut xml = Xml::default();
    xml.open("launchTemplate");
    write_template(&mut xml, t);
    xml.close("launchTemplate");
    Ok(xml)
}
