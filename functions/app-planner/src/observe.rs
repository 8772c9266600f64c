//! What the planner reads before deciding: the plan's text from the artifacts bucket,
//! the server catalog, and every application with, for those the plan names or the
//! planner manages, its launch and replication configurations.

use std::collections::BTreeMap;
use std::sync::Arc;

use autopilot_core::app_cache::listed_with_ids;
use autopilot_core::model::{
    App, AppId, AppReplicationStatus, AppStatus, Server, ServerCatalogStatus,
};
use autopilot_core::plan::desired::{DesiredApp, DesiredWave};
use autopilot_core::plan::reconcile::{ExistingApp, Held};
use autopilot_core::plan::rules::MANAGED_TAG;
use autopilot_core::plan::ReplicationRoute;
use autopilot_core::sms::{api, app_config, vocabulary};
use autopilot_core::{artifacts, AutopilotError, AwsCallError};
use aws_sdk_sms::types::{AppReplicationConfigurationStatus, AppSummary};

use crate::PlannerContext;

/// Calls in flight at once when reading applications: enough to hide round trips,
/// few enough not to meet SMS's throttling.
const READS_IN_FLIGHT: usize = 4;

/// The plan's bytes, or None when there is no plan yet.
pub async fn plan_bytes(context: &PlannerContext) -> Result<Option<Vec<u8>>, AwsCallError> {
    let config = &context.config;
    artifacts::load_bytes(&context.s3, &config.artifacts_bucket, &config.plan_key).await
}

/// The catalog's servers, when the catalog is AVAILABLE (complete).
pub async fn available_catalog(
    context: &PlannerContext,
) -> Result<Option<Vec<Server>>, AwsCallError> {
    let (status, sweep) = api::servers(&context.sms).await?;
    Ok((status.status == ServerCatalogStatus::Available).then_some(sweep.items))
}

/// Every live application, as the reconciliation compares them, and each one's group
/// ids by name (the configurations refer to groups by id).
pub struct Existing {
    pub apps: Vec<ExistingApp>,
    pub group_ids: BTreeMap<AppId, BTreeMap<String, String>>,
}

/// Reads the applications: GetApp where memory cannot vouch for one, and the
/// configurations of those the plan names or the planner manages.
pub async fn existing(
    context: &Arc<PlannerContext>,
    wave: &DesiredWave,
    in_step: &BTreeMap<AppId, String>,
) -> Result<Existing, AutopilotError> {
    let summaries = api::app_summaries(&context.sms).await?.items;
    let listed = listed_with_ids(&summaries, |_| true);
    let planned: BTreeMap<&str, &DesiredApp> =
        wave.apps.iter().map(|a| (a.name.as_str(), a)).collect();
    let planned = &planned;
    let read: Vec<Result<Option<ReadApp>, AwsCallError>> = context
        .warm
        .visit(
            &context.s3,
            &context.config.artifacts_bucket,
            &summaries,
            listed,
            READS_IN_FLIGHT,
            |id, summary| async move { read_app(context, id, &summary, planned, in_step).await },
        )
        .await;
    let mut existing = Existing {
        apps: Vec::new(),
        group_ids: BTreeMap::new(),
    };
    for app in read {
        if let Some((app, ids)) = app? {
            existing.group_ids.insert(app.id.clone(), ids);
            existing.apps.push(app);
        }
    }
    Ok(existing)
}

/// An application as read, with its group ids by name.
type ReadApp = (ExistingApp, BTreeMap<String, String>);

/// The key under which an application was found as planned: its last change and what
/// the plan wants of it.
pub fn in_step_key(last_modified: Option<&str>, desired: &DesiredApp) -> String {
    format!("{}|{}", last_modified.unwrap_or("?"), desired.fingerprint())
}

