//! What the launcher looks at: the planned applications in dependency order with their
//! members as MGN lists them (one sweep, keeping only planned servers), and for an
//! application waiting on a launch, what its job, its log and EC2 say of it (the jobs and
//! checks of every waiting launch read together first).

use std::collections::{BTreeMap, HashMap};

use autopilot_core::config::MgnLauncherConfig;
use autopilot_core::cutover::{
    read_job, CheckStatus, CutoverLedger, InstanceCheck, JobReading, Launch, LaunchKind,
    LaunchProgress, MovePolicy, MoveStage,
};
use autopilot_core::mgn::{api, launch};
use autopilot_core::model::{LaunchJob, ServerId, SourceServer};
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
        settings_pending: policy.settings_pending,
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

/// What MGN and EC2 said of every launch the books wait on, read for all applications
/// at once (their jobs 1,000 ids a call, then the status checks of the copies the
/// finished ones launched, 100 a call) rather than once per application.
#[derive(Debug, Default)]
pub struct Sightings {
    /// The jobs asked for, each as MGN listed it (`None`: no longer listed).
    jobs: HashMap<String, Option<LaunchJob>>,
    /// The instances asked about, each as EC2 listed it (`None`: not listed yet).
    checks: HashMap<String, Option<CheckStatus>>,
}

impl Sightings {
    /// Reads the jobs of the launches `ledger` waits on and their copies' checks. A
    /// failed read leaves the sightings empty: each application then reads its own
    /// launch, and only its step fails if that read fails too.
    pub async fn read(context: &Context<MgnLauncherConfig>, ledger: &CutoverLedger) -> Self {
        match Self::try_read(context, ledger).await {
            Ok(sightings) => sightings,
            Err(error) => {
                tracing::warn!(%error, "launches not read together; each is read on its own");
                Self::default()
            }
        }
    }

    async fn try_read(
        context: &Context<MgnLauncherConfig>,
        ledger: &CutoverLedger,
    ) -> Result<Self, AwsCallError> {
        let job_ids: Vec<String> = ledger
            .apps
            .values()
            .filter_map(|books| match &books.stage {
                MoveStage::Testing(launch) | MoveStage::CuttingOver(launch) => {
                    launch.job_id.clone()
                }
                _ => None,
            })
            .collect();
        if job_ids.is_empty() {
            return Ok(Self::default());
        }
        let listed = launch::launch_jobs(&context.mgn, &job_ids).await?;
        let instances: Vec<String> = listed
            .iter()
            .filter(|job| job.finished)
            .flat_map(|job| job.servers.iter().filter_map(|s| s.instance_id.clone()))
            .collect();
        let checks = read_checks(context, &instances).await?;
        let mut jobs: HashMap<String, Option<LaunchJob>> =
            job_ids.into_iter().map(|id| (id, None)).collect();
        for job in listed {
            jobs.insert(job.id.clone(), Some(job));
        }
        Ok(Self { jobs, checks })
    }

    /// The job `id` as read, if it was asked for.
    fn job(&self, id: &str) -> Option<Option<LaunchJob>> {
        self.jobs.get(id).cloned()
    }
}

/// What the launch `app` waits on has come to, if it waits on one, from `seen` where it
/// holds the launch. A claim without a job is matched to the job MGN started for it, or
/// let go once old enough.
pub async fn progress(
    context: &Context<MgnLauncherConfig>,
    (ledger, seen): (&mut CutoverLedger, &Sightings),
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
        Some(id) => match seen.job(id) {
            Some(job) => job,
            None => launch::launch_job(&context.mgn, id).await?,
        },
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
        JobReading::Launched(copies) => {
            LaunchProgress::Launched(checks(context, copies, seen).await?)
        }
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

/// Each of `instances` with its status checks as EC2 lists them (`None`: not listed yet).
async fn read_checks(
    context: &Context<MgnLauncherConfig>,
    instances: &[String],
) -> Result<HashMap<String, Option<CheckStatus>>, AwsCallError> {
    let mut checks: HashMap<String, Option<CheckStatus>> =
        instances.iter().map(|id| (id.clone(), None)).collect();
    if !instances.is_empty() {
        for seen in context.ec2.instance_statuses(instances).await? {
            checks.insert(seen.instance_id, Some(seen.status));
        }
    }
    Ok(checks)
}

/// The EC2 status checks of launched copies (from `seen` when it asked about every one);
/// a copy EC2 does not list yet is pending.
async fn checks(
    context: &Context<MgnLauncherConfig>,
    copies: Vec<(ServerId, String)>,
    seen: &Sightings,
) -> Result<Vec<InstanceCheck>, AwsCallError> {
    let mut statuses: HashMap<String, Option<CheckStatus>> = copies
        .iter()
        .filter_map(|(_, id)| Some((id.clone(), seen.checks.get(id)?.clone())))
        .collect();
    if statuses.len() < copies.len() {
        let ids: Vec<String> = copies.iter().map(|(_, id)| id.clone()).collect();
        statuses = read_checks(context, &ids).await?;
    }
    Ok(copies
        .into_iter()
        .map(|(server, instance_id)| {
            let status = statuses
                .remove(&instance_id)
                .flatten()
                .unwrap_or(CheckStatus::Pending);
            InstanceCheck {
                server,
                instance_id,
                status,
            }
        })
        .collect())
}
