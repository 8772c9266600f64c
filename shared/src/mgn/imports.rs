//! MGN's inventory import: StartImport of a CSV in S3 (its waves, applications and
//! servers made or changed), the task's state read back with ListImports, and the rows
//! it refused with ListImportErrors, in the project's words.

use crate::error::AwsCallError;
use crate::model::{Counted, ImportProblem, ImportState, ImportTask};
use crate::paging::{self, Listing, MissingField};
use aws_sdk_mgn::operation::list_import_errors::ListImportErrorsOutput;
use aws_sdk_mgn::operation::list_imports::ListImportsOutput;
use aws_sdk_mgn::types::{
    ImportErrorType, ImportStatus, ImportTask as MgnImportTask, ListImportsRequestFilters,
    S3BucketSource,
};
use aws_sdk_mgn::Client;

paging::page!(ListImportsOutput, ListImportErrorsOutput);

fn missing(field: &'static str) -> MissingField {
    MissingField {
        service: "MGN",
        shape: "ImportTask",
        field,
    }
}

fn task_of(task: &MgnImportTask) -> Result<ImportTask, MissingField> {
    let import_id = task.import_id().filter(|id| !id.is_empty());
    let import_id = import_id.ok_or(missing("importID"))?.to_owned();
    let state = match task.status() {
        Some(ImportStatus::Succeeded) => ImportState::Succeeded,
        Some(ImportStatus::Failed) => ImportState::Failed,
        Some(_) => ImportState::Running,
        None => return Err(missing("status")),
    };
    let summary = task.summary();
    let count = |created: i64, modified: i64| Counted { created, modified };
    Ok(ImportTask {
        import_id,
        state,
        servers: summary
            .and_then(|s| s.servers())
            .map_or_else(Counted::default, |c| {
                count(c.created_count(), c.modified_count())
            }),
        applications: summary
            .and_then(|s| s.applications())
            .map_or_else(Counted::default, |c| {
                count(c.created_count(), c.modified_count())
            }),
        waves: summary
            .and_then(|s| s.waves())
            .map_or_else(Counted::default, |c| {
                count(c.created_count(), c.modified_count())
            }),
    })
}

fn unusable(operation: &'static str, missing: &MissingField) -> AwsCallError {
    AwsCallError::unusable_answer("MGN", operation, "MissingField", missing.to_string())
}

/// StartImport of `s3://bucket/key`; `token` makes a retried request answer the
/// import it started.
pub async fn start_import(
    mgn: &Client,
    (bucket, key): (&str, &str),
    token: &str,
) -> Result<ImportTask, AwsCallError> {
    let source = S3BucketSource::builder()
        .s3_bucket(bucket)
        .s3_key(key)
        .build()
        .map_err(|error| {
            AwsCallError::unusable_answer("MGN", "StartImport", "InvalidRequest", error.to_string())
        })?;
    let answer = mgn
        .start_import()
        .s3_bucket_source(source)
        .client_token(token)
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("MGN", "StartImport", &error))?;
    let task = answer
        .import_task()
        .ok_or_else(|| unusable("StartImport", &missing("importTask")))?;
    task_of(task).map_err(|m| unusable("StartImport", &m))
}

/// The import task `import_id`, if MGN lists it.
pub async fn import_task(
    mgn: &Client,
    import_id: &str,
) -> Result<Option<ImportTask>, AwsCallError> {
    let only = ListImportsRequestFilters::builder()
        .import_ids(import_id)
        .build();
    let listed = paging::sweep(
        Listing::of("MGN", "ListImports"),
        |token| {
            mgn.list_imports()
                .filters(only.clone())
                .set_next_token(token)
                .send()
        },
        |page: &ListImportsOutput| page.items().iter().map(task_of).collect(),
    )
    .await?;
    if let Some(missing) = listed.unusable.first() {
        return Err(unusable("ListImports", missing));
    }
    Ok(listed.items.into_iter().find(|t| t.import_id == import_id))
}

/// Every problem the import `import_id` met, in MGN's order.
pub async fn import_problems(
    mgn: &Client,
    import_id: &str,
) -> Result<Vec<ImportProblem>, AwsCallError> {
    let listed = paging::sweep(
        Listing::of("MGN", "ListImportErrors"),
        |token| {
            mgn.list_import_errors()
                .import_id(import_id)
                .max_results(super::api::PAGE_SIZE)
                .set_next_token(token)
                .send()
        },
        |page: &ListImportErrorsOutput| {
            page.items()
                .iter()
                .map(|error| {
                    let data = error.error_data();
                    Ok(ImportProblem {
                        row: data.map(|d| d.row_number()).filter(|row| *row > 0),
                        whole_file: error.error_type() == Some(&ImportErrorType::ProcessingError),
                        message: data
                            .and_then(|d| d.raw_error())
                            .unwrap_or("no reason given")
                            .to_owned(),
                    })
                })
                .collect()
        },
    )
    .await?;
    Ok(listed.items)
}
