//! The project's functions, registered once: each deployed binary's name bound to its
//! handler, with a context built the way Lambda builds one — configuration read from the
//! environment `infra/template.yaml` gives it, clients made once, the caller's clock.
//! The wave runner, the bench and the integration tests all invoke handlers through
//! here, so adding a function is one line in [`bind_handler`] and one in [`NAMES`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use autopilot_core::config::{
    AppLauncherConfig, AppPlannerConfig, CatalogImportConfig, ConfigErrors, FunctionConfig,
    JobCreatorConfig, JobWatcherConfig, MgnImportConfig, MgnLauncherConfig, MgnPlannerConfig,
    MgnWatcherConfig, TemplateGeneratorConfig, WaveReporterConfig,
};
use autopilot_core::runtime::{run_alone_if_asked, Clock, Context};
use autopilot_core::trigger::is_scheduled;
use autopilot_core::{AutopilotError, Clients};
use serde::Serialize;
use serde_json::Value;

use super::wiring::{FunctionWiring, Wiring};

/// The deployed binaries of either backend, in the order reports list them.
pub const NAMES: [&str; 11] = [
    "app-planner",
    "catalog-import",
    "job-creator",
    "job-watcher",
    "template-generator",
    "app-launcher",
    "wave-reporter",
    "mgn-planner",
    "mgn-watcher",
    "mgn-launcher",
    "mgn-import",
];

/// Why the functions could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    /// The template's environment is refused by the function's configuration.
    #[error("function {function}: {source}")]
    Config {
        function: String,
        source: ConfigErrors,
    },
    /// The template deploys a binary this project has no handler for.
    #[error("function {0} in the template has no handler here")]
    Unknown(String),
    /// A function the caller needs is not in the template.
    #[error("function {0} is not in the template")]
    Missing(String),
}

/// Reads `C` from the function's environment in the template, as its cold start would;
/// `overrides` win over the template (e.g. `DRY_RUN=true` for a rehearsal).
pub fn config<C: FunctionConfig>(
    function: &FunctionWiring,
    overrides: &[(&str, &str)],
) -> Result<C, FunctionsError> {
    C::from_lookup(|name| {
        overrides
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
            .or_else(|| function.environment.get(name).cloned())
    })
    .map_err(|source| FunctionsError::Config {
        function: function.binary.clone(),
        source,
    })
}

/// The function deployed as `binary`.
pub fn wiring_of<'a>(
    wiring: &'a Wiring,
    binary: &str,
) -> Result<&'a FunctionWiring, FunctionsError> {
    wiring
        .functions
        .iter()
        .find(|f| f.binary == binary)
        .ok_or_else(|| FunctionsError::Missing(binary.to_owned()))
}

/// The emulator's simulated clock as the handlers' clock.
pub fn clock_of(emulator: &crate::EmulatorHandle) -> Clock {
    let clock = emulator.clock();
    Arc::new(move || clock.now())
}

/// The result an invocation hands back: the handler's summary as JSON.
pub type Invocation = Pin<Box<dyn Future<Output = Result<Value, AutopilotError>> + Send>>;

/// A handler bound to its context, ready to take payloads.
pub type Invoker = Arc<dyn Fn(Value) -> Invocation + Send + Sync>;

