//! Every answer of the MGN stand-in, checked strictly against the official model: each
//! operation it serves is called over raw HTTP along a life cycle, and each body (and
//! each error's body) is walked against the model's output or exception shape: no member
//! the shape lacks, every required member present, every value of the member's type,
//! enum values and length bounds as declared, date-times in the model's UTC form.

use std::collections::BTreeSet;

use crate::common;
use crate::mgn_conformance::reference;

use autopilot_local::mgn::{MgnHandle, SERVED_OPERATIONS};
use autopilot_local::Scenario;
use serde_json::{json, Value};

/// Walks `value` against the model shape `shape`, adding a problem per mismatch.
fn check(model: &Value, shape: &str, value: &Value, at: &str, problems: &mut Vec<String>) {
    let spec = &model["shapes"][shape];
    let mut problem = |what: String| problems.push(format!("{at} ({shape}): {what}"));
    match spec["type"].as_str().unwrap_or_default() {
        "structure" => {
            let Some(object) = value.as_object() else {
                return problem(format!("{value} is not an object"));
            };
            let members = spec["members"].as_object().cloned().unwrap_or_default();
            for required in spec["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    problem(format!("required member {name} is missing"));
                }
            }
            for (name, member) in object {
                match members.get(name) {
                    None => problems.push(format!("{at}: {shape} has no member {name}")),
                    Some(m) => check(
                        model,
                        m["shape"].as_str().unwrap_or_default(),
                        member,
                        &format!("{at}.{name}"),
                        problems,
                    ),
                }
            }
        }
        "list" => {
            let Some(items) = value.as_array() else {
                return problem(format!("{value} is not a list"));
            };
            bounds(spec, items.len(), &mut problem);
            let member = spec["member"]["shape"].as_str().unwrap_or_default();
            for (k, item) in items.iter().enumerate() {
                check(model, member, item, &format!("{at}[{k}]"), problems);
            }
        }
        "map" => {
            let Some(entries) = value.as_object() else {
                return problem(format!("{value} is not a map"));
            };
            let member = spec["value"]["shape"].as_str().unwrap_or_default();
            for (key, item) in entries {
                check(model, member, item, &format!("{at}.{key}"), problems);
            }
        }
        "string" => {
            let Some(text) = value.as_str() else {
                return problem(format!("{value} is not a string"));
            };
            bounds(spec, text.chars().count(), &mut problem);
            if let Some(values) = spec["enum"].as_array() {
                if !values.iter().any(|v| v == text) {
                    problem(format!("{text:?} is not one of its values"));
                }
            }
            if shape == "ISO8601DatetimeString"
                && (!text.ends_with('Z') || chrono::DateTime::parse_from_rfc3339(text).is_err())
            {
                problem(format!("{text:?} is not a UTC ISO 8601 date-time"));
            }
        }
        "integer" | "long" => match value.as_i64() {
            Some(n) => {
                let low = spec["min"].as_i64().unwrap_or(i64::MIN);
                let high = spec["max"].as_i64().unwrap_or(i64::MAX);
                if n < low || n > high {
                    problem(format!("{n} is outside {low}..={high}"));
                }
            }
            None => problem(format!("{value} is not an integer")),
        },
        "float" | "double" => {
            if !value.is_number() {
                problem(format!("{value} is not a number"));
            }
        }
        "boolean" => {
            if !value.is_boolean() {
                problem(format!("{value} is not a boolean"));
            }
        }
        other => problem(format!("the checker does not know type {other:?}")),
    }
}

fn bounds(spec: &Value, len: usize, problem: &mut impl FnMut(String)) {
    let len = len as i64;
    if spec["min"].as_i64().is_some_and(|min| len < min)
        || spec["max"].as_i64().is_some_and(|max| len > max)
    {
        problem(format!("length {len} is outside its bounds"));
    }
}

/// Calls the stand-in over raw HTTP and checks the answer against the model: a success
/// against the operation's output shape, an error against the exception its
/// `x-amzn-errortype` names (which must be one the operation declares).
struct Checker {
    model: Value,
    endpoint: String,
    called: BTreeSet<String>,
    problems: Vec<String>,
}

impl Checker {
    fn call(&mut self, operation: &str, body: Value) -> Value {
        self.call_at(operation, "POST", &format!("/{operation}"), body)
    }

