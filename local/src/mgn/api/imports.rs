//! Imports on the wire: StartImport (an inventory CSV in S3), ListImports and
//! ListImportErrors, and the rendering of the model's ImportTask and ImportTaskError.

use serde_json::{json, Value};

use super::{check_id, opt_object, opt_str, page, req_id, str_list, tags};
use crate::mgn::engine::{rfc3339, Engine, ImportTask};
use crate::mgn::error::MgnError;
use crate::mgn::model::ImportStatus;

/// `s3BucketSource`: a bucket name (the model's pattern) and a key ending `.csv`.
fn bucket_source(input: &Value) -> Result<(String, String, Option<String>), MgnError> {
    let source = opt_object(input, "s3BucketSource")?
        .ok_or_else(|| MgnError::field("s3BucketSource", "is required"))?;
    let source = Value::Object(source.clone());
    let bucket = opt_str(&source, "s3Bucket")?
        .ok_or_else(|| MgnError::field("s3BucketSource.s3Bucket", "is required"))?;
    let bucket_ok = (1..=255).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b));
    if !bucket_ok {
        return Err(MgnError::field(
            "s3BucketSource.s3Bucket",
            format!("{bucket:?} is not a bucket name"),
        ));
    }
    let key = opt_str(&source, "s3Key")?
        .ok_or_else(|| MgnError::field("s3BucketSource.s3Key", "is required"))?;
    let stem = key.strip_suffix(".csv").unwrap_or_default();
    if stem.is_empty() || stem.chars().count() > 1020 || key.contains('\0') {
        return Err(MgnError::field(
            "s3BucketSource.s3Key",
            format!("{key:?} must be a key ending in .csv"),
        ));
    }
    let owner = opt_str(&source, "s3BucketOwner")?;
    if owner
        .as_ref()
        .is_some_and(|o| o.len() != 12 || !o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(MgnError::field(
            "s3BucketSource.s3BucketOwner",
            "must be a 12-digit account id",
        ));
    }
    Ok((bucket, key, owner))
}

pub(super) fn start_import(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let source = bucket_source(input)?;
    let token = opt_str(input, "clientToken")?;
    if token.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(MgnError::field(
            "clientToken",
            "must be at most 64 characters",
        ));
    }
    let tags = tags(input)?;
    let task = engine.start_import(source, token, tags)?;
    Ok(json!({ "importTask": render(task) }))
}

pub(super) fn list_imports(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let filters = Value::Object(opt_object(input, "filters")?.cloned().unwrap_or_default());
    let ids = str_list(&filters, "importIDs", (0, 10), |_, s| {
        check_id("filters.importIDs", s, "import-")
    })?
    .unwrap_or_default();
    let kept: Vec<&ImportTask> = engine
        .imports()
        .iter()
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .collect();
    let (from, to, next) = page("ListImports", &ids.join(","), input, kept.len())?;
    let items: Vec<Value> = kept[from..to].iter().map(|t| render(t)).collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

pub(super) fn list_import_errors(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let id = req_id(input, "importID", "import-")?;
    // The operation declares no ResourceNotFoundException: an unknown import has none.
    let problems = engine
        .imports()
        .iter()
        .find(|t| t.id == id)
        .map(|t| t.problems.as_slice())
        .unwrap_or_default();
    let (from, to, next) = page("ListImportErrors", &id, input, problems.len())?;
    let items: Vec<Value> = problems[from..to]
        .iter()
        .map(|p| {
            json!({
                "errorDateTime": rfc3339(p.at),
                "errorType": p.kind.as_str(),
                "errorData": { "rowNumber": p.row, "rawError": p.raw_error },
            })
        })
        .collect();
    Ok(json!({ "items": items, "nextToken": next }))
}

/// The model's ImportTask.
fn render(task: &ImportTask) -> Value {
    let progress = match task.status {
        ImportStatus::Pending => 0.0,
        ImportStatus::Started => 50.0,
        ImportStatus::Failed | ImportStatus::Succeeded => 100.0,
    };
    let counts = |c: &crate::mgn::engine::Counts| json!({ "createdCount": c.created, "modifiedCount": c.modified });
    json!({
        "importID": task.id,
        "arn": task.arn,
        "s3BucketSource": {
            "s3Bucket": task.bucket,
            "s3Key": task.key,
            "s3BucketOwner": task.owner,
        },
        "creationDateTime": rfc3339(task.created),
        "endDateTime": task.ended.map(rfc3339),
        "status": task.status.as_str(),
        "progressPercentage": progress,
        "summary": {
            "waves": counts(&task.waves),
            "applications": counts(&task.applications),
            "servers": counts(&task.servers),
        },
        "tags": task.tags,
    })
}
