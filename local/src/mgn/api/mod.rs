//! MGN operations on the wire: read a restJson1 body into typed arguments, act on the
//! engine, render the model's output shape. A member of the wrong type, a required
//! member missing, or a value outside the model's constraints (an id's pattern, a list's
//! or page's bounds, an enum's values) is the model's ValidationException with reason
//! `fieldValidationFailed` and the member named in `fieldList`. Listings page with an
//! opaque `nextToken` bound to the operation and its filters. Members the model does not
//! know are ignored, as a restJson1 service does.
//!
//! - `servers.rs`: DescribeSourceServers and the calls on one source server;
//! - `server_shape.rs`: the model's SourceServer, written straight to JSON;
//! - `apps.rs`: applications and waves, and what they hold;
//! - `configurations.rs` and `settings.rs`: replication and launch configurations and
//!   their templates;
//! - `imports.rs`: StartImport, ListImports, ListImportErrors;
//! - `tags.rs`: TagResource, UntagResource, ListTagsForResource;
//! - `jobs.rs`: StartTest, StartCutover, TerminateTargetInstances, DescribeJobs,
//!   DescribeJobLogItems;
//! - this file: the dispatch, the readers and paging.

mod apps;
mod configurations;
mod imports;
mod jobs;
mod server_shape;
mod servers;
pub mod settings;
mod tags;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::engine::{
    Engine,
    GroupingKind::{Application, Wave},
    SettingsKind::{Launch, Replication},
};
use super::error::MgnError;
use super::protocol::ErrorKind;
use crate::page_token::Binding;

/// Every operation [`call`] serves (InitializeService is the endpoint's own).
pub const SERVED: &[&str] = &[
    "ArchiveApplication",
    "ArchiveWave",
    "AssociateApplications",
    "AssociateSourceServers",
    "ChangeServerLifeCycleState",
    "CreateApplication",
    "CreateLaunchConfigurationTemplate",
    "CreateReplicationConfigurationTemplate",
    "CreateWave",
    "DeleteApplication",
    "DeleteJob",
    "DeleteLaunchConfigurationTemplate",
    "DeleteReplicationConfigurationTemplate",
    "DeleteSourceServer",
    "DeleteWave",
    "DescribeJobLogItems",
    "DescribeJobs",
    "DescribeLaunchConfigurationTemplates",
    "DescribeReplicationConfigurationTemplates",
    "DescribeSourceServers",
    "DisassociateApplications",
    "DisassociateSourceServers",
    "DisconnectFromService",
    "FinalizeCutover",
    "GetLaunchConfiguration",
    "GetReplicationConfiguration",
    "ListApplications",
    "ListImportErrors",
    "ListImports",
    "ListTagsForResource",
    "ListWaves",
    "MarkAsArchived",
    "PauseReplication",
    "ResumeReplication",
    "RetryDataReplication",
    "StartCutover",
    "StartImport",
    "StartReplication",
    "StartTest",
    "StopReplication",
    "TagResource",
    "TerminateTargetInstances",
    "UnarchiveApplication",
    "UnarchiveWave",
    "UntagResource",
    "UpdateApplication",
    "UpdateLaunchConfiguration",
    "UpdateLaunchConfigurationTemplate",
    "UpdateReplicationConfiguration",
    "UpdateReplicationConfigurationTemplate",
    "UpdateSourceServer",
    "UpdateWave",
];

/// An operation's answer: a JSON tree, or the JSON text of a listing that writes its
/// large pages itself.
#[derive(Debug)]
pub(crate) enum Body {
    Tree(Value),
    Text(String),
}

impl Body {
    /// The body as it goes on the wire.
    pub(crate) fn into_text(self) -> String {
        match self {
            Body::Tree(value) => value.to_string(),
            Body::Text(text) => text,
        }
    }

    /// The body as a tree, for harnesses that read answers.
    pub(crate) fn into_value(self) -> Result<Value, serde_json::Error> {
        match self {
            Body::Tree(value) => Ok(value),
            Body::Text(text) => serde_json::from_str(&text),
        }
    }
}

/// What an operation answers: a body, or none (a 204).
pub(crate) type Output = Option<Body>;

/// One operation's wire handler.
type Handler = fn(&mut Engine, &Value) -> Result<Value, MgnError>;

/// The handler of an operation that writes its answer as JSON text.
type WritingHandler = fn(&mut Engine, &Value) -> Result<String, MgnError>;

/// Runs the operation `name` on the engine, once `accountID` (when given) is found to
/// be this account; `None` when the stand-in does not serve it.
pub(crate) fn call(
    engine: &mut Engine,
    account: &str,
    name: &str,
    input: &Value,
) -> Option<Result<Output, MgnError>> {
    if let Some(writer) = writing_handler(name) {
        let answer = own_account(input, account).and_then(|()| writer(engine, input));
        return Some(answer.map(|text| Some(Body::Text(text))));
    }
    let handler = server_handler(name)
        .or_else(|| settings_handler(name))
        .or_else(|| grouping_handler(name))?;
    let answer = own_account(input, account).and_then(|()| handler(engine, input));
    Some(answer.map(|v| Some(Body::Tree(compact(v)))))
}

