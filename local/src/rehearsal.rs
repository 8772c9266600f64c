//! `autopilot-local plan`: a wave plan rehearsed against a catalog before it is put in
//! the bucket. The plan is read and checked as app-planner reads it, resolved against
//! the servers of a scenario, of an `aws sms get-servers` dump, or of an
//! `aws mgn describe-source-servers` dump (the report names the backend), and
//! reconciled with the scenario's own applications; the rehearsal prints what the
//! planner would create and change, the launch order across applications, the servers
//! in no application, and what waits for the catalog or conflicts.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt::Write as _;

use autopilot_core::model::{AppLaunchStatus, Server, ServerId, VmServer};
use autopilot_core::plan::desired::{self, logical_id, DesiredApp, DesiredWave};
use autopilot_core::plan::reconcile::{
    self, Change, ExistingApp, GroupLaunch, Held, LaunchConfig, Reconciliation,
};
use autopilot_core::plan::{
    digest, LaunchMode, LaunchSettings, Plan, PlanRejected, ReplicationRoute,
};

use crate::scenario::{
    read_describe_source_servers_dump, read_get_servers_dump, AppSpec, LaunchSpec,
};
use crate::{Scenario, ScenarioError};

/// What a rehearsal found, and the exit code a script reads from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// SMS already holds what the plan declares (exit 0).
    NoChanges,
    /// The planner would make changes (exit 4).
    Changes,
    /// The plan is refused, or its members conflict in the catalog (exit 3).
    Invalid,
}

impl Verdict {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::NoChanges => 0,
            Self::Invalid => 3,
            Self::Changes => 4,
        }
    }
}

/// What a plan is rehearsed against: the catalog, the applications the service holds,
/// and which service that is.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub catalog: Vec<Server>,
    pub existing: Vec<ExistingApp>,
    /// `SMS` or `MGN`, as the report names the backend rehearsed.
    pub backend: &'static str,
}

impl Estate {
    /// The catalog a scenario describes, as GetServers would list it once imported,
    /// and the scenario's own applications.
    pub fn of_scenario(scenario: &Scenario) -> Self {
        let catalog: Vec<Server> = scenario
            .servers
            .iter()
            .map(|spec| {
                Server::without_job(
                    ServerId::from(spec.id.clone().unwrap_or_default().as_str()),
                    VmServer {
                        vm_name: Some(spec.vm_name.clone()),
                        vm_path: spec.vm_path.clone(),
                        vm_manager_name: spec.vm_manager_name.clone(),
                        ..VmServer::default()
                    },
                )
            })
            .collect();
        let existing = existing_of(scenario, &catalog);
        Self {
            catalog,
            existing,
            backend: "SMS",
        }
    }

    /// The catalog of an `aws sms get-servers` dump, as SMS lists it: a VM name two
    /// servers share stays shared, as the planner would see it. No application.
    pub fn of_get_servers_dump(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let catalog = read_get_servers_dump(text, origin)?
            .into_iter()
            .map(|dumped| {
                Server::without_job(
                    ServerId::from(dumped.id.as_str()),
                    VmServer {
                        vm_name: dumped.vm_name,
                        vm_path: dumped.vm_path,
                        vm_manager_name: Some(dumped.vm_manager_name),
                        ..VmServer::default()
                    },
                )
            })
            .collect();
        Ok(Self {
            catalog,
            existing: Vec::new(),
            backend: "SMS",
        })
    }

    /// The source servers of an `aws mgn describe-source-servers` dump, each known by
    /// its identification hints; a plan's bare member names are matched against the
    /// hostname (MGN keeps no VM name). No application.
    pub fn of_describe_source_servers_dump(
        text: &str,
        origin: &str,
    ) -> Result<Self, ScenarioError> {
        let catalog = read_describe_source_servers_dump(text, origin)?
            .into_iter()
            .map(|dumped| {
                Server::without_job(
                    ServerId::from(dumped.id.as_str()),
                    VmServer {
                        vm_name: dumped.hostname.clone(),
                        vm_path: dumped.vm_path,
                        hostname: dumped.hostname,
                        fqdn: dumped.fqdn,
                        vmware_uuid: dumped.vmware_uuid,
                        user_provided_id: dumped.user_provided_id,
                        ..VmServer::default()
                    },
                )
            })
            .collect();
        Ok(Self {
            catalog,
            existing: Vec::new(),
            backend: "MGN",
        })
    }
}

