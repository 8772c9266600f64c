//! The SMS reads every function shares: whole-catalog, whole-job-list and app-list
//! sweeps through the SDK paginators (ListApps by hand: the SDK has no paginator for
//! it), with the largest page the service takes and a bound on the number of pages, so
//! a service that keeps returning a nextToken cannot loop a function forever.

use aws_sdk_sms::Client;

use crate::error::{AwsCallError, AwsErrorKind};
use chrono::{DateTime, Duration, Utc};

use crate::config::JobParameters;
use crate::model::{App, AppId, CatalogStatus, Connector, JobId, ReplicationJob, Server, ServerId};
use crate::sms_convert::{self, MissingField};

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
    /// The nextToken of the last page, to catch a service that repeats it.
    last_token: Option<String>,
}

impl<T> Default for Sweep<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            unusable: Vec::new(),
            pages: 0,
            last_token: None,
        }
    }
}

impl<T> Sweep<T> {
    fn push(&mut self, converted: Result<T, MissingField>) {
        match converted {
            Ok(item) => self.items.push(item),
            Err(missing) => {
                tracing::warn!(%missing, "skipping an SMS item without an identifier");
                self.unusable.push(missing);
            }
        }
    }

    /// A page that hands back the nextToken the previous page gave would be fetched
    /// again forever; the SDK paginators stop there silently, which would pass a partial
    /// list off as the whole one. It is an error instead.
    fn check_token(
        &mut self,
        operation: &'static str,
        next: Option<&str>,
    ) -> Result<(), AwsCallError> {
        let next = next.filter(|token| !token.is_empty());
        if next.is_some() && next == self.last_token.as_deref() {
            return Err(AwsCallError {
                service: "SMS",
                operation,
                kind: AwsErrorKind::Other {
                    code: "EndlessPagination".into(),
                },
                status: None,
                message: format!(
                    "page {} returned the nextToken it was asked with",
                    self.pages
                ),
            });
        }
        self.last_token = next.map(str::to_owned);
        Ok(())
    }

    fn next_page(&mut self, operation: &'static str) -> Result<(), AwsCallError> {
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(AwsCallError {
                service: "SMS",
                operation,
                kind: AwsErrorKind::Other {
                    code: "EndlessPagination".into(),
                },
                status: None,
                message: format!("still returning a nextToken after {MAX_PAGES} pages"),
            });
        }
        Ok(())
    }
}

/// Every connector.
pub async fn connectors(sms: &Client) -> Result<Sweep<Connector>, AwsCallError> {
    let mut sweep = Sweep::default();
    let mut pages = sms
        .get_connectors()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        sweep.next_page("GetConnectors")?;
        let page = page.map_err(|e| AwsCallError::from_sdk("SMS", "GetConnectors", &e))?;
        sweep.check_token("GetConnectors", page.next_token())?;
        page.connector_list()
            .iter()
            .for_each(|c| sweep.push(sms_convert::connector(c)));
    }
    Ok(sweep)
}

/// The whole server catalog and its status (from the first page).
pub async fn servers(sms: &Client) -> Result<(CatalogStatus, Sweep<Server>), AwsCallError> {
    let mut sweep = Sweep::default();
    let mut status = None;
    let mut pages = sms
        .get_servers()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        sweep.next_page("GetServers")?;
        let page = page.map_err(|e| AwsCallError::from_sdk("SMS", "GetServers", &e))?;
        sweep.check_token("GetServers", page.next_token())?;
        status.get_or_insert_with(|| {
            sms_convert::catalog_status(page.server_catalog_status(), page.last_modified_on())
        });
        page.server_list()
            .iter()
            .for_each(|s| sweep.push(sms_convert::server(s)));
    }
    let status = status.unwrap_or_else(|| sms_convert::catalog_status(None, None));
    Ok((status, sweep))
}

/// Every replication job, with the runs the service lists for each.
pub async fn replication_jobs(sms: &Client) -> Result<Sweep<ReplicationJob>, AwsCallError> {
    let mut sweep = Sweep::default();
    let mut pages = sms
        .get_replication_jobs()
        .max_results(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        sweep.next_page("GetReplicationJobs")?;
        let page = page.map_err(|e| AwsCallError::from_sdk("SMS", "GetReplicationJobs", &e))?;
        sweep.check_token("GetReplicationJobs", page.next_token())?;
        page.replication_job_list()
            .iter()
            .for_each(|j| sweep.push(sms_convert::replication_job(j)));
    }
    Ok(sweep)
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
            .filter_map(|j| sms_convert::replication_job(j).ok())
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
    let mut sweep = Sweep::default();
    let mut token: Option<String> = None;
    loop {
        sweep.next_page("ListApps")?;
        let page = sms
            .list_apps()
            .max_results(PAGE_SIZE)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("SMS", "ListApps", &e))?;
        sweep.items.extend(page.apps().iter().cloned());
        sweep.check_token("ListApps", page.next_token())?;
        match page.next_token().filter(|next| !next.is_empty()) {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(sweep)
}

/// GetApp: the app with its members and tags, and the version its answer describes.
pub async fn app(
    sms: &Client,
    id: &AppId,
) -> Result<(App, crate::app_cache::AppVersion), AwsCallError> {
    let answer = sms
        .get_app()
        .app_id(id.as_str())
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("SMS", "GetApp", &e))?;
    let summary = answer.app_summary().ok_or_else(|| AwsCallError {
        service: "SMS",
        operation: "GetApp",
        kind: AwsErrorKind::Other {
            code: "MissingAppSummary".into(),
        },
        status: None,
        message: format!("GetApp {id} returned no appSummary"),
    })?;
    let app =
        sms_convert::app(summary, answer.server_groups(), answer.tags()).map_err(|missing| {
            AwsCallError {
                service: "SMS",
                operation: "GetApp",
                kind: AwsErrorKind::Other {
                    code: "MissingField".into(),
                },
                status: None,
                message: format!("GetApp {id}: {missing}"),
            }
        })?;
    Ok((app, crate::app_cache::AppVersion::of(summary)))
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
            _ => Err(AwsCallError {
                service: "SMS",
                operation: "CreateReplicationJob",
                kind: AwsErrorKind::Other {
                    code: "MissingReplicationJobId".into(),
                },
                status: None,
                message: format!("no replicationJobId returned for server {server}"),
            }),
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
