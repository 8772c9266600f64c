//! mgn-planner: makes MGN hold the wave plan. On its schedule, when the plan object
//! changes (S3's EventBridge notification) and when a server becomes ready for testing
//! (an agent finished its first copy: a member may have appeared), it reads the plan
//! from the artifacts bucket, resolves its members against the account's source
//! servers by the identification hints MGN keeps, stores what the launcher takes from
//! it (`state/app-planner/resolved.json`), and makes MGN group the servers as the plan
//! does: the waves and applications it names created (tagged as the planner's), each
//! member associated with its application, each application with its wave, and a
//! server the plan no longer places taken out of a managed application. An invalid
//! plan, or one whose members conflict, changes nothing and is reported once per
//! version. Each change is idempotent (MGN is listed first, by the plan's names), so a
//! run cut off half way is completed by the next; one that nears its deadline makes no
//! more changes ([`CHANGE_MARGIN`]) and leaves them to the next, its applications
//! waiting in the resolved plan until their members' launch settings are in place.

use std::collections::HashSet;
use std::sync::Arc;

use autopilot_core::artifacts::{self, StateObject};
use autopilot_core::config::MgnPlannerConfig;
use autopilot_core::events::{
    AppConfigured, AppPlanned, OutgoingEvent, PlanChange, PlannedConfiguration,
};
use autopilot_core::mgn::{self, api};
use autopilot_core::model::{AppId, ServerId};
use autopilot_core::outbox;
use autopilot_core::paging::Gathered;
use autopilot_core::plan::catalog_index::{HintedServer, NamedHints};
use autopilot_core::plan::desired::{self, DesiredApp, DesiredWave};
use autopilot_core::plan::groupings::{self, Association, HeldApplication, Placement};
use autopilot_core::plan::ledger::PlannerLedger;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::plan::{digest, Plan, PlanProblem, PlanRejected as Refusal};
use autopilot_core::runtime::Context;
use autopilot_core::trigger::{Incoming, MGN_LIFECYCLE_STATE_CHANGE};
use autopilot_core::{AutopilotError, AwsCallError};
use serde::Serialize;
use serde_json::Value;

mod configure;
mod templates;

/// Where the ledger lives in the artifacts bucket.
pub const LEDGER_KEY: &str = "state/mgn-planner/ledger.json";

/// Time one member's changes may take, their SDK retries included (a launch
/// configuration read and put, a template read, two versions made and one set as the
/// default): with less than this and the outbox's publishing margin left before
/// Lambda's deadline, a run makes no more changes and the next run makes the rest. A
/// first plan of 25,000 members is more calls than one run has time for.
pub const CHANGE_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether the run is too near its deadline to start another change.
pub(crate) fn near_deadline() -> bool {
    autopilot_core::runtime::remaining()
        .is_some_and(|left| left < CHANGE_MARGIN + outbox::PUBLISH_MARGIN)
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub trigger: String,
    /// No plan object exists yet: nothing to do.
    pub no_plan: bool,
    pub plan_version: Option<String>,
    pub rejected: bool,
    pub problems: usize,
    pub applications: usize,
    /// Members MGN does not list yet (no agent reported).
    pub members_waiting: usize,
    pub waves_created: usize,
    pub applications_created: usize,
    pub associations: usize,
    /// Servers whose MGN launch configuration was changed to the plan's settings.
    pub launch_configured: usize,
    /// Servers whose MGN replication configuration was changed to the plan's settings.
    pub replication_configured: usize,
    /// Servers whose EC2 launch template got new versions for the plan's settings.
    pub templates_changed: usize,
    /// Applications held because the account cannot honour their launch settings.
    pub held_by_settings: usize,
    /// Member changes left for the next run: too little time was left before the
    /// deadline.
    pub changes_deferred: usize,
    pub errors: usize,
    pub dry_run: bool,
    pub events_published: usize,
    pub events_deferred: usize,
}

/// Each server's EC2 launch template as MGN named it in this run.
pub type KnownTemplates = std::collections::HashMap<ServerId, String>;

