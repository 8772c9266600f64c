//! Typed errors of the project, each classified retryable or permanent, and their
//! mapping into the `Diagnostic` a Lambda invocation reports.
//!
//! SMS error codes are classified from the official model: an operation that failed
//! because its effect already exists (`ReplicationJobAlreadyExistsException`) is done,
//! throttling and the service's own trouble are worth retrying, and everything that
//! says the request itself is wrong will fail the same way next time.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;
use serde::Serialize;

use crate::config::ConfigErrors;

/// Whether trying the same thing again may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Retryability {
    Retryable,
    Permanent,
}

impl fmt::Display for Retryability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Retryable => "Retryable",
            Self::Permanent => "Permanent",
        })
    }
}

/// What an AWS call's failure means to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AwsErrorKind {
    /// The effect already exists (`ReplicationJobAlreadyExistsException`): count as done.
    AlreadyExists,
    Throttling,
    TemporarilyUnavailable,
    InternalError,
    /// No answer: timeout, connection refused, DNS.
    Transport,
    NoConnectorsAvailable,
    ServerCannotBeReplicated,
    ReplicationRunLimitExceeded,
    ReplicationJobNotFound,
    InvalidParameter,
    MissingRequiredParameter,
    UnauthorizedOperation,
    OperationNotPermitted,
    DryRunOperation,
    /// Any other service error code, classified by its HTTP status.
    Other {
        code: String,
    },
}

impl AwsErrorKind {
    /// Maps a service error code (the `__type` of an awsJson error) to a kind.
    pub fn from_code(code: &str) -> Self {
        match code {
            "ReplicationJobAlreadyExistsException" => Self::AlreadyExists,
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "ThrottledException" => Self::Throttling,
            "TemporarilyUnavailableException" | "ServiceUnavailable" => {
                Self::TemporarilyUnavailable
            }
            "InternalError" | "InternalException" | "InternalFailure" => Self::InternalError,
            "NoConnectorsAvailableException" => Self::NoConnectorsAvailable,
            "ServerCannotBeReplicatedException" => Self::ServerCannotBeReplicated,
            "ReplicationRunLimitExceededException" => Self::ReplicationRunLimitExceeded,
            "ReplicationJobNotFoundException" => Self::ReplicationJobNotFound,
            "InvalidParameterException" => Self::InvalidParameter,
            "MissingRequiredParameterException" => Self::MissingRequiredParameter,
            "UnauthorizedOperationException" => Self::UnauthorizedOperation,
            "OperationNotPermittedException" => Self::OperationNotPermitted,
            "DryRunOperationException" => Self::DryRunOperation,
            other => Self::Other {
                code: other.to_owned(),
            },
        }
    }

    /// Short name used in `Diagnostic::error_type`.
    pub fn name(&self) -> &str {
        match self {
            Self::AlreadyExists => "AlreadyExists",
            Self::Throttling => "Throttling",
            Self::TemporarilyUnavailable => "TemporarilyUnavailable",
            Self::InternalError => "InternalError",
            Self::Transport => "Transport",
            Self::NoConnectorsAvailable => "NoConnectorsAvailable",
            Self::ServerCannotBeReplicated => "ServerCannotBeReplicated",
            Self::ReplicationRunLimitExceeded => "ReplicationRunLimitExceeded",
            Self::ReplicationJobNotFound => "ReplicationJobNotFound",
            Self::InvalidParameter => "InvalidParameter",
            Self::MissingRequiredParameter => "MissingRequiredParameter",
            Self::UnauthorizedOperation => "UnauthorizedOperation",
            Self::OperationNotPermitted => "OperationNotPermitted",
            Self::DryRunOperation => "DryRunOperation",
            Self::Other { code } => code,
        }
    }
}

/// A failed AWS call, with the service, the operation and what the service said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation} failed ({}): {message}", kind.name())]
pub struct AwsCallError {
    pub service: &'static str,
    pub operation: &'static str,
    pub kind: AwsErrorKind,
    /// HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    pub message: String,
}

