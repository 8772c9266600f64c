//! Applications: apps and their server groups (CreateApp, UpdateApp, DeleteApp), plus
//! the apps a scenario starts with.
//!
//! Configurations are kept as the wire JSON the caller put (GetApp*Configuration
//! echoes them back); the launch configuration and its check are in
//! `launch_config.rs`, LaunchApp and TerminateApp in `launch.rs`, app-level replication
//! in `app_replication.rs`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::templates::logical_id;
use super::{secs, Action, AppReplication, Engine, LaunchDetails, Millis};
use crate::scenario::{AppSpec, LaunchSpec};
use crate::sms::protocol::{ApiError, AppLaunchStatus, AppStatus};

/// A server group of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Member server ids.
    pub server_ids: Vec<String>,
}

/// An SMS application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// App id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Role name.
    pub role_name: Option<String>,
    /// Tags, in the caller's order.
    pub tags: Vec<(String, String)>,
    /// Server groups.
    pub groups: Vec<Group>,
    /// Creation time.
    pub created: Millis,
    /// Last modification.
    pub last_modified: Millis,
    /// ACTIVE or DELETED.
    pub status: AppStatus,
    /// Launch configuration as put (wire JSON, appId removed).
    pub launch_config: Option<Value>,
    /// Replication configuration as put (wire JSON, appId removed).
    pub replication_config: Option<Value>,
    /// Launch status.
    pub launch_status: AppLaunchStatus,
    /// Launch status message.
    pub launch_status_message: Option<String>,
    /// Stack details once launched.
    pub launch_details: Option<LaunchDetails>,
    /// AMI per server at the last launch (GenerateChangeSet compares against it).
    pub launched_amis: BTreeMap<String, String>,
    /// App-level replication switch.
    pub replication: AppReplication,
    /// Invalidates queued configuration checks, launch and terminate steps.
    pub epoch: u32,
    /// Launches still to end LAUNCH_FAILED (the scenario's `launch_failures`).
    pub launch_failures_left: u32,
    /// Launches that ended LAUNCH_FAILED so far.
    pub launches_failed: u32,
    /// Stacks TerminateApp ended so far (TERMINATED).
    pub terminations: u32,
    /// The `clientToken` CreateApp was called with.
    pub client_token: Option<String>,
}

impl App {
    /// Every member server id, group by group.
    pub fn server_ids(&self) -> impl Iterator<Item = &String> {
        self.groups.iter().flat_map(|g| g.server_ids.iter())
    }
}

/// An app that exists and is not deleted; only [`Engine::find_app`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppKey(pub(super) usize);

/// A server group as a request gives it.
#[derive(Debug, Clone)]
pub(crate) struct GroupInput {
    /// The group's id when the caller names an existing one (UpdateApp keeps it).
    pub id: Option<String>,
    /// Group name.
    pub name: String,
    /// Member server ids, each checked against the catalog.
    pub server_ids: Vec<String>,
}

/// Parameters of CreateApp.
#[derive(Debug, Clone)]
pub(crate) struct NewApp {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Role name.
    pub role_name: Option<String>,
    /// Tags, in the caller's order.
    pub tags: Vec<(String, String)>,
    /// Server groups (new ids are drawn for all of them).
    pub groups: Vec<GroupInput>,
    /// The caller's idempotency token.
    pub client_token: Option<String>,
}

/// Parameters of UpdateApp: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct AppUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New role name.
    pub role_name: Option<String>,
    /// New tags, replacing all.
    pub tags: Option<Vec<(String, String)>>,
    /// New server groups, replacing all.
    pub groups: Option<Vec<GroupInput>>,
}

/// Parameters of DeleteApp.
#[derive(Debug, Clone)]
pub(crate) struct AppDeletion {
    /// forceStopAppReplication: delete the members' live jobs first.
    pub force_stop: bool,
    /// forceTerminateApp, or why it could not be read. Only a launched app looks at
    /// it, so a malformed flag on an app that is not launched goes unnoticed.
    pub force_terminate: Result<bool, ApiError>,
}

impl Engine {
    /// The apps a scenario starts with, with their launch configurations where given.
    pub(super) fn create_scenario_apps(&mut self) {
        let specs = self.cfg.apps.clone();
        for spec in specs {
            let groups = self.scenario_groups(&spec);
            let app = self.insert_app(NewApp {
                name: spec.name.clone(),
                description: spec.description.clone(),
                role_name: None,
                tags: spec.tags.clone().into_iter().collect(),
                groups,
                client_token: None,
            });
            self.apps[app].launch_failures_left = spec.launch_failures;
            if let Some(launch) = &spec.launch {
                let config = self.scenario_launch_config(&self.apps[app], &spec, launch);
                self.apps[app].launch_config = Some(config);
                // A scenario's app was configured before the wave: checked already.
                self.settle_launch_config(app);
            }
        }
    }

