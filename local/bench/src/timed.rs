//! Sweeps at scale: the job creator's, the watcher's and the launcher's sweeps over a
//! large generated catalog with latency injected into every SMS call, run in this
//! process with the template's configuration, timed against their ideal (every call
//! takes as long as the emulator took to answer it, and nothing else costs time).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use autopilot_core::config::{AppLauncherConfig, JobCreatorConfig, JobWatcherConfig};
use autopilot_core::runtime::Context;
use autopilot_local::harness::functions;
use autopilot_local::{Faults, Scenario};
use serde_json::Value;

use crate::bench::Bench;
use crate::cycles::SEED;
use crate::error::{MeasureError, Measured};
use crate::world::World;

/// Lambda's limit on one invocation.
pub const LAMBDA_LIMIT_SECS: f64 = 900.0;

/// What a timed sweep covers: which function, over how many of what, and which of its
/// calls it fans out how many at a time.
struct Sweep {
    function: &'static str,
    items: usize,
    unit: &'static str,
    fanned_out: &'static [&'static str],
    concurrency: u32,
}

impl Bench<'_> {
    /// The three sweeps, or why they were not timed.
    pub async fn timed_sweeps(&self) -> Measured<Vec<Timed>> {
        if self.args.skip_scale {
            return Err(MeasureError::LeftOut("--skip-scale"));
        }
        eprintln!(
            "bench: timed sweeps over {} servers / {} apps at {} ms per SMS call",
            self.args.scale_servers, self.args.scale_apps, self.args.latency_ms
        );
        let timeouts = crate::machine::template_timeouts(&self.args.template);
        let mut scenario = Scenario::generate(self.args.scale_servers, self.args.scale_apps, SEED);
        // SMS's default quota of 50 live jobs would refuse most of the 10,000.
        scenario.limits.max_concurrent_jobs = self.args.scale_servers.max(50);
        let world = World::start(scenario, &self.wiring).await?;
        let result = self.timed_in(&world, &timeouts).await;
        world.shutdown().await;
        result
    }

    async fn timed_in(
        &self,
        world: &World,
        timeouts: &BTreeMap<String, u64>,
    ) -> Measured<Vec<Timed>> {
        world.emulator.advance(Duration::from_secs(7 * 3600));
        world.import_catalog()?;
        let creator = self.timed_job_creator(world).await?;
        world.emulator.advance(Duration::from_secs(150 * 60));
        let watcher = self.timed_job_watcher(world).await?;
        let launcher = self.timed_app_launcher(world).await?;
        let latency = self.args.latency_ms;
        Ok([creator, watcher, launcher]
            .into_iter()
            .map(|(sweep, work, run)| Timed::new(sweep, work, run, latency, timeouts))
            .collect())
    }

    /// Latency on every SMS call of a timed sweep.
    fn latency(&self) -> Faults {
        Faults {
            latency_ms: self.args.latency_ms,
            ..Faults::default()
        }
    }

    /// The job creator creating a job for every server at once: the configuration
    /// accepts a cap of at most 1,000, so the parsed policy's cap is raised.
    async fn timed_job_creator(&self, world: &World) -> Measured<(Sweep, String, Run)> {
        let wiring = self.function("job-creator")?;
        let mut config: JobCreatorConfig =
            functions::config(wiring, &[("MAX_ACTIVE_JOBS", "1000")])?;
        config.policy.max_active_jobs = self.args.scale_servers;
        let concurrency = config.create_concurrency;
        let clients = world.clients(config.common.max_attempts);
        let context = Arc::new(Context::<JobCreatorConfig>::new(
            config,
            clients,
            world.clock(),
        ));
        let items = world.list("GetServers", "serverList")?.len();
        let run = time_handler("job-creator", world, &self.latency(), || {
            job_creator::handle(world.schedule(wiring), Arc::clone(&context))
        })
        .await?;
        let work = format!("{items} servers, {} jobs created", run.summary["created"]);
        let sweep = Sweep {
            function: "job-creator",
            items,
            unit: "servers",
            fanned_out: &["CreateReplicationJob"],
            concurrency,
        };
        Ok((sweep, work, run))
    }

    /// The watcher's sweep over a job per server, remediating the failed ones.
    async fn timed_job_watcher(&self, world: &World) -> Measured<(Sweep, String, Run)> {
        let wiring = self.function("job-watcher")?;
        let config: JobWatcherConfig = functions::config(wiring, &[])?;
        let clients = world.clients(config.common.max_attempts);
        let context = Arc::new(Context::<JobWatcherConfig>::new(
            config,
            clients,
            world.clock(),
        ));
        let items = world
            .list("GetReplicationJobs", "replicationJobList")?
            .len();
        let run = time_handler("job-watcher", world, &self.latency(), || {
            job_watcher::handle(world.schedule(wiring), Arc::clone(&context))
        })
        .await?;
        let work = format!(
            "{items} jobs, {} remediations",
            run.summary["remediationsStarted"]
        );
        let sweep = Sweep {
            function: "job-watcher",
            items,
            unit: "jobs",
            fanned_out: &["StartOnDemandReplicationRun"],
            concurrency: job_watcher::REMEDIATIONS_IN_FLIGHT as u32,
        };
        Ok((sweep, work, run))
    }

    /// The launcher's sweep over every app and job.
    async fn timed_app_launcher(&self, world: &World) -> Measured<(Sweep, String, Run)> {
        let wiring = self.function("app-launcher")?;
        let config: AppLauncherConfig = functions::config(wiring, &[])?;
        let concurrency = config.app_concurrency;
        let clients = world.clients(config.common.max_attempts);
        let context = Arc::new(app_launcher::LauncherContext::new(
            config,
            clients,
            world.clock(),
        ));
        let jobs = world
            .list("GetReplicationJobs", "replicationJobList")?
            .len();
        let apps = world.list("ListApps", "apps")?.len();
        let run = time_handler("app-launcher", world, &self.latency(), || {
            app_launcher::handle(world.schedule(wiring), Arc::clone(&context))
        })
        .await?;
        let work = format!(
            "{jobs} jobs / {apps} apps, {} launched",
            run.summary["launched"]
        );
        let sweep = Sweep {
            function: "app-launcher",
            items: apps,
            unit: "apps",
            fanned_out: &["GetApp", "LaunchApp"],
            concurrency,
        };
        Ok((sweep, work, run))
    }
}

