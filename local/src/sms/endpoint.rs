//! The SMS HTTP endpoint: awsJson1.1 on `POST /`, plus admin views under `/_emulator/`.
//!
//! Order of checks follows AWS: the request must be signed (an `Authorization` header;
//! the signature itself is not verified), the `X-Amz-Target` must name an operation,
//! then faults are injected, then the body is parsed and the operation runs. Every
//! recognised operation is counted, whatever its outcome, because every call a client
//! makes would have cost an API call against the real service.
//!
//! Admin paths (never used by AWS): `GET /_emulator/state`, `GET /_emulator/counters`,
//! `GET /_emulator/events`, and `POST /_emulator/advance?seconds=N` for clients that
//! cannot reach the Rust handle.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::sms::protocol::{ApiError, ErrorCode, Operation, TARGET_PREFIX};
use crate::sms::Shared;

/// Request bodies larger than this are refused (SMS requests are small).
const MAX_BODY: usize = 8 * 1024 * 1024;
const JSON_1_1: &str = "application/x-amz-json-1.1";

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

fn respond(
    status: u16,
    body: Vec<u8>,
    content_type: &str,
    error_type: Option<&str>,
) -> Response<Full<Bytes>> {
    let id = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .header(
            "x-amzn-requestid",
            format!("00000000-0000-4000-8000-{id:012x}"),
        );
    if let Some(t) = error_type {
        builder = builder.header("x-amzn-errortype", t);
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
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

pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if let Some(admin) = path.strip_prefix("/_emulator/") {
        return admin_view(shared, admin, req.method(), req.uri().query());
    }
    if req.method() != Method::POST || path != "/" {
        return error_response(&ApiError::new(
            ErrorCode::UnknownOperation,
            "The SMS API only accepts POST / with an X-Amz-Target header",
        ));
    }
    if !req.headers().contains_key(hyper::header::AUTHORIZATION) {
        return error_response(&ApiError::new(
            ErrorCode::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let op = match target
        .strip_prefix(TARGET_PREFIX)
        .and_then(|t| t.strip_prefix('.'))
        .and_then(Operation::from_name)
    {
        Some(op) => op,
        None => {
            return error_response(&ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Unknown operation {target:?}"),
            ))
        }
    };
    shared.count(op);
    if !op.is_implemented() {
        return error_response(&ApiError::not_implemented(op.name()));
    }
    let verdict = shared.judge_faults();
    if !verdict.latency.is_zero() {
        tokio::time::sleep(verdict.latency).await;
    }
    if let Some(e) = verdict.error {
        return error_response(&e);
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error_response(&ApiError::new(
                ErrorCode::Serialization,
                format!("Cannot read the request body: {e}"),
            ))
        }
    };
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error_response(&ApiError::new(
                    ErrorCode::Serialization,
                    format!("The request body is not valid JSON: {e}"),
                ))
            }
        }
    };
    match shared.call(op, &input) {
        Ok(v) => json_response(&v),
        Err(e) => error_response(&e),
    }
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
                    json(json!({ "now": crate::sms::engine::rfc3339(shared.now_ms()) }))
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
