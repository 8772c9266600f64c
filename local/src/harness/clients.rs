//! SDK configuration for clients of the local endpoints: a fixed region, static
//! credentials and nothing read from the machine (no profile, no IMDS), so a run on a
//! developer's laptop can never reach a real AWS account. The clients themselves come
//! from `autopilot_core::Clients::for_endpoints`, next to the functions' own.

use std::time::Duration;

use autopilot_core::clients::Endpoints;
use autopilot_core::Clients;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::wiring::LOCAL_REGION;

/// Static credentials the local endpoints accept (they check that a request is signed,
/// not by whom).
#[derive(Debug, Clone, Copy)]
pub struct StaticCredentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    /// Names the credentials in the SDK's logs.
    pub provider_name: &'static str,
}

impl StaticCredentials<'static> {
    /// The credentials of the local runner.
    pub const LOCAL: Self = Self {
        access_key_id: "local",
        secret_access_key: "local",
        session_token: None,
        provider_name: "autopilot-local",
    };
}

/// An SDK configuration with `credentials`; `max_attempts` sets standard retries, `None`
/// keeps the SDK's default.
pub fn sdk_config(credentials: StaticCredentials<'_>, max_attempts: Option<u32>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(aws_sdk_sms::config::SharedCredentialsProvider::new(
            aws_sdk_sms::config::Credentials::new(
                credentials.access_key_id,
                credentials.secret_access_key,
                credentials.session_token.map(str::to_owned),
                None,
                credentials.provider_name,
            ),
        ));
    if let Some(attempts) = max_attempts {
        builder = builder.retry_config(RetryConfig::standard().with_max_attempts(attempts));
    }
    builder.build()
}

/// The first retry's backoff of the local wave's clients (the SDK's is 1 s). The
/// simulated clock stands still while a client backs off, so the wait changes nothing
/// the wave decides and only costs wall time; the attempts stay the SDK's.
pub const LOCAL_INITIAL_BACKOFF: Duration = Duration::from_millis(20);

/// The functions' clients on the local endpoints with the local runner's credentials;
/// `max_attempts` as the SDK's default when `None`, with a short backoff.
pub fn local_clients(endpoints: &Endpoints, max_attempts: Option<u32>) -> Clients {
    let standard = RetryConfig::standard();
    let attempts = max_attempts.unwrap_or(standard.max_attempts());
    let retries = standard
        .with_max_attempts(attempts)
        .with_initial_backoff(LOCAL_INITIAL_BACKOFF);
    let sdk = sdk_config(StaticCredentials::LOCAL, None)
        .into_builder()
        .retry_config(retries)
        .build();
    Clients::for_endpoints(&sdk, endpoints)
}
