//! What the other functions take from the accepted plan: each application's launch
//! policy (automatic or manual, its window, what it waits for) for the launcher, and
//! each planned server's replication route and settings for the job-creator. The
//! planner writes it when it accepts a plan, so a refused plan changes no behaviour.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::desired::DesiredWave;
use super::launch_template::TemplateVersions;
use super::{LaunchMode, ReplicationRoute, ReplicationSettings};
use crate::model::ServerId;
use crate::wave_policy::PlannedServers;

/// Where the planner keeps it in the artifacts bucket.
pub const RESOLVED_KEY: &str = "state/app-planner/resolved.json";

/// The accepted plan, resolved against the catalog. Empty when there is no plan: then
/// nothing constrains the launcher or the job-creator beyond their own configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPlan {
    /// The digest of the plan this came from.
    #[serde(default)]
    pub plan_version: String,
    /// Launch policy by application name.
    #[serde(default)]
    pub apps: BTreeMap<String, AppPolicy>,
    /// Each server the plan places, by id.
    #[serde(default)]
    pub servers: BTreeMap<ServerId, ServerPolicy>,
}

/// How and when one application may be launched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPolicy {
    #[serde(default)]
    pub launch: LaunchMode,
    /// `DAYS HH:MM-HH:MM` in UTC; the launcher's own window when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// MGN: `DAYS HH:MM-HH:MM` in UTC for its test; its `window` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_window: Option<String>,
    /// MGN: archive its servers once cut over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archive: bool,
    /// Applications that must be launched first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Members the plan names that the catalog does not hold yet (no agent reported, a
    /// VM not discovered): the application is not whole until they are.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub members_waiting: usize,
    /// Launched, and its replication ended as the plan asks: its servers get no job.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finalized: bool,
    /// MGN: why its members' launch settings cannot be used (a subnet, group, type or
    /// key pair the account lacks): nothing launches it until they can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_settings_problem: Option<String>,
    /// MGN: members whose launch settings the planner has not put in place yet (a run
    /// near its deadline, a call that failed): nothing launches it until it has.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub settings_pending: usize,
}

/// How one planned server is replicated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerPolicy {
    pub app: String,
    pub route: ReplicationRoute,
    /// Shared with the desired wave's servers that set nothing of their own.
    pub replication: Arc<ReplicationSettings>,
    /// MGN: the launch template versions the planner made for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<TemplateVersions>,
}

impl ResolvedPlan {
    pub fn from_wave(plan_version: &str, wave: &DesiredWave) -> Self {
        let apps = wave
            .apps
            .iter()
            .map(|app| {
                let members_waiting = wave
                    .waiting
                    .iter()
                    .filter(|w| w.app == app.name && w.path.contains(".servers["))
                    .count();
                let policy = AppPolicy {
                    members_waiting,
                    launch: app.launch,
                    window: app.window.clone(),
                    test_window: app.test_window.clone(),
                    archive: app.archive,
                    depends_on: app.depends_on.clone(),
                    finalized: false,
                    launch_settings_problem: None,
                    settings_pending: 0,
                };
                (app.name.clone(), policy)
            })
            .collect();
        let servers = wave
            .apps
            .iter()
            .flat_map(|app| {
                app.servers().map(|server| {
                    let policy = ServerPolicy {
                        app: app.name.clone(),
                        route: app.replicated_by,
                        replication: server.replication.clone(),
                        launch_template: None,
                    };
                    (server.server_id.clone(), policy)
                })
            })
            .collect();
        Self {
            plan_version: plan_version.to_owned(),
            apps,
            servers,
        }
    }

    /// The planned servers as the wave policy takes them.
    pub fn planned_servers(&self) -> PlannedServers {
        let mut planned = PlannedServers::default();
        for (id, policy) in &self.servers {
            let finalized = self.apps.get(&policy.app).is_some_and(|app| app.finalized);
            let set = match policy.route {
                _ if finalized => &mut planned.finalized,
                ReplicationRoute::Jobs => &mut planned.by_jobs,
                ReplicationRoute::App => &mut planned.by_app,
            };
            set.insert(id.clone());
        }
        planned
    }

    /// Marks the applications named `finalized` as finalized.
    pub fn mark_finalized<'a>(&mut self, finalized: impl IntoIterator<Item = &'a String>) {
        for name in finalized {
            if let Some(app) = self.apps.get_mut(name) {
                app.finalized = true;
            }
        }
    }

    /// How alerts name `server`: the application the plan places it in, and the server
    /// in words with that application (`events::server_subject`).
    pub fn naming(&self, vm_name: Option<&str>, server: &ServerId) -> (Option<String>, String) {
        let app = self.servers.get(server).map(|policy| policy.app.clone());
        let subject = crate::events::server_subject(vm_name, server, app.as_deref());
        (app, subject)
    }

    /// Whether the job-creator should leave `server` alone: app replication makes its
    /// job.
    pub fn replicated_by_app(&self, server: &ServerId) -> bool {
        self.servers
            .get(server)
            .is_some_and(|policy| policy.route == ReplicationRoute::App)
    }
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}
