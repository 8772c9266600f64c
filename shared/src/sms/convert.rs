//! The one place where aws-sdk-sms wire types become the core's domain types. An item
//! missing an identifier cannot be acted on safely, so it is refused with the name of
//! the field; callers skip it and say so.

use aws_sdk_sms::types as sms;
use chrono::{DateTime, Utc};

use super::vocabulary;
use crate::model::{
    App, AppId, AppLaunchStatus, AppReplicationStatus, AppVersion, CatalogStatus, Connector,
    ConnectorStatus, JobSettings, ListedApp, ReplicationJob, ReplicationJobState, ReplicationRun,
    Server, ServerCatalogStatus, ServerGroup, Tag, VmServer,
};

pub use crate::paging::MissingField;

fn require<'a>(
    value: Option<&'a str>,
    shape: &'static str,
    field: &'static str,
) -> Result<&'a str, MissingField> {
    value.filter(|v| !v.is_empty()).ok_or(MissingField {
        service: "SMS",
        shape,
        field,
    })
}

/// Converts an SDK timestamp; values outside chrono's range are dropped.
pub fn timestamp(value: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(value.secs(), value.subsec_nanos())
}

fn vm_server(vm: Option<&sms::VmServer>) -> VmServer {
    let Some(vm) = vm else {
        return VmServer::default();
    };
    let address = vm.vm_server_address();
    VmServer {
        vm_name: vm.vm_name().map(str::to_owned),
        vm_path: vm.vm_path().map(str::to_owned),
        vm_manager_name: vm.vm_manager_name().map(str::to_owned),
        vm_manager_type: vm.vm_manager_type().map(|t| t.as_str().to_owned()),
        vm_id: address.and_then(|a| a.vm_id()).map(str::to_owned),
        vm_manager_id: address.and_then(|a| a.vm_manager_id()).map(str::to_owned),
        ..VmServer::default()
    }
}

pub fn server(value: &sms::Server) -> Result<Server, MissingField> {
    Ok(Server {
        id: require(value.server_id(), "Server", "serverId")?.into(),
        vm: vm_server(value.vm_server()),
        replication_job_id: value
            .replication_job_id()
            .filter(|id| !id.is_empty())
            .map(Into::into),
        replication_job_terminated: value.replication_job_terminated().unwrap_or(false),
    })
}

pub fn replication_run(value: &sms::ReplicationRun) -> Result<ReplicationRun, MissingField> {
    Ok(ReplicationRun {
        id: require(
            value.replication_run_id(),
            "ReplicationRun",
            "replicationRunId",
        )?
        .into(),
        completed: value.state() == Some(&sms::ReplicationRunState::Completed),
        ami_id: value.ami_id().map(str::to_owned),
        status_message: value.status_message().map(str::to_owned),
        scheduled_start: value.scheduled_start_time().and_then(timestamp),
        completed_at: value.completed_time().and_then(timestamp),
    })
}

pub fn replication_job(value: &sms::ReplicationJob) -> Result<ReplicationJob, MissingField> {
    Ok(ReplicationJob {
        id: require(
            value.replication_job_id(),
            "ReplicationJob",
            "replicationJobId",
        )?
        .into(),
        server_id: require(value.server_id(), "ReplicationJob", "serverId")?.into(),
        vm_name: value
            .vm_server()
            .and_then(|vm| vm.vm_name())
            .map(str::to_owned),
        state: vocabulary::replication_state(
            value
                .state()
                .map_or(ReplicationJobState::Unknown(String::new()), |s| {
                    ReplicationJobState::from_wire(s.as_str())
                }),
        ),
        status_message: value.status_message().map(str::to_owned),
        latest_ami_id: value
            .latest_ami_id()
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        frequency_hours: value.frequency(),
        run_once: value.run_once().unwrap_or(false),
        seed_replication_time: value.seed_replication_time().and_then(timestamp),
        settings: JobSettings {
            license_type: value.license_type().and_then(vocabulary::license),
            role_name: value
                .role_name()
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            amis_to_keep: value.number_of_recent_amis_to_keep(),
            encrypted: value.encrypted(),
            kms_key_id: value
                .kms_key_id()
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
        },
        // A run without an id is useless but does not make the job unusable.
        runs: value
            .replication_run_list()
            .iter()
            .filter_map(|run| replication_run(run).ok())
            .collect(),
    })
}

pub fn connector(value: &sms::Connector) -> Result<Connector, MissingField> {
    Ok(Connector {
        id: require(value.connector_id(), "Connector", "connectorId")?.to_owned(),
        status: value
            .status()
            .map_or(ConnectorStatus::Unknown(String::new()), |s| {
                ConnectorStatus::from_wire(s.as_str())
            }),
        vm_manager_name: value.vm_manager_name().map(str::to_owned),
    })
}

