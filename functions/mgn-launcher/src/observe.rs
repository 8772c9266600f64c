//! What the launcher looks at: the planned applications in dependency order with their
//! members as MGN lists them (one sweep, keeping only planned servers), and for an
//! application waiting on a launch, what its job, its log and EC2 say of it.

use std::collections::{BTreeMap, HashMap};

use autopilot_core::config::MgnLauncherConfig;
use autopilot_core::cutover::{
    read_job, CheckStatus, CutoverLedger, InstanceCheck, JobReading, Launch, LaunchKind,
    LaunchProgress, MovePolicy, MoveStage,
};
use autopilot_core::mgn::{api, launch};
use autopilot_core::model::{ServerId, SourceServer};
use autopilot_core::plan::launch_template::TemplateVersions;
use autopilot_core::plan::resolved::{AppPolicy, ResolvedPlan};
use autopilot_core::readiness::LaunchWindow;
use autopilot_core::runtime::Context;
use autopilot_core::{AutopilotError, AwsCallError};
use chrono::{DateTime, Duration, Utc};

/// How long a claimed launch may go without a job MGN lists before the claim is let
/// go: the run that claimed it stopped before asking, or MGN refused it.
pub const UNANSWERED_CLAIM: i64 = 5;

/// One planned application as this invocation sees it.
pub struct PlannedApp {
    pub name: String,
    pub policy: MovePolicy,
    /// Its planned servers, in id order.
    pub ids: Vec<ServerId>,
    /// Those MGN lists (not archived).
    pub members: Vec<SourceServer>,
    /// Members the plan names that MGN did not list when the plan was resolved.
    pub waiting: usize,
    /// Its members' launch templates that hold a test network: each launch makes its
    /// kind's version the default first.
    pub switched_templates: Vec<TemplateVersions>,
}

impl PlannedApp {
    /// Planned servers MGN does not list, and members it did not list when the plan
    /// was resolved.
    pub fn missing(&self) -> usize {
        self.ids.len() - self.members.len() + self.waiting
    }

    /// A member's name for events: its VM name or hostname.
    pub fn name_of(&self, server: &ServerId) -> Option<String> {
        self.members
            .iter()
            .find(|member| &member.id == server)
            .and_then(|member| member.name().map(str::to_owned))
    }
}

/// Every planned application, each after those it depends on, with its members; and
/// how many servers MGN listed.
pub async fn applications(
    context: &Context<MgnLauncherConfig>,
    plan: &ResolvedPlan,
) -> Result<(Vec<PlannedApp>, usize), AutopilotError> {
    let mut listed_members: HashMap<ServerId, SourceServer> = HashMap::new();
    let swept = api::source_servers_each(&context.mgn, |server| {
        if plan.servers.contains_key(&server.id) {
            listed_members.insert(server.id.clone(), server);
        }
    })
    .await?;
    let mut ids_by_app: BTreeMap<&str, Vec<ServerId>> = BTreeMap::new();
    for (id, policy) in &plan.servers {
        ids_by_app
            .entry(policy.app.as_str())
            .or_default()
            .push(id.clone());
    }
    let config = &context.config;
    let apps = in_dependency_order(plan)
        .into_iter()
        .map(|(name, policy)| {
            let ids = ids_by_app.remove(name.as_str()).unwrap_or_default();
            let members = ids
                .iter()
                .filter_map(|id| listed_members.remove(id))
                .collect();
            let switched_templates = ids
                .iter()
                .filter_map(|id| plan.servers.get(id)?.launch_template.clone())
                .filter(|versions| versions.test.is_some())
                .collect();
            PlannedApp {
                switched_templates,
                policy: move_policy(policy, config),
                waiting: policy.members_waiting,
                name,
                ids,
                members,
            }
        })
        .collect();
    Ok((apps, swept.items))
}

/// The plan's application policy with the launcher's default windows.
fn move_policy(policy: &AppPolicy, config: &MgnLauncherConfig) -> MovePolicy {
    let window = |text: Option<&String>| text.and_then(|t| t.parse::<LaunchWindow>().ok());
    let cutover_window = window(policy.window.as_ref()).or_else(|| config.launch_window.clone());
    let test_window = window(policy.test_window.as_ref())
        .or_else(|| window(policy.window.as_ref()))
        .or_else(|| config.test_window.clone());
    MovePolicy {
        launch: policy.launch,
        test_window,
        cutover_window,
        depends_on: policy.depends_on.clone(),
        archive: policy.archive,
        launch_settings_problem: policy.launch_settings_problem.clone(),
    }
}

