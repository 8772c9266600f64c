//! The AWS clients every function uses, built once per cold start from aws-config's
//! default chain. Endpoint overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SMS`,
//! `AWS_ENDPOINT_URL_MGN`, `AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL_S3`) are
//! honoured by aws-config
//! itself; S3 switches to path-style addressing when its endpoint is overridden, since
//! local S3 servers do not resolve bucket subdomains.
//!
//! The HTTPS client trusts the system's CA bundle file: checked at cold start, made into
//! a root store once, at the first request ([`TlsOnFirstUse`]). Left to itself, the SDK
//! also reads every file of the system's certificate directory (292 on Debian; 2 to 4 ms
//! of each cold start when measured).

use std::path::Path;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// CA bundle files, Lambda's Amazon Linux location first.
const CA_BUNDLES: [&str; 3] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
];

/// Base URLs (`http://127.0.0.1:PORT`) of the services, for [`Clients::for_endpoints`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub sms: String,
    /// None where no MGN stand-in runs: the MGN client then keeps the SDK's own
    /// endpoint, which an SMS wave's functions never call.
    pub mgn: Option<String>,
    /// The EC2 of the MGN stand-in's account, where one runs.
    pub ec2: Option<String>,
    pub events: String,
    pub s3: String,
}

/// SMS, MGN, EventBridge and S3 clients sharing one SDK configuration (a function calls
/// the one backend its stack deploys for).
#[derive(Debug, Clone)]
pub struct Clients {
    pub sms: aws_sdk_sms::Client,
    pub mgn: aws_sdk_mgn::Client,
    /// EC2's status checks of the copies MGN launches (`crate::ec2`).
    pub ec2: crate::ec2::Ec2,
    pub events: aws_sdk_eventbridge::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Loads the default chain with standard retries of `max_attempts` attempts.
    pub async fn from_env(max_attempts: u32) -> Self {
        let overridden = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        // An operator's SSL_CERT_FILE or SSL_CERT_DIR wins: the SDK's native loading
        // honours both.
        let trust_store = if overridden("SSL_CERT_FILE") || overridden("SSL_CERT_DIR") {
            TrustStore::default()
        } else {
            CA_BUNDLES
                .iter()
                .find_map(|path| bundle_trust_store(Path::new(path)))
                .unwrap_or_default()
        };
        let https = Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(
                TlsContext::builder()
                    .with_trust_store(trust_store)
                    .build()
                    .expect("a TLS context without extra server names always builds"),
            )
            .build_https();
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(TlsOnFirstUse(https))
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
            .load()
            .await;
        let s3_overridden = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|name| overridden(name));
        // Deployed, each invocation's metrics count its SMS and MGN calls and throttles.
        let sms = aws_sdk_sms::Client::from_conf(
            aws_sdk_sms::config::Builder::from(&sdk)
                .interceptor(crate::calls::CallCounter(&crate::calls::SMS))
                .build(),
        );
        let mgn = aws_sdk_mgn::Client::from_conf(
            aws_sdk_mgn::config::Builder::from(&sdk)
                .interceptor(crate::calls::CallCounter(&crate::calls::MGN))
                .build(),
        );
        Self::with_backends(&sdk, s3_overridden, sms, mgn)
    }

    /// Clients sending each service's requests to its own endpoint, not AWS's: the local
    /// stand-in, moto, or a proxy in front of either. S3 uses path-style addressing,
    /// since such servers do not resolve bucket subdomains.
    pub fn for_endpoints(sdk: &SdkConfig, endpoints: &Endpoints) -> Self {
        Self {
            sms: aws_sdk_sms::Client::from_conf(
                aws_sdk_sms::config::Builder::from(sdk)
                    .endpoint_url(&endpoints.sms)
                    .build(),
            ),
            mgn: {
                let mut mgn = aws_sdk_mgn::config::Builder::from(sdk);
                mgn.set_endpoint_url(endpoints.mgn.clone());
                aws_sdk_mgn::Client::from_conf(mgn.build())
            },
            ec2: crate::ec2::Ec2::new(sdk, endpoints.ec2.clone(), max_attempts(sdk)),
            events: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(sdk)
                    .endpoint_url(&endpoints.events)
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .endpoint_url(&endpoints.s3)
                    .force_path_style(true)
                    .build(),
            ),
        }
    }

    /// Builds the clients from an SDK configuration (tests and the local runner point
    /// it at the emulator).
    pub fn from_sdk_config(sdk: &SdkConfig, s3_path_style: bool) -> Self {
        let (sms, mgn) = (aws_sdk_sms::Client::new(sdk), aws_sdk_mgn::Client::new(sdk));
        Self::with_backends(sdk, s3_path_style, sms, mgn)
    }

    /// The clients, the SMS and MGN ones given: each is built once per cold start.
    fn with_backends(
        sdk: &SdkConfig,
        s3_path_style: bool,
        sms: aws_sdk_sms::Client,
        mgn: aws_sdk_mgn::Client,
    ) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(s3_path_style)
            .build();
        Self {
            sms,
            mgn,
            ec2: crate::ec2::Ec2::new(sdk, ec2_endpoint_override(), max_attempts(sdk)),
            events: aws_sdk_eventbridge::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        }
    }
}

