//! The MGN HTTP endpoint: restJson1 as the model states it. Order of checks: the request
//! must be signed (an `Authorization` header; the signature itself is not verified), its
//! method and path must be an operation's and its body a JSON object (else the model's
//! ValidationException, reason `unknownOperation` or `cannotParse`); then an account that
//! was never initialized refuses every operation whose model errors include
//! UninitializedAccountException. What the stand-in does not serve yet is refused with
//! 501, never answered with a guess. The scenario's faults (latency, throttling, internal
//! errors) strike once the route is known, before the body is read, as with SMS.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::account::Shared;
use super::api::{Body, Output};
use super::error::MgnError;
use super::protocol::{route_of, ErrorKind, Route, ValidationReason};
use crate::faults::InjectedFault;

/// Request bodies larger than this are refused (MGN requests are small).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// What an operation answers: its status and JSON body (none for 204).
type Answer = Result<(u16, Output), MgnError>;

pub(super) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    match answer(shared, request).await {
        Ok((status, body)) => respond(status, body.map(Body::into_text), None),
        Err(error) => respond(
            error.kind.status(),
            Some(error.body().to_string()),
            Some(error.kind.name()),
        ),
    }
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Answer {
    if !request.headers().contains_key(hyper::header::AUTHORIZATION) {
        return Err(MgnError::new(
            ErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let Some((route, label)) = route_of(&method, &path) else {
        return Err(MgnError::invalid(
            ValidationReason::UnknownOperation,
            format!("no operation answers {method} {path}"),
        ));
    };
    shared.count(route.operation);
    inject_faults(shared).await?;
    let label = label.map(|l| percent_decode_str(l).decode_utf8_lossy().into_owned());
    let query = request.uri().query().unwrap_or_default().to_owned();
    let mut input = read_json(request).await?;
    bind_uri_members(&mut input, label, &query);
    let answer = serve(shared, route, &input);
    shared.outcome(
        route.operation,
        answer.as_ref().err().map(|e| e.kind.name()),
    );
    answer
}

/// The scenario's faults: latency slept, then maybe a throttle or an internal error.
async fn inject_faults(shared: &Shared) -> Result<(), MgnError> {
    let verdict = shared.judge_faults(false);
    if !verdict.latency.is_zero() {
        tokio::time::sleep(verdict.latency).await;
    }
    match verdict.error {
        Some(InjectedFault::Throttled) => {
            Err(MgnError::new(ErrorKind::Throttling, "Rate exceeded"))
        }
        Some(InjectedFault::InternalError) => Err(MgnError::new(
            ErrorKind::InternalServer,
            "An internal error occurred (injected by the stand-in)",
        )),
        None => Ok(()),
    }
}

/// Binds what the URI carries into the input, as restJson1 does: the `{resourceArn}`
/// label, and the `tagKeys` query members (the only query member the model declares).
fn bind_uri_members(input: &mut Value, label: Option<String>, query: &str) {
    if let Some(arn) = label {
        input["resourceArn"] = json!(arn);
    }
    let keys: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "tagKeys")
        .map(|(_, value)| value.into_owned())
        .collect();
    if !keys.is_empty() {
        input["tagKeys"] = json!(keys);
    }
}

/// The body as JSON; an empty body is the empty object.
async fn read_json(request: Request<Incoming>) -> Result<Value, MgnError> {
    let bytes = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| MgnError::invalid(ValidationReason::CannotParse, format!("body: {e}")))?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        MgnError::invalid(
            ValidationReason::CannotParse,
            format!("body is not JSON: {e}"),
        )
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(MgnError::invalid(
            ValidationReason::CannotParse,
            "body is not a JSON object",
        ))
    }
}

fn serve(shared: &Shared, route: &Route, input: &Value) -> Answer {
    let output = shared.lock().run(route.operation, input)?;
    Ok((route.success, output))
}

fn respond(status: u16, body: Option<String>, error_type: Option<&str>) -> Response<Full<Bytes>> {
    let body = body.map(|text| ("application/json", text.into_bytes()));
    crate::http::aws_response(status, body, error_type)
}
