//! Replication and launch settings: each source server's replication and launch
//! configuration, and the templates a new server takes them from. InitializeService
//! makes one template of each (the user guide: initializing creates the default
//! templates); a server added before that takes the same defaults. The documents are
//! kept as the wire layer validated them (`mgn::api::settings`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::mgn::error::MgnError;
use crate::mgn::model::DataReplicationState;

use super::Engine;

const SOURCE_SERVER: &str = "SOURCE_SERVER";

/// Replication or launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsKind {
    Replication,
    Launch,
}

/// A replication or launch configuration template.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsTemplate {
    pub id: String,
    pub arn: String,
    pub settings: Map<String, Value>,
    pub tags: BTreeMap<String, String>,
    /// A launch template's EC2 launch template (empty for a replication template).
    pub ec2_launch_template: String,
}

/// The settings a replication configuration starts from (the user guide's defaults).
fn default_replication(staging_subnet: &str) -> Map<String, Value> {
    let defaults = json!({
        "stagingAreaSubnetId": staging_subnet,
        "associateDefaultSecurityGroup": true,
        "replicationServersSecurityGroupsIDs": [],
        "replicationServerInstanceType": "t3.small",
        "useDedicatedReplicationServer": false,
        "defaultLargeStagingDiskType": "GP3",
        "ebsEncryption": "DEFAULT",
        "bandwidthThrottling": 0,
        "dataPlaneRouting": "PRIVATE_IP",
        "createPublicIP": false,
        "stagingAreaTags": {},
        "useFipsEndpoint": false,
        "internetProtocol": "IPV4",
        "storeSnapshotOnLocalZone": false,
    });
    defaults.as_object().cloned().unwrap_or_default()
}

/// The settings a launch configuration starts from (the user guide's defaults).
fn default_launch() -> Map<String, Value> {
    let defaults = json!({
        "launchDisposition": "STARTED",
        "targetInstanceTypeRightSizingMethod": "BASIC",
        "copyPrivateIp": false,
        "copyTags": false,
        "licensing": { "osByol": false },
        "bootMode": "USE_SOURCE",
        "enableMapAutoTagging": false,
    });
    defaults.as_object().cloned().unwrap_or_default()
}

impl Engine {
    /// The account's default subnet, where replication servers go unless told otherwise.
    fn default_subnet(&self) -> String {
        self.subnets()
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_default()
    }

    /// InitializeService: the default templates, once.
    pub(crate) fn initialize(&mut self) {
        if self.replication_templates.is_empty() {
            let settings = default_replication(&self.default_subnet());
            self.new_template(SettingsKind::Replication, settings, BTreeMap::new());
        }
        if self.launch_templates.is_empty() {
            self.new_template(SettingsKind::Launch, default_launch(), BTreeMap::new());
        }
    }

    /// The settings a server added now starts with: the first template's, else the defaults.
    pub(super) fn starting_settings(&self, kind: SettingsKind) -> Map<String, Value> {
        let first = self.templates(kind).first().map(|t| t.settings.clone());
        first.unwrap_or_else(|| match kind {
            SettingsKind::Replication => default_replication(&self.default_subnet()),
            SettingsKind::Launch => default_launch(),
        })
    }

    pub(crate) fn templates(&self, kind: SettingsKind) -> &Vec<SettingsTemplate> {
        match kind {
            SettingsKind::Replication => &self.replication_templates,
            SettingsKind::Launch => &self.launch_templates,
        }
    }

    fn templates_mut(&mut self, kind: SettingsKind) -> &mut Vec<SettingsTemplate> {
        match kind {
            SettingsKind::Replication => &mut self.replication_templates,
            SettingsKind::Launch => &mut self.launch_templates,
        }
    }

    /// Create(Replication|Launch)ConfigurationTemplate.
    pub(crate) fn new_template(
        &mut self,
        kind: SettingsKind,
        settings: Map<String, Value>,
        tags: BTreeMap<String, String>,
    ) -> &SettingsTemplate {
        let (prefix, arn_kind) = match kind {
            SettingsKind::Replication => ("rct-", "replication-configuration-template"),
            SettingsKind::Launch => ("lct-", "launch-configuration-template"),
        };
        let id = self.new_id(prefix);
        let ec2_launch_template = match kind {
            SettingsKind::Replication => String::new(),
            SettingsKind::Launch => format!("lt-{}", self.ids.hex(17)),
        };
        if kind == SettingsKind::Launch {
            self.new_launch_template(&ec2_launch_template, "mgn-launch-configuration-template");
        }
        let template = SettingsTemplate {
            ec2_launch_template,
            arn: self.arn(arn_kind, &id),
            id,
            settings,
            tags,
        };
        let list = self.templates_mut(kind);
        list.push(template);
        &list[list.len() - 1]
    }

