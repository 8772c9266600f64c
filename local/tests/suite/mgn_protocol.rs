//! The MGN stand-in on the wire, over raw HTTP: an unsigned request, an unknown method
//! and path, a body that is not JSON, an account used before InitializeService, a member
//! outside the model's bounds or pattern, a resource that does not exist, and an
//! operation not served yet are each refused with the status, `x-amzn-errortype` and
//! (for a ValidationException) the `reason` the model or the protocol gives;
//! InitializeService answers 204 with no body.

use crate::common;

use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use serde_json::Value;

const SIGNED: &[(&str, &str)] = &[
    ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDMGN/20261206/us-east-1/mgn/aws4_request, SignedHeaders=host, Signature=00"),
    ("content-type", "application/json"),
];

/// One answer: its status, its error type (lower case, as `raw_http` reads heads) and
/// its body (JSON, or the raw text as a string).
struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Value,
}

fn call(endpoint: &str, method: &str, path: &str, signed: bool, body: &str) -> Answer {
    let headers = if signed { SIGNED } else { &SIGNED[1..] };
    let (status, head, body) = common::raw_http(endpoint, method, path, headers, body);
    let error_type = head
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-errortype:"))
        .map(|v| v.trim().to_owned());
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    Answer {
        status,
        error_type,
        body,
    }
}

/// Checks a refusal: status, error type, the reason of a ValidationException, and a
/// message that says why.
fn refused(answer: Answer, status: u16, error_type: &str, reason: Option<&str>) {
    let context = answer.body.to_string();
    assert_eq!(answer.status, status, "{context}");
    assert_eq!(
        answer.error_type.as_deref(),
        Some(error_type.to_ascii_lowercase().as_str()),
        "{context}"
    );
    assert_eq!(answer.body["reason"].as_str(), reason, "{context}");
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a refusal says why: {context}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_on_the_wire_as_the_model_and_protocol_say() {
    let mgn = MgnHandle::start(Scenario::default_scenario(), 0)
        .await
        .expect("the MGN stand-in starts");
    let endpoint = mgn.endpoint();
    let checks = tokio::task::spawn_blocking(move || {
        let unsigned = call(&endpoint, "POST", "/InitializeService", false, "");
        refused(unsigned, 403, "MissingAuthenticationTokenException", None);
        let unknown = call(&endpoint, "GET", "/InitializeService", true, "");
        refused(
            unknown,
            400,
            "ValidationException",
            Some("unknownOperation"),
        );
        let garbled = call(
            &endpoint,
            "POST",
            "/DescribeSourceServers",
            true,
            "{not json",
        );
        refused(garbled, 400, "ValidationException", Some("cannotParse"));
        let early = call(&endpoint, "POST", "/DescribeSourceServers", true, "{}");
        refused(early, 400, "UninitializedAccountException", None);

        let initialized = call(&endpoint, "POST", "/InitializeService", true, "");
        assert_eq!(initialized.status, 204);
        assert_eq!(initialized.error_type, None);
        assert_eq!(initialized.body, Value::String(String::new()), "no body");

        let too_big = call(
            &endpoint,
            "POST",
            "/DescribeSourceServers",
            true,
            r#"{"maxResults": 1001}"#,
        );
        assert_eq!(too_big.body["fieldList"][0]["name"], "maxResults");
        refused(
            too_big,
            400,
            "ValidationException",
            Some("fieldValidationFailed"),
        );
        let bad_id = call(
            &endpoint,
            "POST",
            "/FinalizeCutover",
            true,
            r#"{"sourceServerID": "server-1"}"#,
        );
        assert_eq!(bad_id.body["fieldList"][0]["name"], "sourceServerID");
        refused(
            bad_id,
            400,
            "ValidationException",
            Some("fieldValidationFailed"),
        );
        let missing = call(
            &endpoint,
            "POST",
            "/FinalizeCutover",
            true,
            r#"{"sourceServerID": "s-0123456789abcdef0"}"#,
        );
        assert_eq!(missing.body["resourceId"], "s-0123456789abcdef0");
        assert_eq!(missing.body["resourceType"], "SOURCE_SERVER");
        refused(missing, 404, "ResourceNotFoundException", None);

        let not_served = call(&endpoint, "POST", "/ListConnectors", true, "{}");
        let message = not_served.body["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("ListConnectors"), "{message}");
        refused(not_served, 501, "NotImplementedException", None);
    });
    checks.await.expect("raw checks");
    mgn.shutdown().await;
}
