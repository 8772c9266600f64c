//! The planner's MGN calls for waves and applications: both listed (not archived)
//! through the one paging loop, created under the plan's names with the planner's tag,
//! and the association calls `plan::groupings` decides.

use std::collections::HashMap;

use aws_sdk_mgn::operation::list_applications::ListApplicationsOutput;
use aws_sdk_mgn::operation::list_waves::ListWavesOutput;
use aws_sdk_mgn::types::{ListApplicationsRequestFilters, ListWavesRequestFilters};
use aws_sdk_mgn::Client;

use crate::error::AwsCallError;
use crate::paging::{self, Listing, MissingField};
use crate::plan::desired::DesiredApp;
use crate::plan::groupings::{Association, HeldApplication, HeldWave};
use crate::plan::rules::MANAGED_TAG;

paging::page!(ListApplicationsOutput, ListWavesOutput);

fn missing(shape: &'static str, field: &'static str) -> MissingField {
    MissingField {
        service: "MGN",
        shape,
        field,
    }
}

/// Every application MGN holds that is not archived.
pub async fn applications(mgn: &Client) -> Result<Vec<HeldApplication>, AwsCallError> {
    let live = ListApplicationsRequestFilters::builder()
        .is_archived(false)
        .build();
    let listed = paging::sweep(
        Listing::of("MGN", "ListApplications"),
        |token| {
            mgn.list_applications()
                .filters(live.clone())
                .max_results(super::api::PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &ListApplicationsOutput| {
            page.items()
                .iter()
                .map(|app| {
                    let id = app.application_id().filter(|id| !id.is_empty());
                    let id = id.ok_or(missing("Application", "applicationID"))?;
                    Ok(HeldApplication {
                        id: id.to_owned(),
                        name: app.name().unwrap_or_default().to_owned(),
                        wave_id: app.wave_id().map(str::to_owned),
                        managed: app
                            .tags()
                            .is_some_and(|tags| tags.contains_key(MANAGED_TAG)),
                    })
                })
                .collect()
        },
    )
    .await?;
    Ok(listed.items)
}

/// Every wave MGN holds that is not archived.
pub async fn waves(mgn: &Client) -> Result<Vec<HeldWave>, AwsCallError> {
    let live = ListWavesRequestFilters::builder()
        .is_archived(false)
        .build();
    let listed = paging::sweep(
        Listing::of("MGN", "ListWaves"),
        |token| {
            mgn.list_waves()
                .filters(live.clone())
                .max_results(super::api::PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &ListWavesOutput| {
            page.items()
                .iter()
                .map(|wave| {
                    let id = wave.wave_id().filter(|id| !id.is_empty());
                    Ok(HeldWave {
                        id: id.ok_or(missing("Wave", "waveID"))?.to_owned(),
                        name: wave.name().unwrap_or_default().to_owned(),
                    })
                })
                .collect()
        },
    )
    .await?;
    Ok(listed.items)
}

fn managed_tags(
    name: &str,
    extra: &std::collections::BTreeMap<String, String>,
) -> HashMap<String, String> {
    let mut tags: HashMap<String, String> = extra.clone().into_iter().collect();
    tags.insert(MANAGED_TAG.to_owned(), name.to_owned());
    tags
}

/// CreateWave under `name`, with the planner's tag.
pub async fn create_wave(mgn: &Client, name: &str) -> Result<HeldWave, AwsCallError> {
    let made = mgn
        .create_wave()
        .name(name)
        .set_tags(Some(managed_tags(name, &Default::default())))
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "CreateWave", &error))?;
    let id = made.wave_id().filter(|id| !id.is_empty()).ok_or_else(|| {
        AwsCallError::unusable_answer("MGN", "CreateWave", "MissingField", "no waveID".into())
    })?;
    Ok(HeldWave {
        id: id.to_owned(),
        name: name.to_owned(),
    })
}

/// CreateApplication for a planned application, with its tags and the planner's.
pub async fn create_application(
    mgn: &Client,
    app: &DesiredApp,
) -> Result<HeldApplication, AwsCallError> {
    let made = mgn
        .create_application()
        .name(&app.name)
        .set_description(app.description.clone())
        .set_tags(Some(managed_tags(&app.name, &app.tags)))
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "CreateApplication", &error))?;
    let id = made
        .application_id()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            AwsCallError::unusable_answer(
                "MGN",
                "CreateApplication",
                "MissingField",
                "no applicationID".into(),
            )
        })?;
    Ok(HeldApplication {
        id: id.to_owned(),
        name: app.name.clone(),
        wave_id: None,
        managed: true,
    })
}

/// One association call.
pub async fn associate(mgn: &Client, call: &Association) -> Result<(), AwsCallError> {
    let ids = |servers: &[crate::model::ServerId]| -> Vec<String> {
        servers.iter().map(|s| s.as_str().to_owned()).collect()
    };
    let answer = match call {
        Association::Join {
            app_id, servers, ..
        } => mgn
            .associate_source_servers()
            .application_id(app_id)
            .set_source_server_ids(Some(ids(servers)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsCallError::from_sdk("MGN", "AssociateSourceServers", &e)),
        Association::Leave {
            app_id, servers, ..
        } => mgn
            .disassociate_source_servers()
            .application_id(app_id)
            .set_source_server_ids(Some(ids(servers)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsCallError::from_sdk("MGN", "DisassociateSourceServers", &e)),
        Association::OutOfWave {
            wave_id, app_ids, ..
        } => mgn
            .disassociate_applications()
            .wave_id(wave_id)
            .set_application_ids(Some(app_ids.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsCallError::from_sdk("MGN", "DisassociateApplications", &e)),
        Association::IntoWave {
            wave_id, app_ids, ..
        } => mgn
            .associate_applications()
            .wave_id(wave_id)
            .set_application_ids(Some(app_ids.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsCallError::from_sdk("MGN", "AssociateApplications", &e)),
    };
    answer.inspect_err(|error| tracing::warn!(%error, "association refused"))
}
