//! Applications and waves on the wire: create, update, delete, archive and unarchive,
//! list (with the model's filters and pages), and the associations of servers to an
//! application and of applications to a wave. Both answer the model's Application or
//! Wave, with its aggregated status as of the call.

use serde_json::{json, Value};

use super::{check_id, opt_bool, opt_object, opt_str, page, req_id, str_list, tags};
use crate::mgn::engine::{rfc3339, Aggregate, Engine, Grouping, GroupingKind};
use crate::mgn::error::MgnError;

use GroupingKind::{Application, Wave};

/// The id member and id prefix of each kind.
fn id_of(kind: GroupingKind) -> (&'static str, &'static str) {
    match kind {
        Application => ("applicationID", "app-"),
        Wave => ("waveID", "wave-"),
    }
}

/// A name: 1 to 256 characters, no leading or trailing blank (the model's pattern).
fn name(input: &Value, required: bool) -> Result<Option<String>, MgnError> {
    let Some(name) = opt_str(input, "name")? else {
        return if required {
            Err(MgnError::field("name", "is required"))
        } else {
            Ok(None)
        };
    };
    let trimmed = name.trim() == name && !name.contains('\0');
    if name.is_empty() || name.chars().count() > 256 || !trimmed {
        return Err(MgnError::field(
            "name",
            "must be 1 to 256 characters with no blank at either end",
        ));
    }
    Ok(Some(name))
}

fn description(input: &Value) -> Result<Option<String>, MgnError> {
    let description = opt_str(input, "description")?;
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 600 || d.contains('\0'))
    {
        return Err(MgnError::field(
            "description",
            "must be at most 600 characters",
        ));
    }
    Ok(description)
}

pub(super) fn create(
    engine: &mut Engine,
    input: &Value,
    kind: GroupingKind,
) -> Result<Value, MgnError> {
    let name = name(input, true)?.unwrap_or_default();
    let description = description(input)?;
    let tags = tags(input)?;
    let id = engine
        .create_grouping(kind, &name, description, tags)?
        .id
        .clone();
    Ok(rendered(engine, kind, &id))
}

pub(super) fn update(
    engine: &mut Engine,
    input: &Value,
    kind: GroupingKind,
) -> Result<Value, MgnError> {
    let (member, prefix) = id_of(kind);
    let id = req_id(input, member, prefix)?;
    let name = name(input, false)?;
    let description = description(input)?;
    engine.update_grouping(kind, &id, name, description)?;
    Ok(rendered(engine, kind, &id))
}

pub(super) fn delete(
    engine: &mut Engine,
    input: &Value,
    kind: GroupingKind,
) -> Result<Value, MgnError> {
    let (member, prefix) = id_of(kind);
    let id = req_id(input, member, prefix)?;
    engine.delete_grouping(kind, &id)?;
    Ok(json!({}))
}

pub(super) fn archive(
    engine: &mut Engine,
    input: &Value,
    kind: GroupingKind,
    archived: bool,
) -> Result<Value, MgnError> {
    let (member, prefix) = id_of(kind);
    let id = req_id(input, member, prefix)?;
    engine.set_archived(kind, &id, archived)?;
    Ok(rendered(engine, kind, &id))
}

pub(super) fn list(
    engine: &mut Engine,
    input: &Value,
    kind: GroupingKind,
) -> Result<Value, MgnError> {
    let filters = Value::Object(opt_object(input, "filters")?.cloned().unwrap_or_default());
    let id_list = |field: &str, prefix: &'static str| {
        str_list(&filters, field, (0, 200), move |_, s| {
            check_id(&format!("filters.{field}"), s, prefix)
        })
        .map(Option::unwrap_or_default)
    };
    let (member, prefix) = id_of(kind);
    let ids = id_list(&format!("{member}s"), prefix)?;
    let waves = match kind {
        Application => id_list("waveIDs", "wave-")?,
        Wave => Vec::new(),
    };
    let archived = opt_bool(&filters, "isArchived")?;
    let kept: Vec<&Grouping> = engine
        .listed(kind)
        .filter(|g| ids.is_empty() || ids.contains(&g.id))
        .filter(|g| waves.is_empty() || g.wave_id.as_ref().is_some_and(|w| waves.contains(w)))
        .filter(|g| archived.is_none_or(|a| a == g.archived))
        .collect();
    let operation = match kind {
        Application => "ListApplications",
        Wave => "ListWaves",
    };
    let (from, to, next) = page(operation, &filters.to_string(), input, kept.len())?;
    let items: Vec<Value> = kept[from..to]
        .iter()
        .map(|g| render(engine, kind, g))
        .collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

/// AssociateSourceServers / DisassociateSourceServers: 1 to 50 servers (the model).
pub(super) fn associate_servers(
    engine: &mut Engine,
    input: &Value,
    associate: bool,
) -> Result<Value, MgnError> {
    let application = req_id(input, "applicationID", "app-")?;
    let ids = str_list(input, "sourceServerIDs", (1, 50), |f, s| {
        check_id(f, s, "s-")
    })?
    .ok_or_else(|| MgnError::field("sourceServerIDs", "is required"))?;
    engine.associate_servers(&application, &ids, associate)?;
    Ok(json!({}))
}

/// AssociateApplications / DisassociateApplications: 1 to 50 applications (the model).
pub(super) fn associate_applications(
    engine: &mut Engine,
    input: &Value,
    associate: bool,
) -> Result<Value, MgnError> {
    let wave = req_id(input, "waveID", "wave-")?;
    let ids = str_list(input, "applicationIDs", (1, 50), |f, s| {
        check_id(f, s, "app-")
    })?
    .ok_or_else(|| MgnError::field("applicationIDs", "is required"))?;
    engine.associate_applications(&wave, &ids, associate)?;
    Ok(json!({}))
}

fn rendered(engine: &Engine, kind: GroupingKind, id: &str) -> Value {
    match engine.grouping(kind, id) {
        Ok(g) => render(engine, kind, g),
        Err(_) => json!({}),
    }
}

/// The model's Application or Wave.
fn render(engine: &Engine, kind: GroupingKind, g: &Grouping) -> Value {
    let status = engine.aggregate(kind, &g.id);
    let (member, _) = id_of(kind);
    let mut out = json!({
        member: g.id,
        "arn": g.arn,
        "name": g.name,
        "description": g.description,
        "isArchived": g.archived,
        "creationDateTime": rfc3339(g.created),
        "lastModifiedDateTime": rfc3339(g.modified),
        "tags": g.tags,
    });
    match kind {
        Application => {
            out["waveID"] = json!(g.wave_id);
            out["applicationAggregatedStatus"] = aggregated(engine, &status, "totalSourceServers");
        }
        Wave => {
            let mut wave = aggregated(engine, &status, "totalApplications");
            wave["replicationStartedDateTime"] = json!(status.replication_started.map(rfc3339));
            out["waveAggregatedStatus"] = wave;
        }
    }
    out
}

fn aggregated(engine: &Engine, status: &Aggregate, total: &str) -> Value {
    json!({
        "lastUpdateDateTime": rfc3339(engine.now()),
        "healthStatus": status.health.as_str(),
        "progressStatus": status.progress.as_str(),
        total: status.members,
    })
}
