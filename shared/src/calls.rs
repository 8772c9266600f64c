//! Counts the calls this process makes to the migration service (SMS or MGN) and those
//! it answered with throttling, for the invocation's metrics. A Lambda execution
//! environment runs one invocation at a time, so what was counted since the last
//! [`take`] is that invocation's.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One service's counters.
#[derive(Debug)]
pub struct Counts {
    attempts: AtomicU64,
    throttled: AtomicU64,
}

impl Counts {
    const fn new() -> Self {
        Self {
            attempts: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }
}

/// SMS's counters.
pub static SMS: Counts = Counts::new();
/// MGN's counters.
pub static MGN: Counts = Counts::new();

/// Calls made and throttled since the last [`take`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Every attempt that got an answer, retries included.
    pub attempts: u64,
    /// Answers that were ThrottlingException.
    pub throttled: u64,
}

/// `counts` since the last call, which start again from zero.
pub fn take(counts: &Counts) -> Calls {
    Calls {
        attempts: counts.attempts.swap(0, Ordering::Relaxed),
        throttled: counts.throttled.swap(0, Ordering::Relaxed),
    }
}

/// A client's interceptor that counts each answered attempt into its service's counts.
#[derive(Debug, Clone, Copy)]
pub struct CallCounter(pub &'static Counts);

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        if is_throttling(context.response()) {
            self.0.throttled.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Whether an answer is ThrottlingException: the AWS JSON and REST-JSON protocols name
/// the error in the `x-amzn-ErrorType` header, or else in the body's `__type` (read by
/// now).
fn is_throttling(response: &HttpResponse) -> bool {
    if response.status().is_success() {
        return false;
    }
    let named = |kind: &str| {
        kind.rsplit('#')
            .next()
            .is_some_and(|k| k.starts_with("ThrottlingException"))
    };
    if let Some(kind) = response.headers().get("x-amzn-errortype") {
        return named(kind);
    }
    response
        .body()
        .bytes()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
        .is_some_and(|body| body["__type"].as_str().is_some_and(named))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use aws_sdk_sms::operation::get_connectors::GetConnectorsOutput;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    #[tokio::test]
    async fn answered_calls_and_throttles_are_counted() {
        let rule = mock!(aws_sdk_sms::Client::get_connectors)
            .sequence()
            .http_response(|| testing::sms_error(400, "ThrottlingException", "Rate exceeded"))
            .http_response(|| testing::sms_error(400, "InvalidParameterException", "no"))
            .build();
        let config = aws_sdk_sms::Config::builder()
            .with_test_defaults()
            .region(aws_sdk_sms::config::Region::new("us-east-1"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::Sequential)
                    .with_rule(&rule),
            )
            .interceptor(CallCounter(&SMS))
            .retry_config(aws_sdk_sms::config::retry::RetryConfig::disabled())
            .build();
        let sms = aws_sdk_sms::Client::from_conf(config);
        // Other tests of this binary use no counter; start from zero all the same.
        take(&SMS);
        let _: Result<GetConnectorsOutput, _> = sms.get_connectors().send().await;
        let _: Result<GetConnectorsOutput, _> = sms.get_connectors().send().await;
        let counted = take(&SMS);
        assert!(counted.attempts >= 2, "{counted:?}");
        assert!(counted.throttled >= 1, "{counted:?}");
    }
}
