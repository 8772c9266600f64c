//! A plan resolved against the server catalog: for each application, its groups with
//! the catalog servers they hold and each server's settings, its logical ID, and what
//! could not be resolved (a VM not discovered yet, a name two VMs share, a server two
//! applications claim).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::rules::Member;
use super::{LaunchMode, LaunchSettings, Plan, PlannedApp, ReplicationRoute, ReplicationSettings};
use crate::model::{Server, ServerId};

/// What the plan asks SMS to hold, in terms of the catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredWave {
    pub apps: Vec<DesiredApp>,
    /// Members that wait for the catalog: VM names not discovered yet, selectors that
    /// match nothing yet. Not errors: the next import may bring them.
    pub waiting: Vec<Unresolved>,
    /// Members that cannot be resolved as written; the plan must change.
    pub conflicts: Vec<Unresolved>,
}

/// One member the catalog cannot place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub app: String,
    pub group: String,
    pub member: String,
    pub reason: String,
}

/// One application as SMS should hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredApp {
    pub name: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub launch: LaunchMode,
    pub window: Option<String>,
    pub depends_on: Vec<String>,
    pub replicated_by: ReplicationRoute,
    /// Groups in the plan's order, each with at least one resolved server.
    pub groups: Vec<DesiredGroup>,
}

/// One server group as SMS should hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredGroup {
    pub name: String,
    pub launch_order: Option<i32>,
    pub servers: Vec<DesiredServer>,
}

/// One member server with its settings resolved (defaults, app, group, server).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredServer {
    pub server_id: ServerId,
    pub vm_name: String,
    /// The CloudFormation logical ID SMS needs for it, derived from the VM name.
    pub logical_id: String,
    /// Shared with the group's other servers that set nothing of their own, and with
    /// the changes made from it: a plan of 100,000 servers holds a few settings.
    pub launch: Arc<LaunchSettings>,
    pub replication: Arc<ReplicationSettings>,
}

impl DesiredApp {
    pub fn servers(&self) -> impl Iterator<Item = &DesiredServer> {
        self.groups.iter().flat_map(|group| group.servers.iter())
    }

    /// A digest of everything the plan wants of this application in SMS.
    pub fn fingerprint(&self) -> String {
        let wanted = format!(
            "{:?}{:?}{:?}",
            self.spec(),
            self.launch_config(),
            self.replication_config()
        );
        super::digest(wanted.as_bytes())
    }
}

/// Resolves every application's members against `catalog`; a server matched by two
/// applications stays with the first (in the plan's order) and the second is a conflict.
pub fn resolve(plan: &Plan, catalog: &[Server]) -> DesiredWave {
    let mut wave = DesiredWave::default();
    let mut taken: BTreeMap<ServerId, String> = BTreeMap::new();
    for app in &plan.applications {
        let desired = resolve_app(plan, app, catalog, &mut taken, &mut wave);
        wave.apps.push(desired);
    }
    wave
}

fn resolve_app(
    plan: &Plan,
    app: &PlannedApp,
    catalog: &[Server],
    taken: &mut BTreeMap<ServerId, String>,
    wave: &mut DesiredWave,
) -> DesiredApp {
    let app_settings = plan.defaults.then(&app.settings);
    let mut logical_ids = BTreeSet::new();
    let mut groups = Vec::new();
    for group in &app.groups {
        let group_settings = app_settings.then(&group.settings);
        let shared = (
            Arc::new(group_settings.launch.clone()),
            Arc::new(group_settings.replication.clone()),
        );
        let mut servers = Vec::new();
        for text in &group.servers {
            let member = Placing {
                app: &app.name,
                group: &group.name,
                text,
            };
            for server in member.resolve(catalog, taken, wave) {
                let vm_name = server
                    .vm
                    .vm_name
                    .clone()
                    .unwrap_or_else(|| server.id.to_string());
                let (launch, replication) = match group.server_settings.get(&vm_name) {
                    None => (Arc::clone(&shared.0), Arc::clone(&shared.1)),
                    Some(specific) => {
                        let settings = group_settings.then(specific);
                        (Arc::new(settings.launch), Arc::new(settings.replication))
                    }
                };
                servers.push(DesiredServer {
                    logical_id: logical_id(&vm_name, &mut logical_ids),
                    server_id: server.id.clone(),
                    vm_name,
                    launch,
                    replication,
                });
            }
        }
        if !servers.is_empty() {
            groups.push(DesiredGroup {
                name: group.name.clone(),
                launch_order: group.launch_order,
                servers,
            });
        }
    }
    DesiredApp {
        name: app.name.clone(),
        description: app.description.clone(),
        tags: app.tags.clone(),
        launch: app.launch,
        window: app.window.clone(),
        depends_on: app.depends_on.clone(),
        replicated_by: app.replicated_by,
        groups,
    }
}

/// One member of a group, being placed on catalog servers.
struct Placing<'a> {
    app: &'a str,
    group: &'a str,
    text: &'a str,
}

impl Placing<'_> {
    fn unresolved(&self, reason: String) -> Unresolved {
        Unresolved {
            app: self.app.to_owned(),
            group: self.group.to_owned(),
            member: self.text.to_owned(),
            reason,
        }
    }

    /// The catalog servers this member brings to its application: none while the
    /// catalog lacks it (waiting), none when it is ambiguous or already taken by another
    /// application (a conflict).
    fn resolve<'c>(
        &self,
        catalog: &'c [Server],
        taken: &mut BTreeMap<ServerId, String>,
        wave: &mut DesiredWave,
    ) -> Vec<&'c Server> {
        let matched = match_member(self.text, catalog);
        if matched.is_empty() {
            wave.waiting
                .push(self.unresolved("no catalog server matches it yet".into()));
            return Vec::new();
        }
        if matches!(Member::parse(self.text), Ok(Member::VmName(_))) && matched.len() > 1 {
            let ids: Vec<&str> = matched.iter().map(|s| s.id.as_str()).collect();
            let reason = format!(
                "VMs of that name: {}; name one with vmPath:",
                ids.join(", ")
            );
            wave.conflicts.push(self.unresolved(reason));
            return Vec::new();
        }
        let mut placed = Vec::new();
        for server in matched {
            match taken.get(&server.id) {
                Some(owner) if owner != self.app => {
                    let reason = format!("server {} is already a member of `{owner}`", server.id);
                    wave.conflicts.push(self.unresolved(reason));
                }
                Some(_) => {}
                None => {
                    taken.insert(server.id.clone(), self.app.to_owned());
                    placed.push(server);
                }
            }
        }
        placed
    }
}

/// The catalog servers one member names, in catalog order.
fn match_member<'a>(text: &str, catalog: &'a [Server]) -> Vec<&'a Server> {
    match Member::parse(text) {
        Ok(Member::VmName(name)) => catalog
            .iter()
            .filter(|s| s.vm.vm_name.as_deref() == Some(name.as_str()))
            .collect(),
        Ok(Member::Selector(selector)) => catalog.iter().filter(|s| selector.matches(s)).collect(),
        Err(_) => Vec::new(),
    }
}

/// A CloudFormation logical ID from a VM name (letters and digits only, starting with
/// a letter), unique among `taken` by a numeric suffix.
pub fn logical_id(vm_name: &str, taken: &mut BTreeSet<String>) -> String {
    let mut id = String::new();
    let mut upper = true;
    for c in vm_name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert_str(0, "Server");
    }
    id.truncate(200);
    let mut unique = id.clone();
    let mut suffix = 2;
    while !taken.insert(unique.clone()) {
        unique = format!("{id}{suffix}");
        suffix += 1;
    }
    unique
}
