//! Connectors and the server catalog on the wire: GetConnectors, DisassociateConnector,
//! ImportServerCatalog, GetServers, DeleteServerCatalog, and the model's `Connector`
//! and `Server` shapes the other resources reuse.

use serde_json::{json, Value};

use super::{opt_str, page, req_str, serialization, DEFAULT_PAGE};
use crate::sms::engine::{epoch_secs, ConnectorState, Engine, ServerState};
use crate::sms::protocol::{ApiError, ConnectorCapability, Operation, ServerType, VmManagerType};

pub(super) fn get_connectors(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let connectors = engine.connectors();
    let list: Vec<usize> = (0..connectors.len())
        .filter(|&i| !connectors[i].disassociated)
        .collect();
    let (from, to, next) = page(
        Operation::GetConnectors,
        "",
        input,
        list.len(),
        DEFAULT_PAGE,
    )?;
    let items: Vec<Value> = list[from..to]
        .iter()
        .map(|&i| connector_json(engine, i, &connectors[i]))
        .collect();
    Ok(json!({ "connectorList": items, "nextToken": next }))
}

/// The model's `Connector` shape; `i` (its place among all connectors) makes its MAC address.
fn connector_json(engine: &Engine, i: usize, c: &ConnectorState) -> Value {
    let kind = match c.vm_manager_type {
        VmManagerType::Vsphere => ConnectorCapability::Vsphere,
        VmManagerType::Scvmm => ConnectorCapability::Scvmm,
        VmManagerType::HypervManager => ConnectorCapability::HypervManager,
    };
    json!({
        "connectorId": c.id,
        "version": c.version,
        "status": c.status(engine.now()).as_str(),
        "capabilityList": [
            kind.as_str(),
            ConnectorCapability::SnapshotBatching.as_str(),
            ConnectorCapability::SmsOptimized.as_str(),
        ],
        "vmManagerName": c.vm_manager_name,
        "vmManagerType": c.vm_manager_type.as_str(),
        "vmManagerId": c.vm_manager_id,
        "ipAddress": c.ip_address,
        "macAddress": format!("00:50:56:{:02x}:{:02x}:{:02x}", i / 65536 % 256, i / 256 % 256, i % 256),
        "associatedOn": epoch_secs(c.associated_on),
    })
}

pub(super) fn disassociate_connector(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, ApiError> {
    let id = req_str(input, "connectorId")?;
    engine.disassociate_connector(&id)?;
    Ok(json!({}))
}

pub(super) fn import_server_catalog(engine: &mut Engine) -> Result<Value, ApiError> {
    engine.import_catalog()?;
    Ok(json!({}))
}

pub(super) fn delete_server_catalog(engine: &mut Engine) -> Result<Value, ApiError> {
    engine.delete_catalog();
    Ok(json!({}))
}

/// `vmServerAddressList` entries: (vmManagerId, vmId), either one a wildcard when absent.
type AddressFilter = Vec<(Option<String>, Option<String>)>;

fn address_filter(input: &Value) -> Result<Option<AddressFilter>, ApiError> {
    match input.get("vmServerAddressList") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for a in list {
                out.push((opt_str(a, "vmManagerId")?, opt_str(a, "vmId")?));
            }
            Ok(Some(out))
        }
        Some(_) => Err(serialization("vmServerAddressList", "a list")),
    }
}

pub(super) fn get_servers(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let filter = address_filter(input)?;
    let servers = engine.servers();
    let list: Vec<usize> = engine
        .catalog()
        .visible
        .iter()
        .copied()
        .filter(|&i| match &filter {
            None => true,
            Some(addrs) => {
                let s = &servers[i];
                let manager_id = engine.manager_id(&s.vm_manager_name);
                addrs.iter().any(|(m, v)| {
                    m.as_deref().is_none_or(|m| Some(m) == manager_id)
                        && v.as_deref().is_none_or(|v| v == s.vm_id)
                })
            }
        })
        .collect();
    let fingerprint = input
        .get("vmServerAddressList")
        .map(Value::to_string)
        .unwrap_or_default();
    let (from, to, next) = page(
        Operation::GetServers,
        &fingerprint,
        input,
        list.len(),
        DEFAULT_PAGE,
    )?;
    let items: Vec<Value> = list[from..to]
        .iter()
        .map(|&i| server_json(engine, &servers[i]))
        .collect();
    let catalog = engine.catalog();
    Ok(json!({
        "lastModifiedOn": catalog.last_modified.map(epoch_secs),
        "serverCatalogStatus": catalog.status.as_str(),
        "serverList": items,
        "nextToken": next,
    }))
}

/// The model's `Server` shape.
pub(super) fn server_json(engine: &Engine, s: &ServerState) -> Value {
    json!({
        "serverId": s.id,
        "serverType": ServerType::VirtualMachine.as_str(),
        "vmServer": {
            "vmServerAddress": { "vmManagerId": engine.manager_id(&s.vm_manager_name), "vmId": s.vm_id },
            "vmName": s.vm_name,
            "vmManagerName": s.vm_manager_name,
            "vmManagerType": engine.manager_type(&s.vm_manager_name).as_str(),
            "vmPath": s.vm_path,
        },
        "replicationJobId": s.job_id,
        "replicationJobTerminated": s.job_terminated,
    })
}

/// A member of an app: the `Server` shape, or just its id when no such server exists.
pub(super) fn server_json_by_id(engine: &Engine, id: &str) -> Value {
    match engine.server(id) {
        Some(s) => server_json(engine, s),
        None => json!({ "serverId": id }),
    }
}
