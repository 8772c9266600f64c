//! What every function's `main` does: tracing, configuration validated at cold start,
//! clients built once, then the Lambda runtime loop around the handler. A handler is a
//! plain async function of the incoming payload and the shared `Context`, so tests and
//! the local runner call exactly the code that deploys. Lambda's deadline for the current
//! invocation is kept in a task-local (`remaining`), for work that must not be started
//! too close to it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

use crate::clients::Clients;
use crate::config::{FunctionConfig, LeasePolicy};
use crate::error::AutopilotError;
use crate::lease::{HandBack, Lease, LeaseRecord, LeaseStore, Taking};
use crate::publisher::EventPublisher;
use crate::trigger::{is_scheduled, run_name, scheduled_event};

/// The time source: the wall clock when deployed, the simulated clock locally.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock, unless the invocation runs at a simulated time (see
/// [`ACCEPT_SIMULATED_CLOCK`]).
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SIMULATED_NOW
            .try_with(|now| *now)
            .unwrap_or_else(|_| Utc::now())
    })
}

/// Set to `true`, lets an invocation's client context name the time it runs at
/// (`custom.simulatedNow`, RFC 3339). Only the local harness that runs the real
/// binaries on the emulator's simulated clock sets it; the template never does, so a
/// deployed function always reads the wall clock.
pub const ACCEPT_SIMULATED_CLOCK: &str = "AUTOPILOT_ACCEPT_SIMULATED_CLOCK";
/// The client context's custom field holding the simulated time.
pub const SIMULATED_NOW_FIELD: &str = "simulatedNow";

