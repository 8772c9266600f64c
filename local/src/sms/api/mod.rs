//! SMS operations on the wire: parse an awsJson1.1 request body, act on the engine,
//! render the model's output shape.
//!
//! Inputs are read field by field from the JSON so that a wrong type is a
//! SerializationException and a missing required member a
//! MissingRequiredParameterException, as the service answered. Outputs leave out
//! absent members rather than sending nulls. Lists keep a stable order (catalog order
//! for servers, creation order for jobs and apps, oldest first for runs) and page with
//! an opaque `nextToken` bound to the operation and its filters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::sms::engine::templates as template;
use crate::sms::engine::{
    epoch_secs, App, AppReplication, Engine, Job, JobUpdate, Millis, NewJob, Run,
};
use crate::sms::protocol::{
    ApiError, AppLaunchStatus, AppStatus, ConnectorCapability, ErrorCode, LaunchConfigStatus,
    LicenseType, Operation, ReplicationConfigStatus, RunState, ServerType, VmManagerType,
};

/// A server group as a request gives it: (existing id, name, member server ids).
type GroupInput = (Option<String>, String, Vec<String>);

/// Default `maxResults` the model documents for most list operations.
const DEFAULT_PAGE: usize = 50;
/// ListApps documents a default of 100.
const DEFAULT_APPS_PAGE: usize = 100;
/// Largest page the emulator accepts.
const MAX_PAGE: i64 = 100;

/// Runs one operation on the engine and renders its answer.
pub(crate) fn call(engine: &mut Engine, op: Operation, input: &Value) -> Result<Value, ApiError> {
    engine.call(op, input)
}

/// Runs the operation a wire name denotes; a name the emulator does not serve is
/// answered "not implemented" (after the body check, as for every operation).
pub(crate) fn call_named(
    engine: &mut Engine,
    name: &str,
    input: &Value,
) -> Result<Value, ApiError> {
    match Operation::from_name(name) {
        Some(op) => engine.call(op, input),
        None => {
            require_object(input)?;
            Err(ApiError::not_implemented(name))
        }
    }
}

fn require_object(input: &Value) -> Result<(), ApiError> {
    if input.is_object() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Serialization,
            "The request body must be a JSON object",
        ))
    }
}

