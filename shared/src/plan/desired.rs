//! A plan resolved against the server catalog: for each application, its groups with
//! the catalog servers they hold and each server's settings, its logical ID, and what
//! could not be resolved (a VM not discovered yet, a name two VMs share, a server two
//! applications claim).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::catalog_index::{CatalogIndex, CatalogServer};
use super::rules::Member;
use super::{
    LaunchMode, LaunchSettings, Plan, PlannedApp, PlannedGroup, ReplicationRoute,
    ReplicationSettings, Settings,
};
use crate::model::{JobId, ServerId};
use crate::wave_policy::VmField;

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
    /// Where the plan names it, e.g. `applications[1].groups[0].servers[2]`.
    pub path: String,
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
    pub test_window: Option<String>,
    pub archive: bool,
    /// MGN: the wave it belongs to.
    pub wave: Option<String>,
    pub depends_on: Vec<String>,
    pub replicated_by: ReplicationRoute,
    /// How long after its launch its replication ends; None: a person ends it.
    pub finalize_after: Option<chrono::Duration>,
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
    /// The job the catalog says replicates it now.
    pub live_job: Option<JobId>,
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
pub fn resolve<'c, S: CatalogServer + 'c>(
    plan: &Plan,
    catalog: impl IntoIterator<Item = &'c S>,
) -> DesiredWave {
    let index = CatalogIndex::new(catalog);
    let mut wave = DesiredWave::default();
    // Borrowed, not copied: at 100,000 servers an owned id and name each cost megabytes.
    let mut taken: HashMap<&'c ServerId, &str> = HashMap::new();
    for (at, app) in plan.applications.iter().enumerate() {
        let mut resolving = Resolving {
            index: &index,
            taken: &mut taken,
            wave: &mut wave,
        };
        let desired = resolving.app(plan, at, app);
        wave.apps.push(desired);
    }
    wave
}

/// What resolving one application works with: the catalog, the servers applications
/// before it took, and the wave's waiting members and conflicts.
struct Resolving<'r, 'c, 'p, S> {
    index: &'r CatalogIndex<'c, S>,
    /// Each server taken, with the name of the application that took it.
    taken: &'r mut HashMap<&'c ServerId, &'p str>,
    wave: &'r mut DesiredWave,
}

