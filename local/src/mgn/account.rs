//! The account both endpoints serve: its engine, whether InitializeService was
//! called, and what the endpoints share about calls (faults, counters, refusals, the
//! answer hook, the clock following wall time).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::faults::{FaultState, Verdict};
use crate::http::AnswerHook;
use crate::real_time::RealTime;

use super::engine::Engine;
use super::error::MgnError;
use super::{api, protocol};

/// The account as MGN holds it: whether InitializeService was called, and everything
/// the service keeps and does.
pub(crate) struct Account {
    pub(crate) initialized: bool,
    /// The account id answers are made for.
    pub(crate) id: String,
    pub(crate) engine: Engine,
}

/// What the endpoints' requests share.
pub(crate) struct Shared {
    pub(crate) account: Mutex<Account>,
    /// Faults injected into MGN's answers, and into EC2's (their own dice).
    pub(crate) mgn_faults: Mutex<FaultState>,
    pub(crate) ec2_faults: Mutex<FaultState>,
    /// Set when the simulated clock follows the wall clock (`serve`).
    pub(crate) realtime: Mutex<Option<RealTime>>,
    /// Calls received per operation (MGN's by name, EC2's as `ec2:Action`), whatever
    /// their outcome, and the ones the service itself refused, by "Operation Error".
    pub(crate) calls: Mutex<BTreeMap<String, u64>>,
    pub(crate) refusals: Mutex<BTreeMap<String, u64>>,
    pub(crate) on_answer: Mutex<Option<AnswerHook>>,
    /// Wall time during which at least one call was being answered.
    pub(crate) busy: Mutex<Busy>,
}

/// How long the endpoints have been answering calls: overlapping calls count once.
#[derive(Debug, Default)]
pub(crate) struct Busy {
    in_flight: u32,
    since: Option<std::time::Instant>,
    total: std::time::Duration,
}

impl Busy {
    /// The time counted so far, the call under way included.
    pub(crate) fn total(&self) -> std::time::Duration {
        self.total
            + self
                .since
                .map_or_else(Default::default, |since| since.elapsed())
    }
}

impl Account {
    /// Runs `operation`: InitializeService, or (once initialized, or for the few the
    /// model lets run before) whatever the wire layer serves; 501 for the rest.
    pub(crate) fn run(
        &mut self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<api::Output, MgnError> {
        if operation == "InitializeService" {
            self.initialized = true;
            self.engine.initialize();
            return Ok(None);
        }
        if !self.initialized && !protocol::BEFORE_INITIALIZE.contains(&operation) {
            return Err(MgnError::new(
                protocol::ErrorKind::UninitializedAccount,
                "Account is not initialized: call InitializeService first",
            ));
        }
        api::call(&mut self.engine, &self.id, operation, input).unwrap_or_else(|| {
            Err(MgnError::new(
                protocol::ErrorKind::NotImplemented,
                format!("the MGN stand-in does not serve {operation} yet"),
            ))
        })
    }
}

/// A poisoned lock only means another thread panicked mid-update; the data is still the
/// best there is.
pub(crate) fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Answers `request` with `serve`, the time counted as the service's.
    pub(crate) async fn answering<F: std::future::Future>(&self, serve: F) -> F::Output {
        {
            let mut busy = relock(&self.busy);
            if busy.in_flight == 0 {
                busy.since = Some(std::time::Instant::now());
            }
            busy.in_flight += 1;
        }
        let answer = serve.await;
        let mut busy = relock(&self.busy);
        busy.in_flight -= 1;
        if busy.in_flight == 0 {
            if let Some(since) = busy.since.take() {
                busy.total += since.elapsed();
            }
        }
        answer
    }

    /// The account, its clock first brought up to wall time when it follows it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Account> {
        let mut account = self.account.lock().unwrap_or_else(|p| p.into_inner());
        let due = self
            .realtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|rt| rt.now());
        if let Some(due) = due.filter(|due| *due > account.engine.now()) {
            account.engine.advance_to(due);
        }
        account
    }

    /// Counts a call of `operation`.
    pub(crate) fn count(&self, operation: &str) {
        *relock(&self.calls).entry(operation.to_owned()).or_default() += 1;
    }

    /// Records how a call the stand-in took on came out: the hook hears an applied one
    /// (before its caller does), a refusal is counted by its error.
    pub(crate) fn outcome(&self, operation: &str, refused: Option<&str>) {
        match refused {
            None => {
                let hook = relock(&self.on_answer).clone();
                if let Some(hook) = hook {
                    hook(operation);
                }
            }
            Some(error) => {
                *relock(&self.refusals)
                    .entry(format!("{operation} {error}"))
                    .or_default() += 1
            }
        }
    }

    /// What the fault layer does to this call of MGN (`ec2`: of EC2).
    pub(crate) fn judge_faults(&self, ec2: bool) -> Verdict {
        let now = self.lock().engine.now();
        let faults = if ec2 {
            &self.ec2_faults
        } else {
            &self.mgn_faults
        };
        faults.lock().unwrap_or_else(|p| p.into_inner()).judge(now)
    }
}