/// The simulated time an invocation's client context names, if any.
fn simulated_now(context: &lambda_runtime::Context) -> Option<DateTime<Utc>> {
    let named = context
        .client_context
        .as_ref()?
        .custom
        .get(SIMULATED_NOW_FIELD)?;
    DateTime::parse_from_rfc3339(named)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Everything a handler needs, built once per cold start.
pub struct Context<C, W = ()> {
    pub config: C,
    pub sms: aws_sdk_sms::Client,
    pub mgn: aws_sdk_mgn::Client,
    pub ec2: crate::ec2::Ec2,
    pub s3: aws_sdk_s3::Client,
    pub publisher: EventPublisher,
    pub clock: Clock,
    /// What a warm execution environment keeps between invocations (caches that save
    /// calls); a cold start begins with `W::default()`, so correctness never needs it.
    pub warm: W,
}

impl<C: FunctionConfig, W: Default> Context<C, W> {
    pub fn new(config: C, clients: Clients, clock: Clock) -> Self {
        let publisher = EventPublisher::new(clients.events, config.common().event_bus_name.clone());
        Self {
            config,
            sms: clients.sms,
            mgn: clients.mgn,
            ec2: clients.ec2,
            s3: clients.s3,
            publisher,
            clock,
            warm: W::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub fn dry_run(&self) -> bool {
        self.config.common().dry_run
    }
}

tokio::task_local! {
    /// When Lambda stops the invocation running in this task.
    static DEADLINE: Instant;
    /// The simulated time the invocation running in this task runs at.
    static SIMULATED_NOW: DateTime<Utc>;
}

/// Runs `work` as an invocation that is stopped at `deadline`, as Lambda does at the
/// function's timeout (the local wave driver uses this for its cut-off invocations).
pub async fn with_deadline<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// Time left before the current invocation is stopped; `None` when no deadline is known
/// (unit tests, in-process benchmarks).
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// Lambda's deadline (milliseconds since the epoch) on this process's monotonic clock.
fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Runs a function: call from `main` with the crate's handler.
pub async fn run<C, W, S, H, F>(name: &'static str, handler: H) -> Result<(), lambda_runtime::Error>
where
    C: FunctionConfig + Send + Sync + 'static,
    W: Default + Send + Sync + 'static,
    S: Serialize + Send + 'static,
    H: Fn(Value, Arc<Context<C, W>>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<S, AutopilotError>> + Send,
{
    crate::telemetry::init();
    let config = match C::from_env() {
        Ok(config) => config,
        Err(errors) => {
            tracing::error!(function = name, error = %errors, "configuration refused");
            report_init_error("Permanent.Config", &errors.to_string()).await;
            // Nothing can run without a valid configuration; the reason is logged and
            // with Lambda, which shows it as the init error.
            std::process::exit(1);
        }
    };
    let clients = Clients::from_env(config.common().max_attempts).await;
    let context = Arc::new(Context::<C, W>::new(config, clients, system_clock()));
    let handler = Arc::new(handler);
    let accepts_simulated = std::env::var(ACCEPT_SIMULATED_CLOCK).is_ok_and(|v| v == "true");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let context = Arc::clone(&context);
        let handler = Arc::clone(&handler);
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        let simulated = accepts_simulated
            .then(|| simulated_now(&event.context))
            .flatten();
        let invocation = async move {
            // Boxed: a handler's future nests the SDK's deep request futures, and inline
            // in the runtime's own it would count against rustc's type layout depth limit.
            let lease = context.config.lease();
            let work = |payload| {
                let context = Arc::clone(&context);
                let running = handler(payload, context);
                async move { Ok(serde_json::to_value(running.await?).unwrap_or(Value::Null)) }
            };
            let invocation = Box::pin(run_alone_if_asked(
                lease,
                &context.s3,
                &context.clock,
                event.payload,
                work,
            ));
            // The calls counted from here on are this invocation's.
            crate::calls::take(&crate::calls::SMS);
            crate::calls::take(&crate::calls::MGN);
            match with_deadline(deadline, invocation).await {
                Ok(summary) => {
                    log_summary(name, &summary);
                    Ok(summary)
                }
                Err(error) => {
                    write_metrics(name, serde_json::json!({ "invocationFailed": 1 }));
                    tracing::error!(
                        function = name,
                        retryability = %error.retryability(),
                        error = %error,
                        "invocation failed"
                    );
                    Err(Diagnostic::from(error))
                }
            }
        };
        async move {
            match simulated {
                Some(now) => SIMULATED_NOW.scope(now, invocation).await,
                None => invocation.await,
            }
        }
    }))
    .await
}

/// How many times a run passes again for runs that found its lease held.
const MAX_RERUNS: u32 = 2;
/// A run does not pass again with less time than this before its deadline.
const RERUN_HEADROOM: Duration = Duration::from_secs(60);

/// Runs one invocation of `work`: alone under the function's lease when `policy` asks
/// for it (see [`crate::lease`]), then once more if a run that found the lease held
/// asked meanwhile. A run that finds the lease held asks, and ends without acting:
/// its summary says who held the lease and until when.
pub async fn run_alone_if_asked<W, F>(
    policy: Option<LeasePolicy<'_>>,
    s3: &aws_sdk_s3::Client,
    clock: &Clock,
    payload: Value,
    work: W,
) -> Result<Value, AutopilotError>
where
    W: Fn(Value) -> F,
    F: Future<Output = Result<Value, AutopilotError>>,
{
    let Some(policy) = policy.filter(|policy| policy.covers(is_scheduled(&payload))) else {
        return work(payload).await;
    };
    let store = LeaseStore::new(s3, policy.bucket, policy.function);
    let holder = run_name(&payload);
    let lease = match acquire(&store, &holder, clock).await? {
        Acquired::Lease(lease) => lease,
        Acquired::Held(held) => {
            tracing::info!(run = %holder, held_by = %held.holder, until = %held.expires_at,
                "the lease is held: asked its holder to pass once more");
            return Ok(serde_json::json!({
                "leaseHeldBy": held.holder,
                "leaseHeldUntil": held.expires_at,
                "rerunRequested": held.holder != holder,
            }));
        }
        Acquired::Answered(passed) => {
            tracing::info!(run = %holder, passed_by = %passed.holder,
                "another run took the lease after this one looked and has passed for it");
            return Ok(serde_json::json!({
                "answeredBy": passed.holder,
                "rerunRequested": false,
            }));
        }
    };
    let outcome = work(payload).await;
    let (outcome, reruns) = pass_again_while_asked(&store, lease, outcome, clock, &work).await;
    let mut summary = outcome?;
    if let (Some(fields), true) = (summary.as_object_mut(), reruns > 0) {
        fields.insert("reruns".into(), reruns.into());
    }
    Ok(summary)
}

/// A lease's term from now: to the invocation's deadline and a margin.
fn lease_term() -> chrono::TimeDelta {
    remaining()
        .and_then(|left| chrono::TimeDelta::from_std(left).ok())
        .map_or(crate::lease::UNKNOWN_DEADLINE_TERM, |left| {
            left + crate::lease::MARGIN
        })
}

/// How a run that needs the lease goes on.
enum Acquired {
    /// It holds the lease and works.
    Lease(Lease),
    /// Another run holds it and passes once more for this one, or runs for the very
    /// same event.
    Held(LeaseRecord),
    /// Another run took it after this one looked and has already passed.
    Answered(LeaseRecord),
}

/// Takes the lease; when another run holds it, asks that run to pass once more, unless
/// it runs for the very same event.
async fn acquire(
    store: &LeaseStore<'_>,
    holder: &str,
    clock: &Clock,
) -> Result<Acquired, AutopilotError> {
    // Each look takes the lease, has its holder asked, finds a pass made since, or finds
    // that it changed hands meanwhile; eight in a row means the function is busier than
    // any schedule makes it, and Lambda's retry comes back when it has settled.
    for _ in 0..8 {
        match store.take(holder, clock(), lease_term()).await? {
            Taking::Taken(lease) => return Ok(Acquired::Lease(lease)),
            Taking::Answered(passed) => return Ok(Acquired::Answered(passed)),
            // A second delivery of the event the holder runs for: its pass is this one's.
            Taking::Held(held) if held.record.holder == holder => {
                return Ok(Acquired::Held(held.record))
            }
            Taking::Held(held) => {
                if store.ask_rerun(&held, holder).await? {
                    return Ok(Acquired::Held(held.record));
                }
            }
            Taking::Contended => {}
        }
    }
    Err(store.contended())
}

/// Hands the lease back; while a run that found it held asked for a rerun (and time and
/// the rerun budget allow), takes it again and passes once more as a scheduled run
/// would. The outcome (the last failure, if a pass failed) and the passes made again.
async fn pass_again_while_asked<W, F>(
    store: &LeaseStore<'_>,
    mut lease: Lease,
    mut outcome: Result<Value, AutopilotError>,
    clock: &Clock,
    work: &W,
) -> (Result<Value, AutopilotError>, u32)
where
    W: Fn(Value) -> F,
    F: Future<Output = Result<Value, AutopilotError>>,
{
    let mut reruns = 0;
    loop {
        let time_left = remaining().is_none_or(|left| left > RERUN_HEADROOM);
        let willing = outcome.is_ok() && reruns < MAX_RERUNS && time_left;
        let again = willing.then(|| (clock(), lease_term()));
        match store.hand_back(&lease, again).await {
            Ok(HandBack::Released) => return (outcome, reruns),
            Ok(HandBack::TakenOver) => {
                tracing::warn!(holder = %lease.record.holder, key = store.key(),
                    "the lease had been taken over before it was handed back");
                return (outcome, reruns);
            }
            Ok(HandBack::TakenAgain { by, lease: next }) => {
                tracing::info!(asked_by = %by, "passing once more, as a run that found the lease held asked");
                let id = format!("rerun-{}", next.record.token);
                lease = next;
                reruns += 1;
                if let Err(error) = work(scheduled_event(&id, clock(), None)).await {
                    outcome = Err(error);
                }
            }
            Err(error) => {
                tracing::warn!(%error, until = %lease.record.expires_at,
                    "the lease could not be handed back; it ends at its term");
                return (outcome, reruns);
            }
        }
    }
}

/// Posts an init error to the Lambda Runtime API (`/runtime/init/error`), which
/// lambda_runtime only does for its own start-up failures.
async fn report_init_error(error_type: &str, message: &str) {
    let Ok(endpoint) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let Ok(base) = format!("http://{endpoint}").parse::<http::Uri>() else {
        tracing::error!(%endpoint, "AWS_LAMBDA_RUNTIME_API is not host:port");
        return;
    };
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string();
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", error_type)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body));
    let client = lambda_runtime_api_client::Client::builder()
        .with_endpoint(base)
        .build();
    match (client, request) {
        (Ok(client), Ok(request)) => {
            if let Err(error) = client.call(request).await {
                tracing::error!(%error, "could not report the init error to the Runtime API");
            }
        }
        _ => tracing::error!("could not build the init error report"),
    }
}

/// One structured line per invocation with the handler's summary, and the metrics line
/// CloudWatch makes its numbers into.
pub fn log_summary<S: Serialize>(function: &str, summary: &S) {
    let summary = serde_json::to_value(summary).unwrap_or(Value::Null);
    tracing::info!(function, %summary, "invocation complete");
    write_metrics(function, summary);
}

/// The invocation's metrics line: the numbers of `measured` (its summary, or that it
/// failed) and the SMS and MGN calls and throttles counted since the last line.
fn write_metrics(function: &str, mut measured: Value) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    if let Some(fields) = measured.as_object_mut() {
        let sms = crate::calls::take(&crate::calls::SMS);
        fields.insert(crate::metrics::SMS_CALLS.into(), sms.attempts.into());
        fields.insert(crate::metrics::SMS_THROTTLED.into(), sms.throttled.into());
        let mgn = crate::calls::take(&crate::calls::MGN);
        fields.insert(crate::metrics::MGN_CALLS.into(), mgn.attempts.into());
        fields.insert(crate::metrics::MGN_THROTTLED.into(), mgn.throttled.into());
    }
    if let Some(line) = crate::metrics::emf_line(function, &measured, now_ms) {
        // Straight to stdout: CloudWatch reads an EMF object only as a line of its own.
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_is_known_inside_its_invocation_only() {
        assert_eq!(remaining(), None);
        let deadline = Instant::now() + Duration::from_secs(30);
        let left = with_deadline(deadline, async { remaining() }).await;
        assert!(left
            .is_some_and(|left| left > Duration::from_secs(29) && left <= Duration::from_secs(30)));
        let past = with_deadline(Instant::now(), async { remaining() }).await;
        assert_eq!(past, Some(Duration::ZERO));
        assert_eq!(remaining(), None);
    }

    #[test]
    fn lambdas_epoch_deadline_becomes_a_monotonic_one() {
        let now_ms = u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let left = deadline_from_epoch_ms(now_ms + 5_000).saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_millis(4_500) && left <= Duration::from_secs(5),
            "{left:?}"
        );
        let gone = deadline_from_epoch_ms(now_ms - 5_000).saturating_duration_since(Instant::now());
        assert_eq!(gone, Duration::ZERO);
    }
}
