//! EventBridge's best-effort delivery of service events, for both stand-ins: a seeded
//! share of events never reaches a subscriber, and the dropped ones are counted.

use crate::rng::SplitMix64;

/// Which events EventBridge delivers: all but a seeded share `rate`.
#[derive(Debug)]
pub(crate) struct Delivery {
    rate: f64,
    dice: SplitMix64,
    dropped: u64,
}

impl Delivery {
    pub(crate) fn new(rate: f64, seed: u64) -> Self {
        Self {
            rate,
            dice: SplitMix64::new(seed ^ 0xd70b_d70b),
            dropped: 0,
        }
    }

    /// Changes the share dropped; the dice sequence carries on.
    pub(crate) fn set_rate(&mut self, rate: f64) {
        self.rate = rate;
    }

    /// Restarts the dice from `seed`.
    pub(crate) fn reseed(&mut self, seed: u64) {
        self.dice = SplitMix64::new(seed ^ 0xd70b_d70b);
    }

    /// Whether the next event reaches its subscribers (a dropped one is counted).
    pub(crate) fn delivers(&mut self) -> bool {
        if self.rate > 0.0 && self.dice.next_f64() < self.rate {
            self.dropped += 1;
            return false;
        }
        true
    }

    /// Events dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}
