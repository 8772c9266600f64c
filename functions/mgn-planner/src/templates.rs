//! The planner's EC2 half: each member's launch template made to hold what the plan
//! wants (instance type, subnet, security groups, key pair, instance profile, tags; a
//! second version for a test network). What the plan names is first checked against
//! the account (one set of questions for every member that changed), so a setting EC2
//! would refuse at launch time is found now: the member is left as it is, and its
//! application is held with the problem named by VM and plan line. A member whose
//! versions were made for the same wanted settings (the ledger keeps their digest) is
//! not read again.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use autopilot_core::config::MgnPlannerConfig;
use autopilot_core::digest::Digest;
use autopilot_core::mgn;
use autopilot_core::model::ServerId;
use autopilot_core::plan::desired::{DesiredServer, DesiredWave};
use autopilot_core::plan::launch_template::{
    setting_path, AccountQuestions, TemplateVersions, TemplatesMade, WantedTemplates,
};
use autopilot_core::plan::ledger::PlannerLedger;
use autopilot_core::plan::mgn_settings::MgnLaunch;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::plan::settings::LaunchSettings;
use autopilot_core::plan::{source, Plan};
use autopilot_core::runtime::Context;
use autopilot_core::AwsCallError;
use futures::stream::{self, StreamExt};

use crate::KnownTemplates;

/// What putting the templates came to.
#[derive(Debug, Default)]
pub struct TemplatesPut {
    /// Members whose template got new versions.
    pub changed: usize,
    /// The applications of those members.
    pub changed_apps: BTreeSet<String>,
    /// Each held application's problems, in plan order.
    pub problems: BTreeMap<String, Vec<String>>,
    /// Every member's versions, made now or before.
    pub versions: BTreeMap<ServerId, TemplateVersions>,
    pub errors: Vec<AwsCallError>,
    /// Members left for the next run: the deadline was near.
    pub deferred: usize,
}

impl TemplatesPut {
    /// Gives the resolved plan each member's versions and each held application its
    /// problem.
    pub fn annotate(&self, resolved: &mut ResolvedPlan) {
        for (id, versions) in &self.versions {
            if let Some(server) = resolved.servers.get_mut(id) {
                server.launch_template = Some(versions.clone());
            }
        }
        for (app, problems) in &self.problems {
            if let Some(policy) = resolved.apps.get_mut(app) {
                let more = match problems.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                policy.launch_settings_problem = Some(format!("{}{more}", problems[0]));
            }
        }
    }
}

/// Gives each application of `resolved` the number of its members whose launch
/// configuration or template does not yet hold what the plan wants (the ledger keeps
/// the digests of what was put), unless it is held by a settings problem already.
pub fn mark_pending(resolved: &mut ResolvedPlan, wave: &DesiredWave, ledger: &PlannerLedger) {
    for app in &wave.apps {
        let Some(policy) = resolved.apps.get_mut(&app.name) else {
            continue;
        };
        if policy.launch_settings_problem.is_some() {
            continue;
        }
        policy.settings_pending = app
            .servers()
            .filter(|member| {
                let id = &member.server_id;
                let launch = MgnLaunch::wanted(&member.launch)
                    .is_some_and(|w| ledger.mgn_launch.get(id) != Some(&w.digest()));
                let template = WantedTemplates::of(&member.launch, &app.tags).is_some_and(|w| {
                    ledger.mgn_templates.get(id).map(|made| &made.digest) != Some(&w.digest())
                });
                launch || template
            })
            .count();
    }
}

/// One member whose template must change, where the plan places it.
struct Pending<'w> {
    app: &'w str,
    group: &'w str,
    member: &'w DesiredServer,
    wanted: Arc<Wanted>,
}

/// What a member wants of its launch template, and its digest: one value, shared by
/// every member that wants the same.
struct Wanted {
    templates: WantedTemplates,
    digest: Digest,
}

/// The members' wanted templates, one of each distinct value kept and shared: a copy
/// for each of 25,000 members (its application's tags among it) was most of the
/// planner's memory.
#[derive(Default)]
struct DistinctWanted(HashMap<Digest, Arc<Wanted>>);

