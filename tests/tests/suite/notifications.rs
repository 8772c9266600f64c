//! The wave notification rules of `infra/template.yaml`: each turns one kind of decision
//! into one readable line for people, built only from fields its event has (checked
//! against the committed schema), and its pattern matches the events the functions
//! publish and no other, rendered as the line a person reads: played through moto's
//! EventBridge (rules, input transformers, an SQS queue standing in for the topic), an
//! implementation other than the project's own.

use crate::common;

use std::path::PathBuf;

use autopilot_core::cutover::LaunchKind;
use autopilot_core::events::{
    server_subject, AppCutOver, AppFinalized, AppLaunchCheckFailed, AppLaunchFailed, AppLaunchHeld,
    AppLaunched, AppMoveHeld, AppMoveResumed, AppRolledBack, FinalizedBy, InventoryImported,
    OutgoingEvent, PlanRejected, RemediationAction, ReplicationExpiring, ReplicationJobRemediated,
    ReplicationProblemDetected, ReplicationRetried, RetryAction,
};
use autopilot_core::model::{AppLaunchStatus, Counted};
use autopilot_core::replication_health::ProblemKind;
use aws_sdk_eventbridge::types::{InputTransformer, PutEventsRequestEntry, Target};
use common::moto::{drain, queue, start_or_skip};
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A notification rule: its name, pattern and input transformer.
struct Rule {
    name: String,
    pattern: Value,
    paths: Value,
    template: String,
}

/// The rules that target the wave notification topic.
fn notification_rules() -> Vec<Rule> {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml")).unwrap();
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut rules = Vec::new();
    for (name, resource) in resources {
        let targets = &resource["Properties"]["Targets"];
        let to_topic = format!("{targets:?}").contains("WaveNotificationTopic");
        if resource["Type"].as_str() != Some("AWS::Events::Rule") || !to_topic {
            continue;
        }
        let transformer = &targets[0]["InputTransformer"];
        rules.push(Rule {
            name: name.as_str().unwrap().to_owned(),
            pattern: serde_json::to_value(&resource["Properties"]["EventPattern"]).unwrap(),
            paths: serde_json::to_value(&transformer["InputPathsMap"]).unwrap(),
            template: transformer["InputTemplate"].as_str().unwrap().to_owned(),
        });
    }
    rules
}