impl AwsCallError {
    /// Builds the error from any SDK error of any AWS service client.
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        error: &SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = error
            .raw_response()
            .map(|response| response.status().as_u16());
        let (kind, message) = match error {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                (AwsErrorKind::Transport, describe_chain(error))
            }
            SdkError::ResponseError(_) => {
                // An answer we could not parse: the peer is not speaking the protocol.
                (
                    AwsErrorKind::Other {
                        code: "UnparseableResponse".into(),
                    },
                    describe_chain(error),
                )
            }
            _ => match error.code() {
                Some(code) => (
                    AwsErrorKind::from_code(code),
                    error.message().unwrap_or("no message").to_owned(),
                ),
                None => (
                    AwsErrorKind::Other {
                        code: format!("HTTP{}", status.unwrap_or(0)),
                    },
                    describe_chain(error),
                ),
            },
        };
        Self {
            service,
            operation,
            kind,
            status,
            message,
        }
    }

    /// An SMS answer that arrived but cannot be used: a field the core cannot do without
    /// is missing, or the pages never end. The same request would get the same answer,
    /// so it is permanent: an `Other` kind named `code`, without an HTTP status.
    pub fn sms_protocol(operation: &'static str, code: &str, message: String) -> Self {
        Self::unusable_answer("SMS", operation, code, message)
    }

    /// An answer of any service that arrived but cannot be used, or a request that
    /// could not be built: permanent, an `Other` kind named `code`.
    pub fn unusable_answer(
        service: &'static str,
        operation: &'static str,
        code: &str,
        message: String,
    ) -> Self {
        Self {
            service,
            operation,
            kind: AwsErrorKind::Other {
                code: code.to_owned(),
            },
            status: None,
            message,
        }
    }

    /// A body cut off in transit: it says nothing about the object, so worth retrying.
    pub fn body_cut_off(service: &'static str, operation: &'static str, message: String) -> Self {
        Self {
            service,
            operation,
            kind: AwsErrorKind::Transport,
            status: None,
            message,
        }
    }

    pub fn retryability(&self) -> Retryability {
        use AwsErrorKind::*;
        match &self.kind {
            Throttling | TemporarilyUnavailable | InternalError | Transport => {
                Retryability::Retryable
            }
            Other { .. } if self.status.is_some_and(|s| s >= 500 || s == 429) => {
                Retryability::Retryable
            }
            _ => Retryability::Permanent,
        }
    }

    /// The effect the call asked for already exists.
    pub fn is_already_done(&self) -> bool {
        self.kind == AwsErrorKind::AlreadyExists
    }
}

/// The error's message with its sources, which is where the SDK puts the useful part.
fn describe_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Every error a function invocation can end with.
#[derive(Debug, thiserror::Error)]
pub enum AutopilotError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Aws(#[from] AwsCallError),
    /// The input event is not what this function accepts; nothing was done.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Some events could not be published after retries.
    #[error("{failed} of {total} events could not be published to {bus}: {first_error}")]
    Publish {
        bus: String,
        failed: usize,
        total: usize,
        first_error: String,
    },
    /// A stored object the function keeps its state in is unreadable.
    #[error("s3://{bucket}/{key} is not a valid {what}: {reason}")]
    CorruptState {
        bucket: String,
        key: String,
        what: &'static str,
        reason: String,
    },
    /// The function ran in a process of its own and Lambda reported its invocation
    /// failed (the local harness runs the real binaries): the error type and message
    /// as reported, e.g. `Runtime.ExitError` for a process killed mid-invocation.
    #[error("{error_type}: {message}")]
    Reported { error_type: String, message: String },
    /// Other runs wrote the function's lease at every look (see `lease`); worth
    /// retrying once they have settled.
    #[error("s3://{bucket}/{key} changed hands at every look; the lease was not taken")]
    LeaseContended { bucket: String, key: String },
    /// Some items of a batch failed; the others were done.
    #[error("{failed} of {total} {items} failed; first: {first_error}")]
    Partial {
        items: &'static str,
        failed: usize,
        total: usize,
        first_error: String,
        retryability: Retryability,
    },
}