    fn call_at(&mut self, operation: &str, method: &str, path: &str, body: Value) -> Value {
        let headers = [
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/mgn/aws4_request, SignedHeaders=host, Signature=00"),
            ("content-type", "application/json"),
        ];
        let (status, head, text) =
            common::raw_http(&self.endpoint, method, path, &headers, &body.to_string());
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let spec = &self.model["operations"][operation];
        let error = head
            .lines()
            .find_map(|l| l.strip_prefix("x-amzn-errortype:"))
            .map(|v| v.trim().to_owned());
        let shape = match &error {
            None => spec["output"]["shape"].as_str().map(str::to_owned),
            Some(name) => {
                let declared = spec["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["shape"].as_str())
                    .find(|s| s.eq_ignore_ascii_case(name));
                // A request outside the model's constraints is refused with the
                // model's ValidationException by every operation, declared or not.
                let declared = declared.or_else(|| {
                    name.eq_ignore_ascii_case("ValidationException")
                        .then_some("ValidationException")
                });
                if declared.is_none() {
                    self.problems.push(format!(
                        "{operation} answered {name}, which it does not declare"
                    ));
                }
                declared.map(str::to_owned)
            }
        };
        self.called.insert(operation.to_owned());
        if status == 204 {
            if !text.is_empty() {
                self.problems
                    .push(format!("{operation} answered 204 with a body"));
            }
            return answer;
        }
        if let Some(shape) = shape {
            check(&self.model, &shape, &answer, operation, &mut self.problems);
        }
        answer
    }
}

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web}, {vm_name: db}, {vm_name: app}]
mgn:
  timing: {initial_sync_secs: 600}
  servers:
    db: {stalls: [{at_secs: 400, error: AGENT_NOT_SEEN}]}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_fits_the_models_shapes() {
    let mgn = MgnHandle::start(Scenario::from_text(SCENARIO).expect("scenario"), 0)
        .await
        .expect("starts");
    let endpoint = mgn.endpoint();
    let model = reference("service-2.json");
    let mut checker = Checker {
        model,
        endpoint,
        called: BTreeSet::new(),
        problems: Vec::new(),
    };
    let handle = std::sync::Arc::new(mgn);
    let clock = std::sync::Arc::clone(&handle);
    let wait = move |secs: u64| clock.advance(std::time::Duration::from_secs(secs));
    let checker = tokio::task::spawn_blocking(move || {
        play(&mut checker, wait);
        checker
    })
    .await
    .expect("the raw calls");
    assert!(checker.problems.is_empty(), "{:#?}", checker.problems);
    let served: BTreeSet<String> = SERVED_OPERATIONS.iter().map(|s| s.to_string()).collect();
    let missed: Vec<_> = served.difference(&checker.called).collect();
    assert!(missed.is_empty(), "operations never checked: {missed:?}");
}

/// One life cycle with each served operation called at least once, successes and refusals.
fn play(c: &mut Checker, wait: impl Fn(u64)) {
    c.call("InitializeService", json!({}));
    let ids: Vec<String> = c.call("DescribeSourceServers", json!({}))["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["sourceServerID"].as_str().map(str::to_owned))
        .collect();
    let [web, db, app] = [&ids[0], &ids[1], &ids[2]];
    wait(330 + 100);
    c.call("DescribeSourceServers", json!({"maxResults": 2}));
    c.call("StartTest", json!({"sourceServerIDs": [web]}));
    c.call("RetryDataReplication", json!({"sourceServerID": web}));
    c.call("PauseReplication", json!({"sourceServerID": app}));
    c.call("ResumeReplication", json!({"sourceServerID": app}));
    c.call("StopReplication", json!({"sourceServerID": app}));
    c.call("StartReplication", json!({"sourceServerID": app}));
    wait(600);
    c.call(
        "DescribeSourceServers",
        json!({"filters": {"sourceServerIDs": [db]}}),
    );
    c.call("RetryDataReplication", json!({"sourceServerID": db}));
    let job = c.call(
        "StartTest",
        json!({"sourceServerIDs": [web], "tags": {"wave": "1"}}),
    );
    let job_id = job["job"]["jobID"].as_str().unwrap_or_default().to_owned();
    c.call(
        "TerminateTargetInstances",
        json!({"sourceServerIDs": [web]}),
    );
    c.call(
        "ChangeServerLifeCycleState",
        json!({"sourceServerID": web, "lifeCycle": {"state": "CUTOVER"}}),
    );
    wait(700);
    c.call("DescribeJobs", json!({"filters": {"jobIDs": [job_id]}}));
    c.call(
        "DescribeJobLogItems",
        json!({"jobID": job_id, "maxResults": 4}),
    );
    c.call(
        "DescribeSourceServers",
        json!({"filters": {"lifeCycleStates": ["TESTING"]}}),
    );
    c.call(
        "ChangeServerLifeCycleState",
        json!({"sourceServerID": web, "lifeCycle": {"state": "READY_FOR_CUTOVER"}}),
    );
    c.call(
        "TerminateTargetInstances",
        json!({"sourceServerIDs": [web]}),
    );
    c.call("StartCutover", json!({"sourceServerIDs": [web]}));
    c.call("FinalizeCutover", json!({"sourceServerID": web}));
    wait(700);
    c.call("DescribeJobs", json!({"maxResults": 1}));
    c.call("FinalizeCutover", json!({"sourceServerID": web}));
    c.call("MarkAsArchived", json!({"sourceServerID": web}));
    c.call("MarkAsArchived", json!({"sourceServerID": db}));
    c.call("DisconnectFromService", json!({"sourceServerID": db}));
    c.call(
        "DescribeSourceServers",
        json!({"filters": {"isArchived": true}}),
    );
    c.call("DescribeSourceServers", json!({}));
    play_applications(c, app);
    play_configurations(c, app);
    play_tags(c, app);
    play_imports(c, wait);
    play_removals(c);
}

/// Deleting a job and a server, refused and done, and updating a server.
fn play_removals(c: &mut Checker) {
    let jobs = c.call("DescribeJobs", json!({}));
    let done = jobs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|j| j["status"] == "COMPLETED");
    let job = done.map(|j| j["jobID"].clone()).unwrap_or_default();
    c.call("DeleteJob", json!({"jobID": job}));
    c.call("DeleteJob", json!({"jobID": job}));
    let listed = c.call("DescribeSourceServers", json!({}));
    let ids: Vec<Value> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["sourceServerID"].clone())
        .collect();
    c.call("UpdateSourceServer", json!({"sourceServerID": ids[0], "connectorAction": {"connectorArn": "arn:aws:mgn:us-east-1:123456789012:connector/c-1"}}));
    for id in ids {
        c.call("DeleteSourceServer", json!({"sourceServerID": id}));
    }
}

