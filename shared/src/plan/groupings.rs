//! What MGN must hold for the plan's groupings: the waves and applications the plan
//! names that MGN lacks ([`creations`]), then which servers leave and join which
//! application and which applications leave and join which wave ([`associations`]),
//! in batches MGN takes (50 ids a call). An application MGN holds under a plan name is
//! used as it is; a server the plan places nowhere is taken out only of one carrying the
//! planner's tag.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{DesiredApp, DesiredWave};
use crate::model::{ServerId, SourceServer};

/// Ids one association call takes (the model's list bounds).
pub const IDS_PER_CALL: usize = 50;

/// An application MGN holds (not archived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldApplication {
    pub id: String,
    pub name: String,
    pub wave_id: Option<String>,
    /// It carries the planner's tag: the planner made it.
    pub managed: bool,
}

/// A wave MGN holds (not archived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldWave {
    pub id: String,
    pub name: String,
}

/// The waves and applications to create, by the plan's names.
#[derive(Debug, Default, PartialEq)]
pub struct Creations<'a> {
    pub waves: Vec<String>,
    pub applications: Vec<&'a DesiredApp>,
}

/// One association (or disassociation) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Association {
    /// AssociateSourceServers: `servers` join the application.
    Join {
        app_id: String,
        app_name: String,
        servers: Vec<ServerId>,
    },
    /// DisassociateSourceServers: `servers` leave an application the plan places them
    /// elsewhere than, or a managed one the plan places them nowhere.
    Leave {
        app_id: String,
        app_name: String,
        servers: Vec<ServerId>,
    },
    /// DisassociateApplications: applications leave a wave the plan places them
    /// elsewhere than.
    OutOfWave {
        wave_id: String,
        wave_name: String,
        app_ids: Vec<String>,
    },
    /// AssociateApplications: applications join the wave.
    IntoWave {
        wave_id: String,
        wave_name: String,
        app_ids: Vec<String>,
    },
}

/// The plan's waves and applications MGN does not hold yet.
pub fn creations<'a>(
    wave: &'a DesiredWave,
    apps: &[HeldApplication],
    waves: &[HeldWave],
) -> Creations<'a> {
    let held_apps: BTreeSet<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    let held_waves: BTreeSet<&str> = waves.iter().map(|w| w.name.as_str()).collect();
    let wanted_waves: BTreeSet<&str> = wave.apps.iter().filter_map(|a| a.wave.as_deref()).collect();
    Creations {
        waves: wanted_waves
            .difference(&held_waves)
            .map(|name| (*name).to_owned())
            .collect(),
        applications: wave
            .apps
            .iter()
            .filter(|app| !held_apps.contains(app.name.as_str()))
            .collect(),
    }
}

/// Who moves where: servers leaving and joining applications, applications leaving and
/// joining waves, each by the id of the application or wave.
#[derive(Default)]
struct Moves<'a> {
    leaving: BTreeMap<&'a str, Vec<ServerId>>,
    joining: BTreeMap<&'a str, Vec<ServerId>>,
    out_of_wave: BTreeMap<&'a str, Vec<String>>,
    into_wave: BTreeMap<&'a str, Vec<String>>,
}

/// A source server as the groupings see it: its id and the application MGN holds it in
/// (all a planner keeps of each listed server once the plan is resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub id: ServerId,
    pub application_id: Option<String>,
}

impl From<&SourceServer> for Placement {
    fn from(server: &SourceServer) -> Self {
        Self {
            id: server.id.clone(),
            application_id: server.application_id.clone(),
        }
    }
}

/// The association calls that make MGN group `servers` as the plan does, once every
/// wave and application it names is held: servers leave first (MGN refuses a server
/// joining while it belongs to another application, and an application joining a wave
/// while in another), then join, then applications leave and join waves.
pub fn associations(
    wave: &DesiredWave,
    apps: &[HeldApplication],
    waves: &[HeldWave],
    servers: &[Placement],
) -> Vec<Association> {
    let moves = moves(wave, apps, waves, servers);
    let app_name = |id: &str| {
        apps.iter()
            .find(|a| a.id == id)
            .map_or(id, |a| a.name.as_str())
            .to_owned()
    };
    let wave_name = |id: &str| {
        waves
            .iter()
            .find(|w| w.id == id)
            .map_or(id, |w| w.name.as_str())
            .to_owned()
    };
    let mut calls = Vec::new();
    batch(&mut calls, moves.leaving, |app_id, servers| {
        Association::Leave {
            app_id: app_id.to_owned(),
            app_name: app_name(app_id),
            servers,
        }
    });
    batch(&mut calls, moves.joining, |app_id, servers| {
        Association::Join {
            app_id: app_id.to_owned(),
            app_name: app_name(app_id),
            servers,
        }
    });
    batch(&mut calls, moves.out_of_wave, |wave_id, app_ids| {
        Association::OutOfWave {
            wave_id: wave_id.to_owned(),
            wave_name: wave_name(wave_id),
            app_ids,
        }
    });
    batch(&mut calls, moves.into_wave, |wave_id, app_ids| {
        Association::IntoWave {
            wave_id: wave_id.to_owned(),
            wave_name: wave_name(wave_id),
            app_ids,
        }
    });
    calls
}