impl DistinctWanted {
    /// What a member with `launch` settings in an application with `tags` wants of its
    /// template; none when its settings ask nothing of it.
    fn of(
        &mut self,
        launch: &LaunchSettings,
        tags: &BTreeMap<String, String>,
    ) -> Option<Arc<Wanted>> {
        let templates = WantedTemplates::of(launch, tags)?;
        let digest = templates.digest();
        let wanted = match self.0.entry(digest) {
            Entry::Occupied(held) if held.get().templates == templates => held.get().clone(),
            // Two values with one digest: not shared, though the books cannot tell them
            // apart.
            Entry::Occupied(_) => Arc::new(Wanted { templates, digest }),
            Entry::Vacant(slot) => slot.insert(Arc::new(Wanted { templates, digest })).clone(),
        };
        Some(wanted)
    }
}

/// Checks and puts what the plan wants of each member's launch template.
pub async fn put(
    context: &Context<MgnPlannerConfig>,
    (plan, text): (&Plan, &str),
    wave: &DesiredWave,
    (ledger, known_templates): (&mut PlannerLedger, &KnownTemplates),
) -> TemplatesPut {
    let mut put = TemplatesPut::default();
    let pending = changes(wave, ledger, &mut put);
    if pending.is_empty() {
        return put;
    }
    let mut questions = AccountQuestions::default();
    for change in &pending {
        change.wanted.templates.ask(&mut questions);
    }
    let account = match context.ec2.account(&questions).await {
        Ok(account) => account,
        Err(error) => {
            put.errors.push(error);
            return put;
        }
    };
    let to_make = held_or_to_make(context, (plan, text), pending, &account, &mut put);
    let made = make_all(context, &to_make, (ledger, known_templates)).await;
    for (change, made) in to_make.iter().zip(made) {
        let id = &change.member.server_id;
        match made {
            None => put.deferred += 1,
            Some(Ok((versions, changed))) => {
                if changed {
                    put.changed += 1;
                    put.changed_apps.insert(change.app.to_owned());
                }
                let made = TemplatesMade {
                    digest: change.wanted.digest,
                    versions: versions.clone(),
                };
                ledger.mgn_templates.insert(id.clone(), made);
                put.versions.insert(id.clone(), versions);
            }
            Some(Err(error)) => put.errors.push(error),
        }
    }
    put
}

/// The changes the account can honour (none in a dry run); each other one's problems
/// go into `put`, named by VM and plan line.
fn held_or_to_make<'w>(
    context: &Context<MgnPlannerConfig>,
    (plan, text): (&Plan, &str),
    mut pending: Vec<Pending<'w>>,
    account: &autopilot_core::plan::launch_template::Ec2Account,
    put: &mut TemplatesPut,
) -> Vec<Pending<'w>> {
    // The plan is read again for its lines only when a problem must name one.
    let lines = std::sync::OnceLock::new();
    let lines = || lines.get_or_init(|| source::read(text).map(|(_, l)| l).unwrap_or_default());
    // Kept in place: a second list would hold 25,000 changes twice at 100,000 servers.
    pending.retain(|change| {
        let problems = change.wanted.templates.check(account);
        if problems.is_empty() {
            return !context.dry_run();
        }
        let vm = &change.member.vm_name;
        let held = put.problems.entry(change.app.to_owned()).or_default();
        for problem in problems {
            let path = setting_path(plan, change.app, change.group, vm, problem.field);
            let line = lines()
                .of(&path)
                .map_or(String::new(), |l| format!(" (line {l})"));
            held.push(format!("{vm}: {}{line}", problem.message));
        }
        false
    });
    pending
}

