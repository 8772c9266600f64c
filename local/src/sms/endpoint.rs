//! The SMS HTTP endpoint: awsJson1.1 on `POST /`, plus admin views under `/_emulator/`.
//!
//! Order of checks follows AWS: the request must be signed (an `Authorization` header;
//! the signature itself is not verified), the `X-Amz-Target` must name an operation,
//! then faults are injected, then the body is parsed and the operation runs. Every
//! recognised operation is counted, whatever its outcome, because every call a client
//! makes would have cost an API call against the real service. The time from taking a
//! call on to its answer (the injected latency as slept, then reading, applying and
//! rendering) is added up per operation: benchmarks count it as the service's time,
//! not the caller's.
//!
//! Admin paths (never used by AWS): `GET /_emulator/state`, `GET /_emulator/counters`,
//! `GET /_emulator/events`, and `POST /_emulator/advance?seconds=N` for clients that
//! cannot reach the Rust handle.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{json, Value};

use super::Shared;
use crate::faults::InjectedFault;
use crate::sms::engine::rfc3339;
use crate::sms::protocol::{ApiError, ErrorCode, Operation, TARGET_PREFIX};

/// Request bodies larger than this are refused (SMS requests are small).
const MAX_BODY: usize = 8 * 1024 * 1024;
const JSON_1_1: &str = "application/x-amz-json-1.1";

fn respond(
    status: u16,
    body: Vec<u8>,
    content_type: &str,
    error_type: Option<&str>,
) -> Response<Full<Bytes>> {
    crate::http::aws_response(status, Some((content_type, body)), error_type)
}

fn error_response(e: &ApiError) -> Response<Full<Bytes>> {
    let body = json!({ "__type": e.code.name(), "message": e.message });
    respond(
        e.code.status(),
        body.to_string().into_bytes(),
        JSON_1_1,
        Some(e.code.name()),
    )
}

fn json_response(v: &Value) -> Response<Full<Bytes>> {
    respond(200, v.to_string().into_bytes(), JSON_1_1, None)
}

pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if let Some(admin) = path.strip_prefix("/_emulator/") {
        return admin_view(shared, admin, req.method(), req.uri().query());
    }
    let mut serving = None;
    let response = match answer(shared, &path, req, &mut serving).await {
        Ok(v) => json_response(&v),
        Err(e) => error_response(&e),
    };
    if let Some((op, since)) = serving {
        shared.served(op, since.elapsed());
    }
    response
}

/// One SMS call, checked in the order AWS checks: route, signature, target, faults, body.
/// `serving` is set when the emulator takes the call on, before the injected latency,
/// so that the time the service took to answer, latency included, is known.
async fn answer(
    shared: &Shared,
    path: &str,
    req: Request<Incoming>,
    serving: &mut Option<(Operation, Instant)>,
) -> Result<Value, ApiError> {
    if req.method() != Method::POST || path != "/" {
        return Err(ApiError::new(
            ErrorCode::UnknownOperation,
            "The SMS API only accepts POST / with an X-Amz-Target header",
        ));
    }
    if !req.headers().contains_key(hyper::header::AUTHORIZATION) {
        return Err(ApiError::new(
            ErrorCode::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    }
    let op = target_operation(&req)?;
    shared.count(op);
    if !op.is_implemented() {
        return Err(ApiError::not_implemented(op.name()));
    }
    *serving = Some((op, Instant::now()));
    let verdict = shared.judge_faults();
    if !verdict.latency.is_zero() {
        tokio::time::sleep(verdict.latency).await;
    }
    match verdict.error {
        Some(InjectedFault::Throttled) => {
            return Err(ApiError::new(ErrorCode::Throttling, "Rate exceeded"))
        }
        Some(InjectedFault::InternalError) => {
            return Err(ApiError::new(
                ErrorCode::InternalError,
                "An internal error occurred (injected by the emulator)",
            ))
        }
        None => {}
    }
    let input = read_body(req).await?;
    let applied = shared
        .call(op, &input)
        .inspect_err(|error| shared.refused(op, error))?;
    shared.answered(op.name());
    Ok(applied)
}

/// The model operation `X-Amz-Target` names, or UnknownOperationException.
fn target_operation(req: &Request<Incoming>) -> Result<Operation, ApiError> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    target
        .strip_prefix(TARGET_PREFIX)
        .and_then(|t| t.strip_prefix('.'))
        .and_then(Operation::from_name)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Unknown operation {target:?}"),
            )
        })
}

/// The JSON body; an empty one is an input with no members, `{}`.
async fn read_body(req: Request<Incoming>) -> Result<Value, ApiError> {
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Serialization,
                format!("Cannot read the request body: {e}"),
            )
        })?
        .to_bytes();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::Serialization,
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

fn admin_view(
    shared: &Shared,
    path: &str,
    method: &Method,
    query: Option<&str>,
) -> Response<Full<Bytes>> {
    let json = |v: Value| respond(200, v.to_string().into_bytes(), "application/json", None);
    match (method, path) {
        (&Method::GET, "state") => {
            json(serde_json::to_value(shared.snapshot()).unwrap_or(Value::Null))
        }
        (&Method::GET, "counters") => {
            json(serde_json::to_value(shared.counts()).unwrap_or(Value::Null))
        }
        (&Method::GET, "events") => {
            json(serde_json::to_value(shared.events()).unwrap_or(Value::Null))
        }
        (&Method::POST, "advance") => {
            let seconds = query
                .unwrap_or("")
                .split('&')
                .find_map(|kv| kv.strip_prefix("seconds="))
                .and_then(|v| v.parse::<u64>().ok());
            match seconds {
                Some(s) => {
                    shared
                        .advance_ms(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX / 4));
                    json(json!({ "now": rfc3339(shared.now_ms()) }))
                }
                None => respond(
                    400,
                    br#"{"message":"advance needs ?seconds=N"}"#.to_vec(),
                    "application/json",
                    None,
                ),
            }
        }
        _ => respond(
            404,
            br#"{"message":"unknown emulator admin path"}"#.to_vec(),
            "application/json",
            None,
        ),
    }
}