    /// A scenario app's groups, VM names resolved to server ids.
    fn scenario_groups(&self, spec: &AppSpec) -> Vec<GroupInput> {
        let by_name: HashMap<&str, &str> = self
            .servers
            .iter()
            .map(|s| (s.vm_name.as_str(), s.id.as_str()))
            .collect();
        spec.groups
            .iter()
            .map(|g| GroupInput {
                id: None,
                name: g.name.clone(),
                server_ids: g
                    .servers
                    .iter()
                    .filter_map(|n| by_name.get(n.as_str()).map(|s| s.to_string()))
                    .collect(),
            })
            .collect()
    }

    /// Adds an app (group ids are always drawn anew); returns its index.
    fn insert_app(&mut self, new: NewApp) -> usize {
        let id = format!("app-{}", self.ids.hex(17));
        let groups: Vec<Group> = new
            .groups
            .into_iter()
            .map(|g| Group {
                id: format!("sg-{}", self.ids.hex(17)),
                name: g.name,
                server_ids: g.server_ids,
            })
            .collect();
        for sid in groups.iter().flat_map(|g| g.server_ids.iter()) {
            if let Some(&i) = self.server_by_id.get(sid) {
                self.servers[i].app_id = Some(id.clone());
            }
        }
        let idx = self.apps.len();
        self.apps.push(App {
            id: id.clone(),
            name: new.name,
            description: new.description,
            role_name: new.role_name,
            tags: new.tags,
            groups,
            created: self.now,
            last_modified: self.now,
            status: AppStatus::Active,
            launch_config: None,
            replication_config: None,
            launch_status: AppLaunchStatus::ReadyForConfiguration,
            launch_status_message: None,
            launch_details: None,
            launched_amis: BTreeMap::new(),
            replication: AppReplication::NotStarted,
            epoch: 0,
            launch_failures_left: 0,
            launches_failed: 0,
            terminations: 0,
            client_token: new.client_token,
        });
        self.app_by_id.insert(id, idx);
        idx
    }

    /// The app `id` names, or the model's error.
    pub(crate) fn find_app(&self, id: &str) -> Result<AppKey, ApiError> {
        self.app_by_id
            .get(id)
            .copied()
            .filter(|&a| self.apps[a].status != AppStatus::Deleted)
            .map(AppKey)
            .ok_or_else(|| ApiError::invalid(format!("App {id} does not exist")))
    }

    /// The app a CreateApp with `token` made, unless it was deleted since.
    pub(crate) fn app_created_with(&self, token: &str) -> Option<AppKey> {
        self.apps
            .iter()
            .position(|a| {
                a.client_token.as_deref() == Some(token) && a.status != AppStatus::Deleted
            })
            .map(AppKey)
    }

    /// An app found by [`Engine::find_app`].
    pub(crate) fn app(&self, key: AppKey) -> &App {
        &self.apps[key.0]
    }

    /// Every app ever created, deleted ones included, in creation order.
    pub(crate) fn apps(&self) -> &[App] {
        &self.apps
    }

    /// CreateApp: the app is CREATING for a while, then ACTIVE.
    pub(crate) fn create_app(&mut self, new: NewApp) -> AppKey {
        let failures = self.launch_failures.draw(&new.name);
        let app = self.insert_app(new);
        self.apps[app].launch_failures_left = failures;
        self.settle_app_status_later(app, AppStatus::Creating);
        AppKey(app)
    }

    /// An app that may be changed: not on its way out.
    pub(crate) fn changeable(&self, key: AppKey) -> Result<AppKey, ApiError> {
        let a = &self.apps[key.0];
        if a.status == AppStatus::Deleting {
            return Err(ApiError::not_permitted(format!(
                "App {} is being deleted (status DELETING)",
                a.id
            )));
        }
        Ok(key)
    }

    /// Puts the app in a passing `status` (CREATING, UPDATING, DELETING) that settles
    /// after `timing.app_status_secs`.
    fn settle_app_status_later(&mut self, app: usize, status: AppStatus) {
        self.apps[app].status = status;
        let at = self.now + secs(self.cfg.timing.app_status_secs);
        self.schedule(at, Action::AppStatusSettled { app });
    }

    /// CREATING and UPDATING end ACTIVE, DELETING ends DELETED; a later call that
    /// moved the app on (an update during an update) settles by its own action.
    pub(super) fn app_status_settled(&mut self, app: usize) {
        let a = &mut self.apps[app];
        a.status = match a.status {
            AppStatus::Creating | AppStatus::Updating => AppStatus::Active,
            AppStatus::Deleting => AppStatus::Deleted,
            other => other,
        };
    }

