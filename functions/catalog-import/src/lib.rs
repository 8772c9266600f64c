//! catalog-import: on its schedule or an `ImportCatalogRequested` event, re-imports the
//! SMS server catalog so newly built VMs show up — but only when a connector is
//! HEALTHY; otherwise it says so with a `CatalogImportSkipped` event and calls nothing.
//! A dry run imports too (the import discovers servers and changes no server, job or
//! application), unless `DRY_RUN_IMPORTS_CATALOG` is false.

use std::sync::Arc;

use autopilot_core::config::CatalogImportConfig;
use autopilot_core::events::{
    detail_time, CatalogImportSkipped, CatalogImportStarted, ImportCatalogRequested, OutgoingEvent,
};
use autopilot_core::model::{Connector, ConnectorStatus};
use autopilot_core::runtime::Context;
use autopilot_core::sms::api;
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError, AwsErrorKind};
use serde::Serialize;
use serde_json::Value;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub connectors: usize,
    pub healthy_connectors: usize,
    pub import_started: bool,
    pub skipped_reason: Option<String>,
    pub dry_run: bool,
    pub events_published: usize,
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<CatalogImportConfig>>,
) -> Result<Summary, AutopilotError> {
    let incoming = Incoming::parse(payload)?;
    let trigger = trigger(&incoming)?;
    // The asking tick's time keys the decision: a retried invocation decides the same.
    let requested_at = incoming.time.map(detail_time);
    let connectors = api::connectors(&context.sms).await?.items;
    let healthy: Vec<String> = connectors
        .iter()
        .filter(|c| c.status == ConnectorStatus::Healthy)
        .map(|c| c.id.clone())
        .collect();
    let dry_run = context.dry_run();
    let skipped_reason = import_unless_skipped(&context, &connectors, &healthy, dry_run).await?;

    let event = match &skipped_reason {
        Some(reason) => OutgoingEvent::new(
            CatalogImportSkipped {
                reason: reason.clone(),
                connectors: connectors.clone(),
                requested_at,
            },
            dry_run,
        ),
        None => OutgoingEvent::new(
            CatalogImportStarted {
                healthy_connectors: healthy.clone(),
                requested_at,
            },
            dry_run,
        ),
    };
    let bus = context.publisher.bus_name().to_owned();
    let events_published = context
        .publisher
        .publish(vec![event])
        .await
        .into_result(&bus)?;

    Ok(Summary {
        trigger,
        connectors: connectors.len(),
        healthy_connectors: healthy.len(),
        import_started: skipped_reason.is_none() && (!dry_run || context.config.import_in_dry_run),
        skipped_reason,
        dry_run,
        events_published,
    })
}

/// What invoked the import, as its summary names it.
fn trigger(incoming: &Incoming) -> Result<String, AutopilotError> {
    if incoming.is_schedule() {
        return Ok("schedule".to_owned());
    }
    match incoming.project_detail::<ImportCatalogRequested>() {
        Some(request) => Ok(format!(
            "ImportCatalogRequested by {}",
            request?.body.requested_by.as_deref().unwrap_or("unknown")
        )),
        None => Err(incoming.unexpected("scheduled events and ImportCatalogRequested")),
    }
}

