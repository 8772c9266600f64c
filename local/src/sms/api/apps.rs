//! Applications on the wire: CreateApp, GetApp, ListApps, UpdateApp, DeleteApp,
//! StartAppReplication, StopAppReplication, LaunchApp, TerminateApp, and the model's
//! `AppSummary` and full app (summary, server groups, tags) shapes.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::app_config::configured_parameters;
use super::catalog::server_json_by_id;
use super::{
    app_arg, app_to_change, list_arg, opt_bool, opt_str, page, req_str, serialization,
    DEFAULT_APPS_PAGE,
};
use crate::sms::engine::{
    epoch_secs, App, AppDeletion, AppKey, AppUpdate, Engine, GroupInput, Job, NewApp,
};
use crate::sms::protocol::{
    ApiError, AppStatus, LaunchConfigStatus, Operation, ReplicationConfigStatus,
};

pub(super) fn create_app(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let client_token = opt_str(input, "clientToken")?;
    // A repeat of a creation answers with the app it made, before anything is checked
    // again (its servers now belong to that app).
    if let Some(key) = client_token
        .as_deref()
        .and_then(|t| engine.app_created_with(t))
    {
        return Ok(app_full(engine, key));
    }
    let name = opt_str(input, "name")?.unwrap_or_else(|| "unnamed".into());
    let description = opt_str(input, "description")?;
    let role_name = opt_str(input, "roleName")?;
    let tags = parse_tags(input)?;
    let groups = parse_groups(engine, input, None)?;
    let key = engine.create_app(NewApp {
        name,
        description,
        role_name,
        tags,
        groups,
        client_token,
    });
    Ok(app_full(engine, key))
}

pub(super) fn get_app(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_arg(engine, input)?;
    Ok(app_full(engine, key))
}

pub(super) fn list_apps(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let filter: Option<Vec<String>> = match input.get("appIds") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => Some(
            ids.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| serialization("appIds", "a list of strings"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(serialization("appIds", "a list of strings")),
    };
    let list: Vec<&App> = engine
        .apps()
        .iter()
        .filter(|a| a.status != AppStatus::Deleted)
        .filter(|a| filter.as_ref().is_none_or(|ids| ids.contains(&a.id)))
        .collect();
    let fingerprint = filter.map(|f| f.join(",")).unwrap_or_default();
    let (from, to, next) = page(
        Operation::ListApps,
        &fingerprint,
        input,
        list.len(),
        DEFAULT_APPS_PAGE,
    )?;
    let items: Vec<Value> = list[from..to]
        .iter()
        .map(|a| app_summary(engine, a))
        .collect();
    Ok(json!({ "apps": items, "nextToken": next }))
}

pub(super) fn update_app(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    let app_id = engine.app(key).id.clone();
    let name = opt_str(input, "name")?;
    let description = opt_str(input, "description")?;
    let role_name = opt_str(input, "roleName")?;
    let tags = if input.get("tags").is_some_and(|t| !t.is_null()) {
        Some(parse_tags(input)?)
    } else {
        None
    };
    let groups = if input.get("serverGroups").is_some_and(|t| !t.is_null()) {
        Some(parse_groups(engine, input, Some(&app_id))?)
    } else {
        None
    };
    engine.update_app(
        key,
        AppUpdate {
            name,
            description,
            role_name,
            tags,
            groups,
        },
    );
    Ok(app_full(engine, key))
}

pub(super) fn delete_app(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    let force_stop = opt_bool(input, "forceStopAppReplication")?.unwrap_or(false);
    let force_terminate = opt_bool(input, "forceTerminateApp").map(|v| v.unwrap_or(false));
    engine.delete_app(
        key,
        AppDeletion {
            force_stop,
            force_terminate,
        },
    )?;
    Ok(json!({}))
}

pub(super) fn start_app_replication(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    let configured = configured_parameters(engine.app(key))?;
    engine.start_app_replication(key, configured)?;
    Ok(json!({}))
}

pub(super) fn stop_app_replication(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    engine.stop_app_replication(key)?;
    Ok(json!({}))
}

pub(super) fn launch_app(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    engine.launch_app(key)?;
    Ok(json!({}))
}

pub(super) fn terminate_app(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    engine.terminate_app(key)?;
    Ok(json!({}))
}

fn parse_tags(v: &Value) -> Result<Vec<(String, String)>, ApiError> {
    list_arg(v, "tags")?
        .iter()
        .map(|t| Ok((req_str(t, "key")?, opt_str(t, "value")?.unwrap_or_default())))
        .collect()
}

/// Reads `serverGroups`, checking every member as it goes: in the catalog, in no other
/// app than `app_id`, named once.
fn parse_groups(
    engine: &Engine,
    input: &Value,
    app_id: Option<&str>,
) -> Result<Vec<GroupInput>, ApiError> {
    let Some(groups) = input.get("serverGroups").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let groups = groups
        .as_array()
        .ok_or_else(|| serialization("serverGroups", "a list"))?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let name = opt_str(g, "name")?.unwrap_or_else(|| format!("group-{}", gi + 1));
        let id = opt_str(g, "serverGroupId")?;
        let mut server_ids = Vec::new();
        if let Some(list) = g.get("serverList").filter(|v| !v.is_null()) {
            let list = list
                .as_array()
                .ok_or_else(|| serialization("serverList", "a list"))?;
            for s in list {
                let sid = req_str(s, "serverId")?;
                if let Some(other) = &engine.catalog_server(&sid)?.app_id {
                    if Some(other.as_str()) != app_id {
                        return Err(ApiError::invalid(format!(
                            "Server {sid} already belongs to app {other}"
                        )));
                    }
                }
                if !seen.insert(sid.clone()) {
                    return Err(ApiError::invalid(format!(
                        "Server {sid} appears twice in serverGroups"
                    )));
                }
                server_ids.push(sid);
            }
        }
        out.push(GroupInput {
            id,
            name,
            server_ids,
        });
    }
    Ok(out)
}

