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
use crate::config::FunctionConfig;
use crate::error::AutopilotError;
use crate::publisher::EventPublisher;

/// The time source: the wall clock when deployed, the simulated clock locally.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Everything a handler needs, built once per cold start.
pub struct Context<C, W = ()> {
    pub config: C,
    pub sms: aws_sdk_sms::Client,
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let context = Arc::clone(&context);
        let handler = Arc::clone(&handler);
        let deadline = deadline_from_epoch_ms(event.context.deadline);
        async move {
            // Boxed: a handler's future nests the SDK's deep request futures, and inline
            // in the runtime's own it would count against rustc's type layout depth limit.
            let invocation = Box::pin(handler(event.payload, context));
            // The SMS calls counted from here on are this invocation's.
            crate::sms_calls::take();
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
        }
    }))
    .await
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
/// failed) and the SMS calls and throttles counted since the last line.
fn write_metrics(function: &str, mut measured: Value) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    if let Some(fields) = measured.as_object_mut() {
        let calls = crate::sms_calls::take();
        fields.insert(crate::metrics::SMS_CALLS.into(), calls.attempts.into());
        fields.insert(crate::metrics::SMS_THROTTLED.into(), calls.throttled.into());
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
