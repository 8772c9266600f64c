//! `autopilot-local serve` as a process: endpoints printed, the AWS CLI (v1 with the SMS
//! model) working against SMS, S3, MGN and its EC2, Ctrl-C stopping it cleanly, bad
//! input exiting 2.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-local");

/// Interrupts (then kills) the serve process when a test ends, even by panicking.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The serve process and the endpoints it printed, by service (`SMS`, `S3`, `MGN`, …).
fn serve(args: &[&str]) -> (Serve, std::collections::BTreeMap<String, String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut endpoints = std::collections::BTreeMap::new();
    // The banner is a handful of lines; stop at the prompt.
    for _ in 0..30 {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some((service, url)) = line
            .strip_prefix("export AWS_ENDPOINT_URL_")
            .and_then(|rest| rest.split_once('='))
        {
            endpoints.insert(service.to_owned(), url.to_owned());
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    for service in ["SMS", "S3", "EVENTBRIDGE", "MGN", "EC2"] {
        let url = endpoints.get(service).cloned().unwrap_or_default();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "{service}: {endpoints:?}"
        );
    }
    (Serve(child), endpoints)
}

fn interrupt(serve: &mut Serve) -> i32 {
    let child = &mut serve.0;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("serve did not stop on Ctrl-C");
}

/// The AWS CLI v1.32 (botocore 1.34 still ships the SMS model) in a venv under target/.
fn aws_cli() -> Result<PathBuf, String> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let venv = target.join("awscli-venv");
    let aws = venv.join("bin/aws");
    if aws.exists() {
        return Ok(aws);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3: {e}"))?;
    if !ok.success() {
        return Err("python3 -m venv failed".into());
    }
    let ok = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "awscli==1.32.*"])
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !ok.success() || !aws.exists() {
        return Err("pip install awscli==1.32.* failed".into());
    }
    Ok(aws)
}

fn aws(cli: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(cli)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
        .env("AWS_SECRET_ACCESS_KEY", "any-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run aws");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn aws_cli_against_serve() {
    let cli = match aws_cli() {
        Ok(cli) => cli,
        Err(reason) => {
            println!("SKIPPED aws_cli_against_serve: {reason}");
            return;
        }
    };
    let (mut child, endpoints) = serve(&["--speed", "120"]);
    let (sms, s3) = (endpoints["SMS"].clone(), endpoints["S3"].clone());
    let (ok, out, err) = aws(&cli, &["sms", "get-connectors", "--endpoint-url", &sms]);
    assert!(ok, "{err}");
    assert!(out.contains("HEALTHY"), "{out}");
    let (ok, _, err) = aws(
        &cli,
        &["sms", "import-server-catalog", "--endpoint-url", &sms],
    );
    assert!(ok, "{err}");
    // 120 simulated seconds at 120x: about one wall second.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // --no-paginate: the CLI's merged pages keep only the result key.
        let (ok, out, err) = aws(
            &cli,
            &[
                "sms",
                "get-servers",
                "--endpoint-url",
                &sms,
                "--no-paginate",
            ],
        );
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("CLI JSON");
        if v["serverCatalogStatus"] == "AVAILABLE" {
            assert!(
                v["lastModifiedOn"].is_number() || v["lastModifiedOn"].is_string(),
                "{v}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "catalog never became AVAILABLE: {out}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The CLI follows nextToken through pages of 7 and merges them (26 servers exist at start).
    let (ok, out, err) = aws(
        &cli,
        &[
            "sms",
            "get-servers",
            "--endpoint-url",
            &sms,
            "--page-size",
            "7",
        ],
    );
    assert!(ok, "{err}");
    let servers: serde_json::Value = serde_json::from_str(&out).expect("CLI JSON");
    assert_eq!(
        servers["serverList"].as_array().map(Vec::len),
        Some(26),
        "{servers}"
    );
    let (ok, _, err) = aws(
        &cli,
        &[
            "sms",
            "get-app-validation-output",
            "--app-id",
            "app-0123456789abcdef0",
            "--endpoint-url",
            &sms,
        ],
    );
    assert!(!ok && err.contains("not implemented"), "{err}");

    std::fs::write(std::env::temp_dir().join("autopilot-cli-test.txt"), "hello").expect("tmp file");
    let tmp = std::env::temp_dir().join("autopilot-cli-test.txt");
    let (ok, _, err) = aws(
        &cli,
        &[
            "s3",
            "cp",
            tmp.to_str().unwrap_or_default(),
            "s3://sms-autopilot-artifacts/cli/hello.txt",
            "--endpoint-url",
            &s3,
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = aws(
        &cli,
        &[
            "s3",
            "ls",
            "s3://sms-autopilot-artifacts/cli/",
            "--endpoint-url",
            &s3,
        ],
    );
    assert!(ok && out.contains("hello.txt"), "{out} {err}");
    mgn_and_ec2_answer_the_cli(&cli, &endpoints["MGN"], &endpoints["EC2"]);
    assert_eq!(interrupt(&mut child), 0);
}

/// MGN (initialized, its agents' initiation moving with the clock) and its EC2.
fn mgn_and_ec2_answer_the_cli(cli: &Path, mgn: &str, ec2: &str) {
    let (ok, _, err) = aws(cli, &["mgn", "initialize-service", "--endpoint-url", mgn]);
    assert!(ok, "{err}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, out, err) = aws(
            cli,
            &["mgn", "describe-source-servers", "--endpoint-url", mgn],
        );
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("CLI JSON");
        let items = v["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 26, "the estate, agents installed");
        let steps_done = items[0]["dataReplicationInfo"]["dataReplicationInitiation"]["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["status"] == "SUCCEEDED")
            .count();
        if steps_done >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "initiation never moved: {out}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, out, err) = aws(cli, &["ec2", "describe-subnets", "--endpoint-url", ec2]);
    assert!(ok && out.contains("subnet-"), "{out} {err}");
}

#[test]
fn serve_stops_cleanly_on_ctrl_c() {
    let (mut child, endpoints) = serve(&[]);
    assert!(endpoints["SMS"].contains("127.0.0.1"));
    assert_eq!(interrupt(&mut child), 0);
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    for args in [
        vec!["serve", "--speed", "-1"],
        vec!["serve", "--scenario", "/definitely/not/here.yaml"],
        vec!["serve", "--port", "notaport"],
    ] {
        let out = Command::new(BIN).args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
        if args[1] != "--port" {
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    let bad = std::env::temp_dir().join("autopilot-bad-scenario.yaml");
    std::fs::write(&bad, "servers: [{vm_name: a, vm_manager_name: ghost}]\n").expect("write");
    let out = Command::new(BIN)
        .args(["serve", "--scenario"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ghost"));
}