/// The model's `AppSummary` shape.
fn app_summary(engine: &Engine, a: &App) -> Value {
    let latest = a
        .server_ids()
        .filter_map(|s| engine.job_of(s).and_then(Job::latest_completion))
        .max();
    let (replication_status, replication_message) = engine.app_replication_status(a);
    json!({
        "appId": a.id,
        "name": a.name,
        "description": a.description,
        "status": a.status.as_str(),
        "replicationConfigurationStatus": if a.replication_config.is_some() {
            ReplicationConfigStatus::Configured.as_str()
        } else {
            ReplicationConfigStatus::NotConfigured.as_str()
        },
        "replicationStatus": replication_status.as_str(),
        "replicationStatusMessage": replication_message,
        "latestReplicationTime": latest.map(epoch_secs),
        "launchConfigurationStatus": if a.launch_config.is_some() {
            LaunchConfigStatus::Configured.as_str()
        } else {
            LaunchConfigStatus::NotConfigured.as_str()
        },
        "launchStatus": a.launch_status.as_str(),
        "launchStatusMessage": a.launch_status_message,
        "launchDetails": a.launch_details.as_ref().map(|d| json!({
            "latestLaunchTime": epoch_secs(d.latest_launch_time),
            "stackName": d.stack_name,
            "stackId": d.stack_id,
        })),
        "creationTime": epoch_secs(a.created),
        "lastModified": epoch_secs(a.last_modified),
        "roleName": a.role_name,
        "totalServerGroups": a.groups.len(),
        "totalServers": a.server_ids().count(),
    })
}

/// CreateApp, GetApp and UpdateApp's answer: summary, server groups, tags.
fn app_full(engine: &Engine, key: AppKey) -> Value {
    let a = engine.app(key);
    let groups: Vec<Value> = a
        .groups
        .iter()
        .map(|g| {
            let servers: Vec<Value> = g
                .server_ids
                .iter()
                .map(|s| server_json_by_id(engine, s))
                .collect();
            json!({ "serverGroupId": g.id, "name": g.name, "serverList": servers })
        })
        .collect();
    let tags: Vec<Value> = a
        .tags
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    json!({ "appSummary": app_summary(engine, a), "serverGroups": groups, "tags": tags })
}
