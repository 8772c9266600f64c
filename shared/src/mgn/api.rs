//! The MGN reads and calls every function shares: the sweep of the account's source
//! servers through the one paging loop (`crate::paging`), one server read by id, and
//! RetryDataReplication.

use aws_sdk_mgn::operation::describe_source_servers::DescribeSourceServersOutput;
use aws_sdk_mgn::types::DescribeSourceServersRequestFilters;
use aws_sdk_mgn::Client;

use crate::error::AwsCallError;
use crate::mgn::convert;
use crate::model::{ServerId, SourceServer};
use crate::paging::{self, Listing, Sweep, Swept};

/// Items per page: the most DescribeSourceServers hands back at once.
pub const PAGE_SIZE: i32 = 1000;

paging::page!(DescribeSourceServersOutput);

/// Every source server that is not archived: archived servers are out of every wave.
pub async fn source_servers(mgn: &Client) -> Result<Sweep<SourceServer>, AwsCallError> {
    let mut items = Vec::new();
    let swept = source_servers_each(mgn, |server| items.push(server)).await?;
    Ok(swept.into_sweep(items))
}

/// Every source server that is not archived, handed to `keep` a page at a time.
pub async fn source_servers_each(
    mgn: &Client,
    keep: impl FnMut(SourceServer),
) -> Result<Swept, AwsCallError> {
    let live = DescribeSourceServersRequestFilters::builder()
        .is_archived(false)
        .build();
    paging::sweep_each(
        Listing::of("MGN", "DescribeSourceServers"),
        |token| {
            mgn.describe_source_servers()
                .filters(live.clone())
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        read_page,
        keep,
    )
    .await
}

/// One source server by id, archived or not; `None` when MGN does not list it.
pub async fn source_server(
    mgn: &Client,
    id: &ServerId,
) -> Result<Option<SourceServer>, AwsCallError> {
    let only = DescribeSourceServersRequestFilters::builder()
        .source_server_ids(id.as_str())
        .build();
    let found = paging::sweep(
        Listing::of("MGN", "DescribeSourceServers"),
        |token| {
            mgn.describe_source_servers()
                .filters(only.clone())
                .set_next_token(token)
                .send()
        },
        read_page,
    )
    .await?;
    Ok(found.items.into_iter().find(|server| &server.id == id))
}

fn read_page(
    page: &DescribeSourceServersOutput,
) -> Vec<Result<SourceServer, paging::MissingField>> {
    page.items().iter().map(convert::source_server).collect()
}

/// RetryDataReplication: a stalled replication starts its initiation again at the
/// agent's next handshake (the watcher reads what follows at its next look).
pub async fn retry_data_replication(mgn: &Client, id: &ServerId) -> Result<(), AwsCallError> {
    mgn.retry_data_replication()
        .source_server_id(id.as_str())
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "RetryDataReplication", &error))?;
    Ok(())
}
