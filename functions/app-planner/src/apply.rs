//! The planner's changes made in SMS, each followed by the events that announce it:
//! CreateApp (with its client token) and its configurations, UpdateApp,
//! PutAppLaunchConfiguration (`autoLaunch` false: the launcher decides),
//! PutAppReplicationConfiguration, StartAppReplication and DeleteApp. A dry run calls
//! nothing and announces what it would do.

use std::collections::BTreeMap;

use autopilot_core::events::{
    AppConfigured, AppPlanned, OutgoingEvent, PlanChange, PlannedConfiguration,
};
use autopilot_core::model::{AppId, ServerId};
use autopilot_core::plan::reconcile::{AppSpec, Change, LaunchConfig, ReplicationConfig};
use autopilot_core::sms::app_config;
use autopilot_core::AwsCallError;
use aws_sdk_sms::types::{Server, ServerGroup, Tag};

use crate::PlannerContext;

/// Group ids by group name, per application.
pub type GroupIds = BTreeMap<AppId, BTreeMap<String, String>>;

/// Makes one change, putting the event of each call that succeeded into `sink` as it
/// succeeds (a creation whose configuration then fails is still announced). `ids`
/// learns the groups SMS answers with.
pub async fn apply(
    context: &PlannerContext,
    change: Change,
    version: &str,
    ids: &mut GroupIds,
    sink: &mut Vec<OutgoingEvent>,
) -> Result<(), AwsCallError> {
    let configured = |app_id: &AppId, name: &str, configuration| {
        configured_event(context, (app_id, name), configuration, version)
    };
    match change {
        Change::Create {
            app,
            client_token,
            launch,
            replication,
        } => {
            let creation = Creation {
                app,
                client_token,
                launch,
                replication,
            };
            create(context, creation, version, ids, sink).await
        }
        Change::Update {
            app_id,
            app,
            differences,
        } => {
            sink.extend(updated(context, (app_id, app, differences), version, ids).await?);
            Ok(())
        }
        Change::PutLaunch {
            app_id,
            name,
            config,
        } => {
            put_launch(context, &app_id, &config, ids.get(&app_id)).await?;
            sink.push(configured(&app_id, &name, PlannedConfiguration::Launch));
            Ok(())
        }
        Change::PutReplication {
            app_id,
            name,
            config,
        } => {
            put_replication(context, &app_id, &config, ids.get(&app_id)).await?;
            sink.push(configured(
                &app_id,
                &name,
                PlannedConfiguration::Replication,
            ));
            Ok(())
        }
        Change::StartReplication { app_id, name } => {
            start_replication(context, &app_id).await?;
            sink.push(configured(
                &app_id,
                &name,
                PlannedConfiguration::ReplicationStarted,
            ));
            Ok(())
        }
        Change::DeleteReplication { app_id, name } => {
            delete_replication(context, &app_id).await?;
            sink.push(configured(
                &app_id,
                &name,
                PlannedConfiguration::ReplicationRemoved,
            ));
            Ok(())
        }
        Change::Delete { app_id, name } => {
            sink.extend(deleted(context, app_id, name, version).await?);
            Ok(())
        }
    }
}

/// The event of a configuration put, removed or started for application `(id, name)`.
fn configured_event(
    context: &PlannerContext,
    (app_id, name): (&AppId, &str),
    configuration: PlannedConfiguration,
    version: &str,
) -> OutgoingEvent {
    let event = AppConfigured {
        app_name: name.to_owned(),
        app_id: Some(app_id.clone()),
        configuration,
        plan_version: Some(version.to_owned()),
    };
    OutgoingEvent::new(event, context.dry_run())
}

/// UpdateApp, announced with what differed.
async fn updated(
    context: &PlannerContext,
    (app_id, app, differences): (AppId, AppSpec, Vec<String>),
    version: &str,
    ids: &mut GroupIds,
) -> Result<Vec<OutgoingEvent>, AwsCallError> {
    let servers = member_count(&app);
    let name = app.name.clone();
    let groups = update(context, &app_id, app, ids.get(&app_id)).await?;
    ids.insert(app_id.clone(), groups);
    let planned = AppPlanned {
        app_name: name,
        app_id: Some(app_id),
        change: PlanChange::Updated,
        differences,
        servers,
        plan_version: Some(version.to_owned()),
    };
    Ok(vec![OutgoingEvent::new(planned, context.dry_run())])
}

