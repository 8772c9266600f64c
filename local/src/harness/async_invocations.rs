//! Lambda's asynchronous invocations as the local drivers play them: each queued with
//! the time it is due, and a failed one tried again one minute later, then two minutes
//! after that, then dead-lettered (Lambda's default retry policy for asynchronous
//! invocation: two retries). The one queue behind the wave runner and the tests that
//! drive the functions themselves.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Lambda retries a failed asynchronous invocation twice.
pub const RETRIES: u32 = 2;

/// An invocation waiting to run: of `function` (however the driver names one), with
/// `payload`, its `attempt` (0 for the first), due at `due`.
#[derive(Debug, Clone)]
pub struct Pending<F> {
    pub function: F,
    pub payload: Value,
    pub attempt: u32,
    pub due: DateTime<Utc>,
}

/// The invocations waiting, and those Lambda gave up on.
#[derive(Debug)]
pub struct InvocationQueue<F> {
    waiting: VecDeque<Pending<F>>,
    dead_lettered: Vec<String>,
}

impl<F> Default for InvocationQueue<F> {
    fn default() -> Self {
        Self {
            waiting: VecDeque::new(),
            dead_lettered: Vec::new(),
        }
    }
}

impl<F> InvocationQueue<F> {
    /// Queues a first attempt of `function` with `payload`, due at `due`.
    pub fn push(&mut self, function: F, payload: Value, due: DateTime<Utc>) {
        self.waiting.push_back(Pending {
            function,
            payload,
            attempt: 0,
            due,
        });
    }

    /// The invocations due at `now`, in the order they were queued, taken out.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Pending<F>> {
        let (due, later): (VecDeque<_>, VecDeque<_>) =
            self.waiting.drain(..).partition(|p| p.due <= now);
        self.waiting = later;
        due.into()
    }

    /// Whether any invocation is due at `now`.
    pub fn any_due(&self, now: DateTime<Utc>) -> bool {
        self.waiting.iter().any(|p| p.due <= now)
    }

    /// Whether nothing waits, retries included.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Queues Lambda's next retry of `pending`, which failed at `now` with `error`, or
    /// dead-letters it when its retries are spent; `name` names its function.
    pub fn failed(&mut self, pending: Pending<F>, name: &str, error: &str, now: DateTime<Utc>) {
        if pending.attempt < RETRIES {
            let delay = chrono::Duration::minutes(i64::from(pending.attempt) + 1);
            self.waiting.push_back(Pending {
                due: now + delay,
                attempt: pending.attempt + 1,
                ..pending
            });
        } else {
            let trigger = trigger_of(&pending.payload);
            self.dead_lettered
                .push(format!("{name} <- {trigger}: {error}"));
        }
    }

    /// What was dead-lettered, one line each: function, trigger and last error.
    pub fn dead_lettered(&self) -> &[String] {
        &self.dead_lettered
    }
}

/// "source detail-type" of an event, naming what triggered an invocation.
pub fn trigger_of(payload: &Value) -> String {
    format!(
        "{} {}",
        payload["source"].as_str().unwrap_or_default(),
        payload["detail-type"].as_str().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).expect("valid")
    }

    #[test]
    fn a_failed_invocation_is_retried_after_one_then_two_minutes_then_dead_lettered() {
        let mut queue = InvocationQueue::default();
        let event =
            json!({ "source": "aws.sms", "detail-type": "Server Migration Job State Change" });
        queue.push("job-watcher", event, at(0));
        let mut now = at(0);
        for (attempt, wait) in [(0, 1), (1, 2)] {
            let due = queue.take_due(now);
            assert_eq!(due.len(), 1);
            assert_eq!(due[0].attempt, attempt);
            let pending = due.into_iter().next().expect("one");
            queue.failed(pending, "job-watcher", "boom", now);
            assert!(!queue.any_due(now + chrono::Duration::minutes(wait - 1)));
            now += chrono::Duration::minutes(wait);
            assert!(queue.any_due(now));
        }
        let last = queue
            .take_due(now)
            .into_iter()
            .next()
            .expect("the last retry");
        assert_eq!(last.attempt, RETRIES);
        queue.failed(last, "job-watcher", "boom", now);
        assert!(queue.is_empty());
        assert_eq!(
            queue.dead_lettered(),
            ["job-watcher <- aws.sms Server Migration Job State Change: boom"]
        );
    }
}