/// A handler run with latency on, its calls and wall time.
struct Run {
    wall: Duration,
    calls: BTreeMap<String, u64>,
    /// The time the emulator took to answer the calls, latency included, per operation.
    service: BTreeMap<String, Duration>,
    summary: Value,
}

/// Runs `handler` once with SMS latency on, counting its calls.
async fn time_handler<S, F>(
    function: &'static str,
    world: &World,
    latency: &Faults,
    handler: impl FnOnce() -> F,
) -> Measured<Run>
where
    S: serde::Serialize,
    F: std::future::Future<Output = Result<S, autopilot_core::AutopilotError>>,
{
    world.emulator.reset_call_counts();
    world.emulator.set_faults(latency.clone());
    let started = Instant::now();
    let outcome = handler().await;
    let wall = started.elapsed();
    world.emulator.set_faults(Faults::default());
    world.bus.drain();
    let summary = outcome.map_err(|source| MeasureError::Handler { function, source })?;
    // Summaries are plain data: serialising them cannot fail.
    let summary = serde_json::to_value(summary).unwrap_or(Value::Null);
    Ok(Run {
        wall,
        calls: world.emulator.call_counts(),
        service: world.emulator.service_times(),
        summary,
    })
}

/// One timed sweep against its ideal.
pub struct Timed {
    pub function: &'static str,
    pub work: String,
    pub items: usize,
    /// What `items` counts.
    pub unit: &'static str,
    /// Calls that follow each other (pages of a sweep).
    pub sequential: u64,
    /// Calls fanned out `concurrency` at a time.
    pub parallel: u64,
    /// The time the emulator took to answer the sequential calls, latency included.
    pub sequential_service: Duration,
    /// The same for the fanned-out calls, added up over all of them.
    pub parallel_service: Duration,
    pub concurrency: u32,
    pub latency_ms: u64,
    pub wall: Duration,
    pub timeout_secs: Option<u64>,
}

