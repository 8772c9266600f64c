//! Reads the JSON `aws mgn describe-source-servers` prints, so a wave plan can be
//! rehearsed against a real MGN account: each source server with the identification
//! hints its agent reported (hostname, FQDN, vmPath, VMware UUID) and the id a user gave
//! it. Archived servers are done with and left out.

use serde_json::Value;

use super::catalog_dump::dump_pages;
use crate::ScenarioError;

/// One source server of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedSourceServer {
    pub id: String,
    pub hostname: Option<String>,
    pub fqdn: Option<String>,
    pub vm_path: Option<String>,
    pub vmware_uuid: Option<String>,
    pub user_provided_id: Option<String>,
}

/// The source servers of the JSON `aws mgn describe-source-servers` prints (an
/// `items` list, or a list of such pages), archived ones left out. `origin` names the
/// input in error messages.
pub fn read_describe_source_servers_dump(
    text: &str,
    origin: &str,
) -> Result<Vec<DumpedSourceServer>, ScenarioError> {
    let invalid = |problem: String| ScenarioError::Invalid {
        origin: origin.to_owned(),
        problems: vec![problem],
    };
    let mut servers = Vec::new();
    for page in dump_pages(text, origin)? {
        let items = page["items"].as_array().ok_or_else(|| {
            invalid(
                "no `items` array: is this the output of `aws mgn describe-source-servers`?".into(),
            )
        })?;
        for (index, item) in items.iter().enumerate() {
            let id = item["sourceServerID"]
                .as_str()
                .ok_or_else(|| invalid(format!("items[{index}] has no sourceServerID")))?;
            if item["isArchived"].as_bool() == Some(true) {
                continue;
            }
            let hints = &item["sourceProperties"]["identificationHints"];
            let text_of =
                |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
            servers.push(DumpedSourceServer {
                id: id.to_owned(),
                hostname: text_of(&hints["hostname"]),
                fqdn: text_of(&hints["fqdn"]),
                vm_path: text_of(&hints["vmPath"]),
                vmware_uuid: text_of(&hints["vmWareUuid"]),
                user_provided_id: text_of(&item["userProvidedID"]),
            });
        }
    }
    if servers.is_empty() {
        return Err(invalid(
            "the dump lists no source server that is not archived".into(),
        ));
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_read_archived_servers_left_out_and_a_wrong_file_named() {
        let dump = r#"{"items": [
            {"sourceServerID": "s-1", "userProvidedID": "CMDB-1",
             "sourceProperties": {"identificationHints": {"hostname": "web-01",
               "fqdn": "web-01.corp", "vmPath": "/dc1/web-01", "vmWareUuid": "42-1"}}},
            {"sourceServerID": "s-2", "isArchived": true},
            {"sourceServerID": "s-3", "sourceProperties": {"identificationHints": {"hostname": ""}}}
        ]}"#;
        let servers = read_describe_source_servers_dump(dump, "dump.json").expect("read");
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].fqdn.as_deref(), Some("web-01.corp"));
        assert_eq!(servers[0].user_provided_id.as_deref(), Some("CMDB-1"));
        assert_eq!(servers[1].hostname, None, "an empty hint is no hint");
        let sms = read_describe_source_servers_dump(r#"{"serverList": []}"#, "sms.json");
        let problem = sms.expect_err("not MGN's").to_string();
        assert!(
            problem.contains("sms.json") && problem.contains("describe-source-servers"),
            "{problem}"
        );
    }
}