    /// UpdateApp.
    pub(crate) fn update_app(&mut self, key: AppKey, u: AppUpdate) {
        let app = key.0;
        if let Some(groups) = u.groups {
            self.replace_groups(app, groups);
            // New members need launch settings of their own: the check runs again.
            self.check_launch_config_later(app);
        }
        let now = self.now;
        let a = &mut self.apps[app];
        if let Some(v) = u.name {
            a.name = v;
        }
        if let Some(v) = u.description {
            a.description = Some(v);
        }
        if let Some(v) = u.role_name {
            a.role_name = Some(v);
        }
        if let Some(v) = u.tags {
            a.tags = v;
        }
        a.last_modified = now;
        if a.status == AppStatus::Active {
            self.settle_app_status_later(app, AppStatus::Updating);
        }
    }

    /// New groups for an app: old members leave it, groups named by id keep their id.
    fn replace_groups(&mut self, app: usize, groups: Vec<GroupInput>) {
        let app_id = self.apps[app].id.clone();
        for sid in self.apps[app].server_ids().cloned().collect::<Vec<_>>() {
            if let Some(&i) = self.server_by_id.get(&sid) {
                self.servers[i].app_id = None;
            }
        }
        let mut new_groups = Vec::new();
        for g in groups {
            for sid in &g.server_ids {
                if let Some(&i) = self.server_by_id.get(sid) {
                    self.servers[i].app_id = Some(app_id.clone());
                }
            }
            let id = match g.id {
                Some(id) => id,
                None => self.new_id("sg-", 17),
            };
            new_groups.push(Group {
                id,
                name: g.name,
                server_ids: g.server_ids,
            });
        }
        self.apps[app].groups = new_groups;
    }

    /// DeleteApp.
    pub(crate) fn delete_app(&mut self, key: AppKey, d: AppDeletion) -> Result<(), ApiError> {
        let app = key.0;
        if d.force_stop {
            self.delete_member_jobs(app)?;
        }
        let launched = matches!(
            self.apps[app].launch_status,
            AppLaunchStatus::Launched
                | AppLaunchStatus::LaunchInProgress
                | AppLaunchStatus::LaunchPending
        );
        if launched && !d.force_terminate? {
            return Err(ApiError::not_permitted(format!(
                "App {} is launched; terminate it first or set forceTerminateApp",
                self.apps[app].id
            )));
        }
        for sid in self.apps[app].server_ids().cloned().collect::<Vec<_>>() {
            if let Some(&i) = self.server_by_id.get(&sid) {
                self.servers[i].app_id = None;
            }
        }
        let a = &mut self.apps[app];
        a.epoch += 1;
        if launched {
            a.launch_status = AppLaunchStatus::Terminated;
        }
        self.settle_app_status_later(app, AppStatus::Deleting);
        Ok(())
    }

    /// Deletes the live job of every member server.
    pub(super) fn delete_member_jobs(&mut self, app: usize) -> Result<(), ApiError> {
        let members: Vec<String> = self.apps[app].server_ids().cloned().collect();
        for sid in members {
            if let Some(job) = self
                .job_of(&sid)
                .filter(|j| j.state.is_live())
                .map(|j| j.id.clone())
            {
                self.delete_job(&job)?;
            }
        }
        Ok(())
    }

    /// Member servers of an app that have no completed run yet.
    pub(super) fn members_without_ami(&self, app: &App) -> Vec<String> {
        app.server_ids()
            .filter(|s| self.latest_ami_of(s).is_none())
            .cloned()
            .collect()
    }
}

impl Engine {
    /// The launch configuration a scenario app starts with: the same settings for every server.
    fn scenario_launch_config(&self, app: &App, spec: &AppSpec, launch: &LaunchSpec) -> Value {
        let groups: Vec<Value> = app
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let order = spec
                    .groups
                    .get(gi)
                    .and_then(|s| s.launch_order)
                    .unwrap_or(gi as i32 + 1);
                let servers: Vec<Value> = g
                    .server_ids
                    .iter()
                    .map(|sid| {
                        let vm_name = self
                            .server_by_id
                            .get(sid)
                            .map_or(sid.as_str(), |&i| self.servers[i].vm_name.as_str());
                        let mut v = json!({
                            "server": {"serverId": sid},
                            "logicalId": logical_id(vm_name),
                            "instanceType": launch.instance_type,
                            "subnet": launch.subnet,
                            "securityGroup": launch.security_group,
                        });
                        if let (Some(vpc), Some(obj)) = (&launch.vpc, v.as_object_mut()) {
                            obj.insert("vpc".into(), vpc.clone().into());
                        }
                        v
                    })
                    .collect();
                json!({
                    "serverGroupId": g.id,
                    "launchOrder": order,
                    "serverLaunchConfigurations": servers,
                })
            })
            .collect();
        json!({
            "autoLaunch": false,
            "serverGroupLaunchConfigurations": groups,
        })
    }
}