impl Timed {
    /// Splits the calls of `run`: those of `sweep.fanned_out` run `sweep.concurrency`
    /// at a time, all others one after the other.
    fn new(
        sweep: Sweep,
        work: String,
        run: Run,
        latency_ms: u64,
        timeouts: &BTreeMap<String, u64>,
    ) -> Self {
        let Sweep {
            function,
            items,
            unit,
            fanned_out,
            concurrency,
        } = sweep;
        let (sequential, parallel) = split(&run.calls, fanned_out);
        let (sequential_service, parallel_service) = split(&run.service, fanned_out);
        Self {
            function,
            work,
            items,
            unit,
            sequential,
            parallel,
            sequential_service,
            parallel_service,
            concurrency: concurrency.max(1),
            latency_ms,
            wall: run.wall,
            timeout_secs: timeouts.get(function).copied(),
        }
    }

    /// Every call takes as long as the service took to answer it (the latency as slept,
    /// then the emulator's own work, on the cores the function runs on), and nothing
    /// else costs time.
    pub fn ideal(&self) -> Duration {
        self.sequential_service + self.parallel_service / self.concurrency
    }

    /// The calls' nominal latency alone: (sequential + fanned out / concurrency) ×
    /// latency.
    pub fn nominal(&self) -> Duration {
        let waits = self.sequential as f64 + self.parallel as f64 / f64::from(self.concurrency);
        Duration::from_secs_f64(waits * self.latency_ms as f64 / 1000.0)
    }

    pub fn efficiency(&self) -> f64 {
        self.ideal().as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// Items at which the sweep would take the 15-minute limit, scaling linearly.
    pub fn items_at_limit(&self) -> f64 {
        self.items as f64 * LAMBDA_LIMIT_SECS / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Per-operation figures added up into those of the calls made one after the other and
/// those of the calls fanned out.
fn split<T>(by_operation: &BTreeMap<String, T>, fanned_out: &[&str]) -> (T, T)
where
    T: Copy + Default + std::ops::AddAssign,
{
    let (mut sequential, mut parallel) = (T::default(), T::default());
    for (operation, figure) in by_operation {
        if fanned_out.contains(&operation.as_str()) {
            parallel += *figure;
        } else {
            sequential += *figure;
        }
    }
    (sequential, parallel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(sequential_service: Duration, parallel_service: Duration, wall: Duration) -> Timed {
        Timed {
            function: "job-watcher",
            work: String::new(),
            items: 100,
            unit: "jobs",
            sequential: 100,
            parallel: 200,
            sequential_service,
            parallel_service,
            concurrency: 4,
            latency_ms: 20,
            wall,
            timeout_secs: None,
        }
    }

    #[test]
    fn the_ideal_is_the_services_answering_time_with_fanned_out_calls_shared() {
        let t = timed(
            Duration::from_millis(2_300),
            Duration::from_millis(4_400),
            Duration::from_secs(4),
        );
        assert_eq!(t.ideal(), Duration::from_millis(3_400));
        assert_eq!(t.nominal(), Duration::from_secs(3));
        assert!((t.efficiency() - 0.85).abs() < 1e-9);
    }

    #[test]
    fn calls_and_their_service_times_are_split_by_the_fanned_out_operations() {
        let sweep = Sweep {
            function: "job-watcher",
            items: 10,
            unit: "jobs",
            fanned_out: &["StartOnDemandReplicationRun"],
            concurrency: 4,
        };
        let run = Run {
            wall: Duration::from_secs(1),
            calls: BTreeMap::from([
                ("GetReplicationJobs".to_owned(), 3),
                ("StartOnDemandReplicationRun".to_owned(), 8),
            ]),
            service: BTreeMap::from([
                ("GetReplicationJobs".to_owned(), Duration::from_millis(66)),
                (
                    "StartOnDemandReplicationRun".to_owned(),
                    Duration::from_millis(176),
                ),
            ]),
            summary: Value::Null,
        };
        let t = Timed::new(sweep, String::new(), run, 20, &BTreeMap::new());
        assert_eq!((t.sequential, t.parallel), (3, 8));
        assert_eq!(t.sequential_service, Duration::from_millis(66));
        assert_eq!(t.parallel_service, Duration::from_millis(176));
        assert_eq!(t.ideal(), Duration::from_millis(110));
        assert_eq!(t.nominal(), Duration::from_millis(100));
    }
}
