//! The one EC2 call the MGN launcher makes — DescribeInstanceStatus, to read a launched
//! copy's status checks — over EC2's query protocol, without aws-sdk-ec2 (whose build
//! alone would take most of CI's budget). The request runs through the SDK's own
//! orchestrator (its HTTPS client, retries and timeouts), signed with SigV4 from the
//! same credentials as every other client; the answer's XML is read with the SDK's XML
//! reader. EC2's words (`running`, `ok`, `impaired`) become the launcher's
//! [`CheckStatus`] here.

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
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};

use crate::cutover::CheckStatus;
use crate::error::{AwsCallError, AwsErrorKind};

/// EC2's query API version (botocore's `ec2/2016-11-15`).
const API_VERSION: &str = "2016-11-15";
/// Instance ids one DescribeInstanceStatus takes.
const IDS_PER_CALL: usize = 100;

/// One instance's state and status checks, in EC2's words and the launcher's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub instance_id: String,
    pub status: CheckStatus,
}

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
            .operation_name("DescribeInstanceStatus")
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

    /// The status checks of `instance_ids`, 100 a call; an instance EC2 does not list
    /// is left out.
    pub async fn instance_statuses(
        &self,
        instance_ids: &[String],
    ) -> Result<Vec<InstanceStatus>, AwsCallError> {
        let mut statuses = Vec::with_capacity(instance_ids.len());
        for chunk in instance_ids.chunks(IDS_PER_CALL) {
            let mut body = format!(
                "Action=DescribeInstanceStatus&Version={API_VERSION}&IncludeAllInstances=true"
            );
            for (n, id) in chunk.iter().enumerate() {
                body.push_str(&format!("&InstanceId.{}={}", n + 1, urlencode(id)));
            }
            let credentials = self.credentials().await?;
            let xml = self
                .operation
                .invoke(QueryInput { body, credentials })
                .await
                .map_err(|error| AwsCallError::from_sdk("EC2", "DescribeInstanceStatus", &error))?;
            statuses.extend(parse_statuses(&xml).map_err(|message| {
                AwsCallError::unusable_answer(
                    "EC2",
                    "DescribeInstanceStatus",
                    "UnreadableXml",
                    message,
                )
            })?);
        }
        Ok(statuses)
    }

    async fn credentials(&self) -> Result<aws_credential_types::Credentials, AwsCallError> {
        let provider = self.credentials.as_ref().ok_or_else(|| {
            AwsCallError::unusable_answer(
                "EC2",
                "DescribeInstanceStatus",
                "NoCredentials",
                "no credentials provider".into(),
            )
        })?;
        provider
            .provide_credentials()
            .await
            .map_err(|error| AwsCallError {
                service: "EC2",
                operation: "DescribeInstanceStatus",
                kind: AwsErrorKind::Other {
                    code: "CredentialsNotLoaded".into(),
                },
                status: None,
                message: error.to_string(),
            })
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
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
    let (code, message) = parse_error(&text).unwrap_or_else(|| ("Unknown".into(), text.clone()));
    let meta = ErrorMetadata::builder().code(code).message(message).build();
    Err(OrchestratorError::operation(QueryError(meta)))
}

/// EC2's error answer: `<Response><Errors><Error><Code>…<Message>…`.
fn parse_error(xml: &str) -> Option<(String, String)> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().ok()?;
    while let Some(mut errors) = root.next_tag() {
        if !errors.start_el().matches("Errors") {
            continue;
        }
        // The first error is the one EC2 answers with.
        if let Some(mut error) = errors.next_tag() {
            let (mut code, mut message) = (None, String::new());
            while let Some(mut field) = error.next_tag() {
                let name = field.start_el().local().to_owned();
                let text = try_data(&mut field).ok()?.into_owned();
                match name.as_str() {
                    "Code" => code = Some(text),
                    "Message" => message = text,
                    _ => {}
                }
            }
            return code.map(|code| (code, message));
        }
    }
    None
}

/// The `instanceStatusSet` of a DescribeInstanceStatus answer.
fn parse_statuses(xml: &str) -> Result<Vec<InstanceStatus>, String> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    let mut statuses = Vec::new();
    while let Some(mut set) = root.next_tag() {
        if !set.start_el().matches("instanceStatusSet") {
            continue;
        }
        while let Some(mut item) = set.next_tag() {
            if item.start_el().matches("item") {
                statuses.push(read_status(&mut item)?);
            }
        }
    }
    Ok(statuses)
}