/// The scenario's own applications, as the planner would find them.
fn existing_of(scenario: &Scenario, catalog: &[Server]) -> Vec<ExistingApp> {
    let id_of: BTreeMap<&str, &ServerId> = catalog
        .iter()
        .filter_map(|s| Some((s.vm.vm_name.as_deref()?, &s.id)))
        .collect();
    scenario
        .apps
        .iter()
        .enumerate()
        .map(|(index, app)| ExistingApp {
            id: format!("(scenario app {})", index + 1).as_str().into(),
            name: app.name.clone(),
            description: app.description.clone(),
            tags: app.tags.clone().into_iter().collect(),
            deleted: false,
            launch_status: AppLaunchStatus::ReadyForConfiguration.into(),
            replication_status: Default::default(),
            groups: app
                .groups
                .iter()
                .map(|g| {
                    let servers = g
                        .servers
                        .iter()
                        .filter_map(|vm| id_of.get(vm.as_str()).map(|id| (*id).clone()));
                    (g.name.clone(), servers.collect())
                })
                .collect(),
            launch: app.launch.as_ref().map_or(Held::Unknown, |launch| {
                Held::Read(launch_config_of(app, launch, &id_of))
            }),
            replication: Held::Unknown,
            last_modified: None,
            launched_at: None,
            launch_put: None,
        })
        .collect()
}

/// The launch configuration a scenario's app starts with, as the planner would read
/// it back: each group's launch order (its place when the scenario names none) and
/// every member with the scenario's settings.
fn launch_config_of(
    app: &AppSpec,
    launch: &LaunchSpec,
    id_of: &BTreeMap<&str, &ServerId>,
) -> LaunchConfig {
    let mut taken = BTreeSet::new();
    let settings = std::sync::Arc::new(LaunchSettings {
        instance_type: Some(launch.instance_type.clone()),
        subnet: Some(launch.subnet.clone()),
        security_group: Some(launch.security_group.clone()),
        vpc: launch.vpc.clone(),
        ..LaunchSettings::default()
    });
    let groups = app.groups.iter().enumerate().map(|(index, group)| {
        let servers = group
            .servers
            .iter()
            .filter_map(|vm| {
                let id = (*id_of.get(vm.as_str())?).clone();
                Some((id, (logical_id(vm, &mut taken), settings.clone())))
            })
            .collect();
        let order = group.launch_order.or(i32::try_from(index + 1).ok());
        let group_launch = GroupLaunch {
            launch_order: order,
            servers,
        };
        (group.name.clone(), group_launch)
    });
    LaunchConfig(groups.collect())
}

/// Rehearses `text` (read from `origin`) against `estate`: the report to print and
/// the verdict. A refused plan, or one whose members conflict in the catalog, prints
/// its problems and nothing it would do.
pub fn rehearse(text: &str, origin: &str, estate: &Estate) -> (String, Verdict) {
    let plan = match Plan::parse(text) {
        Ok(plan) => plan,
        Err(refusal) => return (refused(origin, &refusal), Verdict::Invalid),
    };
    let wave = desired::resolve(&plan, &estate.catalog);
    if !wave.conflicts.is_empty() {
        let refusal = PlanRejected::of_conflicts(text, &wave.conflicts);
        return (refused(origin, &refusal), Verdict::Invalid);
    }
    let decided = reconcile::reconcile(&wave, &estate.existing, plan.prune);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan {origin}, version {}: {} applications against {} catalog servers ({})",
        digest(text.as_bytes()),
        plan.applications.len(),
        estate.catalog.len(),
        estate.backend
    );
    changes(&mut out, &wave, &decided);
    launch_order(&mut out, &wave);
    unplaced(&mut out, &wave, &estate.catalog);
    let verdict = if decided.changes.is_empty() {
        Verdict::NoChanges
    } else {
        Verdict::Changes
    };
    (out, verdict)
}

fn refused(origin: &str, refusal: &PlanRejected) -> String {
    format!("The plan {origin} is refused; nothing would change.\n{refusal}\n")
}

