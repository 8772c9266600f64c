//! What the planner must change so SMS holds what the plan resolves to: applications to
//! create, update, configure, start replicating or (with `prune`) delete, and the drift
//! it reports instead of touching an application that is launching or launched.
//! Decided here from plain data; the app-planner calls SMS.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::desired::{DesiredApp, DesiredWave};
use super::rules::MANAGED_TAG;
use super::{LaunchSettings, ReplicationRoute, ReplicationSettings};
use crate::migration::{AppReplicationPhase, LaunchState};
use crate::model::{AppId, ServerId};

/// An application as SMS holds it, with its configurations.
#[derive(Debug, Clone, PartialEq)]
pub struct ExistingApp {
    pub id: AppId,
    pub name: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Its deletion was asked for: nothing should be started for it any more.
    pub deleted: bool,
    pub launch_status: LaunchState,
    pub replication_status: AppReplicationPhase,
    /// Groups by name, each with its members.
    pub groups: Vec<(String, Vec<ServerId>)>,
    pub launch: Held<LaunchConfig>,
    pub replication: Held<ReplicationConfig>,
    /// When it last changed (RFC 3339), as ListApps says.
    pub last_modified: Option<String>,
    /// When it was last launched, as ListApps says (`launchDetails.latestLaunchTime`).
    pub launched_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The digest of the launch configuration the planner last put or found as planned
    /// ([`LaunchConfig::digest`], from its ledger); none when it never did.
    pub launch_put: Option<String>,
}

/// An app's launch configuration, by group name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaunchConfig(pub BTreeMap<String, GroupLaunch>);

impl LaunchConfig {
    /// What tells this configuration from another, for the planner's ledger.
    pub fn digest(&self) -> String {
        super::digest(format!("{self:?}").as_bytes())
    }
}

/// One group's launch order and its servers' launch settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupLaunch {
    pub launch_order: Option<i32>,
    pub servers: BTreeMap<ServerId, (String, Arc<LaunchSettings>)>,
}

/// One configuration of an existing application, as far as the planner knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Held<T> {
    /// Not read (an application the plan does not name, or one just created).
    #[default]
    Unknown,
    /// Gives everything the plan wants: compared as it was read, or unchanged since the
    /// application was last found as planned. Not kept: at 100,000 servers the
    /// configurations read are most of a run's memory.
    AsPlanned,
    /// As read, and not what the plan wants (or not compared yet).
    Read(T),
}

/// A configuration the plan can be compared with.
pub trait Configuration {
    /// Whether this (held) configuration gives everything `wanted` sets.
    fn satisfies(&self, wanted: &Self) -> bool;
}

impl<T: Configuration> Held<T> {
    /// What was read, compared with what the plan wants.
    pub fn compared(read: T, wanted: &T) -> Self {
        if read.satisfies(wanted) {
            Self::AsPlanned
        } else {
            Self::Read(read)
        }
    }

    /// Whether SMS holds what `wanted` sets.
    pub fn gives(&self, wanted: &T) -> bool {
        match self {
            Self::Unknown => false,
            Self::AsPlanned => true,
            Self::Read(held) => held.satisfies(wanted),
        }
    }
}

impl Configuration for LaunchConfig {
    /// Every group, server and setting `wanted` sets; values the service adds where the
    /// plan says nothing are no difference.
    fn satisfies(&self, wanted: &LaunchConfig) -> bool {
        same_keys(&self.0, &wanted.0)
            && wanted.0.iter().all(|(name, group)| {
                let held = &self.0[name];
                (group.launch_order.is_none() || held.launch_order == group.launch_order)
                    && same_keys(&held.servers, &group.servers)
                    && group.servers.iter().all(|(id, (logical_id, settings))| {
                        let (held_id, held_settings) = &held.servers[id];
                        held_id == logical_id && held_settings.covers(settings)
                    })
            })
    }
}

impl Configuration for ReplicationConfig {
    /// Every server's settings `wanted` sets.
    fn satisfies(&self, wanted: &ReplicationConfig) -> bool {
        same_keys(&self.0, &wanted.0)
            && wanted.0.iter().all(|(name, servers)| {
                let held = &self.0[name];
                same_keys(held, servers)
                    && servers
                        .iter()
                        .all(|(id, settings)| held[id].covers(settings))
            })
    }
}