pub fn catalog_status(
    status: Option<&sms::ServerCatalogStatus>,
    last_modified_on: Option<&aws_smithy_types::DateTime>,
) -> CatalogStatus {
    CatalogStatus {
        status: status.map_or(ServerCatalogStatus::Unknown(String::new()), |s| {
            ServerCatalogStatus::from_wire(s.as_str())
        }),
        last_modified_on: last_modified_on.and_then(timestamp),
    }
}

/// Builds an app from a ListApps summary plus what GetApp adds (groups and tags).
pub fn app(
    summary: &sms::AppSummary,
    groups: &[sms::ServerGroup],
    tags: &[sms::Tag],
) -> Result<App, MissingField> {
    let server_groups = groups
        .iter()
        .map(|group| {
            Ok(ServerGroup {
                id: group.server_group_id().map(str::to_owned),
                name: group.name().map(str::to_owned),
                servers: group
                    .server_list()
                    .iter()
                    .map(server)
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<_, MissingField>>()?;
    Ok(App {
        id: require(summary.app_id(), "AppSummary", "appId")?.into(),
        name: summary.name().map(str::to_owned),
        description: summary.description().map(str::to_owned),
        launch_status: vocabulary::launch_state(
            summary
                .launch_status()
                .map_or(AppLaunchStatus::Unknown(String::new()), |s| {
                    AppLaunchStatus::from_wire(s.as_str())
                }),
        ),
        launch_status_message: summary.launch_status_message().map(str::to_owned),
        last_modified: summary.last_modified().and_then(timestamp),
        replication_status: vocabulary::app_replication_phase(
            summary
                .replication_status()
                .map(|s| AppReplicationStatus::from_wire(s.as_str()))
                .as_ref(),
        ),
        server_groups,
        tags: tags
            .iter()
            .filter_map(|tag| {
                Some(Tag {
                    key: tag.key()?.to_owned(),
                    value: tag.value().unwrap_or_default().to_owned(),
                })
            })
            .collect(),
    })
}

/// A ListApps summary as the decisions read a listing: `None` without a name or a
/// launch status (nothing can depend on it by name, or say where it stands).
pub fn listed_app(summary: &sms::AppSummary) -> Option<ListedApp> {
    Some(ListedApp {
        id: summary.app_id().map(AppId::from),
        name: summary.name()?.to_owned(),
        launch_status: vocabulary::launch_state_of(summary.launch_status()?),
    })
}

/// The version of the app a ListApps summary (or GetApp's) describes.
pub fn app_version(summary: &sms::AppSummary) -> AppVersion {
    AppVersion {
        last_modified: summary.last_modified().and_then(timestamp),
        total_servers: summary.total_servers(),
        total_server_groups: summary.total_server_groups(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_converts_with_runs_and_unknown_states() {
        let job = sms::ReplicationJob::builder()
            .replication_job_id("sms-job-1")
            .server_id("s-1")
            .state(sms::ReplicationJobState::from("HIBERNATING"))
            .latest_ami_id("ami-1")
            .frequency(12)
            .vm_server(sms::VmServer::builder().vm_name("web-1").build())
            .replication_run_list(
                sms::ReplicationRun::builder()
                    .replication_run_id("sms-run-1")
                    .state(sms::ReplicationRunState::Completed)
                    .completed_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                    .build(),
            )
            .replication_run_list(sms::ReplicationRun::builder().build())
            .build();
        let converted = replication_job(&job).unwrap();
        assert_eq!(
            converted.state.phase,
            crate::migration::ReplicationPhase::Unrecognized
        );
        assert_eq!(converted.state.status, "HIBERNATING", "SMS's word is kept");
        assert_eq!(converted.vm_name.as_deref(), Some("web-1"));
        assert_eq!(converted.runs.len(), 1, "the run without an id is dropped");
        assert_eq!(
            converted.runs[0].completed_at.unwrap().timestamp(),
            1_700_000_000
        );
        assert!(converted.has_completed_run());
    }

    #[test]
    fn missing_identifiers_are_refused_by_name() {
        let error = server(&sms::Server::builder().build()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "SMS returned a Server without `serverId`"
        );
        let error = replication_job(
            &sms::ReplicationJob::builder()
                .replication_job_id("j")
                .build(),
        )
        .unwrap_err();
        assert_eq!(error.field, "serverId");
    }

    #[test]
    fn an_app_converts_with_members_and_tags() {
        let summary = sms::AppSummary::builder()
            .app_id("app-1")
            .launch_status(sms::AppLaunchStatus::ReadyForLaunch)
            .build();
        let group = sms::ServerGroup::builder()
            .server_group_id("sg-1")
            .server_list(sms::Server::builder().server_id("s-1").build())
            .server_list(sms::Server::builder().server_id("s-2").build())
            .build();
        let tag = sms::Tag::builder()
            .key("autopilot:launch")
            .value("false")
            .build();
        let app = app(&summary, &[group], &[tag]).unwrap();
        assert_eq!(app.member_ids(), vec!["s-1".into(), "s-2".into()]);
        assert_eq!(app.tag("autopilot:launch"), Some("false"));
        assert_eq!(app.launch_status, AppLaunchStatus::ReadyForLaunch.into());
    }
}