fn changes(out: &mut String, wave: &DesiredWave, decided: &Reconciliation) {
    let by_name: BTreeMap<&str, &DesiredApp> =
        wave.apps.iter().map(|a| (a.name.as_str(), a)).collect();
    for change in &decided.changes {
        let (verb, name, detail) = match change {
            Change::Create { app, .. } => ("+ create", app.name.as_str(), String::new()),
            Change::Update {
                app, differences, ..
            } => (
                "~ update",
                app.name.as_str(),
                format!(": {}", differences.join(", ")),
            ),
            Change::PutLaunch { name, .. } => {
                ("~ launch configuration of", name.as_str(), String::new())
            }
            Change::PutReplication { name, .. } => (
                "~ replication configuration of",
                name.as_str(),
                String::new(),
            ),
            Change::StartReplication { name, .. } => {
                ("> start replicating", name.as_str(), String::new())
            }
            Change::DeleteReplication { name, .. } => (
                "- replication configuration of",
                name.as_str(),
                " (replicated by standalone jobs now)".to_owned(),
            ),
            Change::Delete { name, .. } => ("- delete", name.as_str(), String::new()),
        };
        let _ = writeln!(out, "  {verb} {name}{detail}");
        if let (Change::Create { .. }, Some(app)) = (change, by_name.get(name)) {
            describe(out, app);
        }
    }
    for drift in &decided.drift {
        let _ = writeln!(
            out,
            "  ! drift in {}: {} ({})",
            drift.name,
            drift.differences.join(", "),
            drift.reason
        );
    }
    for name in &decided.in_step {
        let _ = writeln!(out, "  = {name} is as planned");
    }
}

/// An application about to be created: its groups, members and launch settings.
fn describe(out: &mut String, app: &DesiredApp) {
    let route = match app.replicated_by {
        ReplicationRoute::Jobs => "standalone jobs",
        ReplicationRoute::App => "app replication",
    };
    let mode = match app.launch {
        LaunchMode::Automatic => "launched by the autopilot",
        LaunchMode::Manual => "launched by a person",
        LaunchMode::Rollback => "rolled back: its stack terminated, not launched",
    };
    let _ = writeln!(out, "      replicated by {route}, {mode}");
    for group in &app.groups {
        let order = group
            .launch_order
            .map_or(String::new(), |o| format!(", launch order {o}"));
        let _ = writeln!(out, "      group {}{order}:", group.name);
        for server in &group.servers {
            let launch = &server.launch;
            let settings: Vec<&str> = [
                &launch.instance_type,
                &launch.subnet,
                &launch.security_group,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
            let _ = writeln!(
                out,
                "        {} ({}) as {} [{}]",
                server.vm_name,
                server.server_id,
                server.logical_id,
                settings.join(", ")
            );
        }
    }
}

/// Applications in the order their dependencies allow, manual ones marked: of those
/// whose dependencies are placed, the first in the plan's order goes next.
fn launch_order(out: &mut String, wave: &DesiredWave) {
    let index_of: BTreeMap<&str, usize> = wave
        .apps
        .iter()
        .enumerate()
        .map(|(at, app)| (app.name.as_str(), at))
        .collect();
    let mut waiting_for = vec![0usize; wave.apps.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); wave.apps.len()];
    for (at, app) in wave.apps.iter().enumerate() {
        for dependency in &app.depends_on {
            if let Some(&before) = index_of.get(dependency.as_str()) {
                waiting_for[at] += 1;
                dependents[before].push(at);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..wave.apps.len())
        .filter(|&at| waiting_for[at] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::new();
    while let Some(Reverse(at)) = ready.pop() {
        let app = &wave.apps[at];
        let manual = match app.launch {
            LaunchMode::Automatic => "",
            LaunchMode::Manual => " (manual)",
            LaunchMode::Rollback => " (rolled back)",
        };
        order.push(format!("{}{manual}", app.name));
        for &next in &dependents[at] {
            waiting_for[next] -= 1;
            if waiting_for[next] == 0 {
                ready.push(Reverse(next));
            }
        }
    }
    let _ = writeln!(out, "Launch order: {}", order.join(" -> "));
}

fn unplaced(out: &mut String, wave: &DesiredWave, catalog: &[Server]) {
    let placed: BTreeSet<&ServerId> = wave
        .apps
        .iter()
        .flat_map(|a| a.servers().map(|s| &s.server_id))
        .collect();
    let free: Vec<&str> = catalog
        .iter()
        .filter(|s| !placed.contains(&s.id))
        .filter_map(|s| s.vm.vm_name.as_deref())
        .collect();
    let _ = writeln!(
        out,
        "Servers in no application ({}): {}",
        free.len(),
        free.join(", ")
    );
    for (label, items) in [
        ("Waiting for the catalog", &wave.waiting),
        ("Conflicts", &wave.conflicts),
    ] {
        for item in items.iter() {
            let _ = writeln!(
                out,
                "{label}: {} in {}/{}: {}",
                item.member, item.app, item.group, item.reason
            );
        }
    }
}
