//! The functions' real binaries in place of their in-process handlers, for the
//! hard-kill harness: each function runs as a process polling a Runtime API of its own,
//! started on first use as Lambda starts a sandbox, and told the wave's simulated time
//! with each invocation. The kill dice kill a process outright (SIGKILL) in the middle of
//! an invocation: at a random moment, or as SMS answers a call that changes something,
//! before the function hears the answer and can record it. The invocation then fails as
//! Lambda reports a crashed runtime (`Runtime.ExitError`), and the next one starts a new
//! process, as Lambda starts a new sandbox.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use autopilot_core::clients::Endpoints;
use autopilot_core::runtime::{Clock, ACCEPT_SIMULATED_CLOCK};
use autopilot_core::AutopilotError;
use serde_json::Value;

use super::bootstrap::{Bootstrap, Output};
use super::clients::StaticCredentials;
use super::functions::{Invocation, Invoker};
use super::runtime_api::{lambda_environment, Report, RuntimeApi, Sandbox};
use super::wiring::Wiring;
use crate::rng::SplitMix64;
use crate::AnswerHook;

/// How often an invocation's process is looked at while it runs.
const POLL: Duration = Duration::from_millis(5);

/// Where the binaries are, how long an invocation may take, and how often to kill.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Each function's executable, by binary name.
    pub binaries: BTreeMap<String, PathBuf>,
    /// The time each invocation is given (its lease lasts that long after a kill).
    pub limit: Duration,
    pub kills: Option<KillDice>,
}

/// Which invocations are killed, and where.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KillDice {
    pub seed: u64,
    /// Share of invocations killed at a random moment (0-40 ms after they start).
    pub rate: f64,
    /// Share of SMS calls that change something after which the calling process is
    /// killed, before it hears the answer.
    pub action_rate: f64,
}

/// The process of the running invocation and the dice that kill it; shared with the
/// emulator's answer hook.
#[derive(Default)]
pub struct Killer {
    state: Mutex<KillerState>,
}

#[derive(Default)]
struct KillerState {
    dice: Option<(SplitMix64, KillDice)>,
    running: Option<u32>,
    /// Kills made, by where.
    kills: BTreeMap<String, u64>,
}

/// Whether a call to SMS, MGN or EC2 changes something: reads are the Get, List and
/// Describe calls (EC2's named `ec2:Describe…`), everything else is an action.
pub fn changes_something(operation: &str) -> bool {
    let name = operation.strip_prefix("ec2:").unwrap_or(operation);
    !["Get", "List", "Describe"]
        .iter()
        .any(|read| name.starts_with(read))
}