    fn template_index(&self, kind: SettingsKind, id: &str) -> Result<usize, MgnError> {
        let resource = match kind {
            SettingsKind::Replication => "REPLICATION_CONFIGURATION_TEMPLATE",
            SettingsKind::Launch => "LAUNCH_CONFIGURATION_TEMPLATE",
        };
        self.templates(kind)
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| MgnError::not_found(id, resource))
    }

    /// Update(Replication|Launch)ConfigurationTemplate: the given members replaced.
    pub(crate) fn update_template(
        &mut self,
        kind: SettingsKind,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<&SettingsTemplate, MgnError> {
        let index = self.template_index(kind, id)?;
        let template = &mut self.templates_mut(kind)[index];
        template.settings.extend(changes);
        Ok(&self.templates(kind)[index])
    }

    /// Delete(Replication|Launch)ConfigurationTemplate: never the last one, which new
    /// servers take their settings from (ConflictException).
    pub(crate) fn delete_template(&mut self, kind: SettingsKind, id: &str) -> Result<(), MgnError> {
        let index = self.template_index(kind, id)?;
        if self.templates(kind).len() == 1 {
            return Err(MgnError::conflict(
                id,
                "TEMPLATE",
                format!("{id} is the account's only template: new source servers take their settings from it"),
            ));
        }
        self.templates_mut(kind).remove(index);
        Ok(())
    }

    /// A server's replication or launch configuration.
    pub(crate) fn configuration(
        &self,
        kind: SettingsKind,
        id: &str,
    ) -> Result<&Map<String, Value>, MgnError> {
        let server = self.source_server(id)?;
        Ok(match kind {
            SettingsKind::Replication => &server.replication_settings,
            SettingsKind::Launch => &server.launch_settings,
        })
    }

    /// Update(Replication|Launch)Configuration: the given members replaced; refused
    /// (ConflictException) for an archived server or one whose replication has ended.
    pub(crate) fn update_configuration(
        &mut self,
        kind: SettingsKind,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<(), MgnError> {
        let index = self.server_index(id)?;
        let s = &mut self.servers[index];
        if s.archived {
            return Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{id} is archived"),
            ));
        }
        let ended = s.replication.state == DataReplicationState::Disconnected;
        match kind {
            SettingsKind::Replication if ended => Err(MgnError::conflict(
                id,
                SOURCE_SERVER,
                format!("{id} no longer replicates: its replication configuration cannot change"),
            )),
            SettingsKind::Replication => {
                s.replication_settings.extend(changes);
                Ok(())
            }
            SettingsKind::Launch => {
                s.launch_settings.extend(changes);
                Ok(())
            }
        }
    }
}

impl Engine {
    /// The tags of the resource `arn` (a source server, application, wave, job or
    /// template), or ResourceNotFoundException.
    pub(crate) fn tags_of(&mut self, arn: &str) -> Result<&mut BTreeMap<String, String>, MgnError> {
        let server = self
            .servers
            .iter_mut()
            .filter(|s| s.added.is_some())
            .find(|s| s.arn == arn)
            .map(|s| &mut s.tags);
        if let Some(tags) = server {
            return Ok(tags);
        }
        let grouping = self
            .applications
            .iter_mut()
            .chain(self.waves.iter_mut())
            .find(|g| g.arn == arn && !g.is_deleted())
            .map(|g| &mut g.tags);
        if let Some(tags) = grouping {
            return Ok(tags);
        }
        if let Some(job) = self.jobs.iter_mut().find(|j| j.arn == arn) {
            return Ok(&mut job.tags);
        }
        self.replication_templates
            .iter_mut()
            .chain(self.launch_templates.iter_mut())
            .find(|t| t.arn == arn)
            .map(|t| &mut t.tags)
            .ok_or_else(|| MgnError::not_found(arn, "RESOURCE"))
    }
}
