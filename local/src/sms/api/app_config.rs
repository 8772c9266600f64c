//! An app's launch and replication configurations on the wire: Put, Get and Delete of
//! each, and the `ServerReplicationParameters` StartAppReplication creates jobs from.
//!
//! The configurations are stored as put; every group and server they name is checked
//! against the app first.

use serde_json::{json, Value};

use super::{
    app_arg, app_to_change, list_arg, opt_bool, opt_i32, opt_license, opt_str, opt_time, req_str,
    serialization,
};
use crate::sms::engine::{
    App, Engine, LaunchConfiguration, ReplicationConfiguration, ReplicationParameters,
};
use crate::sms::protocol::ApiError;

pub(super) fn put_launch(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    let server_groups = list_arg(input, "serverGroupLaunchConfigurations")?;
    check_config_members(
        engine.app(key),
        &server_groups,
        "serverLaunchConfigurations",
    )?;
    for g in &server_groups {
        opt_i32(g, "launchOrder")?;
    }
    let config = LaunchConfiguration {
        role_name: opt_str(input, "roleName")?,
        auto_launch: opt_bool(input, "autoLaunch")?,
        server_groups,
    };
    engine.put_launch_config(key, config);
    Ok(json!({}))
}

pub(super) fn get_launch(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let a = engine.app(app_arg(engine, input)?);
    let mut out = a
        .launch_config
        .clone()
        .unwrap_or_else(|| json!({ "serverGroupLaunchConfigurations": [] }));
    if let Some(o) = out.as_object_mut() {
        o.insert("appId".into(), a.id.clone().into());
    }
    Ok(out)
}

pub(super) fn delete_launch(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    engine.delete_launch_config(key);
    Ok(json!({}))
}

pub(super) fn put_replication(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    let server_groups = list_arg(input, "serverGroupReplicationConfigurations")?;
    check_config_members(
        engine.app(key),
        &server_groups,
        "serverReplicationConfigurations",
    )?;
    for g in &server_groups {
        for s in g
            .get("serverReplicationConfigurations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = s.get("serverReplicationParameters") {
                replication_parameters(p)?;
            }
        }
    }
    engine.put_replication_config(key, ReplicationConfiguration { server_groups });
    Ok(json!({}))
}

pub(super) fn get_replication(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let a = engine.app(app_arg(engine, input)?);
    Ok(a.replication_config
        .clone()
        .unwrap_or_else(|| json!({ "serverGroupReplicationConfigurations": [] })))
}

pub(super) fn delete_replication(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_to_change(engine, input)?;
    engine.delete_replication_config(key);
    Ok(json!({}))
}

/// Checks that every (group, server) pair a configuration names belongs to the app.
fn check_config_members(a: &App, groups: &[Value], servers_key: &str) -> Result<(), ApiError> {
    for g in groups {
        let gid = req_str(g, "serverGroupId")?;
        let group = a.groups.iter().find(|x| x.id == gid).ok_or_else(|| {
            ApiError::invalid(format!(
                "Server group {gid} does not belong to app {}",
                a.id
            ))
        })?;
        if let Some(list) = g.get(servers_key).filter(|v| !v.is_null()) {
            let list = list
                .as_array()
                .ok_or_else(|| serialization(servers_key, "a list"))?;
            for s in list {
                let server = s.get("server").ok_or_else(|| ApiError::missing("server"))?;
                let sid = req_str(server, "serverId")?;
                if !group.server_ids.contains(&sid) {
                    return Err(ApiError::invalid(format!(
                        "Server {sid} is not a member of server group {gid}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The model's `ServerReplicationParameters` (null means all defaults).
fn replication_parameters(p: &Value) -> Result<ReplicationParameters, ApiError> {
    if p.is_null() {
        return Ok(ReplicationParameters::default());
    }
    Ok(ReplicationParameters {
        seed_time: opt_time(p, "seedTime")?,
        frequency: opt_i32(p, "frequency")?,
        run_once: opt_bool(p, "runOnce")?.unwrap_or(false),
        license_type: opt_license(p)?,
        keep_amis: opt_i32(p, "numberOfRecentAmisToKeep")?,
        encrypted: opt_bool(p, "encrypted")?.unwrap_or(false),
        kms_key_id: opt_str(p, "kmsKeyId")?,
    })
}

/// The parameters an app's stored replication configuration gives each server, in
/// configuration order. PutAppReplicationConfiguration read every one of them already,
/// so reading them again cannot fail.
pub(super) fn configured_parameters(
    a: &App,
) -> Result<Vec<(String, ReplicationParameters)>, ApiError> {
    a.replication_config
        .as_ref()
        .and_then(|c| c.get("serverGroupReplicationConfigurations"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|g| {
            g.get("serverReplicationConfigurations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|s| {
            let sid = s.get("server")?.get("serverId")?.as_str()?.to_string();
            let p = s.get("serverReplicationParameters").unwrap_or(&Value::Null);
            Some(replication_parameters(p).map(|p| (sid, p)))
        })
        .collect()
}
