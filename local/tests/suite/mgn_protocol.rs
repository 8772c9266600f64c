//! The MGN stand-in on the wire, over raw HTTP: an unsigned request, an unknown method
//! and path, a body that is not JSON, an account used before InitializeService, and an
//! operation not served yet are each refused with the status and `x-amzn-errortype` the
//! model or the protocol gives; InitializeService answers 204 with no body.

use crate::common;

use autopilot_local::mgn::MgnHandle;
use serde_json::Value;

const SIGNED: &[(&str, &str)] = &[
    ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDMGN/20261206/us-east-1/mgn/aws4_request, SignedHeaders=host, Signature=00"),
    ("content-type", "application/json"),
];

/// Status, the error type header (if any, lower case as `raw_http` reads heads) and
/// the body's message.
fn call(
    endpoint: &str,
    method: &str,
    path: &str,
    signed: bool,
    body: &str,
) -> (u16, Option<String>, String) {
    let headers = if signed { SIGNED } else { &SIGNED[1..] };
    let (status, head, body) = common::raw_http(endpoint, method, path, headers, body);
    let error_type = head
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-errortype:"))
        .map(|v| v.trim().to_owned());
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or(body);
    (status, error_type, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_on_the_wire_as_the_model_and_protocol_say() {
    let mgn = MgnHandle::start(0).await.expect("the MGN stand-in starts");
    let endpoint = mgn.endpoint();
    let checks = tokio::task::spawn_blocking(move || {
        let refused = |expected: (u16, &str), got: (u16, Option<String>, String)| {
            assert_eq!(
                (got.0, got.1.as_deref()),
                (expected.0, Some(expected.1.to_ascii_lowercase().as_str())),
                "{}",
                got.2
            );
            assert!(!got.2.is_empty(), "a refusal says why");
        };
        refused(
            (403, "MissingAuthenticationTokenException"),
            call(&endpoint, "POST", "/InitializeService", false, ""),
        );
        refused(
            (404, "UnknownOperationException"),
            call(&endpoint, "GET", "/InitializeService", true, ""),
        );
        refused(
            (400, "SerializationException"),
            call(
                &endpoint,
                "POST",
                "/DescribeSourceServers",
                true,
                "{not json",
            ),
        );
        refused(
            (400, "UninitializedAccountException"),
            call(&endpoint, "POST", "/DescribeSourceServers", true, "{}"),
        );
        let (status, error_type, body) = call(&endpoint, "POST", "/InitializeService", true, "");
        assert_eq!((status, error_type, body.as_str()), (204, None, ""));
        let (status, error_type, message) =
            call(&endpoint, "POST", "/DescribeSourceServers", true, "{}");
        assert_eq!(
            (status, error_type.as_deref()),
            (501, Some("notimplementedexception")),
            "{message}"
        );
        assert!(message.contains("DescribeSourceServers"), "{message}");
    });
    checks.await.expect("raw checks");
    mgn.shutdown().await;
}