impl Engine {
    fn call(&mut self, op: Operation, input: &Value) -> Result<Value, ApiError> {
        require_object(input)?;
        let out = match op {
            Operation::GetConnectors => self.op_get_connectors(input),
            Operation::DisassociateConnector => {
                let id = req_str(input, "connectorId")?;
                self.disassociate_connector(&id).map(|()| json!({}))
            }
            Operation::ImportServerCatalog => self.import_catalog().map(|()| json!({})),
            Operation::GetServers => self.op_get_servers(input),
            Operation::DeleteServerCatalog => {
                self.delete_catalog();
                Ok(json!({}))
            }
            Operation::CreateReplicationJob => self.op_create_job(input),
            Operation::GetReplicationJobs => self.op_get_jobs(input),
            Operation::GetReplicationRuns => self.op_get_runs(input),
            Operation::UpdateReplicationJob => self.op_update_job(input),
            Operation::DeleteReplicationJob => {
                let id = req_str(input, "replicationJobId")?;
                self.delete_job(&id).map(|()| json!({}))
            }
            Operation::StartOnDemandReplicationRun => {
                let id = req_str(input, "replicationJobId")?;
                let description = opt_str(input, "description")?;
                self.start_on_demand(&id, description)
                    .map(|run| json!({ "replicationRunId": run }))
            }
            Operation::CreateApp => self.op_create_app(input),
            Operation::GetApp => {
                let app = self.app_arg(input)?;
                Ok(self.app_full(app))
            }
            Operation::ListApps => self.op_list_apps(input),
            Operation::UpdateApp => self.op_update_app(input),
            Operation::DeleteApp => self.op_delete_app(input),
            Operation::PutAppLaunchConfiguration => self.op_put_launch_config(input),
            Operation::GetAppLaunchConfiguration => {
                let app = self.app_arg(input)?;
                let a = &self.apps[app];
                let mut out = a
                    .launch_config
                    .clone()
                    .unwrap_or_else(|| json!({ "serverGroupLaunchConfigurations": [] }));
                if let Some(o) = out.as_object_mut() {
                    o.insert("appId".into(), a.id.clone().into());
                }
                Ok(out)
            }
            Operation::DeleteAppLaunchConfiguration => {
                let app = self.app_arg(input)?;
                let a = &mut self.apps[app];
                a.launch_config = None;
                if a.launch_status == AppLaunchStatus::ReadyForLaunch {
                    a.launch_status = AppLaunchStatus::ReadyForConfiguration;
                }
                a.last_modified = self.now;
                Ok(json!({}))
            }
            Operation::PutAppReplicationConfiguration => self.op_put_replication_config(input),
            Operation::GetAppReplicationConfiguration => {
                let app = self.app_arg(input)?;
                Ok(self.apps[app]
                    .replication_config
                    .clone()
                    .unwrap_or_else(|| json!({ "serverGroupReplicationConfigurations": [] })))
            }
            Operation::DeleteAppReplicationConfiguration => {
                let app = self.app_arg(input)?;
                self.apps[app].replication_config = None;
                self.apps[app].last_modified = self.now;
                Ok(json!({}))
            }
            Operation::StartAppReplication => self.op_start_app_replication(input),
            Operation::StopAppReplication => {
                let app = self.app_arg(input)?;
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
                self.apps[app].replication = AppReplication::Stopped;
                self.apps[app].last_modified = self.now;
                Ok(json!({}))
            }
            Operation::LaunchApp => {
                let app = self.app_arg(input)?;
                self.launch_app(app).map(|()| json!({}))
            }
            Operation::TerminateApp => {
                let app = self.app_arg(input)?;
                self.terminate_app(app).map(|()| json!({}))
            }
            Operation::GenerateTemplate => {
                let app = self.app_arg(input)?;
                let format = format_arg(input, "templateFormat")?;
                template::generate_template(self, app, format)
            }
            Operation::GenerateChangeSet => {
                let app = self.app_arg(input)?;
                let format = format_arg(input, "changesetFormat")?;
                template::generate_change_set(self, app, format)
            }
            Operation::DeleteAppValidationConfiguration
            | Operation::GetAppValidationConfiguration
            | Operation::GetAppValidationOutput
            | Operation::ImportAppCatalog
            | Operation::NotifyAppValidationOutput
            | Operation::PutAppValidationConfiguration
            | Operation::StartOnDemandAppReplication => Err(ApiError::not_implemented(op.name())),
        }?;
        Ok(compact(out))
    }

    fn op_get_connectors(&self, input: &Value) -> Result<Value, ApiError> {
        let list: Vec<usize> = (0..self.connectors.len())
            .filter(|&i| !self.connectors[i].disassociated)
            .collect();
        let (from, to, next) = page("GetConnectors", "", input, list.len(), DEFAULT_PAGE)?;
        let items: Vec<Value> = list[from..to]
            .iter()
            .map(|&i| self.connector_json(i))
            .collect();
        Ok(json!({ "connectorList": items, "nextToken": next }))
    }

