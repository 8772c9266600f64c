//! Jobs on the wire: StartTest, StartCutover and TerminateTargetInstances (each answers
//! the job it started), DescribeJobs (newest first, the model's order, with its id and
//! date filters) and DescribeJobLogItems, and the rendering of the model's Job and JobLog.

use chrono::DateTime;
use serde_json::{json, Value};

use super::{check_id, opt_object, opt_str, page, req_id, server_ids, str_list, tags};
use crate::mgn::engine::{rfc3339, Engine, Job, LaunchKind};
use crate::mgn::error::MgnError;
use crate::schedule::Millis;

pub(super) fn start_test(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    start_launch(engine, input, LaunchKind::Test)
}

pub(super) fn start_cutover(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    start_launch(engine, input, LaunchKind::Cutover)
}

fn start_launch(engine: &mut Engine, input: &Value, kind: LaunchKind) -> Result<Value, MgnError> {
    let ids = server_ids(input, "sourceServerIDs")?;
    let tags = tags(input)?;
    let job = engine.start_launch(kind, &ids, tags)?;
    Ok(json!({ "job": render(job) }))
}

pub(super) fn terminate_target_instances(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    let ids = server_ids(input, "sourceServerIDs")?;
    let tags = tags(input)?;
    let job = engine.terminate_target_instances(&ids, tags)?;
    Ok(json!({ "job": render(job) }))
}

/// An ISO 8601 date-time filter member, as simulated milliseconds.
fn date(filters: &Value, field: &str) -> Result<Option<Millis>, MgnError> {
    let Some(text) = opt_str(filters, field)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.timestamp_millis()))
        .map_err(|_| {
            MgnError::field(
                &format!("filters.{field}"),
                format!("{text:?} is not an ISO 8601 date-time"),
            )
        })
}

pub(super) fn describe_jobs(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let filters = Value::Object(opt_object(input, "filters")?.cloned().unwrap_or_default());
    let ids = str_list(&filters, "jobIDs", (0, 1000), |_, s| {
        check_id("filters.jobIDs", s, "mgnjob-")
    })?
    .unwrap_or_default();
    let from_date = date(&filters, "fromDate")?;
    let to_date = date(&filters, "toDate")?;
    let kept: Vec<&Job> = engine
        .jobs_newest_first()
        .filter(|j| ids.is_empty() || ids.contains(&j.id))
        .filter(|j| from_date.is_none_or(|from| j.created >= from))
        .filter(|j| to_date.is_none_or(|to| j.created <= to))
        .collect();
    let (from, to, next) = page("DescribeJobs", &filters.to_string(), input, kept.len())?;
    let items: Vec<Value> = kept[from..to].iter().map(|j| render(j)).collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

pub(super) fn describe_job_log_items(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    let id = req_id(input, "jobID", "mgnjob-")?;
    // The operation's errors list no ResourceNotFoundException: an unknown job has no log.
    let log = engine
        .job(&id)
        .map(|j| j.log.as_slice())
        .unwrap_or_default();
    let (from, to, next) = page("DescribeJobLogItems", &id, input, log.len())?;
    let items: Vec<Value> = log[from..to]
        .iter()
        .map(|item| {
            json!({
                "logDateTime": rfc3339(item.at),
                "event": item.event.as_str(),
                "eventData": {
                    "sourceServerID": item.server_id,
                    "targetInstanceID": item.target_instance_id,
                    "rawError": item.raw_error,
                },
            })
        })
        .collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

/// The model's Job.
fn render(job: &Job) -> Value {
    let servers: Vec<Value> = job
        .participants
        .iter()
        .map(|p| {
            json!({
                "sourceServerID": p.server_id,
                "launchStatus": p.launch_status.as_str(),
                "launchedEc2InstanceID": p.instance_id,
            })
        })
        .collect();
    json!({
        "jobID": job.id,
        "arn": job.arn,
        "type": job.job_type.as_str(),
        "initiatedBy": job.initiated_by.as_str(),
        "creationDateTime": rfc3339(job.created),
        "endDateTime": job.ended.map(rfc3339),
        "status": job.status.as_str(),
        "participatingServers": servers,
        "tags": job.tags,
    })
}

pub(super) fn delete_job(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let id = req_id(input, "jobID", "mgnjob-")?;
    engine.delete_job(&id)?;
    Ok(json!({}))
}