/// Makes each change's versions, a batch of members at a time and a few calls in
/// flight; `None` for a change whose turn came too near the deadline.
async fn make_all(
    context: &Context<MgnPlannerConfig>,
    to_make: &[Pending<'_>],
    (books, known_templates): (&PlannerLedger, &KnownTemplates),
) -> Vec<Option<Result<(TemplateVersions, bool), AwsCallError>>> {
    let mut made = Vec::with_capacity(to_make.len());
    for batch in to_make.chunks(crate::configure::MEMBERS_PER_BATCH) {
        let asks: Vec<_> = batch
            .iter()
            .map(|change| async move {
                if crate::near_deadline() {
                    return None;
                }
                let id = &change.member.server_id;
                // A server keeps its template for life: the one read this run or made
                // before.
                let template = known_templates.get(id).cloned().or_else(|| {
                    books
                        .mgn_templates
                        .get(id)
                        .map(|made| made.versions.template_id.clone())
                });
                Some(make_versions(context, id, template, &change.wanted).await)
            })
            .collect();
        made.extend(
            stream::iter(asks)
                .buffered(crate::configure::MEMBERS_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await,
        );
    }
    made
}

/// The members whose templates must change; the others' versions go into `put`
/// as the ledger keeps them, and a member the plan asks nothing of leaves the ledger.
fn changes<'w>(
    wave: &'w DesiredWave,
    ledger: &mut PlannerLedger,
    put: &mut TemplatesPut,
) -> Vec<Pending<'w>> {
    let mut pending = Vec::new();
    let mut distinct = DistinctWanted::default();
    for app in &wave.apps {
        for group in &app.groups {
            for member in &group.servers {
                let id = &member.server_id;
                let Some(wanted) = distinct.of(&member.launch, &app.tags) else {
                    ledger.mgn_templates.remove(id);
                    continue;
                };
                match ledger.mgn_templates.get(id) {
                    Some(made) if made.digest == wanted.digest => {
                        put.versions.insert(id.clone(), made.versions.clone());
                    }
                    _ => pending.push(Pending {
                        app: &app.name,
                        group: &group.name,
                        member,
                        wanted,
                    }),
                }
            }
        }
    }
    pending
}

/// The versions `wanted` needs on `server`'s template, made unless the default version
/// holds them already; whether any was made. `template` is the server's launch template
/// when known; MGN is asked otherwise. Each is made with a token of the wanted
/// settings, so a run cut off and run again gets the same versions back.
async fn make_versions(
    context: &Context<MgnPlannerConfig>,
    server: &ServerId,
    template: Option<String>,
    Wanted {
        templates: wanted,
        digest,
    }: &Wanted,
) -> Result<(TemplateVersions, bool), AwsCallError> {
    let template_id = match template {
        Some(known) => known,
        None => mgn::configurations::launch_template_id(&context.mgn, server).await?,
    };
    let held = context.ec2.default_template_version(&template_id).await?;
    let token = |kind: &str| {
        let digest = autopilot_core::digest::hex(format!("{template_id}{digest}").as_bytes());
        format!("sms-autopilot-{kind}-{digest}")
    };
    if wanted.test.is_none() && wanted.cutover.held_by(&held.settings) {
        let versions = TemplateVersions {
            template_id,
            cutover: held.version,
            test: None,
        };
        return Ok((versions, false));
    }
    let test = match &wanted.test {
        Some(settings) => Some(
            context
                .ec2
                .new_template_version(
                    &held,
                    settings,
                    "sms-autopilot: test launches",
                    &token("test"),
                )
                .await?,
        ),
        None => None,
    };
    let cutover = context
        .ec2
        .new_template_version(
            &held,
            &wanted.cutover,
            "sms-autopilot: cutover",
            &token("cutover"),
        )
        .await?;
    context
        .ec2
        .set_default_template_version(&template_id, cutover)
        .await?;
    Ok((
        TemplateVersions {
            template_id,
            cutover,
            test,
        },
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(instance_type: &str) -> LaunchSettings {
        LaunchSettings {
            instance_type: Some(instance_type.to_owned()),
            ..LaunchSettings::default()
        }
    }

    #[test]
    fn members_wanting_the_same_share_one_value_and_others_get_their_own() {
        let tags = BTreeMap::from([("team".to_owned(), "web".to_owned())]);
        let other_tags = BTreeMap::from([("team".to_owned(), "db".to_owned())]);
        let mut distinct = DistinctWanted::default();
        let first = distinct.of(&launch("m5.large"), &tags).expect("wanted");
        let same = distinct.of(&launch("m5.large"), &tags).expect("wanted");
        assert!(Arc::ptr_eq(&first, &same), "equal settings share one value");
        assert_eq!(first.digest, first.templates.digest());
        let bigger = distinct.of(&launch("m5.xlarge"), &tags).expect("wanted");
        let tagged = distinct
            .of(&launch("m5.large"), &other_tags)
            .expect("wanted");
        assert!(!Arc::ptr_eq(&first, &bigger));
        assert!(!Arc::ptr_eq(&first, &tagged));
        assert_eq!(tagged.templates.cutover.tags, other_tags);
        assert_eq!(
            bigger.templates.cutover.instance_type.as_deref(),
            Some("m5.xlarge")
        );
        assert!(distinct
            .of(&LaunchSettings::default(), &BTreeMap::new())
            .is_none());
        assert_eq!(distinct.0.len(), 3);
    }
}
