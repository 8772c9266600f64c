//! mgn-import: MGN imports the inventory sheet the engineer puts in the artifacts bucket
//! (`INVENTORY_KEY`, MGN's import CSV; `autopilot-local csv-to-plan --mgn-inventory`
//! writes one from the plan's spreadsheet), so the waves, applications and servers it
//! lists exist in MGN before their agents are installed. When the sheet is written (S3's
//! notification) or on its schedule (a notification lost), a version of the sheet not
//! imported yet is imported once (StartImport with a token of its ETag, kept in the
//! ledger before anything else); each import is followed on the schedule until MGN has
//! read it, then reported once (`InventoryImported`: what it made and changed, the rows
//! it refused). A dry run imports nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use autopilot_core::artifacts::{self, StateObject};
use autopilot_core::config::MgnImportConfig;
use autopilot_core::events::{InventoryImported, OutgoingEvent};
use autopilot_core::mgn::imports;
use autopilot_core::model::{ImportState, ImportTask};
use autopilot_core::outbox::{self, WithOutbox};
use autopilot_core::runtime::Context;
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the ledger lives in the artifacts bucket.
pub const LEDGER_KEY: &str = "state/mgn-import/ledger.json";
/// Refused rows an event names; the rest are counted.
const PROBLEMS_NAMED: usize = 20;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    /// No sheet is at the inventory key.
    pub no_sheet: bool,
    /// The import this run started.
    pub import_started: Option<String>,
    /// A version of the sheet a dry run would have imported.
    pub would_import: bool,
    pub imports_running: usize,
    pub imports_reported: usize,
    pub dry_run: bool,
    pub events_published: usize,
    pub events_deferred: usize,
}

/// Each version of the sheet imported, and the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportLedger {
    /// By the sheet's ETag: its import, and whether it was reported.
    #[serde(default)]
    pub imported: BTreeMap<String, ImportBooks>,
    #[serde(default)]
    pub outbox: Vec<OutgoingEvent>,
}

/// One import and whether it was reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportBooks {
    pub import_id: String,
    #[serde(default)]
    pub reported: bool,
}

impl WithOutbox for ImportLedger {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent> {
        &mut self.outbox
    }
}

pub async fn handle(
    payload: Value,
    context: Arc<Context<MgnImportConfig>>,
) -> Result<Summary, AutopilotError> {
    let mut summary = Summary {
        trigger: trigger(&context, &Incoming::parse(payload)?)?,
        dry_run: context.dry_run(),
        ..Summary::default()
    };
    let config = &context.config;
    let object = StateObject::new(
        &context.s3,
        &config.artifacts_bucket,
        LEDGER_KEY,
        "mgn-import ledger",
    );
    let mut ledger: ImportLedger = object.load().await?;
    let sheet =
        artifacts::etag_of(&context.s3, &config.artifacts_bucket, &config.inventory_key).await?;
    match sheet {
        None => summary.no_sheet = true,
        Some(etag) if !ledger.imported.contains_key(&etag) => {
            import(&context, &object, &mut ledger, etag, &mut summary).await?;
        }
        Some(_) => {}
    }
    follow(&context, &mut ledger, &mut summary).await?;
    object.store_if_changed(&ledger).await?;
    let delivery = outbox::publish(&context.publisher, &object, &mut ledger).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    Ok(summary)
}

/// What invoked the function; S3 notifications of other objects are refused.
fn trigger(
    context: &Context<MgnImportConfig>,
    incoming: &Incoming,
) -> Result<String, AutopilotError> {
    if incoming.is_schedule() {
        return Ok("schedule".to_owned());
    }
    let config = &context.config;
    let written = incoming.object_written(
        &config.artifacts_bucket,
        &config.inventory_key,
        "the inventory sheet",
    );
    match written {
        Some(written) => written.map(|()| "sheet written".to_owned()),
        None => Err(incoming.unexpected("scheduled events and S3 Object Created for the sheet")),
    }
}

/// Starts the import of the sheet's version `etag` and keeps it in the ledger at once.
async fn import(
    context: &Context<MgnImportConfig>,
    object: &StateObject<'_>,
    ledger: &mut ImportLedger,
    etag: String,
    summary: &mut Summary,
) -> Result<(), AutopilotError> {
    if context.dry_run() {
        summary.would_import = true;
        return Ok(());
    }
    let config = &context.config;
    let token = format!(
        "sms-autopilot-{}",
        autopilot_core::digest::hex(etag.as_bytes())
    );
    let source = (
        config.artifacts_bucket.as_str(),
        config.inventory_key.as_str(),
    );
    let task = imports::start_import(&context.mgn, source, &token).await?;
    tracing::info!(import = %task.import_id, "inventory import started");
    summary.import_started = Some(task.import_id.clone());
    let books = ImportBooks {
        import_id: task.import_id,
        reported: false,
    };
    ledger.imported.insert(etag, books);
    object.store(&*ledger).await?;
    Ok(())
}

/// Reads each import not reported yet; one MGN has finished is reported once.
async fn follow(
    context: &Context<MgnImportConfig>,
    ledger: &mut ImportLedger,
    summary: &mut Summary,
) -> Result<(), AutopilotError> {
    let config = &context.config;
    let source = format!("s3://{}/{}", config.artifacts_bucket, config.inventory_key);
    let mut reports = Vec::new();
    for books in ledger.imported.values_mut().filter(|b| !b.reported) {
        let Some(task) = imports::import_task(&context.mgn, &books.import_id).await? else {
            tracing::warn!(import = %books.import_id, "MGN no longer lists the import");
            continue;
        };
        if task.state == ImportState::Running {
            summary.imports_running += 1;
            continue;
        }
        let problems = imports::import_problems(&context.mgn, &task.import_id).await?;
        reports.push(imported(&task, &source, problems));
        books.reported = true;
        summary.imports_reported += 1;
    }
    for report in reports {
        ledger.outbox.push(OutgoingEvent::new(report, false));
    }
    Ok(())
}

fn imported(
    task: &ImportTask,
    source: &str,
    mut problems: Vec<autopilot_core::model::ImportProblem>,
) -> InventoryImported {
    let problem_count = problems.len();
    problems.truncate(PROBLEMS_NAMED);
    InventoryImported {
        import_id: task.import_id.clone(),
        source: source.to_owned(),
        succeeded: task.state == ImportState::Succeeded,
        servers: task.servers,
        applications: task.applications,
        waves: task.waves,
        problems,
        problem_count,
    }
}
