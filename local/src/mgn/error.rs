//! A refusal as MGN answers it: the model's error shapes (a ConflictException's
//! `errors` naming each resource refused, a ValidationException's `reason` and
//! `fieldList`, the resource a ResourceNotFoundException names).

use serde_json::{json, Value};

use super::protocol::{ErrorKind, ValidationReason};

/// A refusal, as the client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct MgnError {
    pub kind: ErrorKind,
    pub message: String,
    /// A ValidationException's reason.
    pub reason: Option<ValidationReason>,
    /// A ValidationException's fields: each name with what is wrong with it.
    pub fields: Vec<(String, String)>,
    /// The resource refused (ConflictException, ResourceNotFoundException): its id and type.
    pub resource: Option<(String, &'static str)>,
    /// A ConflictException's `errors`: each resource refused, with why.
    pub errors: Vec<ErrorDetail>,
}

/// One entry of a ConflictException's `errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    pub resource_id: String,
    pub resource_type: &'static str,
}

impl MgnError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            reason: None,
            fields: Vec::new(),
            resource: None,
            errors: Vec::new(),
        }
    }

    /// A ValidationException naming the field that is wrong (`fieldValidationFailed`).
    pub fn field(name: &str, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        Self {
            fields: vec![(name.to_owned(), problem.clone())],
            ..Self::invalid(
                ValidationReason::FieldValidationFailed,
                format!("{name}: {problem}"),
            )
        }
    }

    /// A ResourceNotFoundException for the resource `id` of `resource_type`.
    pub fn not_found(id: &str, resource_type: &'static str) -> Self {
        Self {
            resource: Some((id.to_owned(), resource_type)),
            ..Self::new(
                ErrorKind::ResourceNotFound,
                format!("{resource_type} {id} does not exist"),
            )
        }
    }

    /// A ConflictException for one resource in a state that does not allow the call.
    pub fn conflict(id: &str, resource_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            resource: Some((id.to_owned(), resource_type)),
            ..Self::new(ErrorKind::Conflict, message)
        }
    }

    /// A ConflictException listing every resource refused, each with why.
    pub fn conflicts(message: impl Into<String>, errors: Vec<ErrorDetail>) -> Self {
        Self {
            errors,
            ..Self::new(ErrorKind::Conflict, message)
        }
    }

    /// A ValidationException for `reason`.
    pub fn invalid(reason: ValidationReason, message: impl Into<String>) -> Self {
        Self {
            reason: Some(reason),
            ..Self::new(ErrorKind::Validation, message)
        }
    }

    /// The error's body: its message, and a ValidationException's reason and fields.
    pub(super) fn body(&self) -> Value {
        let mut body = json!({ "message": self.message });
        if let Some(reason) = self.reason {
            body["reason"] = json!(reason.as_str());
        }
        if let Some((id, resource_type)) = &self.resource {
            body["resourceId"] = json!(id);
            body["resourceType"] = json!(resource_type);
        }
        if !self.errors.is_empty() {
            let errors: Vec<Value> = self
                .errors
                .iter()
                .map(|e| {
                    json!({
                        "code": e.code,
                        "message": e.message,
                        "resourceId": e.resource_id,
                        "resourceType": e.resource_type,
                    })
                })
                .collect();
            body["errors"] = json!(errors);
        }
        if !self.fields.is_empty() {
            let fields: Vec<Value> = self
                .fields
                .iter()
                .map(|(name, message)| json!({ "name": name, "message": message }))
                .collect();
            body["fieldList"] = json!(fields);
        }
        body
    }
}
