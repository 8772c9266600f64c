//! wave-reporter: keeps the decision trail and writes the wave report. Every decision
//! the functions publish on the project's bus reaches it and is kept (`trail`); on its
//! schedule it folds what arrived into the trail, reads the wave from the stack's
//! migration service (SMS: `status`, MGN: `mgn_status`), and writes the report rendered
//! by the same code as the local run's: `reports/latest.html`, and a copy under
//! `reports/history/` named after the time. It only reads the service and writes only
//! to the artifacts bucket, so it runs in dry-run too.

pub mod mgn_status;
pub mod status;
pub mod trail;

use std::collections::BTreeMap;
use std::sync::Arc;

use autopilot_core::app_cache::AppCache;
use autopilot_core::artifacts::{self, StateObject};
use autopilot_core::config::{Backend, WaveReporterConfig};
use autopilot_core::events::detail_time;
use autopilot_core::report::{html, Decision, Progress, WaveStatus};
use autopilot_core::runtime::Context;
use autopilot_core::sms::api;
use autopilot_core::trigger::Incoming;
use autopilot_core::AutopilotError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use status::{JobFacts, Observed};
use trail::Trail;

/// The reporter's context: its configuration and the apps it already read.
pub type ReporterContext = Context<WaveReporterConfig, AppCache>;

/// The report every reader opens.
pub const LATEST_KEY: &str = "reports/latest.html";
/// Where each report is kept, named after its time.
pub const HISTORY_PREFIX: &str = "reports/history/";
/// GetApp calls in flight at once.
const APP_READS_AT_ONCE: usize = 4;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    /// Decisions kept as they arrived (1 for a decision's delivery).
    pub decisions_recorded: usize,
    /// Decisions folded into the trail by a scheduled run, and those it already held.
    pub decisions_folded: usize,
    pub decisions_in_trail: usize,
    /// Pending objects that are not decisions, left in place.
    pub unreadable: usize,
    pub servers: usize,
    pub apps: usize,
    /// The dated copy written, on a scheduled run.
    pub report: Option<String>,
    pub dry_run: bool,
}

pub async fn handle(
    payload: Value,
    context: Arc<ReporterContext>,
) -> Result<Summary, AutopilotError> {
    let decision = project_decision(&payload)?;
    let incoming = Incoming::parse(payload)?;
    let dry_run = context.dry_run();
    if let Some(decision) = decision {
        let bucket = &context.config.artifacts_bucket;
        trail::record(&context.s3, bucket, &decision).await?;
        return Ok(Summary {
            trigger: decision.detail_type,
            decisions_recorded: 1,
            dry_run,
            ..Summary::default()
        });
    }
    if !incoming.is_schedule() {
        return Err(incoming.unexpected("the schedule and the project's decisions"));
    }
    report(&context, dry_run).await
}

/// The decision a project event carries; None for any other event. A project event
/// without an id, a time or a detail is refused, naming what it lacks.
fn project_decision(payload: &Value) -> Result<Option<Decision>, AutopilotError> {
    if payload["source"] != autopilot_core::events::EVENT_SOURCE {
        return Ok(None);
    }
    for field in ["id", "time", "detail-type"] {
        if payload[field].as_str().is_none_or(str::is_empty) {
            return Err(AutopilotError::InvalidEvent(format!(
                "a decision from {} has no `{field}`",
                autopilot_core::events::EVENT_SOURCE
            )));
        }
    }
    if !payload["detail"].is_object() {
        return Err(AutopilotError::InvalidEvent(format!(
            "the {} decision has no `detail` object",
            payload["detail-type"].as_str().unwrap_or_default()
        )));
    }
    let time = payload["time"].as_str().unwrap_or_default();
    Ok(Decision::from_event(payload, time))
}

/// What the stack's migration service holds now.
enum Seen {
    Sms(Observed),
    Mgn(mgn_status::MgnObserved),
}

