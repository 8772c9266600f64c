//! MGN's applications and waves on the stand-in through aws-sdk-mgn: names unique
//! whatever their case, a server in one application and an application in one wave,
//! the listings' filters, the aggregated health and progress as members move, and the
//! refusals to delete or archive what still holds members.

use std::time::Duration;

use crate::common;

use autopilot_local::mgn::MgnOptions;
use autopilot_local::Scenario;
use aws_sdk_mgn::error::ProvideErrorMetadata;
use aws_sdk_mgn::types::{
    ApplicationHealthStatus, ApplicationProgressStatus, DescribeSourceServersRequestFilters,
    ListApplicationsRequestFilters, ListWavesRequestFilters,
};
use aws_sdk_mgn::Client;

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}, {vm_name: batch}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    batch: {stalls: [{at_secs: 2000, error: SNAPSHOTS_FAILURE}]}
"#;

async fn ids_by_hostname(client: &Client) -> Vec<(String, String)> {
    let out = client
        .describe_source_servers()
        .send()
        .await
        .expect("listed");
    out.items()
        .iter()
        .map(|s| {
            let host = s
                .source_properties()
                .and_then(|p| p.identification_hints())
                .and_then(|h| h.hostname())
                .unwrap_or_default();
            (
                host.to_owned(),
                s.source_server_id().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn code<E: ProvideErrorMetadata>(error: E) -> String {
    error.code().unwrap_or_default().to_owned()
}

async fn application_status(
    client: &Client,
    id: &str,
) -> (ApplicationHealthStatus, ApplicationProgressStatus, i64) {
    let listed = client
        .list_applications()
        .filters(
            ListApplicationsRequestFilters::builder()
                .application_ids(id)
                .build(),
        )
        .send()
        .await
        .expect("ListApplications");
    let status = listed.items()[0]
        .application_aggregated_status()
        .cloned()
        .expect("an aggregated status");
    (
        status.health_status().cloned().expect("health"),
        status.progress_status().cloned().expect("progress"),
        status.total_source_servers(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_and_waves_hold_their_members_and_sum_them_up() {
    let (mgn, client) = common::mgn_account(
        Scenario::from_text(SCENARIO).expect("scenario"),
        MgnOptions::default(),
    )
    .await;
    let servers = ids_by_hostname(&client).await;
    let id = |host: &str| {
        servers
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, i)| i.clone())
            .expect("a server")
    };

    let shop = client
        .create_application()
        .name("shop")
        .description("the web shop")
        .send()
        .await
        .expect("created");
    let shop_id = shop.application_id().expect("an id").to_owned();
    assert!(shop_id.starts_with("app-") && shop_id.len() == 21);
    let again = client
        .create_application()
        .name("SHOP")
        .send()
        .await
        .expect_err("taken");
    assert_eq!(code(again.into_service_error()), "ConflictException");
    let jobs = client
        .create_application()
        .name("jobs")
        .send()
        .await
        .expect("created");
    let jobs_id = jobs.application_id().expect("an id").to_owned();

    client
        .associate_source_servers()
        .application_id(&shop_id)
        .source_server_ids(id("web"))
        .source_server_ids(id("db"))
        .send()
        .await
        .expect("associated");
    let taken = client
        .associate_source_servers()
        .application_id(&jobs_id)
        .source_server_ids(id("db"))
        .send()
        .await
        .expect_err("db is shop's");
    assert_eq!(code(taken.into_service_error()), "ConflictException");
    client
        .associate_source_servers()
        .application_id(&jobs_id)
        .source_server_ids(id("batch"))
        .send()
        .await
        .expect("associated");
    let in_shop = client
        .describe_source_servers()
        .filters(
            DescribeSourceServersRequestFilters::builder()
                .application_ids(&shop_id)
                .build(),
        )
        .send()
        .await
        .expect("filtered");
    assert_eq!(in_shop.items().len(), 2);
    assert_eq!(
        application_status(&client, &shop_id).await,
        (
            ApplicationHealthStatus::Healthy,
            ApplicationProgressStatus::NotStarted,
            2
        )
    );

    let wave = client
        .create_wave()
        .name("wave 1")
        .send()
        .await
        .expect("created");
    let wave_id = wave.wave_id().expect("an id").to_owned();
    client
        .associate_applications()
        .wave_id(&wave_id)
        .application_ids(&shop_id)
        .application_ids(&jobs_id)
        .send()
        .await
        .expect("associated");
    let in_wave = client
        .list_applications()
        .filters(
            ListApplicationsRequestFilters::builder()
                .wave_ids(&wave_id)
                .build(),
        )
        .send()
        .await
        .expect("filtered");
    assert_eq!(in_wave.items().len(), 2);

    // Replicating, tested, stalled: the statuses follow the members.
    mgn.advance(Duration::from_secs(11 * 30 + 601));
    client
        .start_test()
        .source_server_ids(id("web"))
        .send()
        .await
        .expect("StartTest");
    assert_eq!(
        application_status(&client, &shop_id).await.1,
        ApplicationProgressStatus::InProgress
    );
    mgn.advance(Duration::from_secs(2000));
    assert_eq!(
        application_status(&client, &jobs_id).await.0,
        ApplicationHealthStatus::Error,
        "batch stalled"
    );
    let waves = client.list_waves().send().await.expect("ListWaves");
    let status = waves.items()[0]
        .wave_aggregated_status()
        .cloned()
        .expect("a status");
    assert_eq!(status.total_applications(), 2);
    assert_eq!(status.health_status().map(|h| h.as_str()), Some("ERROR"));
    assert_eq!(
        status.progress_status().map(|p| p.as_str()),
        Some("IN_PROGRESS")
    );
    assert!(status.replication_started_date_time().is_some());

    // What still holds members is neither deleted nor archived.
    let busy = client
        .delete_application()
        .application_id(&jobs_id)
        .send()
        .await
        .expect_err("it holds batch");
    assert_eq!(code(busy.into_service_error()), "ConflictException");
    let busy = client
        .archive_application()
        .application_id(&jobs_id)
        .send()
        .await
        .expect_err("batch is not archived");
    assert_eq!(code(busy.into_service_error()), "ConflictException");
    let busy = client
        .delete_wave()
        .wave_id(&wave_id)
        .send()
        .await
        .expect_err("it holds two applications");
    assert_eq!(code(busy.into_service_error()), "ConflictException");
    client
        .disassociate_source_servers()
        .application_id(&jobs_id)
        .source_server_ids(id("batch"))
        .send()
        .await
        .expect("disassociated");
    client
        .disassociate_applications()
        .wave_id(&wave_id)
        .application_ids(&jobs_id)
        .send()
        .await
        .expect("disassociated");
    client
        .update_application()
        .application_id(&jobs_id)
        .name("nightly jobs")
        .send()
        .await
        .expect("renamed");
    client
        .archive_application()
        .application_id(&jobs_id)
        .send()
        .await
        .expect("archived, empty");
    let live = client
        .list_applications()
        .filters(
            ListApplicationsRequestFilters::builder()
                .is_archived(false)
                .build(),
        )
        .send()
        .await
        .expect("filtered");
    assert_eq!(live.items().len(), 1);
    client
        .unarchive_application()
        .application_id(&jobs_id)
        .send()
        .await
        .expect("unarchived");
    client
        .delete_application()
        .application_id(&jobs_id)
        .send()
        .await
        .expect("deleted, empty");
    let gone = client
        .update_application()
        .application_id(&jobs_id)
        .name("x")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(gone.into_service_error()), "ResourceNotFoundException");
    let archived_waves = client
        .list_waves()
        .filters(ListWavesRequestFilters::builder().is_archived(true).build())
        .send()
        .await
        .expect("filtered");
    assert!(archived_waves.items().is_empty());

    // Tags by ARN, through the SDK's own path encoding.
    let arn = wave.arn().expect("an ARN").to_owned();
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("owner", "platform")
        .tags("tier", "1")
        .send()
        .await
        .expect("tagged");
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("tier")
        .send()
        .await
        .expect("untagged");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("listed");
    let tags = tags.tags().cloned().unwrap_or_default();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags.get("owner").map(String::as_str), Some("platform"));
    mgn.shutdown().await;
}