    fn connector_json(&self, i: usize) -> Value {
        let c = &self.connectors[i];
        let kind = match c.vm_manager_type {
            VmManagerType::Vsphere => ConnectorCapability::Vsphere,
            VmManagerType::Scvmm => ConnectorCapability::Scvmm,
            VmManagerType::HypervManager => ConnectorCapability::HypervManager,
        };
        json!({
            "connectorId": c.id,
            "version": c.version,
            "status": c.status(self.now).as_str(),
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

    fn op_get_servers(&self, input: &Value) -> Result<Value, ApiError> {
        let filter = match input.get("vmServerAddressList") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => {
                let mut out = Vec::with_capacity(list.len());
                for a in list {
                    out.push((opt_str(a, "vmManagerId")?, opt_str(a, "vmId")?));
                }
                Some(out)
            }
            Some(_) => return Err(serialization("vmServerAddressList", "a list")),
        };
        let list: Vec<usize> = self
            .catalog
            .visible
            .iter()
            .copied()
            .filter(|&i| match &filter {
                None => true,
                Some(addrs) => {
                    let s = &self.servers[i];
                    let manager_id = self.manager_id(&s.vm_manager_name);
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
        let (from, to, next) = page("GetServers", &fingerprint, input, list.len(), DEFAULT_PAGE)?;
        let items: Vec<Value> = list[from..to]
            .iter()
            .map(|&i| self.server_json(i))
            .collect();
        Ok(json!({
            "lastModifiedOn": self.catalog.last_modified.map(epoch_secs),
            "serverCatalogStatus": self.catalog.status.as_str(),
            "serverList": items,
            "nextToken": next,
        }))
    }

    fn manager_id(&self, manager: &str) -> Option<&str> {
        self.connectors
            .iter()
            .find(|c| c.vm_manager_name == manager)
            .map(|c| c.vm_manager_id.as_str())
    }

    fn manager_type(&self, manager: &str) -> VmManagerType {
        self.connectors
            .iter()
            .find(|c| c.vm_manager_name == manager)
            .map(|c| c.vm_manager_type)
            .unwrap_or(VmManagerType::Vsphere)
    }

    /// The model's `Server` shape.
    pub(crate) fn server_json(&self, i: usize) -> Value {
        let s = &self.servers[i];
        json!({
            "serverId": s.id,
            "serverType": ServerType::VirtualMachine.as_str(),
            "vmServer": {
                "vmServerAddress": { "vmManagerId": self.manager_id(&s.vm_manager_name), "vmId": s.vm_id },
                "vmName": s.vm_name,
                "vmManagerName": s.vm_manager_name,
                "vmManagerType": self.manager_type(&s.vm_manager_name).as_str(),
                "vmPath": s.vm_path,
            },
            "replicationJobId": s.job_id,
            "replicationJobTerminated": s.job_terminated,
        })
    }

    fn server_json_by_id(&self, id: &str) -> Value {
        match self.server_by_id.get(id) {
            Some(&i) => self.server_json(i),
            None => json!({ "serverId": id }),
        }
    }

    fn op_create_job(&mut self, input: &Value) -> Result<Value, ApiError> {
        let server_id = req_str(input, "serverId")?;
        let seed_time = opt_time(input, "seedReplicationTime")?
            .ok_or_else(|| ApiError::missing("seedReplicationTime"))?;
        let p = NewJob {
            server_id,
            seed_time,
            frequency: opt_i32(input, "frequency")?,
            run_once: opt_bool(input, "runOnce")?.unwrap_or(false),
            license_type: opt_license(input)?,
            role_name: opt_str(input, "roleName")?,
            description: opt_str(input, "description")?,
            keep_amis: opt_i32(input, "numberOfRecentAmisToKeep")?,
            encrypted: opt_bool(input, "encrypted")?.unwrap_or(false),
            kms_key_id: opt_str(input, "kmsKeyId")?,
        };
        let id = self.create_job(p)?;
        Ok(json!({ "replicationJobId": id }))
    }

    fn op_get_jobs(&self, input: &Value) -> Result<Value, ApiError> {
        let filter = opt_str(input, "replicationJobId")?;
        let list: Vec<usize> = match &filter {
            Some(id) => self.live_job(id).into_iter().collect(),
            None => (0..self.jobs.len())
                .filter(|&j| self.jobs[j].state.is_visible())
                .collect(),
        };
        let (from, to, next) = page(
            "GetReplicationJobs",
            filter.as_deref().unwrap_or(""),
            input,
            list.len(),
            DEFAULT_PAGE,
        )?;
        let items: Vec<Value> = list[from..to]
            .iter()
            .map(|&j| self.job_json(&self.jobs[j], true))
            .collect();
        Ok(json!({ "replicationJobList": items, "nextToken": next }))
    }

    fn op_get_runs(&self, input: &Value) -> Result<Value, ApiError> {
        let id = req_str(input, "replicationJobId")?;
        let job = self
            .live_job(&id)
            .ok_or_else(|| ApiError::invalid(format!("Replication job {id} does not exist")))?;
        let j = &self.jobs[job];
        let (from, to, next) = page("GetReplicationRuns", &id, input, j.runs.len(), DEFAULT_PAGE)?;
        let runs: Vec<Value> = j.runs[from..to].iter().map(|r| self.run_json(r)).collect();
        Ok(json!({
            "replicationJob": self.job_json(j, false),
            "replicationRunList": runs,
            "nextToken": next,
        }))
    }

    /// The model's `ReplicationJob` shape.
    fn job_json(&self, j: &Job, with_runs: bool) -> Value {
        let server = &self.servers[j.server_idx];
        let vm = self.server_json(j.server_idx);
        let mut v = json!({
            "replicationJobId": j.id,
            "serverId": j.server_id,
            "serverType": ServerType::VirtualMachine.as_str(),
            "vmServer": vm.get("vmServer"),
            "seedReplicationTime": epoch_secs(j.seed_time),
            "frequency": j.frequency_hours,
            "runOnce": j.run_once,
            "nextReplicationRunStartTime": j.next_run_start.map(epoch_secs),
            "licenseType": j.license_type.map(LicenseType::as_str),
            "roleName": j.role_name,
            "latestAmiId": j.latest_ami,
            "state": j.state.as_str(),
            "statusMessage": j.status_message,
            "description": j.description,
            "numberOfRecentAmisToKeep": j.keep_amis,
            "encrypted": j.encrypted,
            "kmsKeyId": j.kms_key_id,
        });
        let _ = server;
        if with_runs {
            if let Some(o) = v.as_object_mut() {
                let runs: Vec<Value> = j.runs.iter().map(|r| self.run_json(r)).collect();
                o.insert("replicationRunList".into(), Value::Array(runs));
            }
        }
        v
    }

    /// The model's `ReplicationRun` shape; stage details follow the simulated clock.
    fn run_json(&self, r: &Run) -> Value {
        let stage = match (r.state, r.active_since, r.finish_at) {
            (RunState::Active, Some(from), Some(to)) if to > from => {
                let done = ((self.now - from) as f64 / (to - from) as f64).clamp(0.0, 1.0);
                // Rough shape of a real run: most of the time goes into the upload.
                let stages: [(&str, f64, f64); 4] = [
                    ("PREPARING", 0.0, 0.1),
                    ("UPLOADING", 0.1, 0.7),
                    ("CONVERTING", 0.7, 0.9),
                    ("CREATING_AMI", 0.9, 1.0),
                ];
                let (name, lo, hi) = stages
                    .iter()
                    .copied()
                    .find(|(_, _, hi)| done < *hi)
                    .unwrap_or(stages[3]);
                let pct = (((done - lo) / (hi - lo)) * 100.0).floor().clamp(0.0, 99.0);
                Some(json!({ "stage": name, "stageProgress": format!("{pct}%") }))
            }
            (RunState::Completed, _, _) => {
                Some(json!({ "stage": "COMPLETED", "stageProgress": "100%" }))
            }
            _ => None,
        };
        json!({
            "replicationRunId": r.id,
            "state": r.state.as_str(),
            "type": r.run_type.as_str(),
            "stageDetails": stage,
            "statusMessage": r.status_message,
            "amiId": r.ami_id,
            "scheduledStartTime": epoch_secs(r.scheduled_start),
            "completedTime": r.completed.map(epoch_secs),
            "description": r.description,
            "encrypted": r.encrypted,
            "kmsKeyId": r.kms_key_id,
        })
    }

    fn op_update_job(&mut self, input: &Value) -> Result<Value, ApiError> {
        let id = req_str(input, "replicationJobId")?;
        let u = JobUpdate {
            frequency: opt_i32(input, "frequency")?,
            next_run_start: opt_time(input, "nextReplicationRunStartTime")?,
            license_type: opt_license(input)?,
            role_name: opt_str(input, "roleName")?,
            description: opt_str(input, "description")?,
            keep_amis: opt_i32(input, "numberOfRecentAmisToKeep")?,
            encrypted: opt_bool(input, "encrypted")?,
            kms_key_id: opt_str(input, "kmsKeyId")?,
        };
        self.update_job(&id, u).map(|()| json!({}))
    }

    /// The app named by `appId`, or the model's error.
    fn app_arg(&self, input: &Value) -> Result<usize, ApiError> {
        let id = req_str(input, "appId")?;
        self.app_by_id
            .get(&id)
            .copied()
            .filter(|&a| self.apps[a].status != AppStatus::Deleted)
            .ok_or_else(|| ApiError::invalid(format!("App {id} does not exist")))
    }

    /// Parses `serverGroups` into (existing id, name, members), checking every member.
    fn parse_groups(
        &self,
        input: &Value,
        app_id: Option<&str>,
    ) -> Result<Vec<GroupInput>, ApiError> {
        let Some(groups) = input.get("serverGroups").filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let groups = groups
            .as_array()
            .ok_or_else(|| serialization("serverGroups", "a list"))?;
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (gi, g) in groups.iter().enumerate() {
            let name = opt_str(g, "name")?.unwrap_or_else(|| format!("group-{}", gi + 1));
            let id = opt_str(g, "serverGroupId")?;
            let mut members = Vec::new();
            if let Some(list) = g.get("serverList").filter(|v| !v.is_null()) {
                let list = list
                    .as_array()
                    .ok_or_else(|| serialization("serverList", "a list"))?;
                for s in list {
                    let sid = req_str(s, "serverId")?;
                    let idx = self.catalog_server(&sid)?;
                    if let Some(other) = &self.servers[idx].app_id {
                        if Some(other.as_str()) != app_id {
                            return Err(ApiError::invalid(format!(
                                "Server {sid} already belongs to app {other}"
                            )));
                        }
                    }
                    if !seen.insert(sid.clone()) {
                        return Err(ApiError::invalid(format!(
                            "Server {sid} appears twice in serverGroups"
                        )));
                    }
                    members.push(sid);
                }
            }
            out.push((id, name, members));
        }
        Ok(out)
    }

    fn op_create_app(&mut self, input: &Value) -> Result<Value, ApiError> {
        let name = opt_str(input, "name")?.unwrap_or_else(|| "unnamed".into());
        let description = opt_str(input, "description")?;
        let role_name = opt_str(input, "roleName")?;
        let tags = parse_tags(input)?;
        let groups = self.parse_groups(input, None)?;
        let groups = groups.into_iter().map(|(_, n, m)| (n, m)).collect();
        let app = self.insert_app(name, description, role_name, tags, groups);
        Ok(self.app_full(app))
    }

    fn op_update_app(&mut self, input: &Value) -> Result<Value, ApiError> {
        let app = self.app_arg(input)?;
        let app_id = self.apps[app].id.clone();
        let name = opt_str(input, "name")?;
        let description = opt_str(input, "description")?;
        let role_name = opt_str(input, "roleName")?;
        let tags = if input.get("tags").is_some_and(|t| !t.is_null()) {
            Some(parse_tags(input)?)
        } else {
            None
        };
        let groups = if input.get("serverGroups").is_some_and(|t| !t.is_null()) {
            Some(self.parse_groups(input, Some(&app_id))?)
        } else {
            None
        };
        if let Some(groups) = groups {
            for sid in self.apps[app].server_ids().cloned().collect::<Vec<_>>() {
                if let Some(&i) = self.server_by_id.get(&sid) {
                    self.servers[i].app_id = None;
                }
            }
            let mut new_groups = Vec::new();
            for (id, name, members) in groups {
                for sid in &members {
                    if let Some(&i) = self.server_by_id.get(sid) {
                        self.servers[i].app_id = Some(app_id.clone());
                    }
                }
                let id = match id {
                    Some(id) => id,
                    None => self.new_id("sg-", 17),
                };
                new_groups.push(crate::sms::engine::Group {
                    id,
                    name,
                    server_ids: members,
                });
            }
            self.apps[app].groups = new_groups;
        }
        let now = self.now;
        let a = &mut self.apps[app];
        if let Some(v) = name {
            a.name = v;
        }
        if let Some(v) = description {
            a.description = Some(v);
        }
        if let Some(v) = role_name {
            a.role_name = Some(v);
        }
        if let Some(v) = tags {
            a.tags = v;
        }
        a.last_modified = now;
        Ok(self.app_full(app))
    }

    fn op_delete_app(&mut self, input: &Value) -> Result<Value, ApiError> {
        let app = self.app_arg(input)?;
        if opt_bool(input, "forceStopAppReplication")?.unwrap_or(false) {
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
        }
        let launched = matches!(
            self.apps[app].launch_status,
            AppLaunchStatus::Launched
                | AppLaunchStatus::LaunchInProgress
                | AppLaunchStatus::LaunchPending
        );
        if launched && !opt_bool(input, "forceTerminateApp")?.unwrap_or(false) {
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
        Ok(json!({}))
    }

    fn op_list_apps(&self, input: &Value) -> Result<Value, ApiError> {
        let filter: Option<Vec<String>> = match input.get("appIds") {
            None | Some(Value::Null) => None,
            Some(Value::Array(ids)) => Some(
                ids.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| serialization("appIds", "a list of strings"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err(serialization("appIds", "a list of strings")),
        };
        let list: Vec<usize> = (0..self.apps.len())
            .filter(|&a| self.apps[a].status != AppStatus::Deleted)
            .filter(|&a| {
                filter
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&self.apps[a].id))
            })
            .collect();
        let fingerprint = filter.map(|f| f.join(",")).unwrap_or_default();
        let (from, to, next) = page(
            "ListApps",
            &fingerprint,
            input,
            list.len(),
            DEFAULT_APPS_PAGE,
        )?;
        let items: Vec<Value> = list[from..to]
            .iter()
            .map(|&a| self.app_summary(&self.apps[a]))
            .collect();
        Ok(json!({ "apps": items, "nextToken": next }))
    }

    /// The model's `AppSummary` shape.
    pub(crate) fn app_summary(&self, a: &App) -> Value {
        let latest = a
            .server_ids()
            .filter_map(|s| self.job_of(s).and_then(Job::latest_completion))
            .max();
        json!({
            "appId": a.id,
            "name": a.name,
            "description": a.description,
            "status": a.status.as_str(),
            "replicationConfigurationStatus": if a.replication_config.is_some() {
                ReplicationConfigStatus::Configured.as_str()
            } else {
                ReplicationConfigStatus::NotConfigured.as_str()
            },
            "replicationStatus": self.app_replication_status(a).as_str(),
            "latestReplicationTime": latest.map(epoch_secs),
            "launchConfigurationStatus": if a.launch_config.is_some() {
                LaunchConfigStatus::Configured.as_str()
            } else {
                LaunchConfigStatus::NotConfigured.as_str()
            },
            "launchStatus": a.launch_status.as_str(),
            "launchStatusMessage": a.launch_status_message,
            "launchDetails": a.launch_details.as_ref().map(|d| json!({
                "latestLaunchTime": epoch_secs(d.latest_launch_time),
                "stackName": d.stack_name,
                "stackId": d.stack_id,
            })),
            "creationTime": epoch_secs(a.created),
            "lastModified": epoch_secs(a.last_modified),
            "roleName": a.role_name,
            "totalServerGroups": a.groups.len(),
            "totalServers": a.server_ids().count(),
        })
    }

    fn app_full(&self, app: usize) -> Value {
        let a = &self.apps[app];
        let groups: Vec<Value> = a
            .groups
            .iter()
            .map(|g| {
                let servers: Vec<Value> = g
                    .server_ids
                    .iter()
                    .map(|s| self.server_json_by_id(s))
                    .collect();
                json!({ "serverGroupId": g.id, "name": g.name, "serverList": servers })
            })
            .collect();
        let tags: Vec<Value> = a
            .tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        json!({ "appSummary": self.app_summary(a), "serverGroups": groups, "tags": tags })
    }

    /// Checks that every (group, server) pair a configuration names belongs to the app.
    fn check_config_members(
        &self,
        app: usize,
        groups: &[Value],
        servers_key: &str,
    ) -> Result<(), ApiError> {
        let a = &self.apps[app];
        for g in groups {
            let gid = req_str(g, "serverGroupId")?;
            let group = a.groups.iter().find(|x| x.id == gid).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Server group {gid} does not belong to app {}",
                    a.id
                ))
            })?;
            if let Some(list) = g.get(servers_key).filter(|v| !v.is_null()) {
                let list = list
                    .as_array()
                    .ok_or_else(|| serialization(servers_key, "a list"))?;
                for s in list {
                    let server = s.get("server").ok_or_else(|| ApiError::missing("server"))?;
                    let sid = req_str(server, "serverId")?;
                    if !group.server_ids.contains(&sid) {
                        return Err(ApiError::invalid(format!(
                            "Server {sid} is not a member of server group {gid}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn op_put_launch_config(&mut self, input: &Value) -> Result<Value, ApiError> {
        let app = self.app_arg(input)?;
        let groups = list_arg(input, "serverGroupLaunchConfigurations")?;
        self.check_config_members(app, &groups, "serverLaunchConfigurations")?;
        for g in &groups {
            opt_i32(g, "launchOrder")?;
        }
        let mut config = Map::new();
        if let Some(v) = opt_str(input, "roleName")? {
            config.insert("roleName".into(), v.into());
        }
        if let Some(v) = opt_bool(input, "autoLaunch")? {
            config.insert("autoLaunch".into(), v.into());
        }
        config.insert(
            "serverGroupLaunchConfigurations".into(),
            Value::Array(groups),
        );
        let now = self.now;
        let a = &mut self.apps[app];
        a.launch_config = Some(Value::Object(config));
        if matches!(
            a.launch_status,
            AppLaunchStatus::ReadyForConfiguration | AppLaunchStatus::Terminated
        ) {
            a.launch_status = AppLaunchStatus::ReadyForLaunch;
        }
        a.last_modified = now;
        Ok(json!({}))
    }

    fn op_put_replication_config(&mut self, input: &Value) -> Result<Value, ApiError> {
        let app = self.app_arg(input)?;
        let groups = list_arg(input, "serverGroupReplicationConfigurations")?;
        self.check_config_members(app, &groups, "serverReplicationConfigurations")?;
        for g in &groups {
            for s in g
                .get("serverReplicationConfigurations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(p) = s.get("serverReplicationParameters") {
                    server_params(p, "", 12)?;
                }
            }
        }
        let now = self.now;
        let a = &mut self.apps[app];
        a.replication_config = Some(json!({ "serverGroupReplicationConfigurations": groups }));
        a.last_modified = now;
        Ok(json!({}))
    }

    fn op_start_app_replication(&mut self, input: &Value) -> Result<Value, ApiError> {
        let app = self.app_arg(input)?;
        let members: Vec<String> = self.apps[app].server_ids().cloned().collect();
        if members.is_empty() {
            return Err(ApiError::not_permitted(format!(
                "App {} has no servers",
                self.apps[app].id
            )));
        }
        let params: Vec<(String, Value)> = self.apps[app]
            .replication_config
            .as_ref()
            .and_then(|c| c.get("serverGroupReplicationConfigurations"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|g| {
                g.get("serverReplicationConfigurations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|s| {
                let sid = s.get("server")?.get("serverId")?.as_str()?.to_string();
                Some((
                    sid,
                    s.get("serverReplicationParameters")
                        .cloned()
                        .unwrap_or(Value::Null),
                ))
            })
            .collect();
        // Check everything first so a refused call creates no job at all.
        let mut todo = Vec::new();
        for sid in &members {
            let idx = self.catalog_server(sid)?;
            if self.servers[idx].job_id.is_some() {
                continue;
            }
            if self.servers[idx].unreplicable {
                return Err(ApiError::new(
                    ErrorCode::ServerCannotBeReplicated,
                    format!("Server {sid} cannot be replicated"),
                ));
            }
            let p = params
                .iter()
                .find(|(s, _)| s == sid)
                .map(|(_, p)| p.clone())
                .unwrap_or(Value::Null);
            todo.push(server_params(&p, sid, self.now)?);
        }
        let live = self.jobs.iter().filter(|j| j.state.is_live()).count();
        if live + todo.len() > self.cfg.limits.max_concurrent_jobs {
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
        Ok(json!({}))
    }
}

impl crate::sms::protocol::JobState {
    /// Listed by GetReplicationJobs (deleted jobs are gone).
    pub fn is_visible(self) -> bool {
        self != crate::sms::protocol::JobState::Deleted
    }
}

/// `ServerReplicationParameters` as a CreateReplicationJob request.
fn server_params(p: &Value, server_id: &str, now: Millis) -> Result<NewJob, ApiError> {
    if p.is_null() {
        return Ok(NewJob {
            server_id: server_id.into(),
            seed_time: now,
            ..NewJob::default()
        });
    }
    Ok(NewJob {
        server_id: server_id.into(),
        seed_time: opt_time(p, "seedTime")?.unwrap_or(now),
        frequency: opt_i32(p, "frequency")?,
        run_once: opt_bool(p, "runOnce")?.unwrap_or(false),
        license_type: opt_license(p)?,
        role_name: None,
        description: None,
        keep_amis: opt_i32(p, "numberOfRecentAmisToKeep")?,
        encrypted: opt_bool(p, "encrypted")?.unwrap_or(false),
        kms_key_id: opt_str(p, "kmsKeyId")?,
    })
}

fn serialization(field: &str, expected: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Serialization,
        format!("{field} must be {expected}"),
    )
}

fn opt_str(v: &Value, k: &str) -> Result<Option<String>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(serialization(k, "a string")),
    }
}

fn req_str(v: &Value, k: &str) -> Result<String, ApiError> {
    match opt_str(v, k)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(ApiError::invalid(format!("{k} must not be empty"))),
        None => Err(ApiError::missing(k)),
    }
}

fn opt_bool(v: &Value, k: &str) -> Result<Option<bool>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(serialization(k, "a boolean")),
    }
}

fn opt_i64(v: &Value, k: &str) -> Result<Option<i64>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serialization(k, "an integer")),
    }
}

fn opt_i32(v: &Value, k: &str) -> Result<Option<i32>, ApiError> {
    match opt_i64(v, k)? {
        None => Ok(None),
        Some(n) => i32::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("{k} is out of range"))),
    }
}

