//! Cold starts: each function's release binary started fresh, as Lambda starts a new
//! execution environment, in a small world of its own, timed from spawn to its first
//! poll of the Runtime API (init) and to its first response, with its peak memory.

use autopilot_local::harness::two_server_scenario;

use crate::bench::Bench;
use crate::error::Measured;
use crate::world::World;

/// Cold-start figures of one function.
pub struct ColdStart {
    pub init_ms: Vec<f64>,
    pub done_ms: Vec<f64>,
    pub peak_rss_kib: Vec<u64>,
}

impl Bench<'_> {
    /// `starts` cold starts of `function`, each in a fresh small world so every first
    /// invocation does the same work.
    pub async fn cold_starts(&self, function: &str) -> Measured<ColdStart> {
        let mut figures = ColdStart::new();
        let wiring = self.function(function)?;
        for _ in 0..self.args.starts {
            let world = World::start(two_server_scenario(), &self.wiring).await?;
            let event = match function {
                "catalog-import" => world.schedule(wiring),
                "job-creator" => {
                    world.import_catalog()?;
                    world.schedule(wiring)
                }
                "template-generator" => {
                    let (id, name) = world.replicate_first_app()?;
                    world.app_ready(&id, &name, 2)
                }
                _ => {
                    world.replicate_first_app()?;
                    world.schedule(wiring)
                }
            };
            let invocation = self.invoke(&world, function, event).await;
            world.shutdown().await;
            figures.take(&invocation?);
        }
        Ok(figures)
    }
}

impl ColdStart {
    pub fn new() -> Self {
        Self {
            init_ms: Vec::new(),
            done_ms: Vec::new(),
            peak_rss_kib: Vec::new(),
        }
    }

    /// Adds one start's figures.
    pub fn take(&mut self, invocation: &crate::bench::Invocation) {
        self.init_ms.push(millis(invocation.init));
        self.done_ms.push(millis(invocation.done));
        self.peak_rss_kib.extend(invocation.peak_rss_kib);
    }
}

fn millis(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
