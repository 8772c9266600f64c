//! template-generator: when an app becomes ready (`AppReady`), has SMS generate its
//! CloudFormation template; when a member of a launched app completes a newer run
//! (`ReplicationRunCompleted`), has SMS generate a change set. Either object is copied
//! into the artifacts bucket under `apps/<appId>/<templates|changesets>/<time>.<ext>`,
//! the time being the triggering event's, so a redelivered event overwrites the same
//! key instead of archiving a duplicate. Generating writes only to S3 and changes no
//! migration state, so dry-run generates too. Which launched apps contain a server comes
//! from GetApp, remembered (`AppCache`, in memory and in the artifacts bucket, shared
//! with the launcher) for as long as ListApps shows the same version of each app.

use std::sync::Arc;

use autopilot_core::app_cache::{listed_with_ids, AppCache};
use autopilot_core::config::TemplateGeneratorConfig;
use autopilot_core::events::{
    AppReady, ChangeSetGenerated, OutgoingEvent, ReplicationRunCompleted, S3Location,
    TemplateGenerated,
};
use autopilot_core::model::{AppId, ServerId};
use autopilot_core::runtime::Context;
use autopilot_core::sms::{api, vocabulary};
use autopilot_core::trigger::Incoming;
use autopilot_core::{AutopilotError, AwsCallError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// The generator's context: its configuration and its warm cache.
pub type GeneratorContext = Context<TemplateGeneratorConfig, AppCache>;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    pub templates: usize,
    pub change_sets: usize,
    /// GetApp calls made to find the launched apps holding the server.
    pub apps_read: usize,
    /// Launched apps whose membership was remembered instead.
    pub apps_remembered: usize,
    pub errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
}

/// Template for a ready app, or change set for a launched one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Artifact {
    Template,
    ChangeSet,
}

impl Artifact {
    fn folder(self) -> &'static str {
        match self {
            Self::Template => "templates",
            Self::ChangeSet => "changesets",
        }
    }
}

pub async fn handle(
    payload: Value,
    context: Arc<GeneratorContext>,
) -> Result<Summary, AutopilotError> {
    let incoming = Incoming::parse(payload)?;
    let stamp = incoming.time.unwrap_or_else(|| context.now());
    let work = work_for(&context, &incoming).await?;
    let dry_run = context.dry_run();
    let generated = generate_all(&context, work.artifacts, stamp, dry_run).await;
    let mut summary = Summary {
        trigger: work.trigger,
        templates: generated.templates,
        change_sets: generated.change_sets,
        apps_read: work.lookups.read,
        apps_remembered: work.lookups.remembered,
        errors: generated.errors.len(),
        dry_run,
        ..Summary::default()
    };
    let bus = context.publisher.bus_name().to_owned();
    let published = context.publisher.publish(generated.events).await;
    summary.events_published = published.into_result(&bus)?;
    let attempted = summary.templates + summary.change_sets + summary.errors;
    if let Some(error) = AutopilotError::partial("generations", attempted, &generated.errors) {
        return Err(error);
    }
    Ok(summary)
}

/// What an event asks of the generator.
struct Work {
    trigger: String,
    artifacts: Vec<(AppId, Artifact)>,
    lookups: Lookups,
}

/// A template for the app an `AppReady` names; a change set for each launched app
/// holding the server a `ReplicationRunCompleted` names.
async fn work_for(
    context: &Arc<GeneratorContext>,
    incoming: &Incoming,
) -> Result<Work, AutopilotError> {
    let mut lookups = Lookups::default();
    if let Some(ready) = incoming.project_detail::<AppReady>() {
        let app = ready?.body.app_id;
        return Ok(Work {
            trigger: format!("AppReady {app}"),
            artifacts: vec![(app, Artifact::Template)],
            lookups,
        });
    }
    let Some(completed) = incoming.project_detail::<ReplicationRunCompleted>() else {
        return Err(incoming.unexpected("AppReady and ReplicationRunCompleted"));
    };
    let completed = completed?.body;
    let Some(server) = completed.server_id else {
        return Err(AutopilotError::InvalidEvent(
            "ReplicationRunCompleted without serverId".into(),
        ));
    };
    let apps = launched_apps_containing(context, &server, &mut lookups).await?;
    Ok(Work {
        trigger: format!("ReplicationRunCompleted {}", completed.replication_job_id),
        artifacts: apps
            .into_iter()
            .map(|app| (app, Artifact::ChangeSet))
            .collect(),
        lookups,
    })
}

