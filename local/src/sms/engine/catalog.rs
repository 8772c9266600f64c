//! Connectors, servers and the server catalog: what the service can see on premises.
//!
//! Every scenario server exists from the start, but GetServers only shows those the
//! last ImportServerCatalog found: servers that had appeared by then and sit behind a
//! connector still associated.

use serde::{Deserialize, Serialize};

use super::{secs, Action, Engine, Millis};
use crate::scenario::{AfterFailures, Scenario};
use crate::sms::protocol::{ApiError, CatalogStatus, ConnectorStatus, ErrorCode, VmManagerType};

/// A Server Migration Connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorState {
    /// Connector id.
    pub id: String,
    /// Manager it watches.
    pub vm_manager_name: String,
    /// Manager type.
    pub vm_manager_type: VmManagerType,
    /// Manager id.
    pub vm_manager_id: String,
    /// Appliance address.
    pub ip_address: String,
    /// Software version.
    pub version: String,
    /// Absolute UNHEALTHY periods [from, to).
    pub unhealthy: Vec<(Millis, Millis)>,
    /// Removed by DisassociateConnector.
    pub disassociated: bool,
    /// When it was associated.
    pub associated_on: Millis,
}

impl ConnectorState {
    /// Health at `now`.
    pub fn status(&self, now: Millis) -> ConnectorStatus {
        if self.unhealthy.iter().any(|(a, b)| (*a..*b).contains(&now)) {
            ConnectorStatus::Unhealthy
        } else {
            ConnectorStatus::Healthy
        }
    }
}

/// An on-premises VM of the scenario (whether or not a catalog import has seen it yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerState {
    /// Server id.
    pub id: String,
    /// VM name.
    pub vm_name: String,
    /// Inventory path.
    pub vm_path: String,
    /// Manager name.
    pub vm_manager_name: String,
    /// Manager's id for the VM.
    pub vm_id: String,
    /// When it becomes visible to an import.
    pub appears_at: Millis,
    /// Run duration.
    pub replication_ms: Millis,
    /// Failed runs per job before the job gives up.
    pub fail_runs: u32,
    /// Where a job that gave up ends.
    pub after_failures: AfterFailures,
    /// Refused by CreateReplicationJob.
    pub unreplicable: bool,
    /// Disk sizes, GiB.
    pub volumes_gb: Vec<u32>,
    /// Its latest job, if any (kept after DeleteReplicationJob, as the model's
    /// `replicationJobTerminated` suggests).
    pub job_id: Option<String>,
    /// Its latest job is deleting, deleted or failed.
    pub job_terminated: bool,
    /// The app it belongs to.
    pub app_id: Option<String>,
    /// When its first replication run began.
    #[serde(default)]
    pub replication_began: Option<Millis>,
    /// Its days of replication are used up: no job replicates it any more.
    #[serde(default)]
    pub usage_over: bool,
}

/// The server catalog as ImportServerCatalog left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Status.
    pub status: CatalogStatus,
    /// When the last import completed.
    pub last_modified: Option<Millis>,
    /// Indices (scenario order) of the servers the last import exposed.
    pub visible: Vec<usize>,
    /// When a running import completes.
    pub import_done_at: Option<Millis>,
}

impl Catalog {
    /// The catalog before any import.
    pub(super) fn not_imported() -> Self {
        Catalog {
            status: CatalogStatus::NotImported,
            last_modified: None,
            visible: Vec::new(),
            import_done_at: None,
        }
    }
}

/// The scenario's connectors, associated at `start`.
pub(super) fn connectors_of(cfg: &Scenario, start: Millis) -> Vec<ConnectorState> {
    cfg.connectors
        .iter()
        .map(|c| ConnectorState {
            id: c.id.clone().unwrap_or_default(),
            vm_manager_name: c.vm_manager_name.clone(),
            vm_manager_type: VmManagerType::parse(&c.vm_manager_type)
                .unwrap_or(VmManagerType::Vsphere),
            vm_manager_id: c.vm_manager_id.clone().unwrap_or_default(),
            ip_address: c.ip_address.clone(),
            version: c.version.clone(),
            unhealthy: c
                .unhealthy
                .iter()
                .map(|p| (start + secs(p.from_secs), start + secs(p.to_secs)))
                .collect(),
            disassociated: false,
            associated_on: start,
        })
        .collect()
}

/// The scenario's servers, none imported, none in a job or an app yet.
pub(super) fn servers_of(cfg: &Scenario, start: Millis) -> Vec<ServerState> {
    let default_ms = secs(cfg.timing.default_replication_secs).max(1);
    cfg.servers
        .iter()
        .map(|s| ServerState {
            id: s.id.clone().unwrap_or_default(),
            vm_name: s.vm_name.clone(),
            vm_path: s.vm_path.clone().unwrap_or_default(),
            vm_manager_name: s.vm_manager_name.clone().unwrap_or_default(),
            vm_id: s.vm_id.clone().unwrap_or_default(),
            appears_at: start + secs(s.appears_at_secs),
            replication_ms: s.replication_secs.map(secs).unwrap_or(default_ms).max(1),
            fail_runs: s.fail_runs,
            after_failures: s.after_failures,
            unreplicable: s.unreplicable,
            volumes_gb: s.volumes.iter().map(|v| v.size_gb).collect(),
            job_id: None,
            job_terminated: false,
            app_id: None,
            replication_began: None,
            usage_over: false,
        })
        .collect()
}

