//! The AWS clients every function uses, built once per cold start from aws-config's
//! default chain. Endpoint overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SMS`,
//! `AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL_S3`) are honoured by aws-config
//! itself; S3 switches to path-style addressing when its endpoint is overridden, since
//! local S3 servers do not resolve bucket subdomains.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// SMS, EventBridge and S3 clients sharing one SDK configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sms: aws_sdk_sms::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Loads the default chain with standard retries of `max_attempts` attempts.
    pub async fn from_env(max_attempts: u32) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
            .load()
            .await;
        let s3_overridden = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|value| !value.is_empty()));
        Self::from_sdk_config(&sdk, s3_overridden)
    }

    /// Builds the clients from an SDK configuration (tests and the local runner point
    /// it at the emulator).
    pub fn from_sdk_config(sdk: &SdkConfig, s3_path_style: bool) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(s3_path_style)
            .build();
        Self {
            sms: aws_sdk_sms::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        }
    }
}
