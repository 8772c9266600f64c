//! The MGN calls of the launcher: test and cutover launches of an application's
//! servers, their jobs and the log that says why a copy failed, the life-cycle marks
//! (passed test, reverted launch), terminating launched copies, FinalizeCutover and
//! MarkAsArchived. Each names the MGN operation in its error.

use aws_sdk_mgn::config::http::HttpResponse;
use aws_sdk_mgn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_mgn::operation::describe_job_log_items::DescribeJobLogItemsOutput;
use aws_sdk_mgn::operation::describe_jobs::DescribeJobsOutput;
use aws_sdk_mgn::types::{
    ChangeServerLifeCycleStateSourceServerLifecycle as Lifecycle,
    ChangeServerLifeCycleStateSourceServerLifecycleState as LifecycleState,
    DescribeJobsRequestFilters, InitiatedBy, JobLogEvent, JobStatus, JobType,
};
use aws_sdk_mgn::Client;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::AwsCallError;
use crate::mgn::vocabulary;
use crate::migration::LaunchKind;
use crate::model::{CopyLaunch, JobServer, LaunchJob, ServerId};
use crate::paging::{self, Listing};

paging::page!(DescribeJobLogItemsOutput, DescribeJobsOutput);

/// The error of an MGN call, named by its operation.
fn failed<E>(operation: &'static str) -> impl Fn(SdkError<E, HttpResponse>) -> AwsCallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |error| AwsCallError::from_sdk("MGN", operation, &error)
}

fn ids(servers: &[ServerId]) -> Vec<String> {
    servers.iter().map(|s| s.as_str().to_owned()).collect()
}

/// StartTest or StartCutover of `servers`; the launch job's id.
pub async fn start_launch(
    mgn: &Client,
    kind: LaunchKind,
    servers: &[ServerId],
) -> Result<String, AwsCallError> {
    let (operation, job) = match kind {
        LaunchKind::Test => {
            let answer = mgn
                .start_test()
                .set_source_server_ids(Some(ids(servers)))
                .send()
                .await;
            (
                "StartTest",
                answer.map_err(failed("StartTest"))?.job().cloned(),
            )
        }
        LaunchKind::Cutover => {
            let answer = mgn
                .start_cutover()
                .set_source_server_ids(Some(ids(servers)))
                .send()
                .await;
            (
                "StartCutover",
                answer.map_err(failed("StartCutover"))?.job().cloned(),
            )
        }
    };
    job.map(|job| job.job_id().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            AwsCallError::unusable_answer(
                "MGN",
                operation,
                "MissingField",
                "no job in the answer".into(),
            )
        })
}

/// Job ids one DescribeJobs filter takes (the model's limit).
const JOB_IDS_PER_CALL: usize = 1000;

/// One launch job by id; `None` when MGN no longer lists it.
pub async fn launch_job(mgn: &Client, job_id: &str) -> Result<Option<LaunchJob>, AwsCallError> {
    let jobs = launch_jobs(mgn, &[job_id.to_owned()]).await?;
    Ok(jobs.into_iter().find(|job| job.id == job_id))
}

/// The jobs of `job_ids` MGN still lists, 1,000 ids a call.
pub async fn launch_jobs(mgn: &Client, job_ids: &[String]) -> Result<Vec<LaunchJob>, AwsCallError> {
    let mut found = Vec::with_capacity(job_ids.len());
    for chunk in job_ids.chunks(JOB_IDS_PER_CALL) {
        let only = DescribeJobsRequestFilters::builder()
            .set_job_ids(Some(chunk.to_vec()))
            .build();
        found.extend(jobs(mgn, only).await?.iter().map(launch_job_of));
    }
    Ok(found)
}