/// The listings whose pages are written straight to JSON text.
fn writing_handler(name: &str) -> Option<WritingHandler> {
    match name {
        "DescribeSourceServers" => Some(servers::describe_source_servers),
        _ => None,
    }
}

/// Source servers, their jobs, imports and tags.
fn server_handler(name: &str) -> Option<Handler> {
    Some(match name {
        "ChangeServerLifeCycleState" => servers::change_life_cycle_state,
        "FinalizeCutover" => servers::finalize_cutover,
        "MarkAsArchived" => servers::mark_as_archived,
        "DisconnectFromService" => servers::disconnect_from_service,
        "RetryDataReplication" => servers::retry_data_replication,
        "StartReplication" => servers::start_replication,
        "StopReplication" => servers::stop_replication,
        "PauseReplication" => servers::pause_replication,
        "ResumeReplication" => servers::resume_replication,
        "DeleteSourceServer" => servers::delete_source_server,
        "UpdateSourceServer" => servers::update_source_server,
        "DeleteJob" => jobs::delete_job,
        "StartTest" => jobs::start_test,
        "StartCutover" => jobs::start_cutover,
        "TerminateTargetInstances" => jobs::terminate_target_instances,
        "DescribeJobs" => jobs::describe_jobs,
        "DescribeJobLogItems" => jobs::describe_job_log_items,
        "StartImport" => imports::start_import,
        "ListImports" => imports::list_imports,
        "ListImportErrors" => imports::list_import_errors,
        "TagResource" => tags::tag_resource,
        "UntagResource" => tags::untag_resource,
        "ListTagsForResource" => tags::list_tags_for_resource,
        _ => return None,
    })
}

/// Replication and launch configurations and their templates.
fn settings_handler(name: &str) -> Option<Handler> {
    Some(match name {
        "GetReplicationConfiguration" => |e, i| configurations::get(e, i, Replication),
        "UpdateReplicationConfiguration" => |e, i| configurations::update(e, i, Replication),
        "GetLaunchConfiguration" => |e, i| configurations::get(e, i, Launch),
        "UpdateLaunchConfiguration" => |e, i| configurations::update(e, i, Launch),
        "DescribeReplicationConfigurationTemplates" => {
            |e, i| configurations::describe_templates(e, i, Replication)
        }
        "CreateReplicationConfigurationTemplate" => {
            |e, i| configurations::create_template(e, i, Replication)
        }
        "UpdateReplicationConfigurationTemplate" => {
            |e, i| configurations::update_template(e, i, Replication)
        }
        "DeleteReplicationConfigurationTemplate" => {
            |e, i| configurations::delete_template(e, i, Replication)
        }
        "DescribeLaunchConfigurationTemplates" => {
            |e, i| configurations::describe_templates(e, i, Launch)
        }
        "CreateLaunchConfigurationTemplate" => |e, i| configurations::create_template(e, i, Launch),
        "UpdateLaunchConfigurationTemplate" => |e, i| configurations::update_template(e, i, Launch),
        "DeleteLaunchConfigurationTemplate" => |e, i| configurations::delete_template(e, i, Launch),
        _ => return None,
    })
}

/// Applications and waves, and what they hold.
fn grouping_handler(name: &str) -> Option<Handler> {
    Some(match name {
        "CreateApplication" => |e, i| apps::create(e, i, Application),
        "UpdateApplication" => |e, i| apps::update(e, i, Application),
        "DeleteApplication" => |e, i| apps::delete(e, i, Application),
        "ArchiveApplication" => |e, i| apps::archive(e, i, Application, true),
        "UnarchiveApplication" => |e, i| apps::archive(e, i, Application, false),
        "ListApplications" => |e, i| apps::list(e, i, Application),
        "CreateWave" => |e, i| apps::create(e, i, Wave),
        "UpdateWave" => |e, i| apps::update(e, i, Wave),
        "DeleteWave" => |e, i| apps::delete(e, i, Wave),
        "ArchiveWave" => |e, i| apps::archive(e, i, Wave, true),
        "UnarchiveWave" => |e, i| apps::archive(e, i, Wave, false),
        "ListWaves" => |e, i| apps::list(e, i, Wave),
        "AssociateSourceServers" => |e, i| apps::associate_servers(e, i, true),
        "DisassociateSourceServers" => |e, i| apps::associate_servers(e, i, false),
        "AssociateApplications" => |e, i| apps::associate_applications(e, i, true),
        "DisassociateApplications" => |e, i| apps::associate_applications(e, i, false),
        _ => return None,
    })
}

/// `accountID`, when given, must be this account: the stand-in manages no other.
fn own_account(input: &Value, account: &str) -> Result<(), MgnError> {
    match opt_str(input, "accountID")? {
        Some(id) if id != account => Err(MgnError::new(
            ErrorKind::AccessDenied,
            format!("account {id} is not managed by account {account}"),
        )),
        _ => Ok(()),
    }
}

/// Drops null members, so absent values are absent on the wire rather than `null`.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, compact(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        other => other,
    }
}

