//! The report's model from what SMS holds now (catalog, jobs and their runs,
//! applications and their members), the plan the planner resolved (what each
//! application depends on) and the decision trail (launch times, failures and what was
//! done, the planner's steps, why an application waits).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use autopilot_core::events::detail_time;
use autopilot_core::migration::{ReplicationPhase, ReplicationState};
use autopilot_core::model::{App, AppLaunchStatus, AppStatus, JobId, ReplicationJob, ServerId};
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::plan::LaunchMode;
use autopilot_core::readiness::{jobs_by_server, RankedJob, Standing};
use autopilot_core::report::{
    decisions, AppOutcome, PlacedVersion, PlanOutcome, Progress, WaveStatus,
};
use autopilot_core::AwsCallError;
use aws_sdk_sms::types::AppSummary;
use chrono::{DateTime, Utc};

use crate::trail::Trail;

/// What SMS and the planner hold now.
#[derive(Debug, Default)]
pub struct Observed {
    /// Servers in the catalog.
    pub discovered: usize,
    /// The VM name of each catalog server that has one.
    pub vm_names: BTreeMap<ServerId, String>,
    pub jobs: Vec<JobFacts>,
    /// Each application SMS lists (deleted ones left out), with its members or why
    /// they could not be read.
    pub apps: Vec<(AppSummary, Result<Arc<App>, AwsCallError>)>,
    /// The plan in force; empty when the planner has accepted none.
    pub plan: ResolvedPlan,
}

/// What the report needs of one replication job: a few dozen bytes where the job and
/// its runs take a kilobyte, at 100,000 jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFacts {
    pub id: JobId,
    pub server_id: ServerId,
    pub state: ReplicationState,
    /// The service names the job's latest AMI.
    pub has_ami: bool,
    /// Runs listed COMPLETED.
    pub completed_runs: usize,
    pub has_completed_run: bool,
}

impl From<&ReplicationJob> for JobFacts {
    fn from(job: &ReplicationJob) -> Self {
        Self {
            id: job.id.clone(),
            server_id: job.server_id.clone(),
            state: job.state.clone(),
            has_ami: job.latest_ami_id.is_some(),
            completed_runs: job.runs.iter().filter(|r| r.completed).count(),
            has_completed_run: job.has_completed_run(),
        }
    }
}

impl RankedJob for JobFacts {
    fn server(&self) -> &ServerId {
        &self.server_id
    }

    fn phase(&self) -> ReplicationPhase {
        self.state.phase
    }

    fn has_completed_run(&self) -> bool {
        self.has_completed_run
    }
}

impl Observed {
    fn live_apps(&self) -> impl Iterator<Item = &(AppSummary, Result<Arc<App>, AwsCallError>)> {
        self.apps.iter().filter(|(summary, _)| {
            !summary
                .status()
                .is_some_and(|s| AppStatus::from_wire(s.as_str()).is_deleted())
        })
    }

    fn launched(summary: &AppSummary) -> bool {
        summary
            .launch_status()
            .is_some_and(|s| AppLaunchStatus::from_wire(s.as_str()) == AppLaunchStatus::Launched)
    }
}