/// DeleteApp of a managed application the plan dropped; its replication jobs and any
/// launched stack are left alone (the call forces neither).
async fn deleted(
    context: &PlannerContext,
    app_id: AppId,
    name: String,
    version: &str,
) -> Result<Vec<OutgoingEvent>, AwsCallError> {
    if !context.dry_run() {
        let answer = context
            .sms
            .delete_app()
            .app_id(app_id.as_str())
            .send()
            .await;
        answer.map_err(|e| AwsCallError::from_sdk("SMS", "DeleteApp", &e))?;
    }
    let planned = AppPlanned {
        app_name: name,
        app_id: Some(app_id),
        change: PlanChange::Deleted,
        differences: Vec::new(),
        servers: 0,
        plan_version: Some(version.to_owned()),
    };
    Ok(vec![OutgoingEvent::new(planned, context.dry_run())])
}

fn member_count(app: &AppSpec) -> u32 {
    let count: usize = app.groups.iter().map(|(_, servers)| servers.len()).sum();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// A creation to make.
struct Creation {
    app: AppSpec,
    client_token: String,
    launch: LaunchConfig,
    replication: Option<ReplicationConfig>,
}

/// CreateApp, then the launch configuration, then app replication where planned; each
/// step announced once it succeeded.
async fn create(
    context: &PlannerContext,
    creation: Creation,
    version: &str,
    ids: &mut GroupIds,
    sink: &mut Vec<OutgoingEvent>,
) -> Result<(), AwsCallError> {
    let dry_run = context.dry_run();
    let Creation {
        app,
        client_token,
        launch,
        replication,
    } = creation;
    let servers = member_count(&app);
    let name = app.name.clone();
    let app_id = if dry_run {
        None
    } else {
        Some(create_app(context, &app, &client_token, ids).await?)
    };
    let planned = AppPlanned {
        app_name: name.clone(),
        app_id: app_id.clone(),
        change: PlanChange::Created,
        differences: Vec::new(),
        servers,
        plan_version: Some(version.to_owned()),
    };
    sink.push(OutgoingEvent::new(planned, dry_run));
    let configured = |configuration| {
        let event = AppConfigured {
            app_name: name.clone(),
            app_id: app_id.clone(),
            configuration,
            plan_version: Some(version.to_owned()),
        };
        OutgoingEvent::new(event, dry_run)
    };
    if let Some(id) = &app_id {
        put_launch(context, id, &launch, ids.get(id)).await?;
    }
    sink.push(configured(PlannedConfiguration::Launch));
    if let Some(replication) = replication {
        if let Some(id) = &app_id {
            put_replication(context, id, &replication, ids.get(id)).await?;
        }
        sink.push(configured(PlannedConfiguration::Replication));
        if let Some(id) = &app_id {
            start_replication(context, id).await?;
        }
        sink.push(configured(PlannedConfiguration::ReplicationStarted));
    }
    Ok(())
}

/// CreateApp with the plan's client token; the new app's id, its group ids learnt.
async fn create_app(
    context: &PlannerContext,
    app: &AppSpec,
    client_token: &str,
    ids: &mut GroupIds,
) -> Result<AppId, AwsCallError> {
    let answer = context
        .sms
        .create_app()
        .name(&app.name)
        .set_description(app.description.clone())
        .set_role_name(context.config.app_role_name.clone())
        .client_token(client_token)
        .set_server_groups(Some(server_groups(&app.groups, None)))
        .set_tags(Some(tags(&app.tags)))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("SMS", "CreateApp", &e))?;
    let id = answer
        .app_summary()
        .and_then(|s| s.app_id())
        .map(AppId::from);
    let id = id.ok_or_else(|| {
        let message = "CreateApp answered without an appId".into();
        AwsCallError::sms_protocol("CreateApp", "MissingField", message)
    })?;
    ids.insert(id.clone(), answered_ids(answer.server_groups()));
    Ok(id)
}