/// Epoch seconds (integer or fractional) to simulated milliseconds.
fn opt_time(v: &Value, k: &str) -> Result<Option<Millis>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => {
            let s = n
                .as_f64()
                .ok_or_else(|| serialization(k, "a timestamp in epoch seconds"))?;
            if !s.is_finite() || s.abs() > 1e11 {
                return Err(ApiError::invalid(format!("{k} is out of range")));
            }
            Ok(Some((s * 1000.0).round() as Millis))
        }
    }
}

fn opt_license(v: &Value) -> Result<Option<LicenseType>, ApiError> {
    match opt_str(v, "licenseType")? {
        None => Ok(None),
        Some(s) => LicenseType::parse(&s).map(Some).ok_or_else(|| {
            ApiError::invalid(format!("licenseType must be AWS or BYOL, got {s:?}"))
        }),
    }
}

fn format_arg(v: &Value, k: &str) -> Result<crate::sms::protocol::OutputFormat, ApiError> {
    match opt_str(v, k)? {
        None => Ok(crate::sms::protocol::OutputFormat::Json),
        Some(s) => crate::sms::protocol::OutputFormat::parse(&s)
            .ok_or_else(|| ApiError::invalid(format!("{k} must be JSON or YAML, got {s:?}"))),
    }
}