impl AutopilotError {
    /// The error for a batch in which `failures` of `total` items failed (the others
    /// were done), or `None` when nothing failed. Retrying is worth it if any failure
    /// was retryable: the items already done are idempotent.
    pub fn partial(items: &'static str, total: usize, failures: &[AwsCallError]) -> Option<Self> {
        let first = failures.first()?;
        let retryable = failures
            .iter()
            .any(|e| e.retryability() == Retryability::Retryable);
        Some(Self::Partial {
            items,
            failed: failures.len(),
            total,
            first_error: first.to_string(),
            retryability: if retryable {
                Retryability::Retryable
            } else {
                Retryability::Permanent
            },
        })
    }

    pub fn retryability(&self) -> Retryability {
        match self {
            Self::Aws(error) => error.retryability(),
            Self::Publish { .. } | Self::LeaseContended { .. } => Retryability::Retryable,
            Self::Partial { retryability, .. } => *retryability,
            Self::Reported { error_type, .. } if error_type.starts_with("Permanent") => {
                Retryability::Permanent
            }
            Self::Reported { .. } => Retryability::Retryable,
            Self::Config(_) | Self::InvalidEvent(_) | Self::CorruptState { .. } => {
                Retryability::Permanent
            }
        }
    }

    fn kind_name(&self) -> &str {
        match self {
            Self::Config(_) => "Config",
            Self::Aws(error) => error.kind.name(),
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::Publish { .. } => "Publish",
            Self::CorruptState { .. } => "CorruptState",
            Self::LeaseContended { .. } => "LeaseContended",
            Self::Reported { .. } => "Reported",
            Self::Partial { .. } => "PartialFailure",
        }
    }
}

impl From<AutopilotError> for Diagnostic {
    fn from(error: AutopilotError) -> Self {
        Diagnostic {
            error_type: format!("{}.{}", error.retryability(), error.kind_name()),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_error(kind: AwsErrorKind, status: Option<u16>) -> AwsCallError {
        AwsCallError {
            service: "SMS",
            operation: "CreateReplicationJob",
            kind,
            status,
            message: "boom".into(),
        }
    }

    #[test]
    fn sms_codes_are_classified_as_the_model_says() {
        let retryable = [
            "TemporarilyUnavailableException",
            "InternalError",
            "ThrottlingException",
        ];
        let permanent = [
            "InvalidParameterException",
            "MissingRequiredParameterException",
            "UnauthorizedOperationException",
            "OperationNotPermittedException",
            "ServerCannotBeReplicatedException",
            "NoConnectorsAvailableException",
            "ReplicationRunLimitExceededException",
        ];
        for code in retryable {
            let error = call_error(AwsErrorKind::from_code(code), Some(400));
            assert_eq!(error.retryability(), Retryability::Retryable, "{code}");
        }
        for code in permanent {
            let error = call_error(AwsErrorKind::from_code(code), Some(400));
            assert_eq!(error.retryability(), Retryability::Permanent, "{code}");
            assert!(!error.is_already_done());
        }
        let exists = call_error(
            AwsErrorKind::from_code("ReplicationJobAlreadyExistsException"),
            Some(400),
        );
        assert!(exists.is_already_done());
        assert_eq!(
            call_error(AwsErrorKind::from_code("Mystery"), Some(503)).retryability(),
            Retryability::Retryable
        );
        assert_eq!(
            call_error(AwsErrorKind::from_code("Mystery"), Some(400)).retryability(),
            Retryability::Permanent
        );
    }

    #[test]
    fn an_unusable_sms_answer_is_a_permanent_error_named_by_its_code() {
        let error = AwsCallError::sms_protocol("GetApp", "MissingAppSummary", "no summary".into());
        assert_eq!(error.kind.name(), "MissingAppSummary");
        assert_eq!(error.retryability(), Retryability::Permanent);
        assert_eq!(
            error.to_string(),
            "SMS GetApp failed (MissingAppSummary): no summary"
        );
    }

    #[test]
    fn diagnostic_carries_class_and_kind() {
        let diagnostic: Diagnostic =
            AutopilotError::from(call_error(AwsErrorKind::Throttling, Some(400))).into();
        assert_eq!(diagnostic.error_type, "Retryable.Throttling");
        assert!(diagnostic.error_message.contains("CreateReplicationJob"));
        let diagnostic: Diagnostic = AutopilotError::InvalidEvent("no detail".into()).into();
        assert_eq!(diagnostic.error_type, "Permanent.InvalidEvent");
    }
}
