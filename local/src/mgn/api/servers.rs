//! Source servers on the wire: DescribeSourceServers with the model's filters, and the
//! calls on one server (each answers the server as it now stands, the model's
//! SourceServer as `server_shape.rs` writes it).

use serde::Serialize;
use serde_json::{json, Value};

use super::server_shape::SourceServerShape;
use super::{check_id, compact, opt_bool, opt_object, page, req_id, str_list, wrong_type};
use crate::mgn::engine::{Engine, SourceServer};
use crate::mgn::error::MgnError;
use crate::mgn::model::{ChangeableLifeCycleState, LifeCycleState, ReplicationType};

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

/// DescribeSourceServers, its page written as JSON text (see `server_shape`).
pub(super) fn describe_source_servers(
    engine: &mut Engine,
    input: &Value,
) -> Result<String, MgnError> {
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
    let page = SourceServerPage {
        items: kept[from..to]
            .iter()
            .map(|s| SourceServerShape::of(engine, s))
            .collect(),
        next_token: next,
    };
    Ok(serde_json::to_string(&page).expect("a page of source servers renders as JSON"))
}

/// A page of DescribeSourceServers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceServerPage<'a> {
    items: Vec<SourceServerShape<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
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

/// The model's SourceServer, as a tree for the calls on one server.
pub(super) fn render(engine: &Engine, s: &SourceServer) -> Value {
    serde_json::to_value(SourceServerShape::of(engine, s)).expect("a source server renders as JSON")
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
    // Kept without its null members, as every answer is written.
    let action = opt_object(input, "connectorAction")?.cloned();
    engine.set_connector_action(&id, action.map(|a| compact(Value::Object(a))))?;
    Ok(render(engine, engine.source_server(&id)?))
}