/// One call per [`IDS_PER_CALL`] ids of each target, in the targets' order.
fn batch<T: Clone>(
    calls: &mut Vec<Association>,
    by_target: BTreeMap<&str, Vec<T>>,
    call: impl Fn(&str, Vec<T>) -> Association,
) {
    for (target, ids) in by_target {
        calls.extend(
            ids.chunks(IDS_PER_CALL)
                .map(|ids| call(target, ids.to_vec())),
        );
    }
}

/// Compares where the plan places each member and application with where MGN holds
/// them.
fn moves<'a>(
    wave: &DesiredWave,
    apps: &'a [HeldApplication],
    waves: &'a [HeldWave],
    servers: &'a [Placement],
) -> Moves<'a> {
    let app_by_name: BTreeMap<&str, &HeldApplication> =
        apps.iter().map(|a| (a.name.as_str(), a)).collect();
    let wave_by_name: BTreeMap<&str, &HeldWave> =
        waves.iter().map(|w| (w.name.as_str(), w)).collect();
    let held_by: BTreeMap<&ServerId, Option<&str>> = servers
        .iter()
        .map(|s| (&s.id, s.application_id.as_deref()))
        .collect();
    let mut planned_in: BTreeSet<&ServerId> = BTreeSet::new();
    let mut moves = Moves::default();
    for desired in &wave.apps {
        let Some(held) = app_by_name.get(desired.name.as_str()) else {
            continue;
        };
        let members = desired
            .groups
            .iter()
            .flat_map(|g| g.servers.iter().map(|s| &s.server_id));
        for member in members {
            let Some((listed, current)) = held_by.get_key_value(member) else {
                // Not listed (no agent yet): it joins once MGN knows it.
                continue;
            };
            planned_in.insert(listed);
            if *current == Some(held.id.as_str()) {
                continue;
            }
            if let Some(other) = current {
                moves.leaving.entry(other).or_default().push(member.clone());
            }
            moves
                .joining
                .entry(held.id.as_str())
                .or_default()
                .push(member.clone());
        }
        let Some(wanted) = desired.wave.as_deref().and_then(|w| wave_by_name.get(w)) else {
            continue;
        };
        if held.wave_id.as_deref() != Some(wanted.id.as_str()) {
            if let Some(other) = held.wave_id.as_deref() {
                moves
                    .out_of_wave
                    .entry(other)
                    .or_default()
                    .push(held.id.clone());
            }
            moves
                .into_wave
                .entry(wanted.id.as_str())
                .or_default()
                .push(held.id.clone());
        }
    }
    for (app, strays) in strays(apps, servers, &planned_in) {
        moves.leaving.entry(app).or_default().extend(strays);
    }
    moves
}

/// Servers in a managed application that the plan places nowhere, by application.
fn strays<'a>(
    apps: &'a [HeldApplication],
    servers: &[Placement],
    planned_in: &BTreeSet<&ServerId>,
) -> Vec<(&'a str, Vec<ServerId>)> {
    let mut unplanned: BTreeMap<&str, Vec<ServerId>> = BTreeMap::new();
    for server in servers.iter().filter(|s| !planned_in.contains(&s.id)) {
        if let Some(app) = server.application_id.as_deref() {
            unplanned.entry(app).or_default().push(server.id.clone());
        }
    }
    apps.iter()
        .filter(|a| a.managed)
        .filter_map(|held| Some((held.id.as_str(), unplanned.remove(held.id.as_str())?)))
        .collect()
}

#[cfg(test)]
#[path = "groupings_tests.rs"]
mod tests;
