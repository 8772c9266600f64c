//! Source servers on the wire: DescribeSourceServers with the model's filters, the calls
//! on one server (each answers the server as it now stands, the model's SourceServer),
//! and the rendering of that shape.

use serde_json::{json, Value};

use super::{check_id, opt_bool, opt_object, page, req_id, str_list, wrong_type};
use crate::mgn::engine::{
    device_name, iso8601_duration, rfc3339, Engine, LaunchRecord, SourceServer,
};
use crate::mgn::error::MgnError;
use crate::mgn::model::{ChangeableLifeCycleState, FirstBoot, LifeCycleState, ReplicationType};

/// The filters of DescribeSourceServers, each as the model bounds it.
struct Filters {
    ids: Option<Vec<String>>,
    archived: Option<bool>,
    replication_types: Option<Vec<String>>,
    life_cycle_states: Option<Vec<String>>,
    application_ids: Option<Vec<String>>,
}

fn filters(input: &Value) -> Result<Filters, MgnError> {
    let Some(map) = opt_object(input, "filters")? else {
        return Ok(Filters {
            ids: None,
            archived: None,
            replication_types: None,
            life_cycle_states: None,
            application_ids: None,
        });
    };
    let f = Value::Object(map.clone());
    let member = |name: &str| format!("filters.{name}");
    let enum_of = |allowed: &'static dyn Fn(&str) -> bool| {
        move |field: &str, value: &str| {
            if allowed(value) {
                Ok(())
            } else {
                Err(MgnError::field(
                    field,
                    format!("{value:?} is not one of the model's values"),
                ))
            }
        }
    };
    let ids = str_list(&f, "sourceServerIDs", (0, 200), |_, s| {
        check_id(&member("sourceServerIDs"), s, "s-")
    })?;
    let archived =
        opt_bool(&f, "isArchived").map_err(|_| wrong_type(&member("isArchived"), "a boolean"))?;
    let replication_types = str_list(
        &f,
        "replicationTypes",
        (0, 2),
        enum_of(&|s| ReplicationType::parse(s).is_some()),
    )?;
    let life_cycle_states = str_list(
        &f,
        "lifeCycleStates",
        (0, 10),
        enum_of(&|s| LifeCycleState::parse(s).is_some()),
    )?;
    let application_ids = str_list(&f, "applicationIDs", (0, 200), |_, s| {
        check_id(&member("applicationIDs"), s, "app-")
    })?;
    Ok(Filters {
        ids,
        archived,
        replication_types,
        life_cycle_states,
        application_ids,
    })
}

impl Filters {
    fn keep(&self, s: &SourceServer) -> bool {
        let listed = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|l| l.is_empty() || l.iter().any(|v| v == value))
        };
        listed(&self.ids, &s.id)
            && self.archived.is_none_or(|a| a == s.archived)
            && listed(
                &self.replication_types,
                ReplicationType::AgentBased.as_str(),
            )
            && listed(&self.life_cycle_states, s.life_cycle.as_str())
            && (self.application_ids.as_ref().is_none_or(Vec::is_empty)
                || s.application_id
                    .as_deref()
                    .is_some_and(|a| listed(&self.application_ids, a)))
    }
}

pub(super) fn describe_source_servers(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    let filters = filters(input)?;
    let kept: Vec<&SourceServer> = engine
        .source_servers()
        .filter(|s| filters.keep(s))
        .collect();
    let filter_text = input
        .get("filters")
        .map(Value::to_string)
        .unwrap_or_default();
    let (from, to, next) = page("DescribeSourceServers", &filter_text, input, kept.len())?;
    let items: Vec<Value> = kept[from..to].iter().map(|s| render(engine, s)).collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

/// Runs `act` on the server `sourceServerID` names, then answers it as it now stands.
fn on_server(
    engine: &mut Engine,
    input: &Value,
    act: impl FnOnce(&mut Engine, &str) -> Result<(), MgnError>,
) -> Result<Value, MgnError> {
    let id = req_id(input, "sourceServerID", "s-")?;
    act(engine, &id)?;
    let server = engine.source_server(&id)?;
    Ok(render(engine, server))
}

pub(super) fn change_life_cycle_state(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    let id = req_id(input, "sourceServerID", "s-")?;
    let life_cycle = opt_object(input, "lifeCycle")?
        .ok_or_else(|| MgnError::field("lifeCycle", "is required"))?;
    let state = match life_cycle.get("state") {
        Some(Value::String(s)) => ChangeableLifeCycleState::parse(s).ok_or_else(|| {
            MgnError::field(
                "lifeCycle.state",
                format!("{s:?} is not one of the model's values"),
            )
        })?,
        None | Some(Value::Null) => return Err(MgnError::field("lifeCycle.state", "is required")),
        Some(_) => return Err(wrong_type("lifeCycle.state", "a string")),
    };
    engine.change_life_cycle(&id, state)?;
    Ok(render(engine, engine.source_server(&id)?))
}

pub(super) fn finalize_cutover(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::finalize_cutover)
}

pub(super) fn mark_as_archived(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::mark_as_archived)
}

pub(super) fn disconnect_from_service(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::disconnect_from_service)
}

pub(super) fn retry_data_replication(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::retry_data_replication)
}

