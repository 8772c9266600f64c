//! moto's server (PyPI `moto[server]`, a third-party AWS emulator) for the tests that
//! check the project against an AWS implementation other than its own: installed once
//! into `target/venvs/moto`, started on a free loopback port, killed on drop.

use std::fs::File;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName};
use serde_json::Value;

/// The moto release the test runs against.
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a set-up command; what went wrong when it did.
fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// target/venvs/moto with exactly [`MOTO_REQUIREMENT`], created once per test process
/// (the tests that use moto run at once in one binary: a second pip into the same venv
/// would break the first); its `moto_server`.
pub fn moto_venv() -> Result<PathBuf, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED.get_or_init(install_moto).clone()
}

fn install_moto() -> Result<PathBuf, String> {
    let dir = repo_root().join("target/venvs/moto");
    let stamp = dir.join(".installed");
    let server = dir.join("bin/moto_server");
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if server.exists() && installed.trim() == MOTO_REQUIREMENT {
        return Ok(server);
    }
    eprintln!("moto: installing {MOTO_REQUIREMENT} into {}", dir.display());
    let _ = std::fs::remove_dir_all(&dir);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(Command::new(&python).arg("-m").arg("venv").arg(&dir))?;
    run(Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(MOTO_REQUIREMENT))?;
    std::fs::write(&stamp, MOTO_REQUIREMENT).map_err(|e| format!("cannot write {stamp:?}: {e}"))?;
    Ok(server)
}

/// A free loopback port: bound, read and released for the child to take.
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// moto's server, killed on drop.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
    pub log: PathBuf,
}

impl MotoServer {
    pub fn start(binary: &Path) -> Result<Self, String> {
        let log = binary
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .join("moto_server.log");
        let mut last_error = String::new();
        // The port is free when picked but could be taken before moto binds it: retry.
        for _ in 0..3 {
            let port = free_port();
            let out = File::create(&log).map_err(|e| format!("{log:?}: {e}"))?;
            let err = out.try_clone().map_err(|e| format!("{log:?}: {e}"))?;
            let mut child = Command::new(binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {binary:?}: {e}"))?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("moto_server exited with {status}; see {log:?}");
                    break;
                }
                if StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Ok(Self {
                        child,
                        endpoint: format!("http://{addr}"),
                        log,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last_error.is_empty() {
                last_error = format!("moto_server not listening on {addr} after 30 s; see {log:?}");
            }
        }
        Err(last_error)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A queue in moto: its URL and ARN.
pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue in moto")
        .queue_url
        .expect("a queue URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes in moto")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN");
    (url, arn)
}

/// A rule in moto with its one target.
pub async fn rule(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: &str,
    pattern: &Value,
    target: Target,
) {
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutRule {name} on {bus} in moto: {e:?}"));
    let answer = events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutTargets {name} in moto: {e:?}"));
    assert_eq!(
        answer.failed_entry_count, 0,
        "PutTargets {name}: {answer:?}"
    );
}

/// A target delivering the whole event to the queue `queue_arn`.
pub fn queue_target(queue_arn: &str) -> Target {
    Target::builder()
        .id("queue")
        .arn(queue_arn)
        .build()
        .expect("target")
}

/// Receives and deletes every message of a queue; their bodies.
pub async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..1_000 {
        let messages = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("ReceiveMessage from moto")
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        let mut receipts = Vec::new();
        for (i, message) in messages.into_iter().enumerate() {
            let body = message.body.expect("message body");
            bodies.push(body);
            receipts.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(message.receipt_handle.expect("receipt"))
                    .build()
                    .expect("delete entry"),
            );
        }
        sqs.delete_message_batch()
            .queue_url(url)
            .set_entries(Some(receipts))
            .send()
            .await
            .expect("DeleteMessageBatch in moto");
    }
    panic!("queue {url} never emptied");
}

/// moto's server for `test`, installed on first use; None, after saying SKIPPED, when
/// it cannot be installed here (no network to PyPI).
pub async fn start_or_skip(test: &str) -> Option<MotoServer> {
    let binary = match tokio::task::spawn_blocking(moto_venv)
        .await
        .expect("set-up")
    {
        Ok(binary) => binary,
        Err(problem) => {
            // scripts/test.sh installs moto and asks for it: there, a skip would hide it.
            let required = std::env::var("AUTOPILOT_TESTS_REQUIRE")
                .is_ok_and(|tools| tools.split(',').any(|tool| tool == "moto"));
            assert!(
                !required,
                "{test}: cannot set up {MOTO_REQUIREMENT}: {problem}"
            );
            eprintln!("SKIPPED {test}: cannot set up {MOTO_REQUIREMENT}: {problem}");
            return None;
        }
    };
    let moto = tokio::task::spawn_blocking(move || MotoServer::start(&binary))
        .await
        .expect("start")
        .unwrap_or_else(|problem| panic!("moto_server: {problem}"));
    Some(moto)
}