/// UpdateApp, groups keeping their ids by name; returns the groups' ids after it.
async fn update(
    context: &PlannerContext,
    app_id: &AppId,
    app: AppSpec,
    known: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, AwsCallError> {
    if context.dry_run() {
        return Ok(known.cloned().unwrap_or_default());
    }
    let answer = context
        .sms
        .update_app()
        .app_id(app_id.as_str())
        .name(&app.name)
        .set_description(app.description.clone())
        .set_server_groups(Some(server_groups(&app.groups, known)))
        .set_tags(Some(tags(&app.tags)))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("SMS", "UpdateApp", &e))?;
    Ok(answered_ids(answer.server_groups()))
}

async fn put_launch(
    context: &PlannerContext,
    app_id: &AppId,
    config: &LaunchConfig,
    ids: Option<&BTreeMap<String, String>>,
) -> Result<(), AwsCallError> {
    if context.dry_run() {
        return Ok(());
    }
    let groups = app_config::launch_config_to(config, ids.unwrap_or(&BTreeMap::new()));
    context
        .sms
        .put_app_launch_configuration()
        .app_id(app_id.as_str())
        .set_role_name(context.config.launch_role_name.clone())
        .auto_launch(false)
        .set_server_group_launch_configurations(Some(groups))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("SMS", "PutAppLaunchConfiguration", &e))?;
    Ok(())
}

async fn put_replication(
    context: &PlannerContext,
    app_id: &AppId,
    config: &ReplicationConfig,
    ids: Option<&BTreeMap<String, String>>,
) -> Result<(), AwsCallError> {
    if context.dry_run() {
        return Ok(());
    }
    let groups = app_config::replication_config_to(config, ids.unwrap_or(&BTreeMap::new()));
    context
        .sms
        .put_app_replication_configuration()
        .app_id(app_id.as_str())
        .set_server_group_replication_configurations(Some(groups))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("SMS", "PutAppReplicationConfiguration", &e))?;
    Ok(())
}

async fn start_replication(context: &PlannerContext, app_id: &AppId) -> Result<(), AwsCallError> {
    if context.dry_run() {
        return Ok(());
    }
    let answer = context
        .sms
        .start_app_replication()
        .app_id(app_id.as_str())
        .send()
        .await;
    answer.map_err(|e| AwsCallError::from_sdk("SMS", "StartAppReplication", &e))?;
    Ok(())
}

/// DeleteAppReplicationConfiguration: the plan replicates the app by standalone jobs now.
async fn delete_replication(context: &PlannerContext, app_id: &AppId) -> Result<(), AwsCallError> {
    if context.dry_run() {
        return Ok(());
    }
    let answer = context
        .sms
        .delete_app_replication_configuration()
        .app_id(app_id.as_str())
        .send()
        .await;
    answer.map_err(|e| AwsCallError::from_sdk("SMS", "DeleteAppReplicationConfiguration", &e))?;
    Ok(())
}

/// Server groups as CreateApp and UpdateApp take them; a group SMS already knows keeps
/// its id.
fn server_groups(
    groups: &[(String, Vec<ServerId>)],
    known: Option<&BTreeMap<String, String>>,
) -> Vec<ServerGroup> {
    groups
        .iter()
        .map(|(name, servers)| {
            let members = servers
                .iter()
                .map(|id| Server::builder().server_id(id.as_str()).build())
                .collect();
            ServerGroup::builder()
                .name(name)
                .set_server_group_id(known.and_then(|k| k.get(name)).cloned())
                .set_server_list(Some(members))
                .build()
        })
        .collect()
}

fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

fn answered_ids(groups: &[ServerGroup]) -> BTreeMap<String, String> {
    groups
        .iter()
        .filter_map(|g| Some((g.name()?.to_owned(), g.server_group_id()?.to_owned())))
        .collect()
}