/// The HTTPS client, whose TLS set-up (the CA bundle parsed into a root store) is made
/// once, for the first request. The SDK's own client makes and drops one as each SDK
/// client is built, so that native certificates load early: with the five clients and
/// aws-config's STS client, that was about half of each cold start (BENCHMARKS.md).
#[derive(Debug)]
struct TlsOnFirstUse(SharedHttpClient);

impl HttpClient for TlsOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // Made on first use for these settings, then cached by the client.
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        config: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, config)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The attempts the SDK configuration allows each call (the standard mode's 3 when it
/// says nothing).
fn max_attempts(sdk: &SdkConfig) -> u32 {
    sdk.retry_config().map_or(3, |retry| retry.max_attempts())
}

/// `AWS_ENDPOINT_URL_EC2`, else `AWS_ENDPOINT_URL`, as aws-config reads them for the SDK
/// clients.
fn ec2_endpoint_override() -> Option<String> {
    ["AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

/// A trust store of exactly the bundle at `path`, or `None` when the file is missing or
/// holds anything rustls would refuse: the SDK panics on such a bundle when it opens a
/// connection, while its native loading skips bad entries.
fn bundle_trust_store(path: &Path) -> Option<TrustStore> {
    let pem = std::fs::read(path).ok()?;
    match usable_roots(&pem) {
        Ok(0) => tracing::warn!(path = %path.display(), "CA bundle holds no certificate"),
        Ok(_) => return Some(TrustStore::empty().with_pem_certificate(pem)),
        Err(problem) => {
            tracing::warn!(path = %path.display(), %problem, "CA bundle not used")
        }
    }
    None
}

/// How many certificates `pem` holds, once each is known to parse as a trust anchor.
fn usable_roots(pem: &[u8]) -> Result<usize, String> {
    let mut count = 0;
    for der in CertificateDer::pem_slice_iter(pem) {
        let der = der.map_err(|e| format!("bad PEM: {e}"))?;
        webpki::anchor_from_trusted_cert(&der)
            .map_err(|e| format!("certificate {} is no trust anchor: {e}", count + 1))?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_bundle_is_usable_and_a_broken_one_is_refused() {
        let system = CA_BUNDLES
            .iter()
            .find_map(|path| std::fs::read(path).ok())
            .expect("a CA bundle at one of the known paths");
        let roots = usable_roots(&system).expect("the system bundle parses");
        assert!(roots > 50, "only {roots} roots");

        let mut truncated = system.clone();
        let cut = truncated.len() - 40;
        truncated.truncate(cut);
        assert!(usable_roots(&truncated).is_err(), "a cut-off bundle");

        let not_a_cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec();
        assert!(usable_roots(&not_a_cert).is_err());
        assert_eq!(usable_roots(b"no pem here").unwrap(), 0);

        let dir = std::env::temp_dir().join(format!("ca-{}", std::process::id()));
        std::fs::write(&dir, &not_a_cert).unwrap();
        assert!(bundle_trust_store(&dir).is_none());
        std::fs::remove_file(&dir).unwrap();
        assert!(bundle_trust_store(Path::new("/nonexistent/bundle.pem")).is_none());
    }

    /// An HTTP client that counts how it is used and answers every request 200.
    #[derive(Debug, Default)]
    struct Counting {
        validated: std::sync::atomic::AtomicUsize,
        connectors: std::sync::atomic::AtomicUsize,
    }

    #[derive(Debug, Clone)]
    struct CountingClient(std::sync::Arc<Counting>);

    impl HttpClient for CountingClient {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
            use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
            #[derive(Debug)]
            struct Ok200;
            impl HttpConnector for Ok200 {
                fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
                    let body = aws_smithy_types::body::SdkBody::empty();
                    HttpConnectorFuture::ready(Ok(HttpResponse::new(200.try_into().unwrap(), body)))
                }
            }
            self.0
                .connectors
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            SharedHttpConnector::new(Ok200)
        }

        fn validate_base_client_config(
            &self,
            _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0
                .validated
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_connection_is_set_up_at_the_first_request_not_as_each_client_is_built() {
        use std::sync::atomic::Ordering::SeqCst;
        let counting = std::sync::Arc::new(Counting::default());
        let inner = SharedHttpClient::new(CountingClient(counting.clone()));
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("id", "secret", None, None, "test"),
                ),
            )
            .http_client(TlsOnFirstUse(inner))
            .build();
        let clients = Clients::from_sdk_config(&sdk, true);
        assert_eq!(
            counting.validated.load(SeqCst),
            0,
            "no client built a connection"
        );
        assert_eq!(counting.connectors.load(SeqCst), 0);
        clients
            .s3
            .head_object()
            .bucket("b")
            .key("k")
            .send()
            .await
            .expect("answered through the wrapped client");
        assert_eq!(counting.connectors.load(SeqCst), 1);
    }
}