/// What the generations came to.
#[derive(Default)]
struct Generated {
    /// `TemplateGenerated` or `ChangeSetGenerated` for each artifact archived.
    events: Vec<OutgoingEvent>,
    templates: usize,
    change_sets: usize,
    errors: Vec<AwsCallError>,
}

/// Generates and archives each artifact in turn; one failure does not stop the others.
async fn generate_all(
    context: &GeneratorContext,
    artifacts: Vec<(AppId, Artifact)>,
    stamp: DateTime<Utc>,
    dry_run: bool,
) -> Generated {
    let mut outcome = Generated::default();
    for (app, artifact) in artifacts {
        let (generated, archived) = match generate(context, &app, artifact, stamp).await {
            Ok(locations) => locations,
            Err(error) => {
                tracing::warn!(app = %app, error = %error, "generation failed");
                outcome.errors.push(error);
                continue;
            }
        };
        let format = context.config.format.to_string();
        let (generated, archived) = (Some(generated), Some(archived));
        outcome.events.push(match artifact {
            Artifact::Template => {
                outcome.templates += 1;
                let event = TemplateGenerated {
                    app_id: app,
                    format,
                    generated,
                    archived,
                };
                OutgoingEvent::new(event, dry_run)
            }
            Artifact::ChangeSet => {
                outcome.change_sets += 1;
                let event = ChangeSetGenerated {
                    app_id: app,
                    format,
                    generated,
                    archived,
                };
                OutgoingEvent::new(event, dry_run)
            }
        });
    }
    outcome
}

/// GetApp calls made, and apps remembered instead.
#[derive(Debug, Default)]
struct Lookups {
    read: usize,
    remembered: usize,
}

/// Launched apps with `server` among their members.
async fn launched_apps_containing(
    context: &Arc<GeneratorContext>,
    server: &ServerId,
    lookups: &mut Lookups,
) -> Result<Vec<AppId>, AutopilotError> {
    let summaries = api::app_summaries(&context.sms).await?.items;
    let launched = listed_with_ids(&summaries, |app| {
        app.launch_status()
            .is_some_and(|s| vocabulary::launch_state_of(s).is_launched())
    });
    let apps: Vec<Result<(Option<AppId>, bool), AwsCallError>> = context
        .warm
        .visit(
            &context.s3,
            &context.config.artifacts_bucket,
            &summaries,
            launched,
            4,
            |id, listed| async move {
                let (app, read) = context
                    .warm
                    .get(&context.sms, &id, &listed, context.now())
                    .await?;
                Ok((app.member_ids().contains(server).then_some(id), read))
            },
        )
        .await;
    let mut containing = Vec::new();
    for app in apps {
        let (holding, read) = app?;
        if read {
            lookups.read += 1;
        } else {
            lookups.remembered += 1;
        }
        containing.extend(holding);
    }
    containing.sort();
    Ok(containing)
}

/// Has SMS generate the artifact, then archives a copy; returns both locations.
async fn generate(
    context: &GeneratorContext,
    app: &AppId,
    artifact: Artifact,
    stamp: DateTime<Utc>,
) -> Result<(S3Location, S3Location), AwsCallError> {
    let format = aws_sdk_sms::types::OutputFormat::from(context.config.format.as_str());
    let location = match artifact {
        Artifact::Template => context
            .sms
            .generate_template()
            .app_id(app.as_str())
            .template_format(format)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("SMS", "GenerateTemplate", &e))?
            .s3_location()
            .cloned(),
        Artifact::ChangeSet => context
            .sms
            .generate_change_set()
            .app_id(app.as_str())
            .changeset_format(format)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("SMS", "GenerateChangeSet", &e))?
            .s3_location()
            .cloned(),
    };
    let generated = location
        .and_then(|l| {
            Some(S3Location {
                bucket: l.bucket()?.to_owned(),
                key: l.key()?.to_owned(),
            })
        })
        .ok_or_else(|| {
            AwsCallError::sms_protocol(
                "GenerateTemplate",
                "MissingS3Location",
                format!("no s3Location returned for app {app}"),
            )
        })?;
    let archived = S3Location {
        bucket: context.config.artifacts_bucket.clone(),
        key: format!(
            "apps/{app}/{}/{}.{}",
            artifact.folder(),
            stamp.format("%Y%m%dT%H%M%SZ"),
            context.config.format.extension()
        ),
    };
    context
        .s3
        .copy_object()
        .copy_source(format!(
            "{}/{}",
            generated.bucket,
            encode_key(&generated.key)
        ))
        .bucket(&archived.bucket)
        .key(&archived.key)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("S3", "CopyObject", &e))?;
    Ok((generated, archived))
}