fn list_arg(v: &Value, k: &str) -> Result<Vec<Value>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(_) => Err(serialization(k, "a list")),
    }
}

fn parse_tags(v: &Value) -> Result<Vec<(String, String)>, ApiError> {
    list_arg(v, "tags")?
        .iter()
        .map(|t| Ok((req_str(t, "key")?, opt_str(t, "value")?.unwrap_or_default())))
        .collect()
}

/// FNV-1a: a stable fingerprint that ties a token to its operation and filters.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Resolves `maxResults` / `nextToken` into a slice `[from, to)` of `total` items.
fn page(
    op: &str,
    filter: &str,
    input: &Value,
    total: usize,
    default: usize,
) -> Result<(usize, usize, Option<String>), ApiError> {
    let size = match opt_i64(input, "maxResults")? {
        None => default,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "maxResults must be between 1 and {MAX_PAGE}, got {n}"
            )))
        }
    };
    let fp = fingerprint(&format!("{op}\n{filter}"));
    let from = match opt_str(input, "nextToken")? {
        None => 0,
        Some(token) => decode_token(&token, fp)
            .ok_or_else(|| ApiError::invalid("The nextToken is not valid"))?,
    };
    let from = from.min(total);
    let to = from.saturating_add(size).min(total);
    let next = (to < total).then(|| URL_SAFE_NO_PAD.encode(format!("v1:{fp:016x}:{to}")));
    Ok((from, to, next))
}

fn decode_token(token: &str, fp: u64) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != "v1" || u64::from_str_radix(parts.next()?, 16).ok()? != fp {
        return None;
    }
    let offset = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(offset)
}

/// Drops null members so absent optional fields are absent on the wire.
pub(crate) fn compact(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, compact(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(compact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let fp = fingerprint("GetServers\n");
        let token = URL_SAFE_NO_PAD.encode(format!("v1:{fp:016x}:150"));
        assert_eq!(decode_token(&token, fp), Some(150));
        assert_eq!(decode_token(&token, fp ^ 1), None);
        assert_eq!(decode_token("garbage!", fp), None);
    }
}
