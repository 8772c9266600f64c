//! Running the invocations due at a step as Lambda runs asynchronous invocations: a
//! failed one is retried twice, one and two minutes later, then dead-lettered; under
//! chaos, due invocations run in a shuffled order, some twice at once (where the
//! function's reserved concurrency allows it) and some cut off like a timeout, with the
//! deadline the handler is told matching the cut.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::dispatch::Dispatch;
use super::LogEntry;
use crate::harness::async_invocations::{self, trigger_of};
use crate::harness::functions::Invoker;
use crate::harness::payloads::stamp;

/// An invocation waiting to run, of a function named by its index in the wiring.
pub(super) type Pending = async_invocations::Pending<usize>;

/// How one invocation ended: its summary, or why it failed.
type Outcome = Result<Value, String>;

/// Runs `invoker` with `payload`, cut off after `cut_after` when given.
async fn invoke(invoker: &Invoker, payload: Value, cut_after: Option<Duration>) -> Outcome {
    let outcome = match cut_after {
        // Lambda tells the function its deadline, and so does the driver for the
        // invocations it cuts; a timed-out invocation is retried like a failed one.
        Some(limit) => {
            let running =
                autopilot_core::runtime::with_deadline(Instant::now() + limit, invoker(payload));
            match tokio::time::timeout(limit, running).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(format!(
                        "cut off after {} ms (simulated Lambda timeout)",
                        limit.as_millis()
                    ))
                }
            }
        }
        None => invoker(payload).await,
    };
    outcome.map_err(|error| format!("{}: {error}", error.retryability()))
}

impl Dispatch {
    /// Runs every queued invocation due at `now`.
    pub(super) async fn run_due(&mut self, now: DateTime<Utc>) {
        let mut due = self.queue.take_due(now);
        if let Some(chaos) = self.chaos.as_mut() {
            chaos.shuffle(&mut due);
        }
        for pending in due {
            let outcomes = self.run_one(&pending).await;
            let failed = self.record(&pending, outcomes, now);
            if let Some(error) = failed {
                self.retry_or_dead_letter(pending, error, now);
            }
        }
    }

    /// Runs one invocation, twice at once when the chaos dice say so.
    async fn run_one(&mut self, pending: &Pending) -> Vec<Outcome> {
        let may_overlap = self.wiring.functions[pending.function].reserved_concurrency != Some(1);
        let (twice, cut_after) = match self.chaos.as_mut() {
            Some(chaos) => chaos.dice(may_overlap),
            None => (false, None),
        };
        if twice {
            if let Some(chaos) = self.chaos.as_mut() {
                chaos.count("invocations run twice at once", 1);
            }
        }
        let Some(invoker) = self.functions.by_index(pending.function) else {
            return vec![Err(format!("no handler for function {}", pending.function))];
        };
        if twice {
            let (a, b) = tokio::join!(
                invoke(invoker, pending.payload.clone(), cut_after),
                invoke(invoker, pending.payload.clone(), cut_after)
            );
            vec![a, b]
        } else {
            vec![invoke(invoker, pending.payload.clone(), cut_after).await]
        }
    }

    /// Logs and counts each run of `pending`; the last failure, if any run failed.
    fn record(
        &mut self,
        pending: &Pending,
        outcomes: Vec<Outcome>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let function = self.wiring.functions[pending.function].binary.clone();
        let trigger = trigger_of(&pending.payload);
        let mut failed = None;
        for result in outcomes {
            *self.invocations.entry(function.clone()).or_default() += 1;
            let (outcome, summary) = match &result {
                Ok(summary) => ("ok".to_owned(), summary.clone()),
                Err(error) => (error.clone(), Value::Null),
            };
            self.log.push(LogEntry::Invocation {
                time: stamp(now),
                function: function.clone(),
                trigger: trigger.clone(),
                attempt: pending.attempt,
                outcome,
                summary,
            });
            if let Err(error) = result {
                if error.starts_with("cut off") {
                    if let Some(chaos) = self.chaos.as_mut() {
                        chaos.count("invocations cut off", 1);
                    }
                }
                failed = Some(error);
            }
        }
        failed
    }

    /// Queues Lambda's next retry of a failed invocation, or dead-letters it.
    fn retry_or_dead_letter(&mut self, pending: Pending, error: String, now: DateTime<Utc>) {
        let function = &self.wiring.functions[pending.function].binary;
        let trigger = trigger_of(&pending.payload);
        tracing::warn!(%function, %trigger, %error, attempt = pending.attempt, "invocation failed");
        self.queue.failed(pending, function, &error, now);
    }
}
