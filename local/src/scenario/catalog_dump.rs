//! Turns a real `aws sms get-servers` JSON dump into a scenario, so a wave policy can be
//! rehearsed against an actual catalog: one connector per VM manager in the dump, every
//! server visible from the start, no apps (add them to the YAML by hand).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::validate::MANAGER_TYPES;
use crate::{Scenario, ScenarioError};

/// One server of a dump, as the catalog lists it (VM names may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedServer {
    pub id: String,
    pub vm_name: Option<String>,
    pub vm_path: Option<String>,
    pub vm_manager_name: String,
    /// The model's spelling of the manager type (`VSPHERE`, ...).
    pub vm_manager_type: &'static str,
    pub vm_manager_id: Option<String>,
    pub vm_id: Option<String>,
}

/// The pages of a JSON dump an AWS CLI listing printed: one page, or a list of them.
pub(super) fn dump_pages(text: &str, origin: &str) -> Result<Vec<Value>, ScenarioError> {
    let dump: Value = serde_json::from_str(text).map_err(|e| ScenarioError::Parse {
        origin: origin.to_owned(),
        message: e.to_string(),
    })?;
    Ok(match dump {
        Value::Array(pages) => pages,
        page => vec![page],
    })
}

/// The servers of the JSON `aws sms get-servers` prints (a `serverList`, or a list of
/// such pages), as listed. `origin` names the input in error messages.
pub fn read_get_servers_dump(text: &str, origin: &str) -> Result<Vec<DumpedServer>, ScenarioError> {
    let invalid = |problem: String| ScenarioError::Invalid {
        origin: origin.to_owned(),
        problems: vec![problem],
    };
    let mut servers = Vec::new();
    for page in dump_pages(text, origin)? {
        let list = page["serverList"].as_array().ok_or_else(|| {
            invalid("no `serverList` array: is this the output of `aws sms get-servers`?".into())
        })?;
        for (index, server) in list.iter().enumerate() {
            let id = server["serverId"]
                .as_str()
                .ok_or_else(|| invalid(format!("serverList[{index}] has no serverId")))?;
            let vm = &server["vmServer"];
            let kind = vm["vmManagerType"].as_str().unwrap_or("VSPHERE");
            let kind = manager_type(kind).ok_or_else(|| {
                invalid(format!(
                    "serverList[{index}] ({id}): vmManagerType {kind:?} is none of {MANAGER_TYPES:?}"
                ))
            })?;
            let text_of = |value: &Value| value.as_str().map(str::to_owned);
            servers.push(DumpedServer {
                id: id.to_owned(),
                vm_name: text_of(&vm["vmName"]),
                vm_path: text_of(&vm["vmPath"]),
                vm_manager_name: text_of(&vm["vmManagerName"])
                    .unwrap_or_else(|| "unknown-manager".to_owned()),
                vm_manager_type: kind,
                vm_manager_id: text_of(&vm["vmServerAddress"]["vmManagerId"]),
                vm_id: text_of(&vm["vmServerAddress"]["vmId"]),
            });
        }
    }
    if servers.is_empty() {
        return Err(invalid("the dump lists no servers".into()));
    }
    Ok(servers)
}

impl Scenario {
    /// Builds a scenario from the JSON `aws sms get-servers` prints. A scenario keys
    /// its servers by VM name, so a name the dump repeats gets the server's id appended
    /// (the rehearsal reads the dump as listed instead: [`read_get_servers_dump`]).
    pub fn from_get_servers_dump(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let mut managers: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
        let mut servers = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for server in read_get_servers_dump(text, origin)? {
            managers
                .entry(server.vm_manager_name.clone())
                .or_insert_with(|| (server.vm_manager_type.to_owned(), server.vm_manager_id));
            let mut name = server.vm_name.unwrap_or_else(|| server.id.clone());
            if !names.insert(name.clone()) {
                name = format!("{name}-{}", server.id);
                names.insert(name.clone());
            }
            let mut spec = json!({
                "id": server.id, "vm_name": name, "vm_manager_name": server.vm_manager_name
            });
            if let Some(path) = server.vm_path {
                spec["vm_path"] = json!(path);
            }
            if let Some(vm_id) = server.vm_id {
                spec["vm_id"] = json!(vm_id);
            }
            servers.push(spec);
        }
        let scenario = json!({
            "name": "imported-catalog",
            "connectors": connectors(managers),
            "servers": servers,
        });
        Scenario::from_text(&scenario.to_string())
    }
}