/// One application, with its configurations when the planner has a say in it (read
/// again only when the app changed since it was last found as planned, or the plan
/// did); None for one being deleted.
async fn read_app(
    context: &PlannerContext,
    id: AppId,
    summary: &AppSummary,
    planned: &BTreeMap<&str, &DesiredApp>,
    in_step: &BTreeMap<AppId, String>,
) -> Result<Option<ReadApp>, AwsCallError> {
    let status = summary
        .status()
        .map_or(AppStatus::Active, |s| AppStatus::from_wire(s.as_str()));
    if status.is_deleted() {
        return Ok(None);
    }
    let (app, _) = context
        .warm
        .get(&context.sms, &id, summary, context.now())
        .await?;
    let mut existing = as_existing(&app, status);
    // This run's listing, not the remembered app: SMS derives the replication status
    // from the members' jobs, so it moves (REPLICATION_STOPPING to _STOPPED) without
    // moving lastModified, and a remembered one can be stale.
    if let Some(listed) = summary.replication_status() {
        let listed = AppReplicationStatus::from_wire(listed.as_str());
        existing.replication_status = vocabulary::app_replication_phase(Some(&listed));
    }
    existing.last_modified = app.last_modified.map(|t| t.to_rfc3339());
    existing.launched_at = summary
        .launch_details()
        .and_then(|details| details.latest_launch_time())
        .and_then(autopilot_core::sms::convert::timestamp);
    let ids = group_ids(&app);
    let plan_name = existing
        .tags
        .get(MANAGED_TAG)
        .cloned()
        .unwrap_or_else(|| existing.name.clone());
    let Some(desired) = planned.get(plan_name.as_str()) else {
        return Ok(Some((existing, ids)));
    };
    let key = in_step_key(existing.last_modified.as_deref(), desired);
    if in_step.get(&id) == Some(&key) {
        // Unchanged since it was found as planned: what SMS holds is what was wanted.
        existing.launch = Held::AsPlanned;
        if desired.replicated_by == ReplicationRoute::App {
            existing.replication = Held::AsPlanned;
        }
        return Ok(Some((existing, ids)));
    }
    // ListApps says whether it holds a replication configuration at all.
    let configured = summary.replication_configuration_status()
        == Some(&AppReplicationConfigurationStatus::Configured);
    read_configurations(context, &mut existing, (&ids, configured), desired).await?;
    Ok(Some((existing, ids)))
}

/// GetAppLaunchConfiguration, and GetAppReplicationConfiguration for an application
/// the plan replicates by app replication (or one it no longer does, which ListApps
/// says holds one); each compared with the plan as it is read, so that only those that
/// differ are kept.
async fn read_configurations(
    context: &PlannerContext,
    existing: &mut ExistingApp,
    (ids, replication_configured): (&BTreeMap<String, String>, bool),
    desired: &DesiredApp,
) -> Result<(), AwsCallError> {
    let names: BTreeMap<String, String> = ids.iter().map(|(n, i)| (i.clone(), n.clone())).collect();
    let id = existing.id.as_str();
    let launch = context
        .sms
        .get_app_launch_configuration()
        .app_id(id)
        .send()
        .await;
    let launch =
        launch.map_err(|e| AwsCallError::from_sdk("SMS", "GetAppLaunchConfiguration", &e))?;
    let read = app_config::launch_config_from(launch.server_group_launch_configurations(), &names);
    existing.launch = Held::compared(read, &desired.launch_config());
    let wanted = desired.replication_config();
    // An application the plan now replicates by standalone jobs may still hold the
    // replication configuration an earlier plan gave it, which the planner removes.
    let stale =
        wanted.is_none() && replication_configured && existing.tags.contains_key(MANAGED_TAG);
    if wanted.is_none() && !stale {
        return Ok(());
    }
    let replication = context
        .sms
        .get_app_replication_configuration()
        .app_id(id)
        .send()
        .await;
    let replication = replication
        .map_err(|e| AwsCallError::from_sdk("SMS", "GetAppReplicationConfiguration", &e))?;
    let read = app_config::replication_config_from(
        replication.server_group_replication_configurations(),
        &names,
    );
    existing.replication = Held::compared(read, &wanted.unwrap_or_default());
    Ok(())
}

fn as_existing(app: &App, status: AppStatus) -> ExistingApp {
    ExistingApp {
        id: app.id.clone(),
        name: app.name.clone().unwrap_or_default(),
        description: app.description.clone(),
        tags: app
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        deleted: status.is_deleted(),
        launch_status: app.launch_status.clone(),
        replication_status: app.replication_status,
        groups: app
            .server_groups
            .iter()
            .map(|g| {
                let name = g.name.clone().unwrap_or_default();
                (name, g.servers.iter().map(|s| s.id.clone()).collect())
            })
            .collect(),
        launch: Held::Unknown,
        replication: Held::Unknown,
        last_modified: None,
        launched_at: None,
        launch_put: None,
    }
}

/// Group ids by group name.
pub fn group_ids(app: &App) -> BTreeMap<String, String> {
    app.server_groups
        .iter()
        .filter_map(|g| Some((g.name.clone()?, g.id.clone()?)))
        .collect()
}