fn wrong_type(field: &str, expected: &str) -> MgnError {
    MgnError::field(field, format!("must be {expected}"))
}

fn opt_str(v: &Value, field: &str) -> Result<Option<String>, MgnError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(field, "a string")),
    }
}

fn opt_bool(v: &Value, field: &str) -> Result<Option<bool>, MgnError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(field, "a boolean")),
    }
}

fn opt_object<'a>(v: &'a Value, field: &str) -> Result<Option<&'a Map<String, Value>>, MgnError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(wrong_type(field, "an object")),
    }
}

/// A model id: `prefix` then 17 letters or digits (source servers, jobs, applications).
fn check_id(field: &str, value: &str, prefix: &str) -> Result<(), MgnError> {
    let rest = value.strip_prefix(prefix);
    let ok = rest.is_some_and(|r| r.len() == 17 && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(MgnError::field(
            field,
            format!("{value:?} is not an id of the form {prefix} and 17 letters or digits"),
        ))
    }
}

/// A required id member.
fn req_id(v: &Value, field: &str, prefix: &str) -> Result<String, MgnError> {
    let id = opt_str(v, field)?.ok_or_else(|| MgnError::field(field, "is required"))?;
    check_id(field, &id, prefix)?;
    Ok(id)
}

/// A list of strings within the model's bounds, each checked by `each`.
fn str_list(
    v: &Value,
    field: &str,
    bounds: (usize, usize),
    each: impl Fn(&str, &str) -> Result<(), MgnError>,
) -> Result<Option<Vec<String>>, MgnError> {
    let items = match v.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(wrong_type(field, "a list")),
    };
    let (min, max) = bounds;
    if items.len() < min || items.len() > max {
        return Err(MgnError::field(
            field,
            format!("must hold {min} to {max} items, got {}", items.len()),
        ));
    }
    items
        .iter()
        .map(|item| {
            let s = item
                .as_str()
                .ok_or_else(|| wrong_type(field, "a list of strings"))?;
            each(field, s)?;
            Ok(s.to_owned())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A list of source server ids (required, 1 to 200, the model's bounds for launches).
/// A server named twice is refused: a job takes each server once.
fn server_ids(v: &Value, field: &str) -> Result<Vec<String>, MgnError> {
    let ids = str_list(v, field, (1, 200), |f, s| check_id(f, s, "s-"))?
        .ok_or_else(|| MgnError::field(field, "is required"))?;
    let mut seen = std::collections::BTreeSet::new();
    match ids.iter().find(|id| !seen.insert(id.as_str())) {
        Some(twice) => Err(MgnError::field(field, format!("{twice} is named twice"))),
        None => Ok(ids),
    }
}

/// `tags`: at most 50, string values (the model's TagsMap).
fn tags(v: &Value) -> Result<BTreeMap<String, String>, MgnError> {
    let Some(map) = opt_object(v, "tags")? else {
        return Ok(BTreeMap::new());
    };
    if map.len() > 50 {
        return Err(MgnError::field("tags", "must hold at most 50 tags"));
    }
    map.iter()
        .map(|(k, value)| match value {
            Value::String(s) if k.chars().count() <= 256 && s.chars().count() <= 256 => {
                Ok((k.clone(), s.clone()))
            }
            _ => Err(MgnError::field(
                "tags",
                format!(
                    "tag {k:?} must have a 1-128 character key and a string value of at most 256"
                ),
            )),
        })
        .collect()
}

/// Resolves `maxResults` and `nextToken` into the slice `[from, to)` of `total` items
/// and the next page's token. The model bounds `maxResults` to 1..=1000; left out, the
/// whole rest is one page (its documentation gives no default).
fn page(
    operation: &str,
    filter: &str,
    input: &Value,
    total: usize,
) -> Result<(usize, usize, Option<String>), MgnError> {
    let size = match input.get("maxResults") {
        None | Some(Value::Null) => usize::MAX,
        Some(n) => match n.as_i64() {
            Some(n @ 1..=1000) => n as usize,
            Some(n) => {
                return Err(MgnError::field(
                    "maxResults",
                    format!("must be 1 to 1000, got {n}"),
                ))
            }
            None => return Err(wrong_type("maxResults", "an integer")),
        },
    };
    let binding = Binding::of(operation, filter);
    let from = match opt_str(input, "nextToken")? {
        None => 0,
        Some(token) if token.is_empty() => 0,
        Some(token) => binding.offset(&token).ok_or_else(|| {
            MgnError::field("nextToken", "is not a token this listing handed out")
        })?,
    };
    let from = from.min(total);
    let to = from.saturating_add(size).min(total);
    Ok((from, to, (to < total).then(|| binding.token(to))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn every_operation_listed_as_served_is_dispatched_and_no_other() {
        let mut engine = Engine::new(Scenario::default_scenario());
        for route in crate::mgn::protocol::ROUTES {
            let answered = call(
                &mut engine,
                "123456789012",
                route.operation,
                &serde_json::json!({}),
            );
            assert_eq!(
                answered.is_some(),
                SERVED.contains(&route.operation),
                "{}",
                route.operation
            );
        }
    }
}
