//! Replication jobs and runs on the wire: CreateReplicationJob, GetReplicationJobs,
//! GetReplicationRuns, UpdateReplicationJob, DeleteReplicationJob,
//! StartOnDemandReplicationRun, and the model's `ReplicationJob` and `ReplicationRun` shapes.

use serde_json::{json, Value};

use super::catalog::server_json;
use super::{opt_bool, opt_i32, opt_license, opt_str, opt_time, page, req_str, DEFAULT_PAGE};
use crate::sms::engine::{epoch_secs, Engine, Job, JobUpdate, NewJob, Run};
use crate::sms::protocol::{ApiError, LicenseType, Operation, RunState, ServerType};

pub(super) fn create_replication_job(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, ApiError> {
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
    let id = engine.create_job(p)?;
    Ok(json!({ "replicationJobId": id }))
}

pub(super) fn get_replication_jobs(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let filter = opt_str(input, "replicationJobId")?;
    let list: Vec<&Job> = match &filter {
        Some(id) => engine.listed_job(id).into_iter().collect(),
        None => engine
            .jobs()
            .iter()
            .filter(|j| engine.is_listed(j))
            .collect(),
    };
    let (from, to, next) = page(
        Operation::GetReplicationJobs,
        filter.as_deref().unwrap_or(""),
        input,
        list.len(),
        DEFAULT_PAGE,
    )?;
    let items: Vec<Value> = list[from..to]
        .iter()
        .map(|j| job_json(engine, j, true))
        .collect();
    Ok(json!({ "replicationJobList": items, "nextToken": next }))
}

pub(super) fn get_replication_runs(engine: &Engine, input: &Value) -> Result<Value, ApiError> {
    let id = req_str(input, "replicationJobId")?;
    let j = engine
        .live_job(&id)
        .ok_or_else(|| ApiError::invalid(format!("Replication job {id} does not exist")))?;
    let (from, to, next) = page(
        Operation::GetReplicationRuns,
        &id,
        input,
        j.runs.len(),
        DEFAULT_PAGE,
    )?;
    let runs: Vec<Value> = j.runs[from..to]
        .iter()
        .map(|r| run_json(engine, r))
        .collect();
    Ok(json!({
        "replicationJob": job_json(engine, j, false),
        "replicationRunList": runs,
        "nextToken": next,
    }))
}

pub(super) fn update_replication_job(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, ApiError> {
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
    engine.update_job(&id, u)?;
    Ok(json!({}))
}

pub(super) fn delete_replication_job(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, ApiError> {
    let id = req_str(input, "replicationJobId")?;
    engine.delete_job(&id)?;
    Ok(json!({}))
}

pub(super) fn start_on_demand_run(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let id = req_str(input, "replicationJobId")?;
    let description = opt_str(input, "description")?;
    let run = engine.start_on_demand(&id, description)?;
    Ok(json!({ "replicationRunId": run }))
}

/// The model's `ReplicationJob` shape.
fn job_json(engine: &Engine, j: &Job, with_runs: bool) -> Value {
    let vm = server_json(engine, &engine.servers()[j.server_idx]);
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
    if with_runs {
        if let Some(o) = v.as_object_mut() {
            let runs: Vec<Value> = j.runs.iter().map(|r| run_json(engine, r)).collect();
            o.insert("replicationRunList".into(), Value::Array(runs));
        }
    }
    v
}

/// The model's `ReplicationRun` shape; stage details follow the simulated clock.
fn run_json(engine: &Engine, r: &Run) -> Value {
    json!({
        "replicationRunId": r.id,
        "state": r.state.as_str(),
        "type": r.run_type.as_str(),
        "stageDetails": stage_details(engine, r),
        "statusMessage": r.status_message,
        "amiId": r.ami_id,
        "scheduledStartTime": epoch_secs(r.scheduled_start),
        "completedTime": r.completed.map(epoch_secs),
        "description": r.description,
        "encrypted": r.encrypted,
        "kmsKeyId": r.kms_key_id,
    })
}

/// The model's `ReplicationRunStageDetails`: where an ACTIVE run is, by elapsed time.
fn stage_details(engine: &Engine, r: &Run) -> Option<Value> {
    match (r.state, r.active_since, r.finish_at) {
        (RunState::Active, Some(from), Some(to)) if to > from => {
            let done = ((engine.now() - from) as f64 / (to - from) as f64).clamp(0.0, 1.0);
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
    }
}
