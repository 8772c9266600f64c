//! What MGN must hold for the plan's groupings: the waves and applications the plan
//! names that MGN lacks ([`creations`]), then which servers join which application,
//! which leave an application the planner manages, and which applications join which
//! wave ([`associations`]), in batches MGN takes (50 ids a call). An application MGN
//! holds under a plan name is used as it is; only one carrying the planner's tag has
//! servers taken out of it.

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
    /// DisassociateSourceServers: `servers` leave a managed application the plan no
    /// longer places them in.
    Leave {
        app_id: String,
        app_name: String,
        servers: Vec<ServerId>,
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

/// The association calls that make MGN group `servers` as the plan does, once every
/// wave and application it names is held.
pub fn associations(
    wave: &DesiredWave,
    apps: &[HeldApplication],
    waves: &[HeldWave],
    servers: &[SourceServer],
) -> Vec<Association> {
    let app_by_name: BTreeMap<&str, &HeldApplication> =
        apps.iter().map(|a| (a.name.as_str(), a)).collect();
    let wave_by_name: BTreeMap<&str, &HeldWave> =
        waves.iter().map(|w| (w.name.as_str(), w)).collect();
    let held_by: BTreeMap<&ServerId, Option<&str>> = servers
        .iter()
        .map(|s| (&s.id, s.application_id.as_deref()))
        .collect();
    let mut calls = Vec::new();
    let mut planned_in: BTreeMap<&ServerId, &str> = BTreeMap::new();
    let mut into_wave: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for desired in &wave.apps {
        let Some(held) = app_by_name.get(desired.name.as_str()) else {
            continue;
        };
        let members = desired
            .groups
            .iter()
            .flat_map(|g| g.servers.iter().map(|s| &s.server_id));
        let mut joining = Vec::new();
        for member in members {
            planned_in.insert(member, held.id.as_str());
            let listed = held_by.get(member).copied();
            if listed.is_some() && listed.flatten() != Some(held.id.as_str()) {
                joining.push(member.clone());
            }
        }
        for servers in joining.chunks(IDS_PER_CALL) {
            calls.push(Association::Join {
                app_id: held.id.clone(),
                app_name: held.name.clone(),
                servers: servers.to_vec(),
            });
        }
        let wanted = desired.wave.as_deref().and_then(|w| wave_by_name.get(w));
        if let Some(wanted) = wanted.filter(|w| held.wave_id.as_deref() != Some(w.id.as_str())) {
            into_wave
                .entry(wanted.name.as_str())
                .or_default()
                .push(held.id.clone());
        }
    }
    calls.extend(leaving(apps, servers, &planned_in));
    for (name, app_ids) in into_wave {
        let wave_id = wave_by_name[name].id.clone();
        for app_ids in app_ids.chunks(IDS_PER_CALL) {
            calls.push(Association::IntoWave {
                wave_id: wave_id.clone(),
                wave_name: name.to_owned(),
                app_ids: app_ids.to_vec(),
            });
        }
    }
    calls
}

/// Servers in a managed application the plan does not place them in.
fn leaving(
    apps: &[HeldApplication],
    servers: &[SourceServer],
    planned_in: &BTreeMap<&ServerId, &str>,
) -> Vec<Association> {
    let mut calls = Vec::new();
    for held in apps.iter().filter(|a| a.managed) {
        let strays: Vec<ServerId> = servers
            .iter()
            .filter(|s| s.application_id.as_deref() == Some(held.id.as_str()))
            .filter(|s| planned_in.get(&s.id).copied() != Some(held.id.as_str()))
            // One the plan places elsewhere leaves by joining there.
            .filter(|s| !planned_in.contains_key(&s.id))
            .map(|s| s.id.clone())
            .collect();
        for servers in strays.chunks(IDS_PER_CALL) {
            calls.push(Association::Leave {
                app_id: held.id.clone(),
                app_name: held.name.clone(),
                servers: servers.to_vec(),
            });
        }
    }
    calls
}

#[cfg(test)]
#[path = "groupings_tests.rs"]
mod tests;
