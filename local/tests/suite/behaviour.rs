//! Behaviour of the state machines and every error case, plus protocol-level answers
//! and determinism under a seed.

use crate::common;

use std::time::Duration;

use autopilot_local::{EmulatorHandle, ErrorCode, Faults, Scenario, Throttle, ThrottleClock};
use serde_json::{json, Value};

fn call(emu: &EmulatorHandle, op: &str, input: Value) -> Value {
    emu.call(op, &input).unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn fails(emu: &EmulatorHandle, op: &str, input: Value) -> (ErrorCode, String) {
    let e = emu.call(op, &input).expect_err(op);
    (e.code, e.message)
}

fn secs(emu: &EmulatorHandle) -> i64 {
    emu.now().timestamp()
}

async fn imported(scenario: Scenario) -> EmulatorHandle {
    let emu = common::start(scenario).await;
    call(&emu, "ImportServerCatalog", json!({}));
    emu.advance(Duration::from_secs(121));
    emu
}

fn job(emu: &EmulatorHandle, id: &str) -> Value {
    call(emu, "GetReplicationJobs", json!({ "replicationJobId": id }))["replicationJobList"][0]
        .clone()
}

fn create(emu: &EmulatorHandle, vm: &str, extra: Value) -> Result<String, (ErrorCode, String)> {
    let mut input =
        json!({ "serverId": common::server_id(emu, vm), "seedReplicationTime": secs(emu) });
    if let (Some(o), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    emu.call("CreateReplicationJob", &input)
        .map(|v| {
            v["replicationJobId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .map_err(|e| (e.code, e.message))
}

#[tokio::test]
async fn catalog_import_needs_a_healthy_connector_and_discovers_late_servers() {
    let scenario = common::small_scenario("");
    let mut unhealthy = scenario.clone();
    unhealthy.connectors[0].unhealthy = vec![autopilot_local::scenario::Period {
        from_secs: 0,
        to_secs: 600,
    }];
    let emu = common::start(unhealthy).await;
    let connectors = call(&emu, "GetConnectors", json!({}));
    assert_eq!(connectors["connectorList"][0]["status"], "UNHEALTHY");
    assert_eq!(
        fails(&emu, "ImportServerCatalog", json!({})).0,
        ErrorCode::NoConnectorsAvailable
    );
    emu.advance(Duration::from_secs(600));
    call(&emu, "ImportServerCatalog", json!({}));
    assert_eq!(
        call(&emu, "GetServers", json!({}))["serverCatalogStatus"],
        "IMPORTING"
    );
    emu.advance(Duration::from_secs(120));
    let first = call(&emu, "GetServers", json!({}));
    assert_eq!(first["serverCatalogStatus"], "AVAILABLE");
    assert_eq!(
        first["serverList"].as_array().map(Vec::len),
        Some(4),
        "late server not yet built"
    );
    // The late server is not in the catalog: it cannot get a job.
    assert_eq!(
        create(&emu, "late", json!({})).unwrap_err().0,
        ErrorCode::InvalidParameter
    );
    emu.advance(Duration::from_secs(3600));
    assert_eq!(
        call(&emu, "GetServers", json!({}))["serverList"]
            .as_array()
            .map(Vec::len),
        Some(4),
        "no re-import yet"
    );
    call(&emu, "ImportServerCatalog", json!({}));
    emu.advance(Duration::from_secs(120));
    let second = call(&emu, "GetServers", json!({}));
    assert_eq!(second["serverList"].as_array().map(Vec::len), Some(5));
    assert!(second["lastModifiedOn"].as_f64() > first["lastModifiedOn"].as_f64());
    call(&emu, "DeleteServerCatalog", json!({}));
    let deleted = call(&emu, "GetServers", json!({}));
    assert_eq!(deleted["serverCatalogStatus"], "DELETED");
    assert_eq!(deleted["serverList"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn create_replication_job_error_cases() {
    let emu = imported(common::small_scenario(
        "limits: { max_concurrent_jobs: 2 }\n",
    ))
    .await;
    let (code, _) = fails(
        &emu,
        "CreateReplicationJob",
        json!({ "serverId": "s-nope", "seedReplicationTime": 0 }),
    );
    assert_eq!(code, ErrorCode::InvalidParameter);
    let (code, msg) = fails(
        &emu,
        "CreateReplicationJob",
        json!({ "serverId": common::server_id(&emu, "a") }),
    );
    assert_eq!(
        (code, msg.contains("seedReplicationTime")),
        (ErrorCode::MissingRequiredParameter, true)
    );
    let (code, _) = fails(
        &emu,
        "CreateReplicationJob",
        json!({ "seedReplicationTime": 0 }),
    );
    assert_eq!(code, ErrorCode::MissingRequiredParameter);
    let (code, _) = fails(
        &emu,
        "CreateReplicationJob",
        json!({ "serverId": 5, "seedReplicationTime": 0 }),
    );
    assert_eq!(code, ErrorCode::Serialization);
    assert_eq!(
        create(&emu, "d", json!({})).unwrap_err().0,
        ErrorCode::ServerCannotBeReplicated
    );
    assert_eq!(
        create(&emu, "a", json!({ "frequency": 25 })).unwrap_err().0,
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        create(&emu, "a", json!({ "licenseType": "FREE" }))
            .unwrap_err()
            .0,
        ErrorCode::InvalidParameter
    );
    let a = create(&emu, "a", json!({})).expect("a");
    let (code, msg) = create(&emu, "a", json!({})).unwrap_err();
    assert_eq!(code, ErrorCode::ReplicationJobAlreadyExists);
    assert!(msg.contains(&a));
    create(&emu, "b", json!({})).expect("b");
    let (code, msg) = create(&emu, "c", json!({})).unwrap_err();
    assert_eq!(code, ErrorCode::OperationNotPermitted, "{msg}");
    assert!(msg.contains("limit of 2 concurrent"));
    // Deleting frees the quota slot at once, the server once DELETED; GetServers shows
    // the termination and keeps the job's id.
    call(
        &emu,
        "DeleteReplicationJob",
        json!({ "replicationJobId": a }),
    );
    let server = call(&emu, "GetServers", json!({}))["serverList"][0].clone();
    assert_eq!(server["replicationJobTerminated"], true);
    assert_eq!(server["replicationJobId"], a.as_str());
    create(&emu, "c", json!({})).expect("slot freed");
    assert_eq!(
        fails(
            &emu,
            "DeleteReplicationJob",
            json!({ "replicationJobId": a })
        )
        .0,
        ErrorCode::OperationNotPermitted,
        "already DELETING"
    );
    emu.advance(Duration::from_secs(300));
    assert_eq!(
        fails(
            &emu,
            "DeleteReplicationJob",
            json!({ "replicationJobId": a })
        )
        .0,
        ErrorCode::ReplicationJobNotFound
    );
    assert_eq!(
        fails(
            &emu,
            "UpdateReplicationJob",
            json!({ "replicationJobId": "sms-job-0" })
        )
        .0,
        ErrorCode::ReplicationJobNotFound
    );
}

#[tokio::test]
async fn job_and_run_lifecycle_on_the_clock() {
    let emu = imported(common::small_scenario("")).await;
    // Seed in the future: PENDING until then.
    let future = secs(&emu) + 3600;
    let a = create(
        &emu,
        "a",
        json!({ "seedReplicationTime": future, "frequency": 2, "numberOfRecentAmisToKeep": 2 }),
    )
    .expect("a");
    assert_eq!(job(&emu, &a)["state"], "PENDING");
    assert_eq!(
        job(&emu, &a)["nextReplicationRunStartTime"].as_f64(),
        Some(future as f64)
    );
    emu.advance(Duration::from_secs(3599));
    assert_eq!(job(&emu, &a)["state"], "PENDING");
    emu.advance(Duration::from_secs(1));
    let j = job(&emu, &a);
    assert_eq!(j["state"], "ACTIVE");
    assert_eq!(j["replicationRunList"][0]["state"], "PENDING");
    assert_eq!(j["replicationRunList"][0]["type"], "AUTOMATIC");
    emu.advance(Duration::from_secs(60 + 100));
    let run = &job(&emu, &a)["replicationRunList"][0];
    assert_eq!(run["state"], "ACTIVE");
    assert_eq!(run["stageDetails"]["stage"], "UPLOADING");
    emu.advance(Duration::from_secs(500));
    let j = job(&emu, &a);
    assert_eq!(j["replicationRunList"][0]["state"], "COMPLETED");
    let first_ami = j["latestAmiId"].as_str().expect("ami").to_string();
    // Next run `frequency` hours after the previous one was scheduled.
    assert_eq!(
        j["nextReplicationRunStartTime"].as_f64(),
        Some((future + 7200) as f64)
    );
    emu.advance(Duration::from_secs(3 * 7200));
    let j = job(&emu, &a);
    let runs = j["replicationRunList"].as_array().expect("runs");
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().take(3).all(|r| r["state"] == "COMPLETED"));
    assert!(
        emu.state().pruned_amis.contains(&first_ami),
        "keep 2 pruned the oldest"
    );

    // runOnce ends COMPLETED and schedules nothing more.
    let b = create(&emu, "late", json!({})).unwrap_err();
    assert_eq!(b.0, ErrorCode::InvalidParameter, "late needs a re-import");
    call(&emu, "ImportServerCatalog", json!({}));
    emu.advance(Duration::from_secs(120));
    let once = create(&emu, "late", json!({ "runOnce": true })).expect("once");
    emu.advance(Duration::from_secs(60 + 1800 + 1));
    let j = job(&emu, &once);
    assert_eq!(j["state"], "COMPLETED");
    assert!(j.get("nextReplicationRunStartTime").is_none());
    emu.advance(Duration::from_secs(48 * 3600));
    assert_eq!(
        job(&emu, &once)["replicationRunList"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        fails(
            &emu,
            "StartOnDemandReplicationRun",
            json!({ "replicationJobId": once })
        )
        .0,
        ErrorCode::OperationNotPermitted
    );
}

#[tokio::test]
async fn failures_pause_or_fail_and_on_demand_limits() {
    let emu = imported(common::small_scenario("")).await;
    let b = create(&emu, "b", json!({})).expect("b");
    let c = create(&emu, "c", json!({})).expect("c");
    emu.advance(Duration::from_secs(60 + 300));
    assert_eq!(job(&emu, &b)["state"], "FAILING");
    assert_eq!(job(&emu, &b)["replicationRunList"][0]["state"], "FAILED");
    emu.advance(Duration::from_secs(300));
    assert_eq!(job(&emu, &b)["state"], "PAUSED_ON_FAILURE");
    // c retries once (still FAILING), fails again, then FAILED for good.
    assert_eq!(job(&emu, &c)["state"], "FAILING");
    emu.advance(Duration::from_secs(60 + 300 + 300));
    let jc = job(&emu, &c);
    assert_eq!(jc["state"], "FAILED");
    assert_eq!(jc["replicationRunList"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        fails(
            &emu,
            "StartOnDemandReplicationRun",
            json!({ "replicationJobId": c })
        )
        .0,
        ErrorCode::OperationNotPermitted
    );
    // Deleting and re-creating: the new job fails the same way (fail_runs counts per job).
    call(
        &emu,
        "DeleteReplicationJob",
        json!({ "replicationJobId": c }),
    );
    emu.advance(Duration::from_secs(300));
    let c2 = create(&emu, "c", json!({})).expect("re-created");
    emu.advance(Duration::from_secs(2 * (60 + 300 + 300)));
    assert_eq!(job(&emu, &c2)["state"], "FAILED");

    // Resume b; a run in progress refuses another; the 24 h limit is 2.
    call(
        &emu,
        "StartOnDemandReplicationRun",
        json!({ "replicationJobId": b }),
    );
    assert_eq!(job(&emu, &b)["state"], "ACTIVE");
    assert_eq!(
        fails(
            &emu,
            "StartOnDemandReplicationRun",
            json!({ "replicationJobId": b })
        )
        .0,
        ErrorCode::OperationNotPermitted
    );
    emu.advance(Duration::from_secs(661));
    let jb = job(&emu, &b);
    assert_eq!(jb["state"], "ACTIVE");
    assert_eq!(jb["replicationRunList"][1]["state"], "COMPLETED");
    assert_eq!(jb["replicationRunList"][1]["type"], "ON_DEMAND");
    call(
        &emu,
        "StartOnDemandReplicationRun",
        json!({ "replicationJobId": b }),
    );
    emu.advance(Duration::from_secs(661));
    let (code, msg) = fails(
        &emu,
        "StartOnDemandReplicationRun",
        json!({ "replicationJobId": b }),
    );
    assert_eq!(code, ErrorCode::ReplicationRunLimitExceeded, "{msg}");
    emu.advance(Duration::from_secs(24 * 3600));
    call(
        &emu,
        "StartOnDemandReplicationRun",
        json!({ "replicationJobId": b }),
    );
    assert_eq!(
        fails(
            &emu,
            "StartOnDemandReplicationRun",
            json!({ "replicationJobId": "sms-job-x" })
        )
        .0,
        ErrorCode::InvalidParameter
    );

    // Events: none for the failure and the pause (SMS announced completed, failed and
    // deleted only), then a run completion with its AMI; the job's history has it all.
    let states: Vec<(String, Option<String>)> = emu
        .events()
        .iter()
        .filter(|e| e.detail.replication_job_id == b)
        .map(|e| (e.detail.state.clone(), e.detail.ami_id.clone()))
        .collect();
    assert_eq!(states[0].0, "Completed");
    assert!(states[0].1.is_some());
    let history: Vec<&str> = emu
        .state()
        .jobs
        .iter()
        .find(|j| j.id == b)
        .expect("job b")
        .history
        .iter()
        .map(|(_, s)| s.as_str())
        .take(5)
        .collect();
    assert_eq!(
        history,
        [
            "PENDING",
            "ACTIVE",
            "FAILING",
            "PAUSED_ON_FAILURE",
            "ACTIVE"
        ]
    );
}

#[tokio::test]
async fn connector_health_periods_block_job_creation() {
    let scenario = Scenario::default_scenario();
    let emu = imported(scenario).await;
    emu.advance(Duration::from_secs(7200));
    let west = call(&emu, "GetConnectors", json!({}))["connectorList"][1]["status"].clone();
    assert_eq!(west, "UNHEALTHY");
    assert_eq!(
        create(&emu, "pay-api-01", json!({})).unwrap_err().0,
        ErrorCode::NoConnectorsAvailable
    );
    create(&emu, "shop-web-01", json!({})).expect("east is healthy");
    emu.advance(Duration::from_secs(3600));
    create(&emu, "pay-api-01", json!({})).expect("west healthy again");
}

#[tokio::test]
async fn apps_launch_terminate_and_template_rules() {
    let emu = imported(Scenario::hand_made_apps()).await;
    let apps = call(&emu, "ListApps", json!({}));
    let reporting = apps["apps"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "reporting"))
        .cloned()
        .expect("reporting");
    let id = reporting["appId"].as_str().expect("id").to_string();
    let full = call(&emu, "GetApp", json!({ "appId": id }));
    assert!(full["tags"]
        .as_array()
        .expect("tags")
        .contains(&json!({"key": "autopilot:launch", "value": "false"})));
    assert_eq!(reporting["launchStatus"], "READY_FOR_LAUNCH");
    assert_eq!(reporting["launchConfigurationStatus"], "CONFIGURED");
    let (code, msg) = fails(&emu, "LaunchApp", json!({ "appId": id }));
    assert_eq!(code, ErrorCode::OperationNotPermitted);
    for vm in ["rpt-etl-01", "rpt-dwh-01", "rpt-bi-01"] {
        assert!(msg.contains(&common::server_id(&emu, vm)), "{msg}");
    }
    assert_eq!(
        fails(&emu, "GenerateTemplate", json!({ "appId": id })).0,
        ErrorCode::OperationNotPermitted
    );
    assert_eq!(
        fails(&emu, "GenerateChangeSet", json!({ "appId": id })).0,
        ErrorCode::OperationNotPermitted
    );
    assert_eq!(
        fails(&emu, "GetApp", json!({ "appId": "app-00000000000000000" })).0,
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        fails(&emu, "GetApp", json!({})).0,
        ErrorCode::MissingRequiredParameter
    );
    assert_eq!(
        fails(&emu, "TerminateApp", json!({ "appId": id })).0,
        ErrorCode::OperationNotPermitted
    );

    call(&emu, "StartAppReplication", json!({ "appId": id }));
    let summary = call(&emu, "GetApp", json!({ "appId": id }))["appSummary"].clone();
    assert_eq!(summary["replicationStatus"], "REPLICATION_PENDING");
    emu.advance(Duration::from_secs(60 + 2400 + 1));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["replicationStatus"],
        "PARTIALLY_REPLICATED"
    );
    emu.advance(Duration::from_secs(5400));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["replicationStatus"],
        "REPLICATED"
    );
    call(
        &emu,
        "GenerateTemplate",
        json!({ "appId": id, "templateFormat": "YAML" }),
    );
    call(&emu, "LaunchApp", json!({ "appId": id }));
    assert_eq!(
        fails(&emu, "LaunchApp", json!({ "appId": id })).0,
        ErrorCode::OperationNotPermitted,
        "no double launch"
    );
    emu.advance(Duration::from_secs(661));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["launchStatus"],
        "LAUNCHED"
    );
    let cs = call(&emu, "GenerateChangeSet", json!({ "appId": id }));
    assert_eq!(cs["s3Location"]["bucket"], "sms-app-templates");
    let written = emu.state().written_objects;
    assert_eq!(written.len(), 2);
    let yaml_path = emu.s3_root().join(&written[0].bucket).join(&written[0].key);
    let yaml: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(yaml_path).expect("template file"))
            .expect("yaml");
    assert_eq!(
        yaml["Resources"]["RptBi01"]["DependsOn"],
        json!(["RptDwh01", "RptEtl01"])
    );
    assert_eq!(
        yaml["Resources"]["RptBi01"]["Properties"]["SubnetId"],
        "subnet-0c1b2c3d4e5f60718"
    );
    assert_eq!(
        yaml["Resources"]["RptBi01"]["Properties"]["SecurityGroupIds"],
        json!(["sg-0c1b2c3d4e5f60718"])
    );
    call(&emu, "TerminateApp", json!({ "appId": id }));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["launchStatus"],
        "TERMINATE_IN_PROGRESS"
    );
    emu.advance(Duration::from_secs(301));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["launchStatus"],
        "TERMINATED"
    );
    call(&emu, "StopAppReplication", json!({ "appId": id }));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["replicationStatus"],
        "REPLICATION_STOPPING",
        "while the members' jobs are DELETING"
    );
    emu.advance(Duration::from_secs(301));
    assert_eq!(
        call(&emu, "GetApp", json!({ "appId": id }))["appSummary"]["replicationStatus"],
        "REPLICATION_STOPPED"
    );
    // Launch configuration naming a server outside the group is refused.
    let group = full["serverGroups"][0]["serverGroupId"].clone();
    let (code, _) = fails(
        &emu,
        "PutAppLaunchConfiguration",
        json!({ "appId": id, "serverGroupLaunchConfigurations": [{
            "serverGroupId": group, "serverLaunchConfigurations": [{ "server": { "serverId": common::server_id(&emu, "dns-01") } }]
        }]}),
    );
    assert_eq!(code, ErrorCode::InvalidParameter);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_level_answers() {
    let emu = common::start(Scenario::default_scenario()).await;
    let endpoint = emu.sms_endpoint();
    let checks = tokio::task::spawn_blocking(move || {
        let (status, head, body) = common::raw_http(
            &endpoint,
            "POST",
            "/",
            &[
                (
                    "X-Amz-Target",
                    "AWSServerMigrationService_V2016_10_24.GetServers",
                ),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            "{}",
        );
        assert_eq!(status, 400);
        assert!(
            head.contains("x-amzn-errortype: missingauthenticationtokenexception"),
            "{head}"
        );
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["__type"], "MissingAuthenticationTokenException");
        assert_eq!(v["message"], "Missing Authentication Token");

        let (status, v) = common::raw_sms(&endpoint, "GetEverything", "{}");
        assert_eq!(
            (status, v["__type"].as_str()),
            (400, Some("UnknownOperationException"))
        );
        let (status, v) = common::raw_sms(&endpoint, "GetServers", "{not json");
        assert_eq!(
            (status, v["__type"].as_str()),
            (400, Some("SerializationException"))
        );
        let (status, v) = common::raw_sms(&endpoint, "GetServers", "");
        assert_eq!(
            (status, v["serverCatalogStatus"].as_str()),
            (200, Some("NOT_IMPORTED"))
        );
        let (status, v) = common::raw_sms(&endpoint, "GetServers", r#"{"maxResults":0}"#);
        assert_eq!(
            (status, v["__type"].as_str()),
            (400, Some("InvalidParameterException"))
        );
        let (status, v) = common::raw_sms(
            &endpoint,
            "PutAppValidationConfiguration",
            r#"{"appId":"app-1"}"#,
        );
        assert_eq!(status, 501);
        assert!(v["message"]
            .as_str()
            .is_some_and(|m| m.contains("not implemented by the sms-autopilot emulator")));

        let (status, _, body) = common::raw_http(&endpoint, "GET", "/_emulator/counters", &[], "");
        assert_eq!(status, 200);
        let counters: Value = serde_json::from_str(&body).expect("counters");
        // The unsigned call never reached the service, so it is not counted.
        assert_eq!(counters["GetServers"], 3);
        let (status, _, body) = common::raw_http(&endpoint, "GET", "/_emulator/state", &[], "");
        assert_eq!(status, 200);
        let state: Value = serde_json::from_str(&body).expect("state");
        assert_eq!(state["scenario"], "default");
        let (status, _, body) =
            common::raw_http(&endpoint, "POST", "/_emulator/advance?seconds=90", &[], "");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("2024-01-01T00:01:30Z"), "{body}");
    });
    checks.await.expect("raw checks");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_through_the_sdk() {
    let emu = common::start(Scenario::default_scenario()).await;
    let sms = common::sms(&emu).await;
    emu.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let err = sms.get_connectors().send().await.expect_err("500");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InternalError")
    );
    emu.set_faults(Faults {
        throttle: Some(Throttle {
            max_calls_per_second: 2,
            per: ThrottleClock::Simulated,
        }),
        ..Faults::default()
    });
    sms.get_connectors().send().await.expect("1st");
    sms.get_connectors().send().await.expect("2nd");
    let err = sms.get_connectors().send().await.expect_err("throttled");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ThrottlingException")
    );
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().message()),
        Some("Rate exceeded")
    );
    emu.advance(Duration::from_secs(1));
    sms.get_connectors()
        .send()
        .await
        .expect("next simulated second");
    // With the SDK's standard retries a moderate 500 rate is absorbed.
    emu.set_faults(Faults {
        error_rate: 0.3,
        ..Faults::default()
    });
    let retrying = aws_sdk_sms::Client::new(&common::sdk_config(&emu.sms_endpoint(), 10).await);
    for _ in 0..5 {
        retrying
            .get_connectors()
            .send()
            .await
            .expect("retried through 500s");
    }
    emu.set_faults(Faults {
        latency_ms: 50,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    sms.get_connectors().send().await.expect("slow");
    assert!(started.elapsed() >= Duration::from_millis(50));
    emu.shutdown().await;
}

/// The same scenario and the same calls give the same states, ids and events.
#[tokio::test]
async fn deterministic_under_a_seed() {
    async fn play(seed: u64) -> (String, Vec<String>, Vec<bool>) {
        let mut scenario = Scenario::generate(60, 6, seed);
        scenario.faults.error_rate = 0.2;
        let emu = common::start(scenario).await;
        call(&emu, "ImportServerCatalog", json!({}));
        emu.advance(Duration::from_secs(121));
        let servers = call(&emu, "GetServers", json!({ "maxResults": 100 }));
        for s in servers["serverList"]
            .as_array()
            .into_iter()
            .flatten()
            .take(40)
        {
            let _ = emu.call(
                "CreateReplicationJob",
                &json!({ "serverId": s["serverId"], "seedReplicationTime": secs(&emu) + 60 }),
            );
        }
        emu.advance(Duration::from_secs(30 * 3600));
        let mut state = serde_json::to_value(emu.state()).expect("state");
        // The S3 root is a temporary directory: the only thing allowed to differ.
        state.as_object_mut().map(|o| o.remove("written_objects"));
        let events = emu.events().iter().map(|e| e.to_json()).collect();
        let endpoint = emu.sms_endpoint();
        let dice = tokio::task::spawn_blocking(move || {
            (0..30)
                .map(|_| common::raw_sms(&endpoint, "GetConnectors", "{}").0 == 500)
                .collect::<Vec<_>>()
        })
        .await
        .expect("dice");
        (state.to_string(), events, dice)
    }
    let a = play(42).await;
    let b = play(42).await;
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert!(a.1.len() > 80, "{} events", a.1.len());
    assert_eq!(a.2, b.2, "same fault dice");
    assert!(a.2.iter().any(|x| *x) && !a.2.iter().all(|x| *x));
    let c = play(43).await;
    assert_ne!(a.0, c.0);
}

/// UpdateReplicationJob on a job in each state it can reach here: a PENDING or
/// PAUSED_ON_FAILURE job takes the settings given (and only those) and lists them; a
/// FAILED or DELETING one is refused; a DELETED one is not found.
#[tokio::test]
async fn update_replication_job_in_each_state() {
    let emu = imported(common::small_scenario("")).await;
    let update = |id: &str| {
        json!({ "replicationJobId": id, "frequency": 6, "licenseType": "BYOL",
                "numberOfRecentAmisToKeep": 5, "encrypted": true, "kmsKeyId": "alias/k" })
    };
    let future = secs(&emu) + 3600;
    let pending = create(
        &emu,
        "a",
        json!({ "seedReplicationTime": future, "frequency": 12 }),
    )
    .expect("a");
    call(&emu, "UpdateReplicationJob", update(&pending));
    let listed = job(&emu, &pending);
    assert_eq!(listed["state"], "PENDING");
    for (field, value) in [
        ("frequency", json!(6)),
        ("licenseType", json!("BYOL")),
        ("numberOfRecentAmisToKeep", json!(5)),
        ("encrypted", json!(true)),
        ("kmsKeyId", json!("alias/k")),
    ] {
        assert_eq!(listed[field], value, "{field}: {listed}");
    }
    call(
        &emu,
        "UpdateReplicationJob",
        json!({ "replicationJobId": pending, "frequency": 8 }),
    );
    assert_eq!(job(&emu, &pending)["licenseType"], "BYOL", "left as it was");
    let out_of_range = json!({ "replicationJobId": pending, "frequency": 25 });
    let refused = fails(&emu, "UpdateReplicationJob", out_of_range).0;
    assert_eq!(refused, ErrorCode::InvalidParameter);

    let paused = create(&emu, "b", json!({})).expect("b");
    let failed = create(&emu, "c", json!({})).expect("c");
    emu.advance(Duration::from_secs(60 + 300 + 300));
    assert_eq!(job(&emu, &paused)["state"], "PAUSED_ON_FAILURE");
    call(&emu, "UpdateReplicationJob", update(&paused));
    emu.advance(Duration::from_secs(60 + 300 + 300));
    assert_eq!(job(&emu, &failed)["state"], "FAILED");
    let refused = fails(&emu, "UpdateReplicationJob", update(&failed)).0;
    assert_eq!(refused, ErrorCode::OperationNotPermitted);

    call(
        &emu,
        "DeleteReplicationJob",
        json!({ "replicationJobId": paused }),
    );
    assert_eq!(job(&emu, &paused)["state"], "DELETING");
    let refused = fails(&emu, "UpdateReplicationJob", update(&paused)).0;
    assert_eq!(refused, ErrorCode::OperationNotPermitted);
    emu.advance(Duration::from_secs(300));
    let refused = fails(&emu, "UpdateReplicationJob", update(&paused)).0;
    assert_eq!(refused, ErrorCode::ReplicationJobNotFound);
}