/// One event of each kind a person must hear of, as the functions publish it.
fn published() -> Vec<Value> {
    let held = ReplicationJobRemediated {
        replication_job_id: "sms-job-1".into(),
        server_id: "s-1".into(),
        vm_name: Some("legacy-fax-01".into()),
        app_name: Some("office".into()),
        subject: server_subject(Some("legacy-fax-01"), &"s-1".into(), Some("office")),
        failed_since: Some("2024-01-01T00:47:00Z".into()),
        attempt: 0,
        action: RemediationAction::Held {
            reason: "the job FAILED and recreating failed jobs is disabled".into(),
        },
    };
    let resumed = ReplicationJobRemediated {
        action: RemediationAction::OnDemandRunStarted,
        ..held.clone()
    };
    let given_up = AppLaunchFailed {
        app_id: "app-1".into(),
        app_name: Some("payments".into()),
        error_code: "LAUNCH_FAILED".into(),
        message: "stack rolled back".into(),
        attempts: 2,
        retrying: false,
    };
    let events = [
        OutgoingEvent::new(held, false),
        OutgoingEvent::new(resumed, false),
        OutgoingEvent::new(given_up.clone(), false),
        OutgoingEvent::new(
            AppLaunchFailed {
                attempts: 1,
                retrying: true,
                ..given_up
            },
            false,
        ),
        OutgoingEvent::new(
            AppLaunchHeld {
                app_id: "app-2".into(),
                app_name: Some("intranet".into()),
                launch_status: "CONFIGURATION_INVALID".into(),
                reason: "subnet subnet-0d does not exist".into(),
            },
            false,
        ),
        OutgoingEvent::new(
            PlanRejected {
                plan: "s3://artifacts/plan/wave-plan.yaml".into(),
                plan_version: "ab6924f0631f55ad".into(),
                problems: vec!["line 3: applications[0].name: missing".into()],
                headline: "The problem: line 3: applications[0].name: missing".into(),
            },
            false,
        ),
        OutgoingEvent::new(
            AppLaunched {
                app_id: "app-3".into(),
                app_name: Some("shop".into()),
                servers: 5,
                attempt: 1,
            },
            false,
        ),
        OutgoingEvent::new(
            AppRolledBack {
                app_name: "payments".into(),
                app_id: "app-1".into(),
                launch_status: AppLaunchStatus::Launched,
                plan_version: "ab6924f0631f55ad".into(),
            },
            false,
        ),
        OutgoingEvent::new(
            AppFinalized {
                app_name: "payments".into(),
                app_id: "app-1".into(),
                launched_at: "2024-01-01T02:22:00Z".into(),
                ended_by: FinalizedBy::JobsDeleted,
                jobs_deleted: vec!["sms-job-1".into()],
                plan_version: Some("ab6924f0631f55ad".into()),
            },
            false,
        ),
        // What a dry run decided never happened: nobody hears of it.
        OutgoingEvent::new(
            AppLaunched {
                app_id: "app-4".into(),
                app_name: Some("rehearsed".into()),
                servers: 1,
                attempt: 1,
            },
            true,
        ),
        OutgoingEvent::new(
            ReplicationExpiring {
                replication_job_id: "sms-job-2".into(),
                server_id: "s-2".into(),
                vm_name: Some("files-01".into()),
                // A server the wave plan does not place.
                app_name: None,
                subject: server_subject(Some("files-01"), &"s-2".into(), None),
                replication_started_at: "2024-01-01T00:00:00+00:00".into(),
                expires_at: "2024-03-31T00:00:00+00:00".into(),
                days_left: 14,
            },
            false,
        ),
    ];
    let mut events = events.to_vec();
    events.extend(mgn_published());
    events
        .iter()
        .map(|event| {
            json!({
                "id": "1", "account": "123456789012", "region": "us-east-1",
                "time": "2024-01-01T00:00:00Z", "resources": [], "version": "0",
                "source": "sms-autopilot",
                "detail-type": event.detail_type,
                "detail": serde_json::from_str::<Value>(&event.detail).unwrap(),
            })
        })
        .collect()
}

/// One event of each kind a person must hear of on MGN (and one nobody hears of).
fn mgn_published() -> Vec<OutgoingEvent> {
    let subject = server_subject(
        Some("db-01"),
        &"s-0123456789abcdef0".into(),
        Some("billing"),
    );
    let failed = AppLaunchCheckFailed {
        app_name: "billing".into(),
        kind: LaunchKind::Test,
        attempt: 2,
        job_id: Some("mgnjob-1".into()),
        server_id: Some("s-0123456789abcdef0".into()),
        vm_name: Some("db-01".into()),
        subject: subject.clone(),
        reason: "its instance status check is impaired".into(),
        left_to_a_person: true,
    };
    let retried = ReplicationRetried {
        server_id: "s-0123456789abcdef0".into(),
        vm_name: Some("db-01".into()),
        app_name: Some("billing".into()),
        subject: subject.clone(),
        since: "2024-01-01T01:00:00Z".into(),
        attempt: 3,
        action: RetryAction::Retried,
    };
    vec![
        OutgoingEvent::new(
            ReplicationProblemDetected {
                server_id: "s-0123456789abcdef0".into(),
                vm_name: Some("db-01".into()),
                app_name: Some("billing".into()),
                subject: subject.clone(),
                problem: ProblemKind::Stalled,
                detail: "AGENT_NOT_SEEN".into(),
                state: "STALLED".into(),
                since: "2024-01-01T01:00:00Z".into(),
            },
            false,
        ),
        // A retry reaches nobody; giving up does.
        OutgoingEvent::new(retried.clone(), false),
        OutgoingEvent::new(
            ReplicationRetried {
                action: RetryAction::GaveUp {
                    reason: "all 3 retries of the wave's budget were used".into(),
                },
                ..retried
            },
            false,
        ),
        OutgoingEvent::new(failed.clone(), false),
        OutgoingEvent::new(
            AppLaunchCheckFailed {
                attempt: 1,
                left_to_a_person: false,
                reason: "LAUNCH_FAILED: InvalidSubnetID.NotFound".into(),
                ..failed
            },
            false,
        ),
        OutgoingEvent::new(
            AppCutOver {
                app_name: "billing".into(),
                attempt: 1,
                servers: vec!["s-0123456789abcdef0".into()],
            },
            false,
        ),
        OutgoingEvent::new(
            AppMoveHeld {
                app_name: "shop".into(),
                reason: "a person launches its test".into(),
            },
            false,
        ),
        OutgoingEvent::new(
            InventoryImported {
                import_id: "import-0123456789abcdef0".into(),
                source: "s3://artifacts/plan/mgn-inventory.csv".into(),
                succeeded: true,
                servers: Counted {
                    created: 120,
                    modified: 0,
                },
                applications: Counted {
                    created: 9,
                    modified: 1,
                },
                waves: Counted::default(),
                problems: Vec::new(),
                problem_count: 2,
            },
            false,
        ),
        OutgoingEvent::new(
            AppMoveResumed {
                app_name: "intranet".into(),
                reason: "its launch settings cannot be used: web-01: subnet subnet-x does not exist (line 7)".into(),
            },
            false,
        ),
    ]
}

