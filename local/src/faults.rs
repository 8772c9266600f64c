//! Fault injection for both stand-ins: latency and latency spikes, a per-second call
//! budget whose excess is throttled, and a fraction of calls answered with an internal
//! error; each stand-in answers a fault in its own protocol's words.
//!
//! The 500s are decided by a PRNG seeded from the scenario, drawn once per call that
//! got past the throttle, so a given sequence of calls meets the same faults on every
//! run. Real-clock throttling depends on how fast the client calls, which is the point.

use std::time::{Duration, Instant};

use crate::rng::SplitMix64;
use crate::scenario::{Faults, ThrottleClock};
use crate::schedule::Millis;

/// Live fault settings plus the state they need.
pub(crate) struct FaultState {
    cfg: Faults,
    dice: SplitMix64,
    origin: Instant,
    window: Option<(i64, u32)>,
    injected: FaultCounts,
}

/// Answers changed by injected faults so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub throttled: u64,
    pub internal_errors: u64,
    pub slowed: u64,
    /// Service events EventBridge did not deliver (counted by the engine, which emits them).
    pub events_dropped: u64,
}

/// An injected error instead of the real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InjectedFault {
    /// Over the call budget.
    Throttled,
    /// The service failed.
    InternalError,
}

/// What the fault layer decided for one call.
pub(crate) struct Verdict {
    /// Wall-clock delay before answering.
    pub latency: Duration,
    pub error: Option<InjectedFault>,
}

impl FaultState {
    pub(crate) fn new(cfg: Faults, seed: u64) -> Self {
        let mut state = Self {
            cfg,
            dice: SplitMix64::new(0),
            origin: Instant::now(),
            window: None,
            injected: FaultCounts::default(),
        };
        state.reseed(seed);
        state
    }

    pub(crate) fn reseed(&mut self, seed: u64) {
        self.dice = SplitMix64::new(seed ^ 0xfa17_fa17);
    }

    pub(crate) fn injected(&self) -> FaultCounts {
        self.injected
    }

    pub(crate) fn config(&self) -> &Faults {
        &self.cfg
    }

    /// Replaces the settings; the dice sequence carries on.
    pub(crate) fn set(&mut self, cfg: Faults) {
        self.cfg = cfg;
        self.window = None;
    }

    pub(crate) fn judge(&mut self, sim_now: Millis) -> Verdict {
        let mut latency = Duration::from_millis(self.cfg.latency_ms);
        if let Some(spikes) = &self.cfg.latency_spikes {
            if self.dice.next_f64() < spikes.rate {
                latency += Duration::from_millis(spikes.extra_ms);
                self.injected.slowed += 1;
            }
        }
        if let Some(t) = &self.cfg.throttle {
            let second = match t.per {
                ThrottleClock::Real => {
                    i64::try_from(self.origin.elapsed().as_secs()).unwrap_or(i64::MAX)
                }
                ThrottleClock::Simulated => sim_now.div_euclid(1000),
            };
            let count = match self.window {
                Some((s, n)) if s == second => n + 1,
                _ => 1,
            };
            self.window = Some((second, count));
            if count > t.max_calls_per_second {
                self.injected.throttled += 1;
                return Verdict {
                    latency,
                    error: Some(InjectedFault::Throttled),
                };
            }
        }
        if self.cfg.error_rate > 0.0 && self.dice.next_f64() < self.cfg.error_rate {
            self.injected.internal_errors += 1;
            return Verdict {
                latency,
                error: Some(InjectedFault::InternalError),
            };
        }
        Verdict {
            latency,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Throttle;

    #[test]
    fn error_rate_is_deterministic_and_about_right() {
        let cfg = Faults {
            error_rate: 0.25,
            ..Faults::default()
        };
        let run = |seed| {
            let mut f = FaultState::new(cfg.clone(), seed);
            (0..1000)
                .map(|_| f.judge(0).error.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        let errors = run(5).iter().filter(|e| **e).count();
        assert!((180..320).contains(&errors), "{errors}");
        let mut counted = FaultState::new(cfg.clone(), 5);
        for _ in 0..1000 {
            counted.judge(0);
        }
        assert_eq!(
            counted.injected(),
            FaultCounts {
                internal_errors: errors as u64,
                ..FaultCounts::default()
            }
        );
    }

    #[test]
    fn simulated_throttle_allows_budget_per_second() {
        let cfg = Faults {
            throttle: Some(Throttle {
                max_calls_per_second: 3,
                per: ThrottleClock::Simulated,
            }),
            ..Faults::default()
        };
        let mut f = FaultState::new(cfg, 1);
        let first: Vec<bool> = (0..5).map(|_| f.judge(1_000).error.is_some()).collect();
        assert_eq!(first, [false, false, false, true, true]);
        assert!(f.judge(2_000).error.is_none());
    }
}