impl Seen {
    async fn observe(
        context: &Arc<ReporterContext>,
        now: DateTime<Utc>,
    ) -> Result<Self, AutopilotError> {
        Ok(match context.config.backend {
            Backend::Sms => Self::Sms(observe(context, now).await?),
            Backend::Mgn => Self::Mgn(mgn_status::observe(context).await?),
        })
    }

    fn progress(&self, trail: &Trail, started: DateTime<Utc>, now: DateTime<Utc>) -> Progress {
        match self {
            Self::Sms(observed) => status::progress(observed, trail, started, now),
            Self::Mgn(observed) => mgn_status::progress(observed, trail, started, now),
        }
    }

    fn wave_status(
        &self,
        config: &WaveReporterConfig,
        trail: &Trail,
        current: &Progress,
        now: DateTime<Utc>,
    ) -> WaveStatus {
        let (name, shown) = (&config.wave_name, config.decisions_shown as usize);
        match self {
            Self::Sms(observed) => status::wave_status(name, observed, trail, current, shown, now),
            Self::Mgn(observed) => {
                mgn_status::wave_status(name, observed, trail, current, shown, now)
            }
        }
    }
}

/// The scheduled run: fold, observe, sample, store the trail, then write the report.
async fn report(context: &Arc<ReporterContext>, dry_run: bool) -> Result<Summary, AutopilotError> {
    let bucket = &context.config.artifacts_bucket;
    let now = context.now();
    let object = StateObject::new(&context.s3, bucket, trail::TRAIL_KEY, "decision trail");
    let mut trail: Trail = object.load().await?;
    let pending = trail::pending(&context.s3, bucket).await?;
    let folded = trail.merge(pending.decisions);
    let seen = Seen::observe(context, now).await?;
    let started = trail.start(now);
    let current = seen.progress(&trail, started, now);
    trail.sample(current.clone());
    object.store(&trail).await?;
    trail::delete(&context.s3, bucket, &pending.keys).await?;
    let page = html::render(&seen.wave_status(&context.config, &trail, &current, now));
    let dated = history_key(now);
    for key in [LATEST_KEY, dated.as_str()] {
        artifacts::store_bytes(
            &context.s3,
            bucket,
            key,
            "text/html; charset=utf-8",
            page.clone().into_bytes(),
        )
        .await?;
    }
    tracing::info!(report = %dated, decisions = trail.decisions.len(), "wave report written");
    Ok(Summary {
        trigger: "schedule".into(),
        decisions_folded: folded,
        decisions_in_trail: trail.decisions.len(),
        unreadable: pending.unreadable.len(),
        servers: current.discovered,
        apps: current.apps,
        report: Some(dated),
        dry_run,
        ..Summary::default()
    })
}

/// The dated copy's key: `reports/history/2026-11-30T18-00-00Z.html`.
pub fn history_key(now: DateTime<Utc>) -> String {
    format!(
        "{HISTORY_PREFIX}{}.html",
        detail_time(now).replace(':', "-")
    )
}

/// The catalog, the jobs, the applications with their members, and the plan in force.
async fn observe(
    context: &Arc<ReporterContext>,
    now: DateTime<Utc>,
) -> Result<Observed, AutopilotError> {
    let bucket = &context.config.artifacts_bucket;
    // The catalog and the jobs are kept as the report needs them, a page at a time.
    let mut vm_names = BTreeMap::new();
    let (_, catalog) = api::servers_each(&context.sms, |server| {
        if let Some(name) = server.vm.vm_name {
            vm_names.insert(server.id, name);
        }
    })
    .await?;
    let mut jobs = Vec::new();
    api::replication_jobs_each(&context.sms, |job| jobs.push(JobFacts::from(&job))).await?;
    let listed = api::app_summaries(&context.sms).await?.items;
    let apps = context
        .warm
        .read_all(
            &context.sms,
            &context.s3,
            bucket,
            &listed,
            APP_READS_AT_ONCE,
            now,
        )
        .await;
    let plan = artifacts::load_resolved_plan(&context.s3, bucket).await?;
    Ok(Observed {
        discovered: catalog.items,
        vm_names,
        jobs,
        apps,
        plan,
    })
}

#[cfg(test)]
mod tests;
