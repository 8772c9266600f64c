//! SMS answers the launcher's unit tests share.

use aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput;
use aws_sdk_sms::types::{ReplicationJob, ReplicationJobState};
use aws_smithy_mocks::{mock, Rule};

/// GetReplicationJobs answering one ACTIVE job with an AMI for each of `servers`: every
/// one of them replicated.
pub fn all_replicated(servers: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_sms::Client::get_replication_jobs).then_output(move || {
        let jobs = servers.iter().map(|server| {
            ReplicationJob::builder()
                .replication_job_id(format!("job-{server}"))
                .server_id(*server)
                .state(ReplicationJobState::Active)
                .latest_ami_id(format!("ami-{server}"))
                .build()
        });
        GetReplicationJobsOutput::builder()
            .set_replication_job_list(Some(jobs.collect()))
            .build()
    })
}