fn same_keys<K: Ord, A, B>(left: &BTreeMap<K, A>, right: &BTreeMap<K, B>) -> bool {
    left.len() == right.len() && left.keys().zip(right.keys()).all(|(a, b)| a == b)
}

/// An app's replication configuration: each server's parameters, by group name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicationConfig(pub BTreeMap<String, BTreeMap<ServerId, Arc<ReplicationSettings>>>);

/// A change to make in SMS.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// CreateApp (with a client token derived from the name, so a repeat makes no
    /// second app), then its configurations.
    Create {
        app: AppSpec,
        client_token: String,
        launch: LaunchConfig,
        replication: Option<ReplicationConfig>,
    },
    /// UpdateApp: groups, members, description or tags differ.
    Update {
        app_id: AppId,
        app: AppSpec,
        differences: Vec<String>,
    },
    PutLaunch {
        app_id: AppId,
        name: String,
        config: LaunchConfig,
    },
    PutReplication {
        app_id: AppId,
        name: String,
        config: ReplicationConfig,
    },
    StartReplication {
        app_id: AppId,
        name: String,
    },
    /// DeleteAppReplicationConfiguration: the plan now replicates a managed application
    /// by standalone jobs, and its app replication is not running.
    DeleteReplication {
        app_id: AppId,
        name: String,
    },
    /// DeleteApp of a managed application the plan no longer names (`prune`).
    Delete {
        app_id: AppId,
        name: String,
    },
}

/// What CreateApp or UpdateApp sets.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub name: String,
    pub description: Option<String>,
    /// The plan's tags and the planner's own.
    pub tags: BTreeMap<String, String>,
    pub groups: Vec<(String, Vec<ServerId>)>,
}

/// An application that differs from the plan but is not changed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub app_id: AppId,
    pub name: String,
    pub differences: Vec<String>,
    pub reason: String,
}

/// Everything one reconciliation decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reconciliation {
    pub changes: Vec<Change>,
    pub drift: Vec<Drift>,
    /// Applications already as planned.
    pub in_step: Vec<String>,
    /// Applications with no resolved member yet: not created.
    pub waiting: Vec<String>,
}

/// The client token for creating an application of a plan version: the same for every
/// invocation acting on that version (so a repeat makes no second app), new for a later
/// version (so an app deleted since is created anew rather than answered by the old).
pub fn client_token(name: &str, plan_version: &str) -> String {
    let seed = format!("{name}\n{plan_version}");
    format!("autopilot-plan-{}", super::digest(seed.as_bytes()))
}

impl DesiredApp {
    /// What CreateApp or UpdateApp should set.
    pub fn spec(&self) -> AppSpec {
        let mut tags = self.tags.clone();
        tags.insert(MANAGED_TAG.to_owned(), self.name.clone());
        AppSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            tags,
            groups: self
                .groups
                .iter()
                .map(|g| {
                    (
                        g.name.clone(),
                        g.servers.iter().map(|s| s.server_id.clone()).collect(),
                    )
                })
                .collect(),
        }
    }

    pub fn launch_config(&self) -> LaunchConfig {
        let groups = self.groups.iter().map(|group| {
            let servers = group
                .servers
                .iter()
                .map(|s| {
                    (
                        s.server_id.clone(),
                        (s.logical_id.clone(), s.launch.clone()),
                    )
                })
                .collect();
            let launch = GroupLaunch {
                launch_order: group.launch_order,
                servers,
            };
            (group.name.clone(), launch)
        });
        LaunchConfig(groups.collect())
    }

    pub fn replication_config(&self) -> Option<ReplicationConfig> {
        if self.replicated_by != ReplicationRoute::App {
            return None;
        }
        let groups = self.groups.iter().map(|group| {
            let servers = group
                .servers
                .iter()
                .map(|s| (s.server_id.clone(), s.replication.clone()))
                .collect();
            (group.name.clone(), servers)
        });
        Some(ReplicationConfig(groups.collect()))
    }
}