/// Binds `handler` to `context`, built once as `runtime::run` does at cold start; each
/// invocation runs as `runtime::run` runs it, under the function's lease when it takes
/// one (unless `binding` leaves leases out), and its overlaps count the leased runs that
/// started while another was running.
fn bind<C, W, H, F, S>(handler: H, context: Context<C, W>, binding: &Binding) -> Invoker
where
    C: FunctionConfig + Send + Sync + 'static,
    W: Send + Sync + 'static,
    H: Fn(Value, Arc<Context<C, W>>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<S, AutopilotError>> + Send + 'static,
    S: Serialize,
{
    let context = Arc::new(context);
    let handler = Arc::new(handler);
    let (overlaps, leases) = (Arc::clone(&binding.overlaps), binding.leases);
    Arc::new(move |payload| {
        let (context, handler, overlaps) = (
            Arc::clone(&context),
            Arc::clone(&handler),
            Arc::clone(&overlaps),
        );
        Box::pin(async move {
            let lease = context.config.lease().filter(|_| leases);
            let leased = lease.is_some_and(|policy| policy.covers(is_scheduled(&payload)));
            let work = |payload| {
                let running = handler(payload, Arc::clone(&context));
                let overlaps = Arc::clone(&overlaps);
                async move {
                    let _running = leased.then(|| overlaps.enter());
                    // Summaries are plain data: serialising them cannot fail.
                    Ok(serde_json::to_value(running.await?).unwrap_or(Value::Null))
                }
            };
            run_alone_if_asked(lease, &context.s3, &context.clock, payload, work).await
        })
    })
}

/// How a function's handler is bound.
struct Binding {
    overlaps: Arc<Overlaps>,
    /// Whether its runs take the function's lease, as deployed.
    leases: bool,
}

/// Leased runs of one function at once: a second one means the lease failed.
#[derive(Default)]
pub struct Overlaps {
    running: AtomicUsize,
    seen: AtomicU64,
}

impl Overlaps {
    /// Counts a leased run in until the guard is dropped (cut-off runs included).
    fn enter(self: &Arc<Self>) -> OverlapGuard {
        if self.running.fetch_add(1, Ordering::SeqCst) > 0 {
            self.seen.fetch_add(1, Ordering::SeqCst);
        }
        OverlapGuard(Arc::clone(self))
    }

    /// Leased runs that started while another leased run of the function was running.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }
}

struct OverlapGuard(Arc<Overlaps>);

impl Drop for OverlapGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The registry: which handler serves which binary, and which configuration it reads.
fn bind_handler(
    function: &FunctionWiring,
    overrides: &[(&str, &str)],
    clients: &Clients,
    clock: &Clock,
    binding: &Binding,
) -> Result<Invoker, FunctionsError> {
    fn context<C: FunctionConfig, W: Default>(
        function: &FunctionWiring,
        overrides: &[(&str, &str)],
        clients: &Clients,
        clock: &Clock,
    ) -> Result<Context<C, W>, FunctionsError> {
        Ok(Context::new(
            config(function, overrides)?,
            clients.clone(),
            Arc::clone(clock),
        ))
    }
    Ok(match function.binary.as_str() {
        "app-planner" => bind(
            app_planner::handle,
            context::<AppPlannerConfig, _>(function, overrides, clients, clock)?,
            binding,
        ),
        "catalog-import" => bind(
            catalog_import::handle,
            context::<CatalogImportConfig, ()>(function, overrides, clients, clock)?,
            binding,
        ),
        "job-creator" => bind(
            job_creator::handle,
            context::<JobCreatorConfig, _>(function, overrides, clients, clock)?,
            binding,
        ),
        "job-watcher" => bind(
            job_watcher::handle,
            context::<JobWatcherConfig, _>(function, overrides, clients, clock)?,
            binding,
        ),
        "template-generator" => bind(
            template_generator::handle,
            context::<TemplateGeneratorConfig, _>(function, overrides, clients, clock)?,
            binding,
        ),
        "app-launcher" => bind(
            app_launcher::handle,
            context::<AppLauncherConfig, _>(function, overrides, clients, clock)?,
            binding,
        ),
        "wave-reporter" => bind(
            wave_reporter::handle,
            context::<WaveReporterConfig, _>(function, overrides, clients, clock)?,
            binding,
        ),
        "mgn-planner" => bind(
            mgn_planner::handle,
            context::<MgnPlannerConfig, ()>(function, overrides, clients, clock)?,
            binding,
        ),
        "mgn-watcher" => bind(
            mgn_watcher::handle,
            context::<MgnWatcherConfig, ()>(function, overrides, clients, clock)?,
            binding,
        ),
        "mgn-launcher" => bind(
            mgn_launcher::handle,
            context::<MgnLauncherConfig, ()>(function, overrides, clients, clock)?,
            binding,
        ),
        "mgn-import" => bind(
            mgn_import::handle,
            context::<MgnImportConfig, ()>(function, overrides, clients, clock)?,
            binding,
        ),
        other => return Err(FunctionsError::Unknown(other.to_owned())),
    })
}

/// One execution environment per function of the template, each context built once.
pub struct Functions {
    /// In the template's order, so an index names the same function as in [`Wiring`].
    invokers: Vec<(String, Invoker)>,
    overlaps: Vec<Arc<Overlaps>>,
}

impl Functions {
    /// Binds every function of `wiring`; `overrides` apply to each configuration.
    pub fn new(
        wiring: &Wiring,
        overrides: &[(&str, &str)],
        clients: &Clients,
        clock: &Clock,
    ) -> Result<Self, FunctionsError> {
        Self::bound(wiring, overrides, clients, clock, true)
    }

    /// As [`Functions::new`], but no run takes its function's lease: for tests of what
    /// SMS and the handlers themselves do when two runs meet anyway.
    pub fn without_leases(
        wiring: &Wiring,
        overrides: &[(&str, &str)],
        clients: &Clients,
        clock: &Clock,
    ) -> Result<Self, FunctionsError> {
        Self::bound(wiring, overrides, clients, clock, false)
    }

    fn bound(
        wiring: &Wiring,
        overrides: &[(&str, &str)],
        clients: &Clients,
        clock: &Clock,
        leases: bool,
    ) -> Result<Self, FunctionsError> {
        let overlaps: Vec<Arc<Overlaps>> =
            wiring.functions.iter().map(|_| Arc::default()).collect();
        let invokers = wiring
            .functions
            .iter()
            .zip(&overlaps)
            .map(|(f, overlaps)| {
                let binding = Binding {
                    overlaps: Arc::clone(overlaps),
                    leases,
                };
                Ok((
                    f.binary.clone(),
                    bind_handler(f, overrides, clients, clock, &binding)?,
                ))
            })
            .collect::<Result<_, FunctionsError>>()?;
        Ok(Self { invokers, overlaps })
    }

    /// Functions whose invocations `invokers` run (e.g. the real binaries as processes),
    /// in the template's order; their leased runs are not watched for overlaps.
    pub fn from_invokers(invokers: Vec<(String, Invoker)>) -> Self {
        let overlaps = invokers.iter().map(|_| Arc::default()).collect();
        Self { invokers, overlaps }
    }

    /// For each function whose leased runs ever overlapped, how many times.
    pub fn lease_overlaps(&self) -> Vec<(String, u64)> {
        self.invokers
            .iter()
            .zip(&self.overlaps)
            .map(|((name, _), overlaps)| (name.clone(), overlaps.seen()))
            .filter(|(_, seen)| *seen > 0)
            .collect()
    }

    /// The handler of the template's function number `index`.
    pub fn by_index(&self, index: usize) -> Option<&Invoker> {
        self.invokers.get(index).map(|(_, invoker)| invoker)
    }

    /// Invokes the function deployed as `binary`; its summary as JSON.
    pub async fn invoke(&self, binary: &str, payload: Value) -> Result<Value, AutopilotError> {
        let invoker = self
            .invokers
            .iter()
            .find(|(name, _)| name == binary)
            .map(|(_, invoker)| Arc::clone(invoker))
            .ok_or_else(|| {
                AutopilotError::InvalidEvent(format!("no function is deployed as {binary}"))
            })?;
        invoker(payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_of_the_template_is_registered_under_its_binary() {
        let template =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
        let clock: Clock = Arc::new(chrono::Utc::now);
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let clients = Clients::from_sdk_config(&sdk, true);
        let mut by_backend = Vec::new();
        for backend in ["SMS", "MGN"] {
            let wiring = Wiring::load_with(&template, &[("Backend", backend)])
                .unwrap_or_else(|e| panic!("the template loads for {backend}: {e}"));
            let functions = Functions::new(&wiring, &[], &clients, &clock).expect("all bind");
            assert_eq!(functions.invokers.len(), wiring.functions.len());
            let binaries: std::collections::BTreeSet<String> =
                wiring.functions.into_iter().map(|f| f.binary).collect();
            by_backend.push(binaries);
        }
        let deployed: Vec<&String> = by_backend[0].union(&by_backend[1]).collect();
        let mut registered: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
        registered.sort_unstable();
        assert_eq!(
            deployed,
            registered.iter().collect::<Vec<_>>(),
            "every registered function is deployed by a backend"
        );
        let both: Vec<&String> = by_backend[0].intersection(&by_backend[1]).collect();
        assert_eq!(both, ["wave-reporter"], "only the report serves both");
        let error = Wiring::load_with(&template, &[("Backend", "DMS")]).expect_err("refused");
        assert!(
            error.to_string().contains("`DMS` is not one of SMS, MGN"),
            "{error}"
        );
    }
}