pub async fn handle(
    payload: Value,
    context: Arc<Context<MgnPlannerConfig>>,
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
        "mgn-planner ledger",
    );
    let mut ledger: PlannerLedger = object.load().await?;
    let bytes =
        artifacts::load_bytes(&context.s3, &config.artifacts_bucket, &config.plan_key).await?;
    let errors = match bytes {
        None => {
            summary.no_plan = true;
            Vec::new()
        }
        Some(bytes) => plan_and_group(&context, bytes, &mut ledger, &mut summary).await?,
    };
    object.store_if_changed(&ledger).await?;
    let delivery = outbox::publish(&context.publisher, &object, &mut ledger).await?;
    (summary.events_published, summary.events_deferred) = (delivery.published, delivery.deferred);
    summary.errors = errors.len();
    let attempted = summary.waves_created + summary.applications_created + summary.associations;
    match AutopilotError::partial("plan changes", attempted + errors.len(), &errors) {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// What invoked the planner; S3 notifications of other objects are refused.
fn trigger(
    context: &Context<MgnPlannerConfig>,
    incoming: &Incoming,
) -> Result<String, AutopilotError> {
    if incoming.is_schedule() {
        return Ok("schedule".to_owned());
    }
    let config = &context.config;
    if let Some(changed) = incoming.plan_changed(&config.artifacts_bucket, &config.plan_key) {
        changed?;
        return Ok("plan changed".to_owned());
    }
    if let Some(event) = incoming.mgn_server_event(&[MGN_LIFECYCLE_STATE_CHANGE]) {
        let event = event?;
        return Ok(format!("{} {}", event.state, event.server_id));
    }
    Err(incoming.unexpected(
        "scheduled events, S3 Object Created for the plan, and aws.mgn Lifecycle State Change",
    ))
}

/// Reads and resolves the plan, groups MGN's servers as it says, then stores it
/// resolved; returns the calls that failed.
async fn plan_and_group(
    context: &Context<MgnPlannerConfig>,
    bytes: Vec<u8>,
    ledger: &mut PlannerLedger,
    summary: &mut Summary,
) -> Result<Vec<AwsCallError>, AutopilotError> {
    // The plan, its text and the wave are dropped by now: at 100,000 servers they
    // would be held beside the resolved plan's JSON.
    let Some((resolved, errors)) = resolve_and_group(context, bytes, ledger, summary).await? else {
        return Ok(Vec::new());
    };
    let bucket = &context.config.artifacts_bucket;
    artifacts::store_resolved_plan(&context.s3, bucket, &resolved).await?;
    Ok(errors)
}

/// Reads and resolves the plan and groups MGN's servers as it says; the plan resolved
/// and the calls that failed, or `None` when the plan was refused.
async fn resolve_and_group(
    context: &Context<MgnPlannerConfig>,
    bytes: Vec<u8>,
    ledger: &mut PlannerLedger,
    summary: &mut Summary,
) -> Result<Option<(ResolvedPlan, Vec<AwsCallError>)>, AutopilotError> {
    let version = digest(&bytes);
    summary.plan_version = Some(version.clone());
    let config = &context.config;
    let location = format!("s3://{}/{}", config.artifacts_bucket, config.plan_key);
    let mut refuse = |problems: Vec<PlanProblem>, summary: &mut Summary| {
        (summary.rejected, summary.problems) = (true, problems.len());
        ledger.reject(location.clone(), &version, &problems, context.dry_run());
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        refuse(vec![problem("the plan is not UTF-8 text")], summary);
        return Ok(None);
    };
    let plan = match Plan::parse(text) {
        Ok(plan) => plan,
        Err(refusal) => {
            refuse(refusal.problems, summary);
            return Ok(None);
        }
    };
    // Each listed server's hints go into the catalog, dropped once the plan is
    // resolved; the rest of the run needs its id and application only.
    let (mut catalog, mut applications) = (Gathered::default(), Gathered::default());
    let hints = NamedHints::of(&plan);
    api::source_servers_each(&context.mgn, |server| {
        applications.push(server.application_id);
        catalog.push(hints.keep(server.id, server.vm));
    })
    .await?;
    let wave = desired::resolve(&plan, catalog.iter());
    let servers = placements(catalog, applications, &wave);
    if !wave.conflicts.is_empty() {
        refuse(
            Refusal::of_conflicts(text, &wave.conflicts).problems,
            summary,
        );
        return Ok(None);
    }
    ledger.accepted();
    (summary.applications, summary.members_waiting) = (plan.applications.len(), wave.waiting.len());
    let (mut errors, apps) = group(context, &wave, &servers, &version, ledger, summary).await?;
    // Every member of the wave is a server MGN listed this run: it was resolved from
    // that listing.
    let mut known_templates = KnownTemplates::new();
    let books = (&mut *ledger, &mut *summary, &mut known_templates);
    errors.extend(configure::configure(context, (&wave, &apps), &version, books).await);
    let templates = templates::put(context, (&plan, text), &wave, (ledger, &known_templates)).await;
    (summary.templates_changed, summary.held_by_settings) =
        (templates.changed, templates.problems.len());
    for app in &templates.changed_apps {
        let configured = configured(app, &apps, PlannedConfiguration::LaunchTemplate, &version);
        ledger.outbox.push(OutgoingEvent::new(configured, false));
    }
    summary.changes_deferred += templates.deferred;
    let mut resolved = ResolvedPlan::from_wave(&version, &wave);
    templates.annotate(&mut resolved);
    templates::mark_pending(&mut resolved, &wave, ledger);
    errors.extend(templates.errors);
    Ok(Some((resolved, errors)))
}

/// The id and application of each listed server the grouping concerns: the wave's
/// members and the servers in an application. The ids are moved out of the catalog, its
/// hints freed chunk by chunk, so that 100,000 of them are never held twice, and the
/// servers in neither (most of an estate, in a wave of a few) are not kept.
fn placements(
    catalog: Gathered<HintedServer>,
    applications: Gathered<Option<String>>,
    wave: &DesiredWave,
) -> Vec<Placement> {
    let members: HashSet<&ServerId> = wave
        .apps
        .iter()
        .flat_map(DesiredApp::servers)
        .map(|member| &member.server_id)
        .collect();
    let placed = catalog.into_iter().zip(applications);
    placed
        .filter(|(server, application_id)| application_id.is_some() || members.contains(&server.id))
        .map(|(server, application_id)| Placement {
            id: server.id,
            application_id,
        })
        .collect()
}

fn problem(message: &str) -> PlanProblem {
    PlanProblem {
        path: String::new(),
        line: None,
        app: None,
        message: message.to_owned(),
    }
}

/// Creates the waves and applications MGN lacks, then makes the associations.
async fn group(
    context: &Context<MgnPlannerConfig>,
    wave: &DesiredWave,
    servers: &[Placement],
    version: &str,
    ledger: &mut PlannerLedger,
    summary: &mut Summary,
) -> Result<(Vec<AwsCallError>, Vec<HeldApplication>), AutopilotError> {
    let client = &context.mgn;
    let dry_run = context.dry_run();
    let mut apps = mgn::groupings::applications(client).await?;
    let mut waves = mgn::groupings::waves(client).await?;
    let mut errors = Vec::new();
    let made = groupings::creations(wave, &apps, &waves);
    if dry_run {
        (summary.waves_created, summary.applications_created) =
            (made.waves.len(), made.applications.len());
        return Ok((errors, apps));
    }
    for name in made.waves {
        match mgn::groupings::create_wave(client, &name).await {
            Ok(held) => {
                summary.waves_created += 1;
                waves.push(held);
            }
            Err(error) => errors.push(error),
        }
    }
    for desired in made.applications {
        match mgn::groupings::create_application(client, desired).await {
            Ok(held) => {
                summary.applications_created += 1;
                let members = desired.groups.iter().map(|g| g.servers.len()).sum();
                let change = (PlanChange::Created, Vec::new());
                let planned = planned(&desired.name, Some(&held.id), change, members, version);
                ledger.outbox.push(OutgoingEvent::new(planned, false));
                apps.push(held);
            }
            Err(error) => errors.push(error),
        }
    }
    for call in groupings::associations(wave, &apps, &waves, servers) {
        match mgn::groupings::associate(client, &call).await {
            Ok(()) => {
                summary.associations += 1;
                if let Some(event) = association_event(&call, wave, version) {
                    ledger.outbox.push(OutgoingEvent::new(event, false));
                }
            }
            Err(error) => errors.push(error),
        }
    }
    Ok((errors, apps))
}

/// The planner's word that `configuration` of application `name` was put.
pub(crate) fn configured(
    name: &str,
    apps: &[HeldApplication],
    configuration: PlannedConfiguration,
    version: &str,
) -> AppConfigured {
    AppConfigured {
        app_name: name.to_owned(),
        app_id: apps
            .iter()
            .find(|a| a.name == name)
            .map(|a| AppId::from(a.id.as_str())),
        configuration,
        plan_version: Some(version.to_owned()),
    }
}

/// `members`: the application's planned members MGN lists.
fn planned(
    name: &str,
    id: Option<&str>,
    (change, differences): (PlanChange, Vec<String>),
    members: usize,
    version: &str,
) -> AppPlanned {
    AppPlanned {
        app_name: name.to_owned(),
        app_id: id.map(AppId::from),
        change,
        differences,
        servers: u32::try_from(members).unwrap_or(u32::MAX),
        plan_version: Some(version.to_owned()),
    }
}

/// Servers joining or leaving an application, as the planner's `AppPlanned`.
fn association_event(call: &Association, wave: &DesiredWave, version: &str) -> Option<AppPlanned> {
    let (app_id, app_name, difference) = match call {
        Association::Join {
            app_id,
            app_name,
            servers,
        } => (
            app_id,
            app_name,
            format!("{} servers joined", servers.len()),
        ),
        Association::Leave {
            app_id,
            app_name,
            servers,
        } => (app_id, app_name, format!("{} servers left", servers.len())),
        Association::IntoWave { .. } | Association::OutOfWave { .. } => return None,
    };
    let members = wave
        .apps
        .iter()
        .find(|app| &app.name == app_name)
        .map_or(0, |app| app.groups.iter().map(|g| g.servers.len()).sum());
    let change = (PlanChange::Updated, vec![difference]);
    Some(planned(app_name, Some(app_id), change, members, version))
}
