//! The EC2 of the target account, on loopback beside MGN: EC2's query protocol
//! (`Action=…&Version=2016-11-15`, form-encoded, XML answers), only the operations a
//! migration backend uses on what MGN launches into: launch templates and their
//! versions, subnets, security groups, instance types and key pairs for validation, and
//! the test and cutover instances with their status checks. It reads and changes the
//! same account as the MGN endpoint (one engine). A call is signed, read, its `Action`
//! known and counted, then the scenario's faults strike, then `DryRun` is answered,
//! then the operation runs.
//!
//! - [`query`]: parameters in, XML out, the launch template data's members;
//! - `templates.rs`: DescribeLaunchTemplates, DescribeLaunchTemplateVersions,
//!   CreateLaunchTemplateVersion, ModifyLaunchTemplate;
//! - `describe.rs`: DescribeSubnets, DescribeSecurityGroups, DescribeInstanceTypes,
//!   DescribeKeyPairs, DescribeInstances, DescribeInstanceStatus.

mod describe;
pub mod query;
mod templates;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::account::Shared;
use super::engine::Engine;
use crate::faults::InjectedFault;
use query::{Params, Xml};

/// The API version the stand-in speaks (the model's `apiVersion`).
pub const API_VERSION: &str = "2016-11-15";
const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
const MAX_BODY: usize = 1024 * 1024;

/// The operations served.
pub const OPERATIONS: &[&str] = &[
    "CreateLaunchTemplateVersion",
    "DescribeInstanceStatus",
    "DescribeInstanceTypes",
    "DescribeInstances",
    "DescribeKeyPairs",
    "DescribeLaunchTemplateVersions",
    "DescribeLaunchTemplates",
    "DescribeSecurityGroups",
    "DescribeSubnets",
    "ModifyLaunchTemplate",
];

/// An EC2 error: its code (what clients match on), message and HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct Ec2Error {
    pub code: String,
    pub message: String,
    pub status: u16,
}

impl Ec2Error {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            status: 400,
        }
    }
}

/// The engine's refusals are "Code: message".
impl From<String> for Ec2Error {
    fn from(text: String) -> Self {
        match text.split_once(": ") {
            Some((code, message)) => Self::new(code, message),
            None => Self::new("InvalidParameterValue", text),
        }
    }
}

/// What an operation writes inside its `<ActionResponse>`.
type Answer = Result<Xml, Ec2Error>;

pub(super) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let id = crate::http::next_request_id();
    let (status, body) = match answer(shared, request).await {
        Ok((action, xml)) => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NAMESPACE}\"><requestId>{id}</requestId>{}</{action}Response>",
                xml.into_string()
            );
            (200, body)
        }
        Err(e) => {
            let mut xml = Xml::default();
            xml.open("Response").open("Errors").open("Error");
            xml.leaf("Code", &e.code).leaf("Message", &e.message);
            xml.close("Error")
                .close("Errors")
                .leaf("RequestID", &id)
                .close("Response");
            (
                e.status,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
                    xml.into_string()
                ),
            )
        }
    };
    crate::http::aws_response_as(
        &id,
        status,
        Some(("text/xml;charset=UTF-8", body.into_bytes())),
        None,
    )
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Result<(String, Xml), Ec2Error> {
    if !request.headers().contains_key(hyper::header::AUTHORIZATION) {
        return Err(Ec2Error {
            status: 401,
            ..Ec2Error::new(
                "AuthFailure",
                "AWS was not able to validate the provided access credentials",
            )
        });
    }
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| Ec2Error::new("InvalidParameterValue", format!("body: {e}")))?
        .to_bytes();
    let params = Params::parse(&body, &query);
    let action = params
        .get("Action")
        .ok_or_else(|| {
            Ec2Error::new(
                "MissingAction",
                "the request must contain the parameter Action",
            )
        })?
        .to_owned();
    if !OPERATIONS.contains(&action.as_str()) {
        return Err(Ec2Error::new(
            "InvalidAction",
            format!("the action {action} is not valid for this web service"),
        ));
    }
    shared.count(&format!("ec2:{action}"));
    let verdict = shared.judge_faults(true);
    if !verdict.latency.is_zero() {
        tokio::time::sleep(verdict.latency).await;
    }
    match verdict.error {
        Some(InjectedFault::Throttled) => {
            return Err(Ec2Error {
                status: 503,
                ..Ec2Error::new("RequestLimitExceeded", "Request limit exceeded.")
            })
        }
        Some(InjectedFault::InternalError) => {
            return Err(Ec2Error {
                status: 500,
                ..Ec2Error::new(
                    "InternalError",
                    "An internal error has occurred (injected by the stand-in)",
                )
            })
        }
        None => {}
    }
    if params.flag("DryRun")? {
        return Err(Ec2Error {
            status: 412,
            ..Ec2Error::new(
                "DryRunOperation",
                "Request would have succeeded, but DryRun flag is set.",
            )
        });
    }
    let named = format!("ec2:{action}");
    let xml = dispatch(&mut shared.lock().engine, &action, &params);
    shared.outcome(&named, xml.as_ref().err().map(|e| e.code.as_str()));
    Ok((action, xml?))
}

fn dispatch(engine: &mut Engine, action: &str, params: &Params) -> Answer {
    match action {
        "DescribeLaunchTemplates" => templates::describe_launch_templates(engine, params),
        "DescribeLaunchTemplateVersions" => templates::describe_versions(engine, params),
        "CreateLaunchTemplateVersion" => templates::create_version(engine, params),
        "ModifyLaunchTemplate" => templates::modify(engine, params),
        "DescribeSubnets" => describe::subnets(engine, params),
        "DescribeSecurityGroups" => describe::security_groups(engine, params),
        "DescribeInstanceTypes" => describe::instance_types(engine, params),
        "DescribeKeyPairs" => describe::key_pairs(engine, params),
        "DescribeInstances" => describe::instances(engine, params),
        "DescribeInstanceStatus" => describe::instance_status(engine, params),
        other => Err(Ec2Error::new(
            "InvalidAction",
            format!("the action {other} is not valid"),
        )),
    }
}

/// Resolves `MaxResults` (within `bounds`) and `NextToken` into a slice of `total`.
fn page(
    action: &str,
    filter: &str,
    params: &Params,
    total: usize,
    bounds: (usize, usize),
) -> Result<(usize, usize, Option<String>), Ec2Error> {
    let size = match params.get("MaxResults") {
        None => usize::MAX,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (bounds.0..=bounds.1).contains(&n) => n,
            _ => {
                return Err(Ec2Error::new(
                    "InvalidParameterValue",
                    format!(
                        "MaxResults must be from {} to {}, got {v}",
                        bounds.0, bounds.1
                    ),
                ))
            }
        },
    };
    let binding = crate::page_token::Binding::of(action, filter);
    let from = match params.get("NextToken") {
        None | Some("") => 0,
        Some(token) => binding
            .offset(token)
            .ok_or_else(|| Ec2Error::new("InvalidNextToken", "the token is not valid"))?,
    };
    let from = from.min(total);
    let to = from.saturating_add(size).min(total);
    Ok((from, to, (to < total).then(|| binding.token(to))))
}
