//! The SMS reads every function shares: whole-catalog, whole-job-list, connector and
//! app-list sweeps, each through the one paging loop (`crate::paging`) with the largest
//! page the service takes (ListApps has no SDK paginator).

use aws_sdk_sms::operation::get_connectors::GetConnectorsOutput;
use aws_sdk_sms::operation::get_replication_jobs::GetReplicationJobsOutput;
use aws_sdk_sms::operation::get_servers::GetServersOutput;
use aws_sdk_sms::operation::list_apps::ListAppsOutput;
use aws_sdk_sms::Client;
use chrono::{DateTime, Duration, Utc};

use crate::config::JobParameters;
use crate::error::{AwsCallError, AwsErrorKind};
use crate::model::{
    App, AppId, AppVersion, CatalogStatus, Connector, JobId, ReplicationJob, Server, ServerId,
};
use crate::paging::{self, Listing, Sweep, Swept};
use crate::sms::convert;

/// Items per page requested from list operations.
pub const PAGE_SIZE: i32 = 100;

paging::page!(
    GetConnectorsOutput,
    GetServersOutput,
    GetReplicationJobsOutput,
    ListAppsOutput,
);

/// Every connector.
pub async fn connectors(sms: &Client) -> Result<Sweep<Connector>, AwsCallError> {
    paging::sweep(
        Listing::of("SMS", "GetConnectors"),
        |token| {
            sms.get_connectors()
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &GetConnectorsOutput| {
            page.connector_list()
                .iter()
                .map(convert::connector)
                .collect()
        },
    )
    .await
}

/// The whole server catalog and its status (from the first page).
pub async fn servers(sms: &Client) -> Result<(CatalogStatus, Sweep<Server>), AwsCallError> {
    let mut items = Vec::new();
    let (status, swept) = servers_each(sms, |server| items.push(server)).await?;
    Ok((status, swept.into_sweep(items)))
}

/// The server catalog handed to `keep` a page at a time, and its status (from the
/// first page), for callers that need little of each server.
pub async fn servers_each(
    sms: &Client,
    keep: impl FnMut(Server),
) -> Result<(CatalogStatus, Swept), AwsCallError> {
    let mut status = None;
    let swept = paging::sweep_each(
        Listing::of("SMS", "GetServers"),
        |token| {
            sms.get_servers()
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &GetServersOutput| {
            status.get_or_insert_with(|| {
                convert::catalog_status(page.server_catalog_status(), page.last_modified_on())
            });
            page.server_list().iter().map(convert::server).collect()
        },
        keep,
    )
    .await?;
    let status = status.unwrap_or_else(|| convert::catalog_status(None, None));
    Ok((status, swept))
}

/// Every replication job, with the runs the service lists for each.
pub async fn replication_jobs(sms: &Client) -> Result<Sweep<ReplicationJob>, AwsCallError> {
    let mut items = Vec::new();
    let swept = replication_jobs_each(sms, |job| items.push(job)).await?;
    Ok(swept.into_sweep(items))
}

/// Every replication job, handed to `keep` a page at a time, for callers that need
/// little of each job: at 100,000 jobs the whole list is most of a function's memory.
pub async fn replication_jobs_each(
    sms: &Client,
    keep: impl FnMut(ReplicationJob),
) -> Result<Swept, AwsCallError> {
    paging::sweep_each(
        Listing::of("SMS", "GetReplicationJobs"),
        |token| {
            sms.get_replication_jobs()
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &GetReplicationJobsOutput| {
            page.replication_job_list()
                .iter()
                .map(convert::replication_job)
                .collect()
        },
        keep,
    )
    .await
}

/// One job by id; `None` when the service no longer knows it.
pub async fn replication_job(
    sms: &Client,
    id: &JobId,
) -> Result<Option<ReplicationJob>, AwsCallError> {
    let answer = sms
        .get_replication_jobs()
        .replication_job_id(id.as_str())
        .send()
        .await;
    match answer {
        Ok(page) => Ok(page
            .replication_job_list()
            .iter()
            .filter_map(|j| convert::replication_job(j).ok())
            .find(|job| &job.id == id)),
        Err(error) => {
            let error = AwsCallError::from_sdk("SMS", "GetReplicationJobs", &error);
            if error.kind == AwsErrorKind::ReplicationJobNotFound {
                Ok(None)
            } else {
                Err(error)
            }
        }
    }
}

/// Every app summary (without groups or tags: GetApp adds those).
pub async fn app_summaries(
    sms: &Client,
) -> Result<Sweep<aws_sdk_sms::types::AppSummary>, AwsCallError> {
    paging::sweep(
        Listing::of("SMS", "ListApps"),
        |token| {
            sms.list_apps()
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &ListAppsOutput| page.apps().iter().cloned().map(Ok).collect(),
    )
    .await
}

/// GetApp: the app with its members and tags, and the version its answer describes.
pub async fn app(sms: &Client, id: &AppId) -> Result<(App, AppVersion), AwsCallError> {
    let answer = sms
        .get_app()
        .app_id(id.as_str())
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("SMS", "GetApp", &e))?;
    let summary = answer.app_summary().ok_or_else(|| {
        let message = format!("GetApp {id} returned no appSummary");
        AwsCallError::sms_protocol("GetApp", "MissingAppSummary", message)
    })?;
    let app = convert::app(summary, answer.server_groups(), answer.tags()).map_err(|missing| {
        AwsCallError::sms_protocol("GetApp", "MissingField", format!("GetApp {id}: {missing}"))
    })?;
    Ok((app, convert::app_version(summary)))
}

/// What came of asking for a replication job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobCreation {
    Created(JobId),
    /// The service already replicates the server: the goal is met.
    AlreadyExisted,
}

/// CreateReplicationJob for a server with the configured parameters, the seed
/// replication `seed_offset_minutes` after `now`.
pub async fn create_replication_job(
    sms: &Client,
    server: &ServerId,
    parameters: &JobParameters,
    now: DateTime<Utc>,
) -> Result<JobCreation, AwsCallError> {
    let seed = now + Duration::minutes(i64::from(parameters.seed_offset_minutes));
    let answer = sms
        .create_replication_job()
        .server_id(server.as_str())
        .seed_replication_time(aws_smithy_types::DateTime::from_secs(seed.timestamp()))
        .frequency(i32::try_from(parameters.frequency_hours).unwrap_or(24))
        .run_once(parameters.run_once)
        .set_license_type(
            parameters
                .license_type
                .as_ref()
                .map(|license| aws_sdk_sms::types::LicenseType::from(license.as_str())),
        )
        .set_role_name(parameters.role_name.clone())
        .set_number_of_recent_amis_to_keep(
            parameters.amis_to_keep.and_then(|n| i32::try_from(n).ok()),
        )
        .encrypted(parameters.encrypted)
        .set_kms_key_id(parameters.kms_key_id.clone())
        .description("created by sms-autopilot")
        .send()
        .await;
    match answer {
        Ok(output) => match output.replication_job_id() {
            Some(id) if !id.is_empty() => Ok(JobCreation::Created(id.into())),
            _ => Err(AwsCallError::sms_protocol(
                "CreateReplicationJob",
                "MissingReplicationJobId",
                format!("no replicationJobId returned for server {server}"),
            )),
        },
        Err(error) => {
            let error = AwsCallError::from_sdk("SMS", "CreateReplicationJob", &error);
            if error.is_already_done() {
                Ok(JobCreation::AlreadyExisted)
            } else {
                Err(error)
            }
        }
    }
}

/// UpdateReplicationJob with the fields `update` sets, and nothing else.
pub async fn update_replication_job(
    sms: &Client,
    job: &JobId,
    update: &crate::job_settings::JobUpdate,
) -> Result<(), AwsCallError> {
    sms.update_replication_job()
        .replication_job_id(job.as_str())
        .set_frequency(update.frequency_hours)
        .set_license_type(
            update
                .settings
                .license_type
                .as_ref()
                .map(|license| aws_sdk_sms::types::LicenseType::from(license.as_str())),
        )
        .set_role_name(update.settings.role_name.clone())
        .set_number_of_recent_amis_to_keep(update.settings.amis_to_keep)
        .set_encrypted(update.settings.encrypted)
        .set_kms_key_id(update.settings.kms_key_id.clone())
        .send()
        .await
        .map(|_| ())
        .map_err(|error| AwsCallError::from_sdk("SMS", "UpdateReplicationJob", &error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServerCatalogStatus;
    use crate::testing;
    use aws_sdk_sms::types::{self as sms, ServerCatalogStatus as WireCatalogStatus};
    use aws_smithy_mocks::{mock, Rule};

    /// GetConnectors answering the page after `token` with `pager(token)`: (connectors
    /// on the page, nextToken).
    fn connector_pages(
        pager: impl Fn(Option<&str>) -> (usize, Option<String>) + Send + Sync + 'static,
    ) -> Rule {
        mock!(aws_sdk_sms::Client::get_connectors).then_compute_output(move |input| {
            let (items, next) = pager(input.next_token());
            let connectors = (0..items).map(|i| {
                sms::Connector::builder()
                    .connector_id(format!("c-{i}"))
                    .build()
            });
            GetConnectorsOutput::builder()
                .set_connector_list(Some(connectors.collect()))
                .set_next_token(next)
                .build()
        })
    }

    #[tokio::test]
    async fn a_page_handing_back_the_token_it_was_asked_with_ends_the_sweep_in_error() {
        let rule = connector_pages(|_| (2, Some("again".into())));
        let error = connectors(&testing::mock_sms(&[&rule]))
            .await
            .expect_err("one page passed off as the whole list");
        assert_eq!(error.operation, "GetConnectors");
        assert_eq!(error.kind.name(), "EndlessPagination");
        assert!(error.message.contains("page 2"), "{error}");
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_token_that_keeps_changing_is_stopped_after_the_page_bound() {
        let rule = connector_pages(|token| {
            let asked: usize = token.map_or(0, |t| t.parse().expect("a number"));
            (1, Some((asked + 1).to_string()))
        });
        let sms = testing::mock_sms(&[&rule]);
        let listing = Listing {
            max_pages: 3,
            ..Listing::of("SMS", "GetConnectors")
        };
        let error = paging::sweep(
            listing,
            |token| sms.get_connectors().set_next_token(token).send(),
            |page: &GetConnectorsOutput| {
                page.connector_list()
                    .iter()
                    .map(convert::connector)
                    .collect()
            },
        )
        .await
        .expect_err("endless");
        assert_eq!(error.kind.name(), "EndlessPagination");
        assert!(error.message.contains("after 3 pages"), "{error}");
        assert_eq!(rule.num_calls(), 3, "no call past the bound");
    }

    #[tokio::test]
    async fn an_empty_token_ends_the_sweep_like_none() {
        let rule = connector_pages(|token| match token {
            None => (1, Some("2".into())),
            Some("2") => (2, Some(String::new())),
            Some(other) => panic!("followed {other:?}"),
        });
        let sweep = connectors(&testing::mock_sms(&[&rule]))
            .await
            .expect("complete");
        assert_eq!((sweep.items.len(), sweep.pages), (3, 2));
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn unusable_items_are_counted_and_the_catalog_status_comes_from_the_first_page() {
        let page = |status: WireCatalogStatus, servers: Vec<sms::Server>, next: Option<&str>| {
            GetServersOutput::builder()
                .server_catalog_status(status)
                .set_server_list(Some(servers))
                .set_next_token(next.map(str::to_owned))
                .build()
        };
        let first = mock!(aws_sdk_sms::Client::get_servers)
            .match_requests(|input| input.next_token().is_none())
            .then_output(move || {
                let servers = vec![
                    sms::Server::builder().server_id("s-1").build(),
                    sms::Server::builder().build(),
                ];
                page(WireCatalogStatus::Available, servers, Some("2"))
            });
        let second = mock!(aws_sdk_sms::Client::get_servers)
            .match_requests(|input| input.next_token() == Some("2"))
            .then_output(move || {
                let servers = vec![sms::Server::builder().server_id("s-2").build()];
                page(WireCatalogStatus::Importing, servers, None)
            });
        let (status, sweep) = servers(&testing::mock_sms(&[&first, &second]))
            .await
            .expect("complete");
        assert_eq!(status.status, ServerCatalogStatus::Available);
        let ids: Vec<&str> = sweep.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s-1", "s-2"]);
        assert_eq!(sweep.unusable.len(), 1);
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }
}