/// Decides what to change so that `existing` matches `wave`.
pub fn reconcile(wave: &DesiredWave, existing: &[ExistingApp], prune: bool) -> Reconciliation {
    reconcile_version(wave, existing, prune, "")
}

/// [`reconcile`], for the plan version `plan_version` (in the creations' client tokens).
pub fn reconcile_version(
    wave: &DesiredWave,
    existing: &[ExistingApp],
    prune: bool,
    plan_version: &str,
) -> Reconciliation {
    let mut outcome = Reconciliation::default();
    for desired in &wave.apps {
        match find(existing, &desired.name) {
            _ if desired.groups.is_empty() => outcome.waiting.push(desired.name.clone()),
            None => outcome.changes.push(Change::Create {
                app: desired.spec(),
                client_token: client_token(&desired.name, plan_version),
                launch: desired.launch_config(),
                replication: desired.replication_config(),
            }),
            Some(app) => align(desired, app, &mut outcome),
        }
    }
    if prune {
        for app in existing.iter().filter(|app| managed_elsewhere(app, wave)) {
            if app.launch_status.is_launched() || app.launch_status.phase.is_moving() {
                outcome.drift.push(Drift {
                    app_id: app.id.clone(),
                    name: app.name.clone(),
                    differences: vec!["the plan no longer names it".into()],
                    reason: format!("it is {}: terminate it before pruning", app.launch_status),
                });
            } else if !app.deleted {
                outcome.changes.push(Change::Delete {
                    app_id: app.id.clone(),
                    name: app.name.clone(),
                });
            }
        }
    }
    outcome
}

/// The live application that stands for `name`: the one the planner tagged with it,
/// else one of that name.
pub(crate) fn find<'a>(existing: &'a [ExistingApp], name: &str) -> Option<&'a ExistingApp> {
    let live = || existing.iter().filter(|app| !app.deleted);
    live()
        .find(|app| app.tags.get(MANAGED_TAG).map(String::as_str) == Some(name))
        .or_else(|| live().find(|app| app.name == name))
}

fn managed_elsewhere(app: &ExistingApp, wave: &DesiredWave) -> bool {
    app.tags
        .get(MANAGED_TAG)
        .is_some_and(|name| !wave.apps.iter().any(|desired| &desired.name == name))
}

/// The changes that bring one existing application in line, or its drift.
fn align(desired: &DesiredApp, app: &ExistingApp, outcome: &mut Reconciliation) {
    let spec = spec_keeping_foreign_tags(desired, app);
    let launch = desired.launch_config();
    let replication = desired.replication_config();
    let spec_differences = spec_differences(&spec, app);
    let mut differences = spec_differences.clone();
    let launch_difference = launch_difference(app, &launch);
    differences.extend(launch_difference.map(str::to_owned));
    let replication_differs = replication
        .as_ref()
        .is_some_and(|wanted| !app.replication.gives(wanted));
    if replication_differs {
        differences.push("replication configuration".into());
    }
    let stale_replication = replication.is_none() && holds_stale_replication(app);
    if stale_replication {
        differences.push("a replication configuration the plan no longer gives".into());
    }
    let launched = app.launch_status.is_launched() || app.launch_status.phase.is_moving();
    let not_started = replication.is_some() && !launched && replication_not_started(app);
    if differences.is_empty() && !not_started {
        outcome.in_step.push(desired.name.clone());
        return;
    }
    if launched {
        outcome.drift.push(Drift {
            app_id: app.id.clone(),
            name: app.name.clone(),
            differences,
            reason: format!(
                "it is {}: the planner changes no launched application",
                app.launch_status
            ),
        });
        return;
    }
    if stale_replication {
        remove_stale_replication(desired, app, outcome);
    }
    let (app_id, name) = (app.id.clone(), desired.name.clone());
    // New members need their settings, so a change of members puts both again.
    let members_changed = spec_differences.iter().any(|d| d.starts_with("group"));
    let changes = &mut outcome.changes;
    if !spec_differences.is_empty() {
        changes.push(Change::Update {
            app_id: app_id.clone(),
            app: spec,
            differences: spec_differences,
        });
    }
    if launch_difference.is_some() || members_changed {
        changes.push(Change::PutLaunch {
            app_id: app_id.clone(),
            name: name.clone(),
            config: launch,
        });
    }
    if let Some(config) = replication {
        if replication_differs || members_changed {
            changes.push(Change::PutReplication {
                app_id: app_id.clone(),
                name: name.clone(),
                config,
            });
        }
        if not_started {
            changes.push(Change::StartReplication { app_id, name });
        }
    }
}