/// The plan's applications, each after the ones it depends on (the plan's rules refuse
/// loops), in name order otherwise.
fn in_dependency_order(plan: &ResolvedPlan) -> Vec<(String, &AppPolicy)> {
    let mut ordered: Vec<(String, &AppPolicy)> = Vec::with_capacity(plan.apps.len());
    let mut placed = std::collections::BTreeSet::new();
    while ordered.len() < plan.apps.len() {
        let before = ordered.len();
        for (name, policy) in &plan.apps {
            let ready = policy
                .depends_on
                .iter()
                .all(|d| placed.contains(d.as_str()) || !plan.apps.contains_key(d));
            if !placed.contains(name.as_str()) && ready {
                placed.insert(name.as_str());
                ordered.push((name.clone(), policy));
            }
        }
        if ordered.len() == before {
            // A loop the rules should have refused: the rest in name order.
            for (name, policy) in &plan.apps {
                if placed.insert(name.as_str()) {
                    ordered.push((name.clone(), policy));
                }
            }
        }
    }
    ordered
}

/// What the launch `app` waits on has come to, if it waits on one. A claim without a
/// job is matched to the job MGN started for it, or let go once old enough.
pub async fn progress(
    context: &Context<MgnLauncherConfig>,
    ledger: &mut CutoverLedger,
    app: &PlannedApp,
    now: DateTime<Utc>,
) -> Result<Option<LaunchProgress>, AwsCallError> {
    let Some(books) = ledger.apps.get_mut(&app.name) else {
        return Ok(None);
    };
    let (kind, launch) = match &mut books.stage {
        MoveStage::Testing(launch) => (LaunchKind::Test, launch),
        MoveStage::CuttingOver(launch) => (LaunchKind::Cutover, launch),
        _ => return Ok(None),
    };
    let job = match &launch.job_id {
        Some(id) => launch::launch_job(&context.mgn, id).await?,
        None => {
            let found =
                launch::find_launch_job(&context.mgn, kind, &app.ids, launch.claimed_at).await?;
            match found {
                Some(job) => {
                    launch.job_id = Some(job.id.clone());
                    Some(job)
                }
                None if now - launch.claimed_at > Duration::minutes(UNANSWERED_CLAIM) => {
                    release(books, kind);
                    return Ok(None);
                }
                None => return Ok(Some(LaunchProgress::Running)),
            }
        }
    };
    let reading = read_job(job.as_ref(), &app.ids);
    Ok(Some(match reading {
        JobReading::Running => LaunchProgress::Running,
        JobReading::Lost => LaunchProgress::Lost,
        JobReading::Failed(server) => {
            let job_id = launch_job_id(launch);
            let logged = launch::copy_failure(&context.mgn, &job_id, &server).await?;
            let reason = logged.unwrap_or_else(|| "its copy was not launched".to_owned());
            LaunchProgress::Failed { server, reason }
        }
        JobReading::Launched(copies) => LaunchProgress::Launched(checks(context, copies).await?),
    }))
}

fn launch_job_id(launch: &Launch) -> String {
    launch.job_id.clone().unwrap_or_default()
}

/// A claim whose launch never started: the application goes back to what it awaited.
pub fn release(books: &mut autopilot_core::cutover::AppMove, kind: LaunchKind) {
    match kind {
        LaunchKind::Test => {
            books.stage = MoveStage::AwaitingTest;
            books.test_attempts = books.test_attempts.saturating_sub(1);
        }
        LaunchKind::Cutover => {
            books.stage = MoveStage::TestPassed;
            books.cutover_attempts = books.cutover_attempts.saturating_sub(1);
        }
    }
}

/// The EC2 status checks of launched copies; a copy EC2 does not list yet is pending.
async fn checks(
    context: &Context<MgnLauncherConfig>,
    copies: Vec<(ServerId, String)>,
) -> Result<Vec<InstanceCheck>, AwsCallError> {
    let ids: Vec<String> = copies
        .iter()
        .map(|(_, instance)| instance.clone())
        .collect();
    let statuses = context.ec2.instance_statuses(&ids).await?;
    Ok(copies
        .into_iter()
        .map(|(server, instance_id)| {
            let status = statuses
                .iter()
                .find(|s| s.instance_id == instance_id)
                .map_or(CheckStatus::Pending, |s| s.status.clone());
            InstanceCheck {
                server,
                instance_id,
                status,
            }
        })
        .collect())
}