impl Engine {
    /// ImportServerCatalog.
    pub(crate) fn import_catalog(&mut self) -> Result<(), ApiError> {
        let any_healthy = self
            .connectors
            .iter()
            .any(|c| !c.disassociated && c.status(self.now) == ConnectorStatus::Healthy);
        if !any_healthy {
            return Err(ApiError::new(
                ErrorCode::NoConnectorsAvailable,
                "There are no HEALTHY connectors associated with this account",
            ));
        }
        if self.catalog.status == CatalogStatus::Importing {
            // Already importing: the call is accepted and joins the running import.
            return Ok(());
        }
        self.catalog.status = CatalogStatus::Importing;
        let at = self.now + secs(self.cfg.timing.catalog_import_secs);
        self.catalog.import_done_at = Some(at);
        self.schedule(at, Action::CatalogImported);
        Ok(())
    }

    /// The end of an import: the catalog shows what had appeared behind a connector.
    pub(super) fn finish_import(&mut self) {
        if self.catalog.status != CatalogStatus::Importing {
            return;
        }
        let now = self.now;
        let visible: Vec<usize> = self
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.appears_at <= now)
            .filter(|(_, s)| {
                self.connectors
                    .iter()
                    .any(|c| !c.disassociated && c.vm_manager_name == s.vm_manager_name)
            })
            .map(|(i, _)| i)
            .collect();
        self.catalog = Catalog {
            status: CatalogStatus::Available,
            last_modified: Some(now),
            visible,
            import_done_at: None,
        };
        if let Some(after) = self.cfg.readings.catalog_expires_after_secs {
            self.schedule(now + secs(after), Action::CatalogExpired { imported: now });
        }
    }

    /// The scenario's expiry of the catalog imported at `imported`, unless a later
    /// import or a deletion replaced it: EXPIRED, no servers.
    pub(super) fn expire_catalog(&mut self, imported: Millis) {
        let c = &self.catalog;
        if c.status == CatalogStatus::Available && c.last_modified == Some(imported) {
            self.catalog.status = CatalogStatus::Expired;
            self.catalog.visible.clear();
        }
    }

    /// DeleteServerCatalog.
    pub(crate) fn delete_catalog(&mut self) {
        self.catalog = Catalog {
            status: CatalogStatus::Deleted,
            last_modified: Some(self.now),
            visible: Vec::new(),
            import_done_at: None,
        };
    }

    /// DisassociateConnector.
    pub(crate) fn disassociate_connector(&mut self, id: &str) -> Result<(), ApiError> {
        let c = self
            .connectors
            .iter_mut()
            .find(|c| c.id == id && !c.disassociated)
            .ok_or_else(|| ApiError::invalid(format!("Connector {id} does not exist")))?;
        c.disassociated = true;
        Ok(())
    }

    /// Every connector, disassociated ones included (GetConnectors filters them).
    pub(crate) fn connectors(&self) -> &[ConnectorState] {
        &self.connectors
    }

    /// Every scenario server, imported or not, in scenario order.
    pub(crate) fn servers(&self) -> &[ServerState] {
        &self.servers
    }

    /// The server catalog.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A scenario server by id, imported or not.
    pub(crate) fn server(&self, id: &str) -> Option<&ServerState> {
        self.server_by_id.get(id).map(|&i| &self.servers[i])
    }

    /// A server the catalog exposes, or InvalidParameterException.
    pub(crate) fn catalog_server(&self, server_id: &str) -> Result<&ServerState, ApiError> {
        self.catalog_server_index(server_id)
            .map(|i| &self.servers[i])
    }

    /// Index of a server the catalog exposes, or InvalidParameterException.
    pub(super) fn catalog_server_index(&self, server_id: &str) -> Result<usize, ApiError> {
        match self.server_by_id.get(server_id) {
            Some(&i) if self.catalog.visible.contains(&i) => Ok(i),
            _ => Err(ApiError::invalid(format!(
                "Server {server_id} does not exist in the server catalog"
            ))),
        }
    }

    /// The id of the VM manager `manager`, as its connector reports it.
    pub(crate) fn manager_id(&self, manager: &str) -> Option<&str> {
        self.connectors
            .iter()
            .find(|c| c.vm_manager_name == manager)
            .map(|c| c.vm_manager_id.as_str())
    }

    /// The type of the VM manager `manager` (VSPHERE when no connector names it).
    pub(crate) fn manager_type(&self, manager: &str) -> VmManagerType {
        self.connectors
            .iter()
            .find(|c| c.vm_manager_name == manager)
            .map(|c| c.vm_manager_type)
            .unwrap_or(VmManagerType::Vsphere)
    }

    /// Whether some connector watching `manager` is HEALTHY now.
    pub(super) fn manager_healthy(&self, manager: &str) -> bool {
        self.connectors.iter().any(|c| {
            !c.disassociated
                && c.vm_manager_name == manager
                && c.status(self.now) == ConnectorStatus::Healthy
        })
    }
}