pub(super) fn start_replication(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::start_replication)
}

pub(super) fn stop_replication(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::stop_replication)
}

pub(super) fn pause_replication(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::pause_replication)
}

pub(super) fn resume_replication(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    on_server(engine, input, Engine::resume_replication)
}

/// The model's SourceServer.
pub(super) fn render(engine: &Engine, s: &SourceServer) -> Value {
    let now = engine.now();
    let launched = s.launched_instance.map(|i| &engine.instances()[i]);
    json!({
        "sourceServerID": s.id,
        "arn": s.arn,
        "isArchived": s.archived,
        "tags": s.tags,
        "replicationType": ReplicationType::AgentBased.as_str(),
        "applicationID": s.application_id,
        "userProvidedID": s.user_provided_id,
        "launchedInstance": launched.map(|i| json!({
            "ec2InstanceID": i.id,
            "jobID": i.job_id,
            "firstBoot": FirstBoot::Succeeded.as_str(),
        })),
        "dataReplicationInfo": s.agent_installed.then(|| data_replication_info(engine, s)),
        "lifeCycle": {
            "addedToServiceDateTime": s.added.map(rfc3339),
            "firstByteDateTime": s.first_byte.map(rfc3339),
            "elapsedReplicationDuration": s.first_byte.map(|t| iso8601_duration(now - t)),
            "lastSeenByServiceDateTime": s.last_seen(now).map(rfc3339),
            "lastTest": launch_record(&s.last_test),
            "lastCutover": launch_record(&s.last_cutover),
            "state": s.life_cycle.as_str(),
        },
        "sourceProperties": s.agent_installed.then(|| source_properties(s, now)),
        "connectorAction": s.connector_action,
    })
}

fn data_replication_info(engine: &Engine, s: &SourceServer) -> Value {
    let now = engine.now();
    let r = &s.replication;
    let replicated = r.replicated_bytes(now);
    let rescanned = r.rescanned_bytes(now);
    let disks: Vec<Value> = r
        .total_bytes()
        .iter()
        .zip(&replicated)
        .enumerate()
        .map(|(k, (total, done))| {
            json!({
                "deviceName": device_name(k),
                "totalStorageBytes": total,
                "replicatedStorageBytes": done,
                "rescannedStorageBytes": rescanned[k],
                "backloggedStorageBytes": if k == 0 { r.backlogged } else { 0 },
            })
        })
        .collect();
    json!({
        "dataReplicationState": r.state.as_str(),
        "dataReplicationInitiation": r.initiation.as_ref().map(|(started, steps)| json!({
            "startDateTime": rfc3339(*started),
            "steps": steps.iter().map(|(name, status)| json!({
                "name": name.as_str(),
                "status": status.as_str(),
            })).collect::<Vec<_>>(),
        })),
        "dataReplicationError": r.error.map(|e| json!({
            "error": e.as_str(),
            "rawError": format!("data replication stalled: {e}"),
        })),
        "lagDuration": r.lag(now, engine.healthy_lag()).map(iso8601_duration),
        "etaDateTime": r.eta(now).map(rfc3339),
        "replicatedDisks": disks,
        "lastSnapshotDateTime": r.last_snapshot.map(rfc3339),
    })
}

fn launch_record(record: &LaunchRecord) -> Value {
    let at = |t: Option<i64>| t.map(|t| json!({ "apiCallDateTime": rfc3339(t) }));
    json!({
        "initiated": record.initiated.as_ref().map(|(t, job)| json!({
            "apiCallDateTime": rfc3339(*t),
            "jobID": job,
        })),
        "reverted": at(record.reverted),
        "finalized": at(record.finalized),
    })
}

fn source_properties(s: &SourceServer, now: i64) -> Value {
    let disks: Vec<Value> = s
        .replication
        .disks
        .iter()
        .enumerate()
        .map(|(k, bytes)| json!({ "deviceName": device_name(k), "bytes": bytes }))
        .collect();
    json!({
        "lastUpdatedDateTime": s.added.map(|_| rfc3339(now)),
        "recommendedInstanceType": "t3.medium",
        "identificationHints": {
            "fqdn": s.hints.fqdn,
            "hostname": s.hints.hostname,
            "vmWareUuid": s.hints.vmware_uuid,
            "vmPath": s.hints.vm_path,
        },
        "networkInterfaces": [{
            "macAddress": s.hints.mac_address,
            "ips": [s.hints.ip_address],
            "isPrimary": true,
        }],
        "disks": disks,
        "cpus": [{ "cores": 2, "modelName": "Intel(R) Xeon(R) CPU" }],
        "ramBytes": 8u64 << 30,
        "os": { "fullString": "Linux" },
    })
}

pub(super) fn delete_source_server(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let id = req_id(input, "sourceServerID", "s-")?;
    engine.delete_source_server(&id)?;
    Ok(json!({}))
}

/// UpdateSourceServer: its one setting, `connectorAction`, is kept as given (the
/// stand-in plays no connectors).
pub(super) fn update_source_server(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let id = req_id(input, "sourceServerID", "s-")?;
    let action = opt_object(input, "connectorAction")?.cloned();
    engine.set_connector_action(&id, action.map(Value::Object))?;
    Ok(render(engine, engine.source_server(&id)?))
}
