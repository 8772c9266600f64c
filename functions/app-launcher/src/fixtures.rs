//! The configuration and SMS answers the launcher's unit tests share.

use autopilot_core::config::{AppLauncherConfig, CommonConfig};
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

/// The launcher as the tests deploy it: not a dry run, no window, two launches per app,
/// no re-check rule; each test module changes what it tests.
pub fn config() -> AppLauncherConfig {
    AppLauncherConfig {
        common: CommonConfig {
            event_bus_name: "autopilot".into(),
            dry_run: false,
            max_attempts: 3,
        },
        artifacts_bucket: "artifacts".into(),
        opt_out: "autopilot:launch=false".parse().expect("a valid tag"),
        launch_window: None,
        app_concurrency: 2,
        launch_max_attempts: 2,
        launch_recheck_rule: None,
    }
}