/// The latest launch of `kind` started since `since` for all of `members`, if MGN lists one:
/// the job of a launch asked for by a run that stopped before it kept the job's id.
pub async fn find_launch_job(
    mgn: &Client,
    kind: LaunchKind,
    members: &[ServerId],
    since: DateTime<Utc>,
) -> Result<Option<LaunchJob>, AwsCallError> {
    let recent = DescribeJobsRequestFilters::builder()
        .from_date(since.to_rfc3339_opts(SecondsFormat::Secs, true))
        .build();
    let by = match kind {
        LaunchKind::Test => InitiatedBy::StartTest,
        LaunchKind::Cutover => InitiatedBy::StartCutover,
    };
    let jobs = jobs(mgn, recent).await?;
    Ok(jobs
        .iter()
        .rev()
        .filter(|job| job.r#type() == Some(&JobType::Launch) && job.initiated_by() == Some(&by))
        .map(launch_job_of)
        .find(|job| {
            members
                .iter()
                .all(|member| job.servers.iter().any(|server| &server.server == member))
        }))
}

/// Every job DescribeJobs lists under `filters`, through the one paging loop.
async fn jobs(
    mgn: &Client,
    filters: DescribeJobsRequestFilters,
) -> Result<Vec<aws_sdk_mgn::types::Job>, AwsCallError> {
    let listed = paging::sweep(
        Listing::of("MGN", "DescribeJobs"),
        |token| {
            mgn.describe_jobs()
                .filters(filters.clone())
                .max_results(super::api::PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &DescribeJobsOutput| page.items().iter().cloned().map(Ok).collect(),
    )
    .await?;
    Ok(listed.items)
}

fn launch_job_of(job: &aws_sdk_mgn::types::Job) -> LaunchJob {
    LaunchJob {
        id: job.job_id().to_owned(),
        finished: job.status() == Some(&JobStatus::Completed),
        servers: job
            .participating_servers()
            .iter()
            .map(|server| JobServer {
                server: server.source_server_id().into(),
                copy: server
                    .launch_status()
                    .map_or(CopyLaunch::Pending, vocabulary::copy_launch),
                instance_id: server.launched_ec2_instance_id().map(str::to_owned),
            })
            .collect(),
    }
}

/// Why `server`'s copy failed in `job_id`, from the job's log: the last failure logged
/// for it (its event and EC2's or the service's own words); `None` if none is logged.
pub async fn copy_failure(
    mgn: &Client,
    job_id: &str,
    server: &ServerId,
) -> Result<Option<String>, AwsCallError> {
    let items = paging::sweep(
        Listing::of("MGN", "DescribeJobLogItems"),
        |token| {
            mgn.describe_job_log_items()
                .job_id(job_id)
                .set_next_token(token)
                .send()
        },
        |page: &DescribeJobLogItemsOutput| page.items().iter().cloned().map(Ok).collect(),
    )
    .await?
    .items;
    let failures = [
        JobLogEvent::LaunchFailed,
        JobLogEvent::SnapshotFail,
        JobLogEvent::ConversionFail,
    ];
    Ok(items
        .iter()
        .rev()
        .filter(|item| item.event().is_some_and(|event| failures.contains(event)))
        .find(|item| {
            let about = item.event_data().and_then(|data| data.source_server_id());
            about.is_none_or(|about| about == server.as_str())
        })
        .map(|item| {
            let event = item.event().map_or("", |event| event.as_str());
            match item.event_data().and_then(|data| data.raw_error()) {
                Some(raw) => format!("{event}: {raw}"),
                None => event.to_owned(),
            }
        }))
}

/// ChangeServerLifeCycleState: `server` ready for `next` (READY_FOR_TEST to revert a
/// launch, READY_FOR_CUTOVER for a passed test).
pub async fn mark_ready_for(
    mgn: &Client,
    server: &ServerId,
    next: LaunchKind,
) -> Result<(), AwsCallError> {
    let state = match next {
        LaunchKind::Test => LifecycleState::ReadyForTest,
        LaunchKind::Cutover => LifecycleState::ReadyForCutover,
    };
    let life_cycle = Lifecycle::builder().state(state).build().map_err(|e| {
        AwsCallError::unusable_answer(
            "MGN",
            "ChangeServerLifeCycleState",
            "BadRequest",
            e.to_string(),
        )
    })?;
    mgn.change_server_life_cycle_state()
        .source_server_id(server.as_str())
        .life_cycle(life_cycle)
        .send()
        .await
        .map_err(failed("ChangeServerLifeCycleState"))?;
    Ok(())
}

/// TerminateTargetInstances of `servers`' launched copies.
pub async fn terminate_copies(mgn: &Client, servers: &[ServerId]) -> Result<(), AwsCallError> {
    mgn.terminate_target_instances()
        .set_source_server_ids(Some(ids(servers)))
        .send()
        .await
        .map_err(failed("TerminateTargetInstances"))?;
    Ok(())
}

/// FinalizeCutover of one server: its replication ends.
pub async fn finalize_cutover(mgn: &Client, server: &ServerId) -> Result<(), AwsCallError> {
    mgn.finalize_cutover()
        .source_server_id(server.as_str())
        .send()
        .await
        .map_err(failed("FinalizeCutover"))?;
    Ok(())
}

/// MarkAsArchived of one server.
pub async fn archive(mgn: &Client, server: &ServerId) -> Result<(), AwsCallError> {
    mgn.mark_as_archived()
        .source_server_id(server.as_str())
        .send()
        .await
        .map_err(failed("MarkAsArchived"))?;
    Ok(())
}