/// An import (of a file that is not there: the stand-in has no S3 here) and its errors.
fn play_imports(c: &mut Checker, wait: impl Fn(u64)) {
    let task = c.call(
        "StartImport",
        json!({"s3BucketSource": {"s3Bucket": "inventory", "s3Key": "estate.csv"}}),
    );
    let id = task["importTask"]["importID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    c.call(
        "StartImport",
        json!({"s3BucketSource": {"s3Bucket": "inventory", "s3Key": "estate.csv"}}),
    );
    wait(30);
    c.call("ListImports", json!({"filters": {"importIDs": [id]}}));
    c.call("ListImportErrors", json!({"importID": id, "maxResults": 1}));
}

/// Tagging by ARN, in the path (percent-encoded, as the SDKs send it).
fn play_tags(c: &mut Checker, server: &str) {
    let listed = c.call(
        "DescribeSourceServers",
        json!({"filters": {"sourceServerIDs": [server]}}),
    );
    let arn = listed["items"][0]["arn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!("/tags/{}", arn.replace(':', "%3A").replace('/', "%2F"));
    c.call_at(
        "TagResource",
        "POST",
        &path,
        json!({"tags": {"team": "web", "tier": "1"}}),
    );
    c.call_at(
        "UntagResource",
        "DELETE",
        &format!("{path}?tagKeys=tier"),
        json!({}),
    );
    let tags = c.call_at("ListTagsForResource", "GET", &path, json!({}));
    assert_eq!(tags["tags"], json!({"team": "web"}));
    c.call_at(
        "ListTagsForResource",
        "GET",
        "/tags/arn%3Aaws%3Amgn%3Aus-east-1%3A123456789012%3Awave%2Fnone",
        json!({}),
    );
}

/// Replication and launch configurations and their templates.
fn play_configurations(c: &mut Checker, server: &str) {
    c.call(
        "GetReplicationConfiguration",
        json!({"sourceServerID": server}),
    );
    c.call("UpdateReplicationConfiguration", json!({"sourceServerID": server, "bandwidthThrottling": 50, "replicatedDisks": [{"deviceName": "/dev/sda", "isBootDisk": true, "stagingDiskType": "GP3"}]}));
    c.call(
        "UpdateReplicationConfiguration",
        json!({"sourceServerID": server, "stagingAreaSubnetId": "subnet-xyz"}),
    );
    c.call("GetLaunchConfiguration", json!({"sourceServerID": server}));
    c.call(
        "UpdateLaunchConfiguration",
        json!({"sourceServerID": server, "copyTags": true, "licensing": {"osByol": false}}),
    );
    let created = c.call("CreateReplicationConfigurationTemplate", json!({
        "stagingAreaSubnetId": "subnet-0123456789abcdef0", "associateDefaultSecurityGroup": false,
        "replicationServersSecurityGroupsIDs": ["sg-0123456789abcdef0"], "replicationServerInstanceType": "t3.small",
        "useDedicatedReplicationServer": false, "defaultLargeStagingDiskType": "ST1", "ebsEncryption": "DEFAULT",
        "bandwidthThrottling": 0, "dataPlaneRouting": "PRIVATE_IP", "createPublicIP": false, "stagingAreaTags": {"a": "b"}
    }));
    let rct = created["replicationConfigurationTemplateID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    c.call(
        "UpdateReplicationConfigurationTemplate",
        json!({"replicationConfigurationTemplateID": rct, "createPublicIP": true}),
    );
    c.call(
        "DescribeReplicationConfigurationTemplates",
        json!({"maxResults": 1}),
    );
    c.call(
        "DeleteReplicationConfigurationTemplate",
        json!({"replicationConfigurationTemplateID": rct}),
    );
    let created = c.call("CreateLaunchConfigurationTemplate", json!({"bootMode": "UEFI", "smallVolumeConf": {"volumeType": "gp3", "iops": 3000, "throughput": 125}}));
    let lct = created["launchConfigurationTemplateID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    c.call(
        "UpdateLaunchConfigurationTemplate",
        json!({"launchConfigurationTemplateID": lct, "copyPrivateIp": true}),
    );
    c.call(
        "DescribeLaunchConfigurationTemplates",
        json!({"launchConfigurationTemplateIDs": [lct]}),
    );
    c.call(
        "DeleteLaunchConfigurationTemplate",
        json!({"launchConfigurationTemplateID": lct}),
    );
    c.call(
        "DeleteLaunchConfigurationTemplate",
        json!({"launchConfigurationTemplateID": "lct-0123456789abcdefg"}),
    );
}

/// Applications and waves: each call once at least, a refusal or two among them.
fn play_applications(c: &mut Checker, server: &str) {
    let app = c.call(
        "CreateApplication",
        json!({"name": "shop", "tags": {"team": "web"}}),
    );
    let app = app["applicationID"].as_str().unwrap_or_default().to_owned();
    c.call("CreateApplication", json!({"name": "Shop"}));
    let wave = c.call(
        "CreateWave",
        json!({"name": "wave 1", "description": "first"}),
    );
    let wave = wave["waveID"].as_str().unwrap_or_default().to_owned();
    c.call(
        "AssociateSourceServers",
        json!({"applicationID": app, "sourceServerIDs": [server]}),
    );
    c.call(
        "AssociateApplications",
        json!({"waveID": wave, "applicationIDs": [app]}),
    );
    c.call(
        "ListApplications",
        json!({"filters": {"waveIDs": [wave]}, "maxResults": 5}),
    );
    c.call("ListWaves", json!({}));
    c.call("DeleteApplication", json!({"applicationID": app}));
    c.call(
        "UpdateApplication",
        json!({"applicationID": app, "description": "the shop"}),
    );
    c.call("UpdateWave", json!({"waveID": wave, "name": " padded"}));
    c.call("ArchiveWave", json!({"waveID": wave}));
    c.call(
        "DisassociateApplications",
        json!({"waveID": wave, "applicationIDs": [app]}),
    );
    c.call(
        "DisassociateSourceServers",
        json!({"applicationID": app, "sourceServerIDs": [server]}),
    );
    c.call("ArchiveApplication", json!({"applicationID": app}));
    c.call("UnarchiveApplication", json!({"applicationID": app}));
    c.call("ArchiveWave", json!({"waveID": wave}));
    c.call("UnarchiveWave", json!({"waveID": wave}));
    c.call("DeleteWave", json!({"waveID": wave}));
    c.call("DeleteApplication", json!({"applicationID": app}));
    c.call(
        "ListApplications",
        json!({"filters": {"isArchived": false}}),
    );
}

#[test]
fn the_checker_finds_what_does_not_fit() {
    let model = reference("service-2.json");
    let wrong = json!({
        "jobID": "mgnjob-0123456789abcdefg",
        "status": "RUNNING",
        "creationDateTime": "2026-12-06T10:00:00+01:00",
        "participatingServers": [{"launchStatus": "LAUNCHED"}],
        "color": "blue",
    });
    let mut problems = Vec::new();
    check(&model, "Job", &wrong, "Job", &mut problems);
    let text = problems.join("\n");
    for expected in [
        "\"RUNNING\" is not one of its values",
        "not a UTC ISO 8601 date-time",
        "required member sourceServerID is missing",
        "has no member color",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert_eq!(problems.len(), 4, "{text}");
}
