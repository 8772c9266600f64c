//! Starting the functions' release binaries the way Lambda starts `bootstrap` and
//! invoking them once through the harness's Runtime API.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use autopilot_local::harness::bootstrap::{Bootstrap, Output};
use autopilot_local::harness::functions;
use autopilot_local::harness::runtime_api::{Report, RuntimeApi, INVOCATION_LIMIT};
use autopilot_local::harness::wiring::{FunctionWiring, Wiring};
use autopilot_local::wave::mgn::MGN_BACKEND;
use serde_json::Value;

use crate::args::BenchArgs;
use crate::error::{BenchError, MeasureError, Measured};
use crate::sandbox::{environment, Sandboxed};

/// Runs the measurements: the arguments, the functions as the template deploys them
/// (with `Backend` SMS, and with MGN), and a folder for the binaries' output.
pub struct Bench<'a> {
    pub args: &'a BenchArgs,
    pub wiring: Wiring,
    pub mgn_wiring: Wiring,
    pub logs: tempfile::TempDir,
    runs: Mutex<u64>,
}

impl<'a> Bench<'a> {
    pub fn new(args: &'a BenchArgs) -> Result<Self, BenchError> {
        Ok(Self {
            args,
            wiring: Wiring::load(&args.template)?,
            mgn_wiring: Wiring::load_with(&args.template, &MGN_BACKEND)?,
            logs: tempfile::tempdir().map_err(|source| BenchError::Io {
                path: "temporary folder".into(),
                source,
            })?,
            runs: Mutex::new(0),
        })
    }
}

impl Bench<'_> {
    pub fn function(&self, name: &str) -> Measured<&FunctionWiring> {
        Ok(functions::wiring_of(&self.wiring, name)?)
    }

    pub fn binary(&self, name: &str) -> Measured<PathBuf> {
        let path = self.args.bin_dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(MeasureError::binary(
                &path.display().to_string(),
                format!("missing: run `cargo build --release -p {name}` (scripts/bench.sh does)"),
            ))
        }
    }

    /// Starts `function`'s binary in `world`, invokes it once with `event`, and reads
    /// its peak RSS once it polls for the next invocation.
    pub async fn invoke(
        &self,
        world: &impl Sandboxed,
        function: &str,
        event: Value,
    ) -> Measured<Invocation> {
        self.invoke_with(world, function, event, &[]).await
    }

    /// As [`Bench::invoke`], with `extra_env` over the template's environment.
    pub async fn invoke_with(
        &self,
        world: &impl Sandboxed,
        function: &str,
        event: Value,
        extra_env: &[(String, String)],
    ) -> Measured<Invocation> {
        let binary = self.binary(function)?;
        let wiring = functions::wiring_of(world.stack(&self.wiring, &self.mgn_wiring), function)?;
        let api = RuntimeApi::start()
            .await
            .map_err(MeasureError::RuntimeApi)?;
        let request_id = api.invoke(event);
        let mut env = environment(wiring, api.addr(), &world.endpoints());
        env.extend(self.args.child_env.iter().cloned());
        env.extend(extra_env.iter().cloned());
        let run = {
            let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
            *runs += 1;
            *runs
        };
        let logs = self.logs.path().join(format!("{function}-{run}"));
        let process = Bootstrap::spawn(&binary, &env, Output::Files(logs)).map_err(|e| {
            MeasureError::binary(&binary.display().to_string(), format!("cannot start: {e}"))
        })?;
        if !api
            .wait_for(INVOCATION_LIMIT, |_, reports| reports > 0)
            .await
        {
            return Err(MeasureError::binary(
                function,
                format!(
                    "did not answer within {INVOCATION_LIMIT:?}\n{}",
                    process.tail(5)
                ),
            ));
        }
        // The runtime polls again once the response is posted: the invocation is over.
        api.wait_for(Duration::from_secs(5), |next, _| next >= 2)
            .await;
        let peak_rss_kib = peak_rss_kib(process.id());
        let spawned = process.spawned();
        drop(process);
        let next = api.next_calls();
        let (answered_at, report) = api
            .reports()
            .into_iter()
            .next()
            .ok_or_else(|| MeasureError::binary(function, "reported nothing"))?;
        let summary = match report {
            Report::Response {
                request_id: answered,
                body,
            } if answered == request_id && body.is_object() => body,
            other => {
                return Err(MeasureError::binary(
                    function,
                    format!("expected a summary, got {other:?}"),
                ))
            }
        };
        tracing::debug!(%function, %summary, "invocation complete");
        if !api.unexpected().is_empty() {
            return Err(MeasureError::binary(
                function,
                format!("called {:?}", api.unexpected()),
            ));
        }
        let first_poll = next
            .first()
            .ok_or_else(|| MeasureError::binary(function, "never polled invocation/next"))?;
        Ok(Invocation {
            init: first_poll.saturating_duration_since(spawned),
            done: answered_at.saturating_duration_since(spawned),
            peak_rss_kib,
        })
    }
}

/// Peak resident set size so far (VmHWM) of process `pid`, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One invocation of a function binary.
pub struct Invocation {
    /// Spawn to the first GET invocation/next.
    pub init: Duration,
    /// Spawn to the response of the first invocation.
    pub done: Duration,
    /// VmHWM once the response was posted and the runtime polled again.
    pub peak_rss_kib: Option<u64>,
}
