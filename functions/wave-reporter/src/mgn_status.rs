//! The report's model on MGN: the source servers MGN lists now (archived ones left out,
//! as they are out of every wave), the plan the planner resolved (each application's
//! members and what it depends on), and the decision trail (each application's move as
//! the launcher told it: tested, cut over, held and why).

use std::collections::{BTreeMap, BTreeSet};

use autopilot_core::events::detail_time;
use autopilot_core::mgn::api;
use autopilot_core::migration::{CutoverPhase, ReplicationPhase};
use autopilot_core::model::{ServerId, SourceServer};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::report::moves::Moves;
use autopilot_core::report::{decisions, AppOutcome, PlanOutcome, Progress, WaveStatus};
use autopilot_core::AutopilotError;
use chrono::{DateTime, Utc};

use crate::trail::Trail;
use crate::ReporterContext;

/// What the report needs of one source server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    pub name: Option<String>,
    pub replication: ReplicationPhase,
    pub cutover: CutoverPhase,
}

impl From<&SourceServer> for ServerFacts {
    fn from(server: &SourceServer) -> Self {
        Self {
            name: server.name().map(str::to_owned),
            replication: server.replication.phase,
            cutover: server.cutover.phase,
        }
    }
}

/// What MGN and the planner hold now.
#[derive(Debug, Default)]
pub struct MgnObserved {
    pub servers: BTreeMap<ServerId, ServerFacts>,
    /// The plan in force; empty when the planner has accepted none.
    pub plan: ResolvedPlan,
}

/// The source servers MGN lists and the resolved plan.
pub async fn observe(context: &ReporterContext) -> Result<MgnObserved, AutopilotError> {
    let mut servers = BTreeMap::new();
    api::source_servers_each(&context.mgn, |server| {
        servers.insert(server.id.clone(), ServerFacts::from(&server));
    })
    .await?;
    let bucket = &context.config.artifacts_bucket;
    let plan = autopilot_core::artifacts::load_resolved_plan(&context.s3, bucket).await?;
    Ok(MgnObserved { servers, plan })
}

/// The wave's counts now: servers copied (ready for testing or beyond) or still making
/// their first copy, those whose replication failed before their move ended, and the
/// plan's applications cut over.
pub fn progress(
    observed: &MgnObserved,
    trail: &Trail,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Progress {
    let copying = |s: &&ServerFacts| {
        matches!(
            s.cutover,
            CutoverPhase::NotReady | CutoverPhase::AwaitingAgent
        )
    };
    let servers = observed.servers.values();
    let replicating = servers.clone().filter(copying).count();
    let failed = servers
        .filter(|s| s.replication.is_failure() && !s.cutover.is_done())
        .count();
    let moves = Moves::of(&trail.decisions);
    let planned: BTreeSet<&String> = observed.plan.apps.keys().collect();
    Progress {
        time: detail_time(now),
        elapsed_minutes: u64::try_from((now - started).num_minutes()).unwrap_or(0),
        discovered: observed.servers.len(),
        replicating,
        replicated: observed.servers.len() - replicating,
        failed,
        apps: planned.len(),
        launched: planned.iter().filter(|app| moves.cut_over(app)).count(),
        plan_versions: decisions::plan_versions(&trail.decisions).len(),
        plan_changes: trail.plan_changes(),
    }
}

/// The report of an MGN wave.
pub fn wave_status(
    wave_name: &str,
    observed: &MgnObserved,
    trail: &Trail,
    current: &Progress,
    decisions_shown: usize,
    now: DateTime<Utc>,
) -> WaveStatus {
    let started = trail.started.unwrap_or(now);
    let moves = Moves::of(&trail.decisions);
    let apps = app_rows(observed, &moves);
    let problems = trail
        .decisions
        .iter()
        .filter(|d| d.detail_type == "ReplicationProblemDetected" && !d.dry_run())
        .count();
    let shown = trail.decisions.len().saturating_sub(decisions_shown);
    let timeline = trail.timeline(current);
    WaveStatus {
        title: wave_name.to_owned(),
        verdict: verdict(&apps, current),
        settled: current.apps > 0 && current.launched == current.apps && current.failed == 0,
        period: format!(
            "From {} to {}: MGN as it is now, and the {} decisions published since the start.",
            detail_time(started),
            detail_time(now),
            trail.decisions.len()
        ),
        timeline,
        timeline_minutes: current.elapsed_minutes,
        apps,
        plan: PlanOutcome {
            versions: crate::status::plan_versions(&observed.plan, trail),
            steps: decisions::plan_steps(&trail.decisions),
        },
        expiring: Vec::new(),
        failures: Vec::new(),
        failures_note: format!("{problems} replication problems alerted since the start."),
        tables: Vec::new(),
        decisions: trail.decisions[shown..].to_vec(),
    }
}

/// One row per planned application: its members as MGN names them, how far it moved.
fn app_rows(observed: &MgnObserved, moves: &Moves) -> Vec<AppOutcome> {
    let mut members: BTreeMap<&str, Vec<&ServerId>> = BTreeMap::new();
    for (id, policy) in &observed.plan.servers {
        members.entry(policy.app.as_str()).or_default().push(id);
    }
    observed
        .plan
        .apps
        .iter()
        .map(|(name, policy)| {
            let ids = members.remove(name.as_str()).unwrap_or_default();
            let name_of = |id: &&ServerId| {
                let listed = observed.servers.get(*id).and_then(|s| s.name.clone());
                listed.unwrap_or_else(|| id.to_string())
            };
            AppOutcome {
                id: name.clone(),
                name: name.clone(),
                members: ids.len(),
                member_names: ids.iter().map(name_of).collect(),
                server_ids: ids.iter().map(ToString::to_string).collect(),
                depends_on: policy.depends_on.clone(),
                completed_runs: ids.len(),
                launch_status: moves.status(name).to_owned(),
                launched_at: moves.cut_over_at(name).cloned(),
                finalized_at: None,
                held_by: moves.held_by(name).cloned(),
            }
        })
        .collect()
}

fn verdict(apps: &[AppOutcome], now: &Progress) -> String {
    let held: Vec<&str> = apps
        .iter()
        .filter(|app| app.held_by.is_some())
        .map(|app| app.name.as_str())
        .collect();
    let mut line = format!(
        "{} of {} applications cut over; {} servers copied, {} copying, {} with a replication problem",
        now.launched, now.apps, now.replicated, now.replicating, now.failed
    );
    if !held.is_empty() {
        line.push_str(&format!("; left to a person: {}", held.join(", ")));
    }
    line
}

#[cfg(test)]
#[path = "mgn_status_tests.rs"]
mod tests;
