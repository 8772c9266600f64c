//! Applications: apps and their server groups (CreateApp, UpdateApp, DeleteApp), their
//! replication configuration, and app-level replication (StartAppReplication,
//! StopAppReplication), plus the apps a scenario starts with.
//!
//! Configurations are kept as the wire JSON the caller put (GetApp*Configuration
//! echoes them back); the launch configuration and its check are in
//! `launch_config.rs`, LaunchApp and TerminateApp in `launch.rs`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::templates::logical_id;
use super::{Engine, Job, LaunchDetails, Millis, NewJob, ReplicationParameters};
use crate::scenario::{AppSpec, LaunchSpec};
use crate::sms::protocol::{
    ApiError, AppLaunchStatus, AppReplicationStatus, AppStatus, ErrorCode, JobState,
};

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

/// Whether the app's replication was started or stopped through the app API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppReplication {
    /// Never started through StartAppReplication (members may still have jobs).
    NotStarted,
    /// StartAppReplication was called.
    Started,
    /// StopAppReplication was called.
    Stopped,
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

/// Parameters of PutAppReplicationConfiguration.
#[derive(Debug, Clone)]
pub(crate) struct ReplicationConfiguration {
    /// serverGroupReplicationConfigurations as put, already checked against the app.
    pub server_groups: Vec<Value>,
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

    /// An app found by [`Engine::find_app`].
    pub(crate) fn app(&self, key: AppKey) -> &App {
        &self.apps[key.0]
    }

    /// Every app ever created, deleted ones included, in creation order.
    pub(crate) fn apps(&self) -> &[App] {
        &self.apps
    }

    /// CreateApp.
    pub(crate) fn create_app(&mut self, new: NewApp) -> AppKey {
        AppKey(self.insert_app(new))
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
        a.status = AppStatus::Deleted;
        Ok(())
    }

    /// Deletes the live job of every member server.
    fn delete_member_jobs(&mut self, app: usize) -> Result<(), ApiError> {
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

    /// PutAppReplicationConfiguration.
    pub(crate) fn put_replication_config(&mut self, key: AppKey, c: ReplicationConfiguration) {
        let now = self.now;
        let a = &mut self.apps[key.0];
        a.replication_config =
            Some(json!({ "serverGroupReplicationConfigurations": c.server_groups }));
        a.last_modified = now;
    }

    /// DeleteAppReplicationConfiguration.
    pub(crate) fn delete_replication_config(&mut self, key: AppKey) {
        let now = self.now;
        let a = &mut self.apps[key.0];
        a.replication_config = None;
        a.last_modified = now;
    }

    /// StartAppReplication: a job for every member without one, with the parameters
    /// the replication configuration gives it (`configured`, by server id).
    pub(crate) fn start_app_replication(
        &mut self,
        key: AppKey,
        configured: Vec<(String, ReplicationParameters)>,
    ) -> Result<(), ApiError> {
        let app = key.0;
        let members: Vec<String> = self.apps[app].server_ids().cloned().collect();
        if members.is_empty() {
            return Err(ApiError::not_permitted(format!(
                "App {} has no servers",
                self.apps[app].id
            )));
        }
        // Check everything first so a refused call creates no job at all.
        let mut todo = Vec::new();
        for sid in &members {
            let idx = self.catalog_server_index(sid)?;
            if self.job_of(sid).is_some() {
                continue;
            }
            self.server_takes_job(idx)?;
            if self.servers[idx].unreplicable {
                return Err(ApiError::new(
                    ErrorCode::ServerCannotBeReplicated,
                    format!("Server {sid} cannot be replicated"),
                ));
            }
            let p = configured
                .iter()
                .find(|(s, _)| s == sid)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            todo.push(NewJob::for_app_member(sid, p, self.now));
        }
        if self.live_job_count() + todo.len() > self.cfg.limits.max_concurrent_jobs {
            return Err(ApiError::not_permitted(format!(
                "Starting replication for {} servers would exceed the limit of {} concurrent replication jobs",
                todo.len(),
                self.cfg.limits.max_concurrent_jobs
            )));
        }
        for p in todo {
            self.create_job(p)?;
        }
        self.apps[app].replication = AppReplication::Started;
        self.apps[app].last_modified = self.now;
        Ok(())
    }

    /// StopAppReplication.
    pub(crate) fn stop_app_replication(&mut self, key: AppKey) -> Result<(), ApiError> {
        let app = key.0;
        self.delete_member_jobs(app)?;
        self.apps[app].replication = AppReplication::Stopped;
        self.apps[app].last_modified = self.now;
        Ok(())
    }

    /// The replication status of an app, derived from its members' jobs.
    pub(crate) fn app_replication_status(&self, app: &App) -> AppReplicationStatus {
        if app.replication == AppReplication::Stopped {
            return AppReplicationStatus::ReplicationStopped;
        }
        let members: Vec<&String> = app.server_ids().collect();
        let jobs: Vec<Option<&Job>> = members.iter().map(|s| self.job_of(s)).collect();
        if jobs.iter().all(Option::is_none) {
            return if app.replication_config.is_some() {
                AppReplicationStatus::ReadyForReplication
            } else {
                AppReplicationStatus::ReadyForConfiguration
            };
        }
        if jobs
            .iter()
            .flatten()
            .any(|j| matches!(j.state, JobState::Failed | JobState::PausedOnFailure))
        {
            return AppReplicationStatus::ReplicationFailed;
        }
        let with_ami = jobs
            .iter()
            .flatten()
            .filter(|j| j.latest_ami.is_some())
            .count();
        if with_ami == members.len() {
            AppReplicationStatus::Replicated
        } else if with_ami > 0 {
            AppReplicationStatus::PartiallyReplicated
        } else {
            AppReplicationStatus::ReplicationInProgress
        }
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
