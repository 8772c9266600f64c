//! A simulated clock that follows the wall clock, for both stand-ins under `serve`:
//! anchored at a wall instant and a simulated time, it runs `speed` simulated
//! milliseconds per real one; a ticker brings the engine up to it every few
//! milliseconds until told to stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::schedule::Millis;

/// Wall-clock anchoring of a simulated clock.
#[derive(Debug, Clone, Copy)]
pub struct RealTime {
    speed: f64,
    wall: Instant,
    sim: Millis,
}

impl RealTime {
    /// A clock at `sim` now, running `speed` times wall time; the speed must be a
    /// positive number.
    pub fn new(speed: f64, sim: Millis) -> Result<Self, String> {
        if speed.is_finite() && speed > 0.0 {
            Ok(Self {
                speed,
                wall: Instant::now(),
                sim,
            })
        } else {
            Err(format!("speed must be a positive number, got {speed}"))
        }
    }

    /// Where the simulated clock is now.
    pub fn now(&self) -> Millis {
        self.sim + (self.wall.elapsed().as_secs_f64() * 1000.0 * self.speed) as Millis
    }

    /// Moves the anchor on by `delta` simulated milliseconds (an explicit advance).
    pub fn shift(&mut self, delta: Millis) {
        self.sim = self.sim.saturating_add(delta.max(0));
    }
}

/// Runs `sync` every 20 ms until `stopped` changes.
pub fn ticker(
    sync: Arc<dyn Fn() + Send + Sync>,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => sync(),
                _ = stopped.changed() => break,
            }
        }
    })
}