/// ImportServerCatalog when a connector is healthy (in a dry run only when it imports
/// too); otherwise, or when the service finds no connector available, the reason the
/// import was skipped.
async fn import_unless_skipped(
    context: &Context<CatalogImportConfig>,
    connectors: &[Connector],
    healthy: &[String],
    dry_run: bool,
) -> Result<Option<String>, AutopilotError> {
    if healthy.is_empty() {
        return Ok(Some(format!(
            "none of the {} connectors is HEALTHY",
            connectors.len()
        )));
    }
    if dry_run && !context.config.import_in_dry_run {
        return Ok(None);
    }
    match context.sms.import_server_catalog().send().await {
        Ok(_) => Ok(None),
        Err(error) => {
            let error = AwsCallError::from_sdk("SMS", "ImportServerCatalog", &error);
            // A connector can turn unhealthy between the two calls.
            if error.kind == AwsErrorKind::NoConnectorsAvailable {
                Ok(Some(error.message))
            } else {
                Err(error.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autopilot_core::config::{CommonConfig, FunctionConfig};
    use autopilot_core::testing::{self, schedule_event};
    use aws_sdk_sms::operation::get_connectors::GetConnectorsOutput;
    use aws_sdk_sms::operation::import_server_catalog::ImportServerCatalogOutput;
    use aws_sdk_sms::types::Connector;
    use aws_smithy_mocks::{mock, Rule};

    fn config(dry_run: bool) -> CatalogImportConfig {
        CatalogImportConfig {
            common: CommonConfig {
                event_bus_name: "autopilot".into(),
                dry_run,
                max_attempts: 3,
            },
            import_in_dry_run: true,
        }
    }

    fn connectors(statuses: &'static [&'static str]) -> Rule {
        mock!(aws_sdk_sms::Client::get_connectors).then_output(move || {
            GetConnectorsOutput::builder()
                .set_connector_list(Some(
                    statuses
                        .iter()
                        .enumerate()
                        .map(|(i, status)| {
                            Connector::builder()
                                .connector_id(format!("c-{i}"))
                                .status((*status).into())
                                .build()
                        })
                        .collect(),
                ))
                .build()
        })
    }

    fn sms_client(rules: &[&Rule]) -> aws_sdk_sms::Client {
        testing::mock_sms(rules)
    }

    #[tokio::test]
    async fn imports_when_a_connector_is_healthy() {
        let get = connectors(&["UNHEALTHY", "HEALTHY"]);
        let import = mock!(aws_sdk_sms::Client::import_server_catalog)
            .then_output(|| ImportServerCatalogOutput::builder().build());
        let (context, events) = testing::context(
            config(false),
            sms_client(&[&get, &import]),
            testing::unused_s3(),
        );
        let summary = handle(schedule_event(), context).await.unwrap();
        assert!(summary.import_started);
        assert_eq!(summary.healthy_connectors, 1);
        assert_eq!(import.num_calls(), 1);
        let started = events.of_type("CatalogImportStarted");
        assert_eq!(started.len(), 1);
        assert_eq!(started[0]["healthyConnectors"], serde_json::json!(["c-1"]));
    }

    #[tokio::test]
    async fn skips_without_a_healthy_connector_and_never_imports() {
        let get = connectors(&["UNHEALTHY"]);
        let import = mock!(aws_sdk_sms::Client::import_server_catalog)
            .then_output(|| ImportServerCatalogOutput::builder().build());
        let (context, events) = testing::context(
            config(false),
            sms_client(&[&get, &import]),
            testing::unused_s3(),
        );
        let summary = handle(schedule_event(), context).await.unwrap();
        assert!(!summary.import_started);
        assert_eq!(import.num_calls(), 0);
        let skipped = events.of_type("CatalogImportSkipped");
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0]["connectors"][0]["status"], "UNHEALTHY");
    }

    #[tokio::test]
    async fn a_connector_lost_between_calls_is_a_skip_not_a_failure() {
        let get = connectors(&["HEALTHY"]);
        let import = mock!(aws_sdk_sms::Client::import_server_catalog).then_http_response(|| {
            testing::sms_error(400, "NoConnectorsAvailableException", "no connector")
        });
        let (context, events) = testing::context(
            config(false),
            sms_client(&[&get, &import]),
            testing::unused_s3(),
        );
        let summary = handle(schedule_event(), context).await.unwrap();
        assert_eq!(summary.skipped_reason.as_deref(), Some("no connector"));
        assert_eq!(events.detail_types(), ["CatalogImportSkipped"]);
    }

    #[tokio::test]
    async fn throttling_is_retried_then_succeeds() {
        let get = mock!(aws_sdk_sms::Client::get_connectors)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
            )
            .times(2)
            .output(|| {
                GetConnectorsOutput::builder()
                    .connector_list(
                        Connector::builder()
                            .connector_id("c-0")
                            .status("HEALTHY".into())
                            .build(),
                    )
                    .build()
            })
            .build();
        let import = mock!(aws_sdk_sms::Client::import_server_catalog)
            .then_output(|| ImportServerCatalogOutput::builder().build());
        let (context, _) = testing::context(
            config(false),
            sms_client(&[&get, &import]),
            testing::unused_s3(),
        );
        let summary = handle(schedule_event(), context).await.unwrap();
        assert!(summary.import_started);
        assert_eq!(get.num_calls(), 3);
    }

    #[tokio::test]
    async fn permanent_errors_surface_classified() {
        let get = mock!(aws_sdk_sms::Client::get_connectors).then_http_response(|| {
            testing::sms_error(400, "UnauthorizedOperationException", "not allowed")
        });
        let (context, events) =
            testing::context(config(false), sms_client(&[&get]), testing::unused_s3());
        let error = handle(schedule_event(), context).await.unwrap_err();
        assert_eq!(
            error.retryability(),
            autopilot_core::Retryability::Permanent
        );
        assert!(error.to_string().contains("not allowed"), "{error}");
        assert!(events.all().is_empty());
    }

    /// A dry run still imports (discovery changes no server, job or application), so it
    /// has servers to decide about; unless told not to.
    #[tokio::test]
    async fn a_dry_run_imports_unless_told_not_to() {
        for import_in_dry_run in [true, false] {
            let get = connectors(&["HEALTHY"]);
            let import = mock!(aws_sdk_sms::Client::import_server_catalog)
                .then_output(|| ImportServerCatalogOutput::builder().build());
            let mut config = config(true);
            config.import_in_dry_run = import_in_dry_run;
            let (context, events) =
                testing::context(config, sms_client(&[&get, &import]), testing::unused_s3());
            let summary = handle(schedule_event(), context).await.unwrap();
            let calls = usize::from(import_in_dry_run);
            assert_eq!(import.num_calls(), calls);
            assert_eq!(summary.import_started, import_in_dry_run);
            assert_eq!(events.of_type("CatalogImportStarted")[0]["dryRun"], true);
        }
    }

    #[tokio::test]
    async fn wrong_events_are_rejected_before_any_call() {
        let get = connectors(&["HEALTHY"]);
        let (context, events) =
            testing::context(config(false), sms_client(&[&get]), testing::unused_s3());
        let error = handle(
            testing::project_event("AppReady", serde_json::json!({})),
            context.clone(),
        )
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("accepts scheduled events"),
            "{error}"
        );
        let error = handle(serde_json::json!({"hello": "world"}), context)
            .await
            .unwrap_err();
        assert!(matches!(error, AutopilotError::InvalidEvent(_)));
        assert_eq!(get.num_calls(), 0);
        assert!(events.all().is_empty());
        assert_eq!(CatalogImportConfig::variables().len(), 4);
    }
}
