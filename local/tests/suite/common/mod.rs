//! Shared test helpers: start an emulator, build real SDK clients against it, raw HTTP.

#![allow(dead_code)]

pub mod mgn_world;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use autopilot_local::{Emulator, EmulatorHandle, EmulatorOptions, Scenario};
use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sms::config::{Credentials, Region};

/// An emulator on ports 0 with a manual clock.
pub async fn start(scenario: Scenario) -> EmulatorHandle {
    Emulator::start(scenario, EmulatorOptions::default())
        .await
        .expect("emulator starts")
}

/// Shared SDK configuration: static test credentials, no retries (tests count calls).
pub async fn sdk_config(endpoint: &str, attempts: u32) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDLOCALTEST",
            "local-test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .load()
        .await
}

/// A real aws-sdk-sms client pointed at the emulator.
pub async fn sms(emu: &EmulatorHandle) -> aws_sdk_sms::Client {
    aws_sdk_sms::Client::new(&sdk_config(&emu.sms_endpoint(), 1).await)
}

/// A real aws-sdk-s3 client (path-style) pointed at the local S3.
/// An aws-sdk-mgn client for the MGN stand-in at `endpoint`, one attempt per call.
pub fn mgn(endpoint: &str) -> aws_sdk_mgn::Client {
    use autopilot_local::harness::clients::{sdk_config, StaticCredentials};
    let config = aws_sdk_mgn::config::Builder::from(&sdk_config(StaticCredentials::LOCAL, Some(1)))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_mgn::Client::from_conf(config)
}

/// An MGN account over `scenario` served with `options`, initialized through the
/// SDK, and a client for it.
pub async fn mgn_account(
    scenario: Scenario,
    options: autopilot_local::mgn::MgnOptions,
) -> (autopilot_local::mgn::MgnHandle, aws_sdk_mgn::Client) {
    let handle = autopilot_local::mgn::MgnHandle::start_with(scenario, options)
        .await
        .expect("the MGN stand-in starts");
    let client = mgn(&handle.endpoint());
    client
        .initialize_service()
        .send()
        .await
        .expect("initialized");
    (handle, client)
}

