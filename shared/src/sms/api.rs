//! The SMS reads every function shares: whole-catalog, whole-job-list, connector and
//! app-list sweeps, each through the one paging loop of this module, with the largest
//! page the service takes and a bound on the number of pages, so a service that keeps
//! returning a nextToken cannot loop a function forever. The loop is our own rather than
//! the SDK paginators: ListApps has none, and they stop silently at a repeated
//! nextToken, which would pass a partial list off as the whole one.

use std::future::Future;

use aws_sdk_sms::config::http::HttpResponse;
use aws_sdk_sms::error::{ProvideErrorMetadata, SdkError};
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
use crate::sms::convert::{self, MissingField};

/// Items per page requested from list operations.
pub const PAGE_SIZE: i32 = 100;
/// More pages than this means the service is misbehaving (1,000,000 items).
pub const MAX_PAGES: usize = 10_000;

/// Items of a sweep plus those that could not be converted (and were skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep<T> {
    pub items: Vec<T>,
    pub unusable: Vec<MissingField>,
    pub pages: usize,
}

impl<T> Default for Sweep<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            unusable: Vec::new(),
            pages: 0,
        }
    }
}

/// What a sweep that handed its items on saw: how many items it handed on, those that
/// could not be converted (and were skipped), and the pages read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    pub items: usize,
    pub unusable: Vec<MissingField>,
    pub pages: usize,
}

impl Swept {
    /// The sweep of the items the caller kept.
    fn into_sweep<T>(self, items: Vec<T>) -> Sweep<T> {
        Sweep {
            items,
            unusable: self.unusable,
            pages: self.pages,
        }
    }

    fn skip(&mut self, missing: MissingField) {
        tracing::warn!(%missing, "skipping an SMS item without an identifier");
        self.unusable.push(missing);
    }
}

/// The answer of a list operation, as far as paging through it goes.
trait Page {
    /// The token asking for the next page; none, or empty, on the last page.
    fn next_token(&self) -> Option<&str>;
}

/// The SDK gives each list answer its own `next_token`; the sweep needs one name for it.
macro_rules! page {
    ($($output:ty),+ $(,)?) => {$(
        impl Page for $output {
            fn next_token(&self) -> Option<&str> {
                <$output>::next_token(self)
            }
        }
    )+};
}

page!(
    GetConnectorsOutput,
    GetServersOutput,
    GetReplicationJobsOutput,
    ListAppsOutput,
);

/// Pages through one list operation, one call per page, handing every converted item
/// to `keep` as its page arrives: `fetch_page` asks for the page after a token (none for
/// the first), `read_page` converts a page's items. A caller that keeps only what it
/// needs of each item holds one page at a time, not the whole list. Fails after
/// `max_pages` calls that all ended with a nextToken, and on a page handing back the
/// nextToken it was asked with, which would be fetched again forever.
async fn sweep_each<Output, Error, Item, Answer>(
    operation: &'static str,
    max_pages: usize,
    mut fetch_page: impl FnMut(Option<String>) -> Answer,
    mut read_page: impl FnMut(&Output) -> Vec<Result<Item, MissingField>>,
    mut keep: impl FnMut(Item),
) -> Result<Swept, AwsCallError>
where
    Output: Page,
    Answer: Future<Output = Result<Output, SdkError<Error, HttpResponse>>>,
    Error: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut swept = Swept::default();
    let mut token: Option<String> = None;
    loop {
        if swept.pages == max_pages {
            return Err(AwsCallError::sms_protocol(
                operation,
                "EndlessPagination",
                format!("still returning a nextToken after {max_pages} pages"),
            ));
        }
        swept.pages += 1;
        // Boxed: the SDK's request future is deep and large, and inline it would count
        // against every caller's future (rustc's type layout depth limit, stack size).
        let page = Box::pin(fetch_page(token.clone()))
            .await
            .map_err(|error| AwsCallError::from_sdk("SMS", operation, &error))?;
        let next = page.next_token().filter(|next| !next.is_empty());
        if next.is_some() && next == token.as_deref() {
            return Err(AwsCallError::sms_protocol(
                operation,
                "EndlessPagination",
                format!(
                    "page {} returned the nextToken it was asked with",
                    swept.pages
                ),
            ));
        }
        for item in read_page(&page) {
            match item {
                Ok(item) => {
                    swept.items += 1;
                    keep(item);
                }
                Err(missing) => swept.skip(missing),
            }
        }
        match next {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(swept),
        }
    }
}

/// As [`sweep_each`], keeping every item.
async fn sweep<Output, Error, Item, Answer>(
    operation: &'static str,
    max_pages: usize,
    fetch_page: impl FnMut(Option<String>) -> Answer,
    read_page: impl FnMut(&Output) -> Vec<Result<Item, MissingField>>,
) -> Result<Sweep<Item>, AwsCallError>
where
    Output: Page,
    Answer: Future<Output = Result<Output, SdkError<Error, HttpResponse>>>,
    Error: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut items = Vec::new();
    let swept = sweep_each(operation, max_pages, fetch_page, read_page, |item| {
        items.push(item);
    })
    .await?;
    Ok(swept.into_sweep(items))
}

/// Every connector.
pub async fn connectors(sms: &Client) -> Result<Sweep<Connector>, AwsCallError> {
    sweep(
        "GetConnectors",
        MAX_PAGES,
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
    let swept = sweep_each(
        "GetServers",
        MAX_PAGES,
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
    sweep_each(
        "GetReplicationJobs",
        MAX_PAGES,
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
    sweep(
        "ListApps",
        MAX_PAGES,
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
        let error = sweep(
            "GetConnectors",
            3,
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