impl<'c, 'p, S: CatalogServer> Resolving<'_, 'c, 'p, S> {
    fn app(&mut self, plan: &Plan, at: usize, app: &'p PlannedApp) -> DesiredApp {
        let app_settings = plan.defaults.then(&app.settings);
        let mut logical_ids = BTreeSet::new();
        let mut groups = Vec::new();
        for (group_at, group) in app.groups.iter().enumerate() {
            let path = format!("applications[{at}].groups[{group_at}]");
            let group_settings = app_settings.then(&group.settings);
            let placed = self.group_members(&path, &app.name, group);
            self.check_server_settings(&path, &app.name, group, &placed);
            let servers = settled(group, &group_settings, placed, &mut logical_ids);
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
            test_window: app.test_window.clone(),
            archive: app.archive,
            wave: app.wave.clone(),
            depends_on: app.depends_on.clone(),
            replicated_by: app.replicated_by,
            finalize_after: app.finalize.after(),
            groups,
        }
    }

    /// The catalog servers a group's members bring to its application.
    fn group_members(&mut self, path: &str, app: &'p str, group: &PlannedGroup) -> Vec<&'c S> {
        let mut placed = Vec::new();
        for (member_at, text) in group.servers.iter().enumerate() {
            let member = Placing {
                path: format!("{path}.servers[{member_at}]"),
                app,
                group: &group.name,
                text,
            };
            placed.extend(self.place(&member));
        }
        placed
    }

    /// The catalog servers this member brings to its application: none while the
    /// catalog lacks it (waiting), none when it is ambiguous or already taken by another
    /// application (a conflict).
    fn place(&mut self, member: &Placing<'p, '_>) -> Vec<&'c S> {
        let Ok(parsed) = Member::parse(member.text) else {
            return Vec::new();
        };
        let matched = self.index.matching(&parsed);
        if matched.is_empty() {
            let waiting = member.unresolved("no catalog server matches it yet".into());
            self.wave.waiting.push(waiting);
            return Vec::new();
        }
        if matches!(parsed, Member::VmName(_)) && matched.len() > 1 {
            // An MGN catalog's bare names are the hostnames its agents report.
            let (name, selector) = if matched.iter().all(|s| s.hint(VmField::Hostname).is_some()) {
                ("hostname", "an `fqdn:`")
            } else {
                ("VM name", "a `vmPath:`")
            };
            let reason = format!(
                "{} catalog servers share that {name} ({}); name the one meant as \
                 `serverId:ID` or with {selector} selector",
                matched.len(),
                ids_of(&matched)
            );
            self.wave.conflicts.push(member.unresolved(reason));
            return Vec::new();
        }
        let mut placed = Vec::new();
        for server in matched {
            match self.taken.get(server.id()) {
                Some(&owner) if owner != member.app => {
                    let reason = format!(
                        "{} ({}) is already a member of `{owner}`",
                        vm_name_of(server),
                        server.id()
                    );
                    self.wave.conflicts.push(member.unresolved(reason));
                }
                Some(_) => {}
                None => {
                    self.taken.insert(server.id(), member.app);
                    placed.push(server);
                }
            }
        }
        placed
    }

    /// Settings given by VM name must name exactly one server the group took: one the
    /// catalog lacks waits for it; one the group's selectors do not take, or a name two
    /// of its servers share, is a conflict.
    fn check_server_settings(
        &mut self,
        path: &str,
        app: &str,
        group: &PlannedGroup,
        placed: &[&S],
    ) {
        if group.server_settings.is_empty() {
            return;
        }
        // The group's servers by VM name, once: a key is then a lookup, not a scan.
        let mut by_name: BTreeMap<&str, Vec<&S>> = BTreeMap::new();
        for server in placed {
            by_name.entry(vm_name_of(*server)).or_default().push(server);
        }
        for vm in group.server_settings.keys() {
            let named = by_name.get(vm.as_str()).map_or(&[][..], Vec::as_slice);
            let entry = Placing {
                path: format!("{path}.serverSettings.{vm}"),
                app,
                group: &group.name,
                text: vm,
            };
            match named.len() {
                1 => {}
                0 if self.index.matching(&Member::VmName(vm.clone())).is_empty() => {
                    self.wave.waiting.push(
                        entry.unresolved("settings for a VM no catalog server is named yet".into()),
                    )
                }
                0 => self.wave.conflicts.push(
                    entry.unresolved(
                        "settings for a VM the group does not take: name it among its servers \
                     or widen its selector"
                            .into(),
                    ),
                ),
                _ => {
                    let reason = format!(
                        "settings for a VM name {} of the group's servers share ({})",
                        named.len(),
                        ids_of(named)
                    );
                    self.wave.conflicts.push(entry.unresolved(reason));
                }
            }
        }
    }
}

/// A group's placed servers with their settings and logical IDs.
fn settled<S: CatalogServer>(
    group: &PlannedGroup,
    group_settings: &Settings,
    placed: Vec<&S>,
    logical_ids: &mut BTreeSet<String>,
) -> Vec<DesiredServer> {
    let shared = (
        Arc::new(group_settings.launch.clone()),
        Arc::new(group_settings.replication.clone()),
    );
    placed
        .into_iter()
        .map(|server| {
            let vm_name = vm_name_of(server).to_owned();
            let (launch, replication) = match group.server_settings.get(&vm_name) {
                None => (Arc::clone(&shared.0), Arc::clone(&shared.1)),
                Some(specific) => {
                    let settings = group_settings.then(specific);
                    (Arc::new(settings.launch), Arc::new(settings.replication))
                }
            };
            DesiredServer {
                logical_id: logical_id(&vm_name, logical_ids),
                server_id: server.id().clone(),
                vm_name,
                launch,
                replication,
                live_job: server.live_job().cloned(),
            }
        })
        .collect()
}

fn vm_name_of<S: CatalogServer>(server: &S) -> &str {
    server.hint(VmField::VmName).unwrap_or(server.id().as_str())
}

fn ids_of<S: CatalogServer>(servers: &[&S]) -> String {
    let ids: Vec<&str> = servers.iter().map(|s| s.id().as_str()).collect();
    ids.join(", ")
}

/// One member of a group, being placed on catalog servers; `app` is the plan's name of
/// its application.
struct Placing<'p, 'a> {
    path: String,
    app: &'p str,
    group: &'a str,
    text: &'a str,
}

impl Placing<'_, '_> {
    fn unresolved(&self, reason: String) -> Unresolved {
        Unresolved {
            path: self.path.clone(),
            app: self.app.to_owned(),
            group: self.group.to_owned(),
            member: self.text.to_owned(),
            reason,
        }
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
