//! The functions' real binaries for the tests that run them as Lambda would
//! (runtime_api.rs, hard_kills.rs): the debug builds, made on first use by
//! `cargo build --workspace --bins --test suite` (cargo decides what is stale; the
//! `--test` keeps dev-dependency features on, so a `cargo test --workspace` run reuses
//! every dependency it already compiled), or prebuilt ones from
//! `AUTOPILOT_BOOTSTRAP_DIR`, laid out as cargo-lambda writes them
//! (`<dir>/<name>/bootstrap`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use autopilot_local::harness::functions::NAMES;
use serde_json::Value;

/// Longest wait for cargo to bring the binaries up to date (a cold debug build on two
/// busy cores included).
const BUILD_WAIT: Duration = Duration::from_secs(30 * 60);

/// Every function's binary, by name.
pub fn all() -> BTreeMap<String, PathBuf> {
    NAMES
        .iter()
        .map(|name| ((*name).to_owned(), binary(name)))
        .collect()
}

/// Each function's binary, built once per test process.
pub fn binary(function: &str) -> PathBuf {
    static BINARIES: OnceLock<Result<BTreeMap<String, PathBuf>, String>> = OnceLock::new();
    let binaries = BINARIES
        .get_or_init(locate_binaries)
        .as_ref()
        .unwrap_or_else(|problem| panic!("{problem}"));
    binaries
        .get(function)
        .cloned()
        .unwrap_or_else(|| panic!("no binary for {function} among {binaries:?}"))
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn locate_binaries() -> Result<BTreeMap<String, PathBuf>, String> {
    if let Some(dir) = std::env::var_os("AUTOPILOT_BOOTSTRAP_DIR") {
        let dir = workspace_root().join(dir);
        return NAMES
            .iter()
            .map(|name| {
                let path = dir.join(name).join("bootstrap");
                if path.is_file() {
                    Ok(((*name).to_owned(), path))
                } else {
                    Err(format!(
                        "AUTOPILOT_BOOTSTRAP_DIR: {} is missing",
                        path.display()
                    ))
                }
            })
            .collect();
    }
    build_binaries()
}

/// Runs cargo and reads the executables' paths from its JSON messages, so a custom
/// CARGO_TARGET_DIR or build directory is followed.
fn build_binaries() -> Result<BTreeMap<String, PathBuf>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let args = [
        "build",
        "--workspace",
        "--bins",
        "--test",
        "suite",
        "--message-format=json-render-diagnostics",
        "--quiet",
    ];
    let started = Instant::now();
    let mut child = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_for_exit(&mut child, BUILD_WAIT);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let command = format!("{cargo} {}", args.join(" "));
    match status {
        Some(status) if status.success() => {}
        Some(status) => return Err(format!("`{command}` failed ({status}):\n{stderr}")),
        None => {
            return Err(format!(
                "`{command}` did not finish within {BUILD_WAIT:?}:\n{stderr}"
            ))
        }
    }
    eprintln!(
        "runtime_api: `{command}` took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut found = BTreeMap::new();
    for message in stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        let target = &message["target"];
        let is_bin = target["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        let name = target["name"].as_str().unwrap_or_default();
        if message["reason"] == "compiler-artifact" && is_bin && NAMES.contains(&name) {
            if let Some(executable) = message["executable"].as_str() {
                found.insert(name.to_owned(), PathBuf::from(executable));
            }
        }
    }
    if found.len() == NAMES.len() {
        Ok(found)
    } else {
        Err(format!(
            "`{command}` reported executables for {:?} only",
            found.keys()
        ))
    }
}

/// Reads a pipe to its end on a thread.
pub fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Waits for a child to exit; kills it after `limit`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