/// One `item`: the instance's id, its state's name and its two checks' statuses.
fn read_status(item: &mut ScopedDecoder<'_, '_>) -> Result<InstanceStatus, String> {
    let (mut id, mut state, mut system, mut instance) = (None, None, None, None);
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_owned();
        match name.as_str() {
            "instanceId" => {
                id = Some(
                    try_data(&mut field)
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                )
            }
            "instanceState" => state = child_text(&mut field, "name")?,
            "systemStatus" => system = child_text(&mut field, "status")?,
            "instanceStatus" => instance = child_text(&mut field, "status")?,
            _ => {}
        }
    }
    let instance_id = id.ok_or("an instanceStatusSet item without instanceId")?;
    let status = check_status(state.as_deref(), system.as_deref(), instance.as_deref());
    Ok(InstanceStatus {
        instance_id,
        status,
    })
}

fn child_text(parent: &mut ScopedDecoder<'_, '_>, child: &str) -> Result<Option<String>, String> {
    let mut found = None;
    while let Some(mut field) = parent.next_tag() {
        if field.start_el().matches(child) {
            found = Some(
                try_data(&mut field)
                    .map_err(|e| e.to_string())?
                    .into_owned(),
            );
        }
    }
    Ok(found)
}

/// EC2's words for an instance as the launcher's: running with both checks `ok` passes;
/// a check `impaired`, or an instance stopping or gone, fails; anything else (pending,
/// `initializing`, `insufficient-data`) is still to come.
fn check_status(state: Option<&str>, system: Option<&str>, instance: Option<&str>) -> CheckStatus {
    match state {
        Some("running") => {}
        Some("pending") | None => return CheckStatus::Pending,
        Some(other) => return CheckStatus::Failed(format!("the instance is {other}")),
    }
    for (check, status) in [("system", system), ("instance", instance)] {
        if status == Some("impaired") {
            return CheckStatus::Failed(format!("its {check} status check is impaired"));
        }
    }
    if system == Some("ok") && instance == Some("ok") {
        CheckStatus::Passed
    } else {
        CheckStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstanceStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <instanceStatusSet>
    <item>
      <instanceId>i-0aaaaaaaaaaaaaaa1</instanceId>
      <availabilityZone>us-east-1a</availabilityZone>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus><status>ok</status><details><item><name>reachability</name><status>passed</status></item></details></systemStatus>
      <instanceStatus><status>ok</status></instanceStatus>
    </item>
    <item>
      <instanceId>i-0bbbbbbbbbbbbbbb2</instanceId>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus><status>ok</status></systemStatus>
      <instanceStatus><status>impaired</status></instanceStatus>
    </item>
    <item>
      <instanceId>i-0ccccccccccccccc3</instanceId>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus><status>initializing</status></systemStatus>
      <instanceStatus><status>initializing</status></instanceStatus>
    </item>
    <item>
      <instanceId>i-0ddddddddddddddd4</instanceId>
      <instanceState><code>48</code><name>terminated</name></instanceState>
      <systemStatus><status>not-applicable</status></systemStatus>
      <instanceStatus><status>not-applicable</status></instanceStatus>
    </item>
  </instanceStatusSet>
</DescribeInstanceStatusResponse>"#;

    #[test]
    fn status_checks_read_in_the_launchers_words() {
        let statuses = parse_statuses(ANSWER).expect("parses");
        let read: Vec<(&str, &CheckStatus)> = statuses
            .iter()
            .map(|s| (s.instance_id.as_str(), &s.status))
            .collect();
        assert_eq!(
            read,
            [
                ("i-0aaaaaaaaaaaaaaa1", &CheckStatus::Passed),
                (
                    "i-0bbbbbbbbbbbbbbb2",
                    &CheckStatus::Failed("its instance status check is impaired".into())
                ),
                ("i-0ccccccccccccccc3", &CheckStatus::Pending),
                (
                    "i-0ddddddddddddddd4",
                    &CheckStatus::Failed("the instance is terminated".into())
                ),
            ]
        );
        let nameless = ANSWER.replace("<instanceId>i-0aaaaaaaaaaaaaaa1</instanceId>", "");
        assert!(parse_statuses(&nameless)
            .unwrap_err()
            .contains("without instanceId"));
        assert!(parse_statuses("<not xml").is_err());
    }

    #[test]
    fn an_error_answer_gives_its_code_and_message() {
        let xml = r#"<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        assert_eq!(
            parse_error(xml),
            Some((
                "InvalidInstanceID.NotFound".into(),
                "The instance ID 'i-1' does not exist".into()
            ))
        );
        assert_eq!(parse_error("<Response/>"), None);
    }
}