/// Why the application's launch configuration is to be put again, if it is: it does
/// not give what the plan wants, or the plan changed it since it was put. SMS keeps a
/// value the plan stopped giving (a dropped `userData`) and the comparison ignores
/// values the plan does not set, so the second puts it again, which replaces it whole.
fn launch_difference(app: &ExistingApp, wanted: &LaunchConfig) -> Option<&'static str> {
    if !app.launch.gives(wanted) {
        return Some("launch configuration");
    }
    let put = app.launch_put.as_ref()?;
    (*put != wanted.digest()).then_some("launch configuration changed by the plan since it was put")
}

/// What UpdateApp should set: the plan's spec, with the tags the plan does not set
/// given back unchanged (UpdateApp replaces every tag).
fn spec_keeping_foreign_tags(desired: &DesiredApp, app: &ExistingApp) -> AppSpec {
    let mut spec = desired.spec();
    for (key, value) in &app.tags {
        spec.tags
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    spec
}

/// Removes the replication configuration the plan no longer gives, or says why not
/// while the app replication it configures runs.
fn remove_stale_replication(desired: &DesiredApp, app: &ExistingApp, outcome: &mut Reconciliation) {
    if replication_running(app) {
        outcome.drift.push(Drift {
            app_id: app.id.clone(),
            name: app.name.clone(),
            differences: vec!["a replication configuration the plan no longer gives".into()],
            reason: "its app replication runs: stop it before standalone jobs replace it".into(),
        });
    } else {
        outcome.changes.push(Change::DeleteReplication {
            app_id: app.id.clone(),
            name: desired.name.clone(),
        });
    }
}

/// A managed application holds a replication configuration (read, and not empty).
fn holds_stale_replication(app: &ExistingApp) -> bool {
    app.tags.contains_key(MANAGED_TAG)
        && matches!(&app.replication, Held::Read(held) if !held.0.is_empty())
}

/// The app's replication has jobs, or is getting them.
fn replication_running(app: &ExistingApp) -> bool {
    app.replication_status.is_running()
}

/// The app's replication was never started, or was stopped.
fn replication_not_started(app: &ExistingApp) -> bool {
    app.replication_status.is_not_started()
}

/// How the application's name, description, tags and groups differ from `spec`.
fn spec_differences(spec: &AppSpec, app: &ExistingApp) -> Vec<String> {
    let mut differences = Vec::new();
    if spec.description.is_some() && spec.description != app.description {
        differences.push("description".into());
    }
    if spec.name != app.name {
        differences.push("name".into());
    }
    // Only the tags the plan sets are its business: an operator's own (the launcher's
    // opt-out tag among them) stay as they are.
    if spec
        .tags
        .iter()
        .any(|(key, value)| app.tags.get(key) != Some(value))
    {
        differences.push("tags".into());
    }
    let existing: BTreeMap<&str, Vec<&ServerId>> = app
        .groups
        .iter()
        .map(|(name, servers)| (name.as_str(), sorted(servers)))
        .collect();
    let wanted: BTreeMap<&str, Vec<&ServerId>> = spec
        .groups
        .iter()
        .map(|(name, servers)| (name.as_str(), sorted(servers)))
        .collect();
    for (name, servers) in &wanted {
        match existing.get(name) {
            None => differences.push(format!("group `{name}` is missing")),
            Some(held) if held != servers => {
                differences.push(format!("group `{name}` has other members"))
            }
            Some(_) => {}
        }
    }
    for name in existing.keys().filter(|name| !wanted.contains_key(*name)) {
        differences.push(format!("group `{name}` is not in the plan"));
    }
    differences
}

fn sorted(servers: &[ServerId]) -> Vec<&ServerId> {
    let mut sorted: Vec<&ServerId> = servers.iter().collect();
    sorted.sort();
    sorted
}
