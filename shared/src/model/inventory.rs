//! An inventory import into the migration service (MGN's StartImport), in the
//! project's words: where the task stands, what it made and changed, and the rows it
//! could not use.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an import task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ImportState {
    /// Pending or started: still reading the file.
    Running,
    /// Read: what it made and changed is in its counts; refused rows are its errors.
    Succeeded,
    /// The file could not be read at all.
    Failed,
}

/// Made and changed, of one kind of resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counted {
    pub created: i64,
    pub modified: i64,
}

/// One import task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportTask {
    pub import_id: String,
    pub state: ImportState,
    pub servers: Counted,
    pub applications: Counted,
    pub waves: Counted,
}

/// A row (or the whole file) an import could not use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportProblem {
    /// The sheet's row (the header is row 1), when the problem is one row's.
    pub row: Option<i64>,
    /// The file could not be read (PROCESSING_ERROR), rather than a row refused.
    pub whole_file: bool,
    pub message: String,
}