pub async fn s3(emu: &EmulatorHandle) -> aws_sdk_s3::Client {
    let conf = sdk_config(&emu.s3_endpoint(), 1).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// Advances in one-minute steps (so stage details and health periods are sampled).
pub fn advance_secs(emu: &EmulatorHandle, secs: u64) {
    emu.advance(Duration::from_secs(secs));
}

/// A raw HTTP/1.1 exchange: (status, headers lowercased, body).
pub fn raw_http(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).expect("read");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// An SMS call over raw HTTP, signed with a dummy Authorization header.
pub fn raw_sms(endpoint: &str, op: &str, body: &str) -> (u16, serde_json::Value) {
    let target = format!("AWSServerMigrationService_V2016_10_24.{op}");
    let (status, _, body) = raw_http(
        endpoint,
        "POST",
        "/",
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sms/aws4_request, SignedHeaders=host, Signature=0"),
        ],
        body,
    );
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Server id of a VM name in the default scenario.
pub fn server_id(emu: &EmulatorHandle, vm_name: &str) -> String {
    emu.state()
        .servers
        .iter()
        .find(|s| s.vm_name == vm_name)
        .map(|s| s.id.clone())
        .expect("server in scenario")
}

/// A small scenario for focused tests.
pub fn small_scenario(extra: &str) -> Scenario {
    let text = format!(
        "name: small\nseed: 7\nconnectors:\n  - {{ vm_manager_name: vc, vm_manager_type: VSPHERE }}\n\
         servers:\n  - {{ vm_name: a, replication_secs: 600 }}\n  - {{ vm_name: b, replication_secs: 600, fail_runs: 1 }}\n\
         \x20 - {{ vm_name: c, replication_secs: 600, fail_runs: 2, after_failures: failed }}\n\
         \x20 - {{ vm_name: d, unreplicable: true }}\n\
         \x20 - {{ vm_name: late, appears_at_secs: 3600 }}\n{extra}"
    );
    Scenario::from_text(&text).expect("small scenario")
}

/// The default wave with payments rolled back: its fixed plan is put in place at
/// `rollback_at` seconds with payments set to `launch: rollback`, and again at
/// `relaunch_at` with `automatic` and a bigger instance type for its database.
pub fn with_payments_rolled_back(scenario: &mut Scenario, rollback_at: u64, relaunch_at: u64) {
    let fixed = scenario.plans[1].text.clone().expect("the fixed plan");
    let payments = "    tags: { wave: \"1\", owner: finance }\n";
    assert!(fixed.contains(payments), "payments' tags line moved");
    let rolled_back = fixed.replace(payments, &format!("{payments}    launch: rollback\n"));
    let relaunched = fixed.replace("instanceType: r5.large,", "instanceType: r5.xlarge,");
    assert_ne!(relaunched, fixed, "payments' instance type moved");
    scenario.plans[1].at_secs = rollback_at;
    scenario.plans[1].text = Some(rolled_back);
    let mut again = scenario.plans[1].clone();
    again.at_secs = relaunch_at;
    again.text = Some(relaunched);
    scenario.plans.push(again);
}

/// The scenario's versions of the wave plan (the fixed one replaces the first at 4h30),
/// with a broken edit put in place between them at a time drawn from the seed: the
/// planner must refuse it, change nothing, and take the fixed version after it.
pub fn plans_with_a_broken_edit(
    scenario: &Scenario,
    seed: u64,
) -> Vec<autopilot_local::wave::PlanVersion> {
    let mut plans: Vec<autopilot_local::wave::PlanVersion> = scenario
        .plan_versions()
        .into_iter()
        .map(|(at, text)| autopilot_local::wave::PlanVersion {
            after: std::time::Duration::from_secs(at),
            text,
        })
        .collect();
    let broken_at = 1800 + seed.wrapping_mul(7919) % 9000;
    plans.push(autopilot_local::wave::PlanVersion {
        after: std::time::Duration::from_secs(broken_at),
        text: "version: 1\napplications: seven\n".to_owned(),
    });
    plans.sort_by_key(|plan| plan.after);
    plans
}

/// Writes a failed seed's log beside the test's other temporary files: the overlapping
/// invocations make a replay take another path, so the failed run is the one to read.
pub fn keep_log(seed: u64, log: &[autopilot_local::wave::LogEntry]) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("chaos-seed-{seed}.json"));
    let written = serde_json::to_vec_pretty(log)
        .map_err(|e| e.to_string())
        .and_then(|bytes| std::fs::write(&path, bytes).map_err(|e| e.to_string()));
    match written {
        Ok(()) => format!("log in {}", path.display()),
        Err(e) => format!("log not written to {}: {e}", path.display()),
    }
}

/// A chaos seed's verdict: its faults if it kept every guard and converged, else why
/// not, with the wave's log kept beside the test's output to read.
pub fn judged(
    seed: u64,
    report: autopilot_local::wave::WaveReport,
) -> Result<BTreeMap<String, u64>, String> {
    if !report.invariant_breaches.is_empty() {
        let kept = keep_log(seed, &report.log);
        return Err(format!(
            "seed {seed}: {:?} ({kept})",
            report.invariant_breaches
        ));
    }
    if !report.converged {
        let kept = keep_log(seed, &report.log);
        return Err(format!("seed {seed}: {} ({kept})", report.verdict));
    }
    Ok(report.faults)
}

pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
        Err(_) => default,
    }
}

/// Plays seeds `first..first + count` with `play`, which gives each seed's faults or
/// why it failed; prints the line the soak reads (`seeds a..=b: …`) and returns the
/// failures and the faults of the passing seeds, totalled by kind.
pub async fn play_seeds<F, Fut>(
    (first, count): (u64, u64),
    mut play: F,
) -> (Vec<String>, BTreeMap<String, u64>)
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<std::collections::BTreeMap<String, u64>, String>>,
{
    let mut failures = Vec::new();
    let mut totals = std::collections::BTreeMap::new();
    for seed in first..first + count {
        match play(seed).await {
            Ok(faults) => {
                for (kind, made) in faults {
                    *totals.entry(kind).or_default() += made;
                }
            }
            Err(failure) => failures.push(failure),
        }
    }
    eprintln!(
        "seeds {first}..={}: {} passed, {} failed; faults injected in the passing runs: {totals:?}",
        first + count - 1,
        count as usize - failures.len(),
        failures.len()
    );
    (failures, totals)
}
