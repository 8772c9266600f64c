//! EC2, as the MGN functions use it, over EC2's query protocol without aws-sdk-ec2
//! (whose build alone would take most of CI's budget). Each call runs through the SDK's
//! own orchestrator (its HTTPS client, retries and timeouts), signed with SigV4 from the
//! same credentials as every other client; answers are read with the SDK's XML reader.
//!
//! - [`status`]: the status checks of launched copies, in the launcher's words;
//! - [`templates`]: a server's launch template, read and given new versions;
//! - [`account`]: what the account holds that a launch template names.

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use aws_smithy_types::retry::RetryConfig;

use crate::error::{AwsCallError, AwsErrorKind};

pub mod account;
pub mod status;
pub mod templates;
mod xml;

pub use status::InstanceStatus;

/// EC2's query API version (botocore's `ec2/2016-11-15`).
const API_VERSION: &str = "2016-11-15";

/// A query request, signed when serialized.
#[derive(Debug)]
struct QueryInput {
    body: String,
    credentials: aws_credential_types::Credentials,
}

/// An EC2 error answer (`<Errors><Error><Code>`), as the SDK's errors carry theirs.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .0.code().unwrap_or("Unknown"), .0.message().unwrap_or_default())]
struct QueryError(ErrorMetadata);

impl ProvideErrorMetadata for QueryError {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

/// EC2, reached through the SDK's orchestrator.
#[derive(Clone, Debug)]
pub struct Ec2 {
    operation: Operation<QueryInput, String, QueryError>,
    credentials: Option<SharedCredentialsProvider>,
}

impl Ec2 {
    /// EC2 in the SDK configuration's region, at `endpoint` when given (a stand-in),
    /// else at the region's public endpoint.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<String>, max_attempts: u32) -> Self {
        let region = sdk
            .region()
            .map_or("us-east-1".to_owned(), ToString::to_string);
        let endpoint = endpoint.unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"));
        let mut builder = Operation::builder()
            .service_name("ec2")
            .operation_name("Query")
            .endpoint_url(&endpoint)
            .standard_retry(&RetryConfig::standard().with_max_attempts(max_attempts))
            .no_auth();
        if let Some(client) = sdk.http_client() {
            builder = builder.http_client(client);
        }
        if let Some(sleep) = sdk.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(timeouts) = sdk.timeout_config() {
            builder = builder.timeout_config(timeouts.clone());
        }
        let operation = builder
            .interceptor(Signer { region })
            .serializer(query_request)
            .deserializer(read_answer)
            .build();
        Self {
            operation,
            credentials: sdk.credentials_provider(),
        }
    }

    /// Runs `query` and returns its answer's XML; an error answer is EC2's code and
    /// message.
    async fn call(&self, query: Query) -> Result<String, AwsCallError> {
        let action = query.action;
        let credentials = self.credentials(action).await?;
        self.operation
            .invoke(QueryInput {
                body: query.body,
                credentials,
            })
            .await
            .map_err(|error| AwsCallError::from_sdk("EC2", action, &error))
    }

    async fn credentials(
        &self,
        action: &'static str,
    ) -> Result<aws_credential_types::Credentials, AwsCallError> {
        let provider = self.credentials.as_ref().ok_or_else(|| {
            AwsCallError::unusable_answer(
                "EC2",
                action,
                "NoCredentials",
                "no credentials provider".into(),
            )
        })?;
        provider
            .provide_credentials()
            .await
            .map_err(|error| AwsCallError {
                service: "EC2",
                operation: action,
                kind: AwsErrorKind::Other {
                    code: "CredentialsNotLoaded".into(),
                },
                status: None,
                message: error.to_string(),
            })
    }
}

/// One query request: its action and its form-encoded parameters.
#[derive(Debug, Clone)]
struct Query {
    action: &'static str,
    body: String,
}

impl Query {
    fn new(action: &'static str) -> Self {
        Self {
            action,
            body: format!("Action={action}&Version={API_VERSION}"),
        }
    }

    fn param(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string();
        let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        self.body.push_str(&format!("&{name}={encoded}"));
        self
    }

    /// `Name.1`, `Name.2`, … for each of `values`.
    fn list<'v>(mut self, name: &str, values: impl IntoIterator<Item = &'v String>) -> Self {
        for (n, value) in values.into_iter().enumerate() {
            self = self.param(&format!("{name}.{}", n + 1), value);
        }
        self
    }
}

/// An answer EC2 gave that cannot be read as its model says.
fn unreadable(action: &'static str, message: String) -> AwsCallError {
    AwsCallError::unusable_answer("EC2", action, "UnreadableXml", message)
}

/// The form-encoded POST; [`Signer`] signs it once the orchestrator has set its URI.
fn query_request(input: QueryInput) -> Result<HttpRequest, BoxError> {
    let request = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", FORM)
        .body(SdkBody::from(input.body))?;
    Ok(HttpRequest::try_from(request)?)
}

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The credentials of one request, from its input to its signing.
#[derive(Debug, Clone)]
struct SigningCredentials(aws_credential_types::Credentials);

impl Storable for SigningCredentials {
    type Storer = StoreReplace<Self>;
}

/// Signs each attempt with SigV4 as it is sent, when its URI (and so its host) is final.
#[derive(Debug)]
struct Signer {
    region: String,
}

impl Intercept for Signer {
    fn name(&self) -> &'static str {
        "Ec2QuerySigner"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context
            .input()
            .downcast_ref::<QueryInput>()
            .ok_or("an EC2 query input")?;
        cfg.interceptor_state()
            .store_put(SigningCredentials(input.credentials.clone()));
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let credentials = cfg
            .load::<SigningCredentials>()
            .ok_or("no credentials to sign with")?;
        let identity = credentials.0.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let request = context.request_mut();
        let body = request
            .body()
            .bytes()
            .ok_or("a query body in memory")?
            .to_vec();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let signable = SignableRequest::new(
            request.method(),
            request.uri(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let (signed, _) = instructions.into_parts();
        for header in signed {
            request
                .headers_mut()
                .insert(header.name().to_owned(), header.value().to_owned());
        }
        Ok(())
    }
}

fn read_answer(response: &HttpResponse) -> Result<String, OrchestratorError<QueryError>> {
    let body = response.body().bytes().unwrap_or_default();
    let text = String::from_utf8_lossy(body).into_owned();
    if response.status().is_success() {
        return Ok(text);
    }
    let (code, message) =
        xml::parse_error(&text).unwrap_or_else(|| ("Unknown".into(), text.clone()));
    let meta = ErrorMetadata::builder().code(code).message(message).build();
    Err(OrchestratorError::operation(QueryError(meta)))
}