/// One connector per VM manager: (name, (type, manager id)).
fn connectors(managers: BTreeMap<String, (String, Option<String>)>) -> Vec<Value> {
    managers
        .into_iter()
        .map(|(name, (kind, manager_id))| {
            let mut connector = json!({ "vm_manager_name": name, "vm_manager_type": kind });
            if let Some(manager_id) = manager_id {
                connector["vm_manager_id"] = json!(manager_id);
            }
            connector
        })
        .collect()
}

/// The model's spelling of a VM manager type spelled as the user guide's samples do
/// (`vSphere`, `Hyperv Manager`): case and separators do not count.
fn manager_type(spelled: &str) -> Option<&'static str> {
    let key = |value: &str| -> String {
        value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    MANAGER_TYPES
        .iter()
        .copied()
        .find(|known| key(known) == key(spelled))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The user guide's `aws sms get-servers` sample spells the manager type `vSphere`.
    #[test]
    fn manager_types_spelled_as_the_guide_does_are_read() {
        assert_eq!(manager_type("vSphere"), Some("VSPHERE"));
        assert_eq!(manager_type("Hyperv Manager"), Some("HYPERV-MANAGER"));
        assert_eq!(manager_type("Scvmm"), Some("SCVMM"));
        assert_eq!(manager_type("Azure"), None);
        let dump = r#"{"serverCatalogStatus": "Available", "serverList": [
            {"serverId": "s-12345678", "serverType": "VIRTUAL_MACHINE", "vmServer": {
                "vmServerAddress": {"vmManagerId": "12341234-1234-1234-1234-123412341234", "vmId": "vm-412"},
                "vmName": "test-vm", "vmManagerName": "vcenter", "vmManagerType": "vSphere",
                "vmPath": "/Datacenter/vm/test-vm"}}]}"#;
        let scenario = Scenario::from_get_servers_dump(dump, "guide.json").expect("playable");
        assert_eq!(scenario.connectors[0].vm_manager_type, "VSPHERE");
        let odd = dump.replace("vSphere", "Azure");
        let error = Scenario::from_get_servers_dump(&odd, "odd.json").unwrap_err();
        assert!(
            error.to_string().contains("vmManagerType \"Azure\""),
            "{error}"
        );
    }

    #[test]
    fn a_get_servers_dump_becomes_a_valid_scenario() {
        let dump = r#"{"serverCatalogStatus": "AVAILABLE", "serverList": [
            {"serverId": "s-1", "serverType": "VIRTUAL_MACHINE", "vmServer": {
                "vmServerAddress": {"vmManagerId": "m-1", "vmId": "vm-11"},
                "vmName": "web-01", "vmManagerName": "vc01", "vmManagerType": "VSPHERE",
                "vmPath": "/dc1/prod/web-01"}},
            {"serverId": "s-2", "vmServer": {"vmName": "web-01", "vmManagerName": "scvmm1",
                "vmManagerType": "SCVMM"}}
        ]}"#;
        let scenario = Scenario::from_get_servers_dump(dump, "dump.json").unwrap();
        assert_eq!(scenario.connectors.len(), 2);
        assert_eq!(scenario.servers.len(), 2);
        assert_eq!(
            scenario.servers[0].vm_path.as_deref(),
            Some("/dc1/prod/web-01")
        );
        assert_eq!(scenario.servers[1].vm_name, "web-01-s-2");
        let error = Scenario::from_get_servers_dump(r#"{"apps": []}"#, "x.json").unwrap_err();
        assert!(error.to_string().contains("serverList"), "{error}");
    }
}