/// Percent-encodes a key for `x-amz-copy-source`, keeping `/` separators.
fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use autopilot_core::config::CommonConfig;
    use autopilot_core::error::Retryability;
    use autopilot_core::model::OutputFormat;
    use autopilot_core::testing;
    use aws_sdk_s3::operation::copy_object::CopyObjectOutput;
    use aws_sdk_sms::operation::generate_change_set::GenerateChangeSetOutput;
    use aws_sdk_sms::operation::generate_template::GenerateTemplateOutput;
    use aws_sdk_sms::operation::get_app::GetAppOutput;
    use aws_sdk_sms::operation::list_apps::ListAppsOutput;
    use aws_sdk_sms::types::{
        AppLaunchStatus as Status, AppSummary, S3Location as SmsLocation, Server, ServerGroup,
    };
    use aws_smithy_mocks::mock;
    use serde_json::json;

    fn config(format: OutputFormat) -> TemplateGeneratorConfig {
        TemplateGeneratorConfig {
            common: CommonConfig {
                event_bus_name: "autopilot".into(),
                dry_run: false,
                max_attempts: 3,
            },
            artifacts_bucket: "artifacts".into(),
            format,
        }
    }

    fn location(key: &str) -> SmsLocation {
        SmsLocation::builder()
            .bucket("sms-app-templates")
            .key(key)
            .build()
    }

    #[tokio::test]
    async fn app_ready_generates_and_archives_a_template() {
        let generate = mock!(aws_sdk_sms::Client::generate_template)
            .match_requests(|req| {
                req.app_id() == Some("app-1")
                    && req.template_format() == Some(&aws_sdk_sms::types::OutputFormat::Yaml)
            })
            .then_output(|| {
                GenerateTemplateOutput::builder()
                    .s3_location(location("app-1/template v1.yaml"))
                    .build()
            });
        let copy = mock!(aws_sdk_s3::Client::copy_object)
            .match_requests(|req| {
                req.copy_source() == Some("sms-app-templates/app-1/template%20v1.yaml")
                    && req.key() == Some("apps/app-1/templates/20261122T100000Z.yaml")
            })
            .then_output(|| CopyObjectOutput::builder().build());
        let (context, events) = testing::context::<_, AppCache>(
            config(OutputFormat::Yaml),
            testing::mock_sms(&[&generate]),
            testing::mock_s3(&[&copy]),
        );
        let event = testing::project_event(
            "AppReady",
            json!({"version": 1, "dryRun": false, "appId": "app-1", "servers": 2}),
        );
        let summary = handle(event, context).await.unwrap();
        assert_eq!(summary.templates, 1);
        assert_eq!(copy.num_calls(), 1);
        let generated = events.of_type("TemplateGenerated");
        assert_eq!(generated[0]["archived"]["bucket"], "artifacts");
        assert_eq!(generated[0]["generated"]["key"], "app-1/template v1.yaml");
        assert_eq!(generated[0]["format"], "YAML");
    }

    /// An app summary last modified `seconds_ago` before the tests' "now".
    fn listed(id: &str, status: Status, seconds_ago: i64) -> AppSummary {
        AppSummary::builder()
            .app_id(id)
            .launch_status(status)
            .last_modified(aws_sdk_sms::primitives::DateTime::from_secs(
                testing::test_now().timestamp() - seconds_ago,
            ))
            .build()
    }

    /// ListApps: app-1 and app-2 launched (app-2 modified `app_2_age` seconds ago),
    /// app-3 not.
    fn list_apps(app_2_age: i64) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sms::Client::list_apps).then_output(move || {
            ListAppsOutput::builder()
                .apps(listed("app-1", Status::Launched, 3600))
                .apps(listed("app-2", Status::Launched, app_2_age))
                .apps(listed("app-3", Status::ReadyForLaunch, 3600))
                .build()
        })
    }

    /// GetApp: s-1 is a member of app-1 only.
    fn get_app(app_2_age: i64) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sms::Client::get_app).then_compute_output(move |req| {
            let id = req.app_id().unwrap();
            let (member, age) = match id {
                "app-1" => ("s-1", 3600),
                "app-2" => ("s-9", app_2_age),
                _ => ("s-8", 3600),
            };
            GetAppOutput::builder()
                .app_summary(listed(id, Status::Launched, age))
                .server_groups(
                    ServerGroup::builder()
                        .server_list(Server::builder().server_id(member).build())
                        .build(),
                )
                .build()
        })
    }

    fn change_set() -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_sms::Client::generate_change_set)
            .match_requests(|req| req.app_id() == Some("app-1"))
            .then_output(|| {
                GenerateChangeSetOutput::builder()
                    .s3_location(location("app-1/changeset.json"))
                    .build()
            })
    }

    fn run_completed(run: &str) -> Value {
        testing::project_event(
            "ReplicationRunCompleted",
            json!({"version": 1, "dryRun": false, "replicationJobId": "j-1", "replicationRunId": run, "serverId": "s-1", "amiId": "ami-2"}),
        )
    }

    #[tokio::test]
    async fn a_newer_run_of_a_launched_member_generates_a_change_set() {
        let (list, get, change_set) = (list_apps(3600), get_app(3600), change_set());
        let copy = mock!(aws_sdk_s3::Client::copy_object)
            .then_output(|| CopyObjectOutput::builder().build());
        let bucket = testing::MemoryBucket::default();
        let (s3, _, _) = bucket.client_with(&[&copy]);
        let (context, events) = testing::context::<_, AppCache>(
            config(OutputFormat::Json),
            testing::mock_sms(&[&list, &get, &change_set]),
            s3,
        );
        let summary = handle(run_completed("r-2"), context).await.unwrap();
        assert_eq!(summary.change_sets, 1);
        assert_eq!(get.num_calls(), 2, "only launched apps are opened");
        assert_eq!((summary.apps_read, summary.apps_remembered), (2, 0));
        assert_eq!(change_set.num_calls(), 1);
        assert_eq!(copy.num_calls(), 1);
        assert_eq!(events.of_type("ChangeSetGenerated")[0]["appId"], "app-1");
    }

    #[tokio::test]
    async fn later_events_read_only_the_apps_changed_since() {
        let bucket = testing::MemoryBucket::default();
        let copy = mock!(aws_sdk_s3::Client::copy_object)
            .then_output(|| CopyObjectOutput::builder().build());
        let invoke = |app_2_age: i64, run: &'static str| {
            let bucket = bucket.clone();
            let copy = &copy;
            async move {
                let (list, get, change_set) =
                    (list_apps(app_2_age), get_app(app_2_age), change_set());
                let (s3, _, _) = bucket.client_with(&[copy]);
                // A cold environment each time: only the shared index carries over.
                let (context, _) = testing::context::<_, AppCache>(
                    config(OutputFormat::Json),
                    testing::mock_sms(&[&list, &get, &change_set]),
                    s3,
                );
                let summary = handle(run_completed(run), context).await.unwrap();
                assert_eq!(summary.change_sets, 1);
                (summary.apps_read, summary.apps_remembered, get.num_calls())
            }
        };
        assert_eq!(invoke(3600, "r-2").await, (2, 0, 2));
        assert_eq!(invoke(3600, "r-3").await, (0, 2, 0), "nothing changed");
        assert_eq!(invoke(60, "r-4").await, (1, 1, 1), "app-2 changed");
    }

    #[tokio::test]
    async fn a_refused_generation_is_a_permanent_error_without_an_event() {
        let generate = mock!(aws_sdk_sms::Client::generate_template).then_http_response(|| {
            testing::sms_error(
                400,
                "InvalidParameterException",
                "app app-1 has servers without a completed run",
            )
        });
        let (context, events) = testing::context::<_, AppCache>(
            config(OutputFormat::Json),
            testing::mock_sms(&[&generate]),
            testing::unused_s3(),
        );
        let event = testing::project_event(
            "AppReady",
            json!({"version": 1, "dryRun": false, "appId": "app-1", "servers": 1}),
        );
        let error = handle(event, context).await.unwrap_err();
        assert_eq!(error.retryability(), Retryability::Permanent);
        assert!(
            error.to_string().contains("without a completed run"),
            "{error}"
        );
        assert!(events.all().is_empty());
    }

    #[tokio::test]
    async fn schedules_and_malformed_details_are_rejected() {
        let (context, _) = testing::context::<_, AppCache>(
            config(OutputFormat::Json),
            testing::mock_sms(&[]),
            testing::unused_s3(),
        );
        let error = handle(testing::schedule_event(), Arc::clone(&context))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("accepts AppReady"), "{error}");
        let event = testing::project_event(
            "AppReady",
            json!({"version": 1, "appId": ["not", "a", "string"]}),
        );
        let error = handle(event, context).await.unwrap_err();
        assert!(matches!(error, AutopilotError::InvalidEvent(_)));
    }
}