impl Killer {
    /// A killer drawing from `kills`; one that never kills without them.
    pub fn new(kills: Option<KillDice>) -> Arc<Self> {
        let state = KillerState {
            dice: kills.map(|k| (SplitMix64::new(k.seed ^ 0x6b11_1ed5), k)),
            ..KillerState::default()
        };
        Arc::new(Self {
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KillerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the process running an invocation and draws whether to kill it at a
    /// random moment: how long after it starts.
    fn arm(&self, pid: u32) -> Option<Duration> {
        let mut state = self.lock();
        state.running = Some(pid);
        state.dice.as_mut().and_then(|(dice, kills)| {
            (dice.next_f64() < kills.rate).then(|| Duration::from_millis(dice.next_u64() % 40))
        })
    }

    fn disarm(&self) {
        self.lock().running = None;
    }

    /// The migration service's answer hook: kills the running process on the armed
    /// action (a call that [changes something](changes_something)).
    pub fn answer_hook(self: &Arc<Self>) -> AnswerHook {
        let killer = Arc::clone(self);
        Arc::new(move |operation: &str| {
            if changes_something(operation) {
                killer.on_action();
            }
        })
    }

    fn on_action(&self) {
        let mut state = self.lock();
        let Some(pid) = state.running else {
            return;
        };
        let kill_now = state
            .dice
            .as_mut()
            .is_some_and(|(dice, kills)| dice.next_f64() < kills.action_rate);
        if kill_now {
            kill(pid);
            *state
                .kills
                .entry("after a service action".into())
                .or_default() += 1;
        }
    }

    fn killed_after_delay(&self, pid: u32) {
        let mut state = self.lock();
        kill(pid);
        *state.kills.entry("at a random moment".into()).or_default() += 1;
    }

    /// Kills made so far, as a wave's faults name them (`processes killed <where>`).
    pub fn kills(&self) -> BTreeMap<String, u64> {
        let kills = &self.lock().kills;
        kills
            .iter()
            .map(|(point, count)| (format!("processes killed {point}"), *count))
            .collect()
    }
}

/// SIGKILL, and only once the signal is sent does the caller go on: the emulator's
/// answer must not reach the process first.
fn kill(pid: u32) {
    let sent = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(error) = sent {
        tracing::warn!(pid, %error, "kill could not be run");
    }
}

/// One function's sandbox: its Runtime API, its process when one runs.
struct ProcessSandbox {
    binary: PathBuf,
    environment: BTreeMap<String, String>,
    api: RuntimeApi,
    child: Option<Bootstrap>,
    limit: Duration,
}

impl ProcessSandbox {
    /// The running process's id, starting one first when none runs (a cold start).
    fn running_pid(&mut self) -> Result<u32, AutopilotError> {
        if !self.alive() {
            let child = Bootstrap::spawn(&self.binary, &self.environment, Output::Discarded)
                .map_err(|error| AutopilotError::Reported {
                    error_type: "Runtime.InvalidEntrypoint".into(),
                    message: format!("cannot start {}: {error}", self.binary.display()),
                })?;
            self.child = Some(child);
        }
        Ok(self.child.as_ref().map_or(0, Bootstrap::id))
    }

    /// Runs one invocation at simulated time `now`, killing the process where `killer`
    /// says; the function's summary, or how the invocation failed.
    async fn invoke(
        &mut self,
        payload: Value,
        now: chrono::DateTime<chrono::Utc>,
        killer: &Killer,
    ) -> Result<Value, AutopilotError> {
        let pid = self.running_pid()?;
        self.api.invoke_at(payload, now);
        let armed = killer.arm(pid);
        let started = Instant::now();
        let outcome = self.wait(pid, started, armed, killer).await;
        killer.disarm();
        outcome
    }

    async fn wait(
        &mut self,
        pid: u32,
        started: Instant,
        armed: Option<Duration>,
        killer: &Killer,
    ) -> Result<Value, AutopilotError> {
        while started.elapsed() < self.limit {
            if let Some(report) = self.api.report(POLL).await {
                return report_outcome(report);
            }
            if let Some(delay) = armed {
                if started.elapsed() >= delay && self.alive() {
                    killer.killed_after_delay(pid);
                }
            }
            if !self.alive() {
                self.child = None;
                return Err(AutopilotError::Reported {
                    error_type: "Runtime.ExitError".into(),
                    message: "RequestId: the process was killed (signal: killed)".into(),
                });
            }
        }
        self.child = None;
        Err(AutopilotError::Reported {
            error_type: "Sandbox.Timedout".into(),
            message: format!(
                "Task timed out after {:.2} seconds",
                self.limit.as_secs_f64()
            ),
        })
    }

    fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(Bootstrap::alive)
    }
}

/// What the function's report says of its invocation.
fn report_outcome(report: Report) -> Result<Value, AutopilotError> {
    match report {
        Report::Response { body, .. } => Ok(body),
        Report::InvocationError {
            error_type, body, ..
        }
        | Report::InitError { error_type, body } => Err(AutopilotError::Reported {
            error_type: error_type.unwrap_or_else(|| "Unhandled".into()),
            message: body["errorMessage"].as_str().unwrap_or_default().to_owned(),
        }),
    }
}

/// Each function of `wiring` as a process, with its template environment, `overrides`
/// and the local endpoints; the invokers in the template's order.
pub async fn process_invokers(
    wiring: &Wiring,
    overrides: &[(&str, &str)],
    endpoints: &Endpoints,
    clock: &Clock,
    options: &ProcessOptions,
    killer: &Arc<Killer>,
) -> std::io::Result<Vec<(String, Invoker)>> {
    let mut invokers = Vec::new();
    for function in &wiring.functions {
        let binary = options
            .binaries
            .get(&function.binary)
            .cloned()
            .ok_or_else(|| {
                std::io::Error::other(format!("no binary given for {}", function.binary))
            })?;
        let api = RuntimeApi::start_with_limit(options.limit).await?;
        let sandbox = Sandbox {
            memory_mb: 128,
            log_stream: "hard-kills",
            credentials: StaticCredentials::LOCAL,
            endpoints,
        };
        let mut environment = lambda_environment(&function.binary, api.addr(), &sandbox);
        environment.extend(function.environment.clone());
        environment.extend(
            overrides
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        environment.insert(ACCEPT_SIMULATED_CLOCK.into(), "true".into());
        let sandbox = Arc::new(tokio::sync::Mutex::new(ProcessSandbox {
            binary,
            environment,
            api,
            child: None,
            limit: options.limit,
        }));
        let (clock, killer) = (Arc::clone(clock), Arc::clone(killer));
        let invoker: Invoker = Arc::new(move |payload: Value| -> Invocation {
            let (sandbox, clock, killer) = (
                Arc::clone(&sandbox),
                Arc::clone(&clock),
                Arc::clone(&killer),
            );
            Box::pin(async move {
                // One sandbox per function: its invocations run one after another.
                let mut sandbox = sandbox.lock().await;
                sandbox.invoke(payload, clock(), &killer).await
            })
        });
        invokers.push((function.binary.clone(), invoker));
    }
    Ok(invokers)
}