/// The wave's counts now, counted as the local run counts them.
pub fn progress(
    observed: &Observed,
    trail: &Trail,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Progress {
    let (mut replicating, mut replicated, mut failed) = (0, 0, 0);
    for job in observed.jobs.iter().filter(|j| !j.state.is_removed()) {
        if job.state.is_failure() {
            failed += 1;
        } else if job.has_ami {
            replicated += 1;
        } else {
            replicating += 1;
        }
    }
    let apps: Vec<_> = observed.live_apps().collect();
    let plan_changes = trail.plan_changes();
    Progress {
        time: detail_time(now),
        elapsed_minutes: u64::try_from((now - started).num_minutes()).unwrap_or(0),
        discovered: observed.discovered,
        replicating,
        replicated,
        failed,
        apps: apps.len(),
        launched: apps.iter().filter(|(s, _)| Observed::launched(s)).count(),
        plan_versions: decisions::plan_versions(&trail.decisions).len(),
        plan_changes,
    }
}

/// The whole report, with `current` the wave's counts now (`progress`).
pub fn wave_status(
    wave_name: &str,
    observed: &Observed,
    trail: &Trail,
    current: &Progress,
    decisions_shown: usize,
    now: DateTime<Utc>,
) -> WaveStatus {
    let started = trail.started.unwrap_or(now);
    let jobs = jobs_by_server(&observed.jobs);
    let failures = decisions::failures(&trail.decisions, |job| {
        observed
            .jobs
            .iter()
            .find(|j| j.id.as_str() == job)
            .map_or_else(|| "gone".to_owned(), |j| j.state.status.clone())
    });
    let shown = trail.decisions.len().saturating_sub(decisions_shown);
    let timeline = trail.timeline(current);
    WaveStatus {
        title: wave_name.to_owned(),
        verdict: verdict(observed, current),
        settled: current.apps > 0 && current.launched == current.apps && current.failed == 0,
        period: format!(
            "From {} to {}: SMS as it is now, and the {} decisions published since the start.",
            detail_time(started),
            detail_time(now),
            trail.decisions.len()
        ),
        timeline,
        timeline_minutes: current.elapsed_minutes,
        apps: app_rows(observed, trail, &jobs),
        plan: PlanOutcome {
            versions: plan_versions(&observed.plan, trail),
            steps: decisions::plan_steps(&trail.decisions),
        },
        expiring: decisions::expiry_warnings(&trail.decisions),
        failures_note: format!("{} failures alerted since the start.", failures.len()),
        failures,
        tables: Vec::new(),
        decisions: trail.decisions[shown..].to_vec(),
    }
}

/// The versions of the plan the trail names (those refused), and the one in force.
/// The plan versions the trail tells of, and the one in force if the trail lacks it.
pub fn plan_versions(plan: &ResolvedPlan, trail: &Trail) -> Vec<PlacedVersion> {
    let mut versions = decisions::plan_versions(&trail.decisions);
    let in_force = Some(plan.plan_version.clone()).filter(|v| !v.is_empty());
    if let Some(version) = in_force {
        if !versions.iter().any(|v| v.version == version) {
            versions.push(PlacedVersion {
                time: "in force".to_owned(),
                version,
                refused: None,
            });
        }
    }
    versions
}

/// Where the wave stands, in a line.
fn verdict(observed: &Observed, now: &Progress) -> String {
    let waiting: Vec<String> = observed
        .live_apps()
        .filter(|(summary, _)| !Observed::launched(summary))
        .map(|(summary, _)| {
            let status = summary.launch_status().map_or("?", |s| s.as_str());
            format!("{} ({status})", summary.name().unwrap_or("unnamed"))
        })
        .collect();
    let mut line = format!(
        "{} of {} applications launched; {} servers replicated, {} replicating, {} failed",
        now.launched, now.apps, now.replicated, now.replicating, now.failed
    );
    if !waiting.is_empty() {
        line.push_str(&format!("; not launched: {}", waiting.join(", ")));
    }
    line
}

/// One row per live application.
fn app_rows(
    observed: &Observed,
    trail: &Trail,
    jobs: &HashMap<ServerId, &JobFacts>,
) -> Vec<AppOutcome> {
    let launch_times = decisions::first_times(&trail.decisions, "AppLaunched", "appId");
    let finalized = decisions::first_times(&trail.decisions, "AppFinalized", "appId");
    let notes = decisions::launcher_notes(&trail.decisions);
    let names = &observed.vm_names;
    let mut rows: Vec<AppOutcome> =
        observed
            .live_apps()
            .map(|(summary, app)| {
                let id = summary.app_id().unwrap_or_default().to_owned();
                let name = summary.name().unwrap_or_default().to_owned();
                let launched = Observed::launched(summary);
                let members = app.as_ref().map(|app| app.member_ids()).unwrap_or_default();
                let held_by =
                    match app {
                        Err(error) => Some(format!("its members could not be read: {error}")),
                        Ok(_) if launched => None,
                        Ok(_) => Some(notes.get(&id).cloned().unwrap_or_else(|| {
                            waiting_for(observed, &name, &members, jobs, names)
                        })),
                    };
                AppOutcome {
                    members: members.len(),
                    member_names: members
                        .iter()
                        .map(|m| names.get(m).map_or_else(|| m.to_string(), Clone::clone))
                        .collect(),
                    server_ids: members.iter().map(ToString::to_string).collect(),
                    depends_on: depends_on(observed, &name),
                    completed_runs: completed_runs(&members, jobs),
                    launch_status: summary
                        .launch_status()
                        .map_or_else(String::new, |s| s.as_str().to_owned()),
                    launched_at: launch_times.get(&id).cloned(),
                    finalized_at: finalized.get(&id).cloned(),
                    held_by,
                    id,
                    name,
                }
            })
            .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// What an application the launcher said nothing about waits for: a person (the plan
/// leaves its launch to one), its members' failed or unfinished replication, the
/// applications it depends on, or the launcher's next run.
fn waiting_for(
    observed: &Observed,
    app: &str,
    members: &[ServerId],
    jobs: &HashMap<ServerId, &JobFacts>,
    names: &BTreeMap<ServerId, String>,
) -> String {
    let launch = observed.plan.apps.get(app).map(|policy| policy.launch);
    match launch {
        Some(LaunchMode::Manual) => return "the wave plan leaves its launch to a person".into(),
        Some(LaunchMode::Rollback) => {
            return "the wave plan rolls it back: not launched until it says automatic".into()
        }
        Some(LaunchMode::Automatic) | None => {}
    }
    let name = |id: &ServerId| names.get(id).map_or_else(|| id.to_string(), Clone::clone);
    let failed: Vec<String> = members
        .iter()
        .filter_map(|m| {
            let job = jobs
                .get(m)
                .filter(|j| Standing::of(**j) == Standing::Failed)?;
            Some(format!("{} (job {})", name(m), job.state))
        })
        .collect();
    if !failed.is_empty() {
        return format!("its members' replication failed: {}", failed.join(", "));
    }
    let unreplicated = members
        .iter()
        .filter(|m| {
            !jobs
                .get(*m)
                .is_some_and(|j| Standing::of(*j) == Standing::Replicated)
        })
        .count();
    if unreplicated > 0 {
        return format!(
            "{unreplicated} of {} members not replicated yet",
            members.len()
        );
    }
    let launched: BTreeSet<&str> = observed
        .live_apps()
        .filter(|(summary, _)| Observed::launched(summary))
        .filter_map(|(summary, _)| summary.name())
        .collect();
    let waited_for: Vec<String> = depends_on(observed, app)
        .into_iter()
        .filter(|dependency| !launched.contains(dependency.as_str()))
        .collect();
    if !waited_for.is_empty() {
        return format!(
            "replicated; waits for {} to be launched first",
            waited_for.join(", ")
        );
    }
    "replicated; waiting for the launcher's next run".to_owned()
}

fn depends_on(observed: &Observed, app: &str) -> Vec<String> {
    observed
        .plan
        .apps
        .get(app)
        .map(|policy| policy.depends_on.clone())
        .unwrap_or_default()
}

fn completed_runs(members: &[ServerId], jobs: &HashMap<ServerId, &JobFacts>) -> usize {
    members
        .iter()
        .filter_map(|m| jobs.get(m))
        .map(|job| job.completed_runs)
        .sum()
}