/// Every property name a committed event schema allows, flattened variants included.
fn schema_properties(detail_type: &str) -> Vec<String> {
    let path = repo_root().join(format!("shared/schemas/{detail_type}.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut names = Vec::new();
    let mut stack = vec![&schema];
    while let Some(node) = stack.pop() {
        if let Some(properties) = node["properties"].as_object() {
            names.extend(properties.keys().cloned());
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            stack.extend(node[key].as_array().into_iter().flatten());
        }
        for key in ["$defs", "definitions"] {
            stack.extend(node[key].as_object().into_iter().flat_map(|d| d.values()));
        }
    }
    names
}

#[test]
fn every_notification_is_one_line_of_fields_its_event_has() {
    let rules = notification_rules();
    assert_eq!(rules.len(), 17, "one rule per decision people must know");
    for rule in &rules {
        let detail_types = rule.pattern["detail-type"].as_array().unwrap();
        assert_eq!(detail_types.len(), 1, "{}", rule.name);
        let detail_type = detail_types[0].as_str().unwrap();
        let allowed = schema_properties(detail_type);
        for (placeholder, path) in rule.paths.as_object().unwrap() {
            let field = path.as_str().unwrap().strip_prefix("$.detail.").unwrap();
            // A nested field (`servers.created`): each step is a property of the schema.
            assert!(
                field
                    .split('.')
                    .all(|step| allowed.iter().any(|name| name == step)),
                "{}: {field} is not a field of {detail_type}",
                rule.name
            );
            assert!(
                rule.template.contains(&format!("<{placeholder}>")),
                "{}: <{placeholder}> unused",
                rule.name
            );
        }
        assert!(!rule.template.contains('\n'), "{}: one line", rule.name);
        // <subject> is the server's VM name, id and application, in words; <source>
        // the inventory sheet an import read.
        let names_subject = ["<subject>", "<app>", "<plan>", "<source>"]
            .iter()
            .any(|p| rule.template.contains(p));
        assert!(
            names_subject,
            "{}: names the server (VM and application), the application, the plan or the sheet",
            rule.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_notification_rule_sends_its_decision_as_one_line_and_nothing_else() {
    let Some(moto) = start_or_skip("notifications").await else {
        return;
    };
    let events = common::clients(&moto.endpoint, &moto.endpoint, &moto.endpoint).events;
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&common::sdk_config())
            .endpoint_url(&moto.endpoint)
            .build(),
    );
    const BUS: &str = "wave";
    events
        .create_event_bus()
        .name(BUS)
        .send()
        .await
        .expect("bus");
    // Each rule as the template declares it, its topic stood in for by a queue.
    let rules = notification_rules();
    let mut queues = Vec::new();
    for rule in &rules {
        let (url, arn) = queue(&sqs, &rule.name).await;
        let paths = rule.paths.as_object().unwrap().iter();
        let transformer = InputTransformer::builder()
            .set_input_paths_map(Some(
                paths
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect(),
            ))
            .input_template(&rule.template)
            .build()
            .expect("transformer");
        let target = Target::builder()
            .id("topic")
            .arn(arn)
            .input_transformer(transformer)
            .build()
            .expect("target");
        common::moto::rule(&events, BUS, &rule.name, &rule.pattern, target).await;
        queues.push(url);
    }
    for event in published() {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(BUS)
            .source("sms-autopilot")
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(event["detail"].to_string())
            .build();
        events
            .put_events()
            .entries(entry)
            .send()
            .await
            .expect("PutEvents");
    }
    let expected = [
        ("NotifyJobHeld", "VM legacy-fax-01 (server s-1) of application office: replication job sms-job-1 failed and is held: the job FAILED and recreating failed jobs is disabled"),
        ("NotifyLaunchFailed", "Application payments (app-1): launch failed (LAUNCH_FAILED) after 2 attempts and is left to a person: stack rolled back"),
        ("NotifyLaunchRetried", "Application payments (app-1): launch failed (LAUNCH_FAILED) on attempt 1 and will be tried again: stack rolled back"),
        ("NotifyLaunchHeld", "Application intranet (app-2) is replicated but not launched (CONFIGURATION_INVALID): subnet subnet-0d does not exist"),
        ("NotifyPlanRejected", "The wave plan s3://artifacts/plan/wave-plan.yaml (version ab6924f0631f55ad) was refused and nothing was changed. The problem: line 3: applications[0].name: missing"),
        ("NotifyAppLaunched", "Application shop (app-3) launched with 5 servers (attempt 1)."),
        ("NotifyAppRolledBack", "Application payments (app-1) is rolled back as the wave plan (version ab6924f0631f55ad) asks: its stack (LAUNCHED) is being terminated, and it is not launched again until the plan says automatic."),
        ("NotifyAppFinalized", "Application payments (app-1), launched at 2024-01-01T02:22:00Z: its replication was ended as the wave plan asks (jobsDeleted); its AMIs are kept."),
        ("NotifyReplicationExpiring", "VM files-01 (server s-2): SMS stops replicating it at 2024-03-31T00:00:00+00:00, in 14 days."),
        ("NotifyReplicationProblem", "VM db-01 (server s-0123456789abcdef0) of application billing: replication stalled since 2024-01-01T01:00:00Z (MGN: STALLED): AGENT_NOT_SEEN"),
        ("NotifyReplicationGaveUp", "VM db-01 (server s-0123456789abcdef0) of application billing: replication stalled since 2024-01-01T01:00:00Z is left to a person: all 3 retries of the wave's budget were used"),
        ("NotifyMoveFailed", "Application billing: test launch 2 failed on VM db-01 (server s-0123456789abcdef0) of application billing and is left to a person: its instance status check is impaired"),
        ("NotifyMoveRetried", "Application billing: test launch 1 failed on VM db-01 (server s-0123456789abcdef0) of application billing and will be launched again: LAUNCH_FAILED: InvalidSubnetID.NotFound"),
        ("NotifyAppCutOver", "Application billing is cut over and its cutover finalized (cutover 1): its servers no longer replicate."),
        ("NotifyMoveHeld", "Application shop is left to a person: a person launches its test"),
        (
            "NotifyInventoryImported",
            "MGN imported the inventory s3://artifacts/plan/mgn-inventory.csv: 120 servers and 9 applications created, 2 rows refused (see the InventoryImported event).",
        ),
        (
            "NotifyMoveResumed",
            "Application intranet moves on again: the hold no longer stands (its launch settings cannot be used: web-01: subnet subnet-x does not exist (line 7))",
        ),
    ];
    for (rule, url) in rules.iter().zip(&queues) {
        let lines: Vec<Value> = drain(&sqs, url)
            .await
            .iter()
            .map(|body| serde_json::from_str(body).expect("a JSON string"))
            .collect();
        let wanted = expected
            .iter()
            .find(|(name, _)| *name == rule.name)
            .unwrap_or_else(|| panic!("no expectation for {}", rule.name));
        // One line each; the remediation that resumed a job, and the dry run's launch,
        // reach nobody.
        assert_eq!(lines, [json!(wanted.1)], "{}", rule.name);
    }
}
