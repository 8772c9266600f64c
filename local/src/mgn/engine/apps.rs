//! MGN's applications and waves: a source server belongs to at most one application and
//! an application to at most one wave; names are unique in the account, whatever their
//! case. Where the sources do not say what a call refuses, the stand-in takes the
//! stricter reading, so a function that works here works on the service: an application
//! is deleted only once it holds no server and archived only once its servers are; a wave
//! likewise with its applications. Aggregated health and progress are computed from the
//! members whenever they are read.

use std::collections::BTreeMap;

use crate::mgn::error::MgnError;
use crate::mgn::model::{
    DataReplicationState, HealthStatus, HealthStatus as Health, LaunchStatus, LifeCycleState,
    ProgressStatus, ProgressStatus as Progress,
};
use crate::schedule::Millis;

use super::Engine;

const APPLICATION: &str = "APPLICATION";
const WAVE: &str = "WAVE";
const SOURCE_SERVER: &str = "SOURCE_SERVER";

/// An application or a wave: what both keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub archived: bool,
    pub created: Millis,
    pub modified: Millis,
    pub tags: BTreeMap<String, String>,
    /// An application's wave.
    pub wave_id: Option<String>,
    /// Deleted: kept for its id, never listed.
    deleted: bool,
}

/// An aggregated status: health, progress, members, and when replication first started.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub health: HealthStatus,
    pub progress: ProgressStatus,
    pub members: usize,
    pub replication_started: Option<Millis>,
}

/// Which of the two a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupingKind {
    Application,
    Wave,
}

impl GroupingKind {
    fn resource_type(self) -> &'static str {
        match self {
            Self::Application => APPLICATION,
            Self::Wave => WAVE,
        }
    }
}

/// A lag past this makes an application LAGGING.
const LAGGING_AFTER: Millis = 15 * 60 * 1000;

impl Grouping {
    /// Deleted: kept for its id only.
    pub(super) fn is_deleted(&self) -> bool {
        self.deleted
    }
}

impl Engine {
    fn groupings(&self, kind: GroupingKind) -> &Vec<Grouping> {
        match kind {
            GroupingKind::Application => &self.applications,
            GroupingKind::Wave => &self.waves,
        }
    }

    fn groupings_mut(&mut self, kind: GroupingKind) -> &mut Vec<Grouping> {
        match kind {
            GroupingKind::Application => &mut self.applications,
            GroupingKind::Wave => &mut self.waves,
        }
    }

    /// The live applications or waves, in creation order.
    pub(crate) fn listed(&self, kind: GroupingKind) -> impl Iterator<Item = &Grouping> {
        self.groupings(kind).iter().filter(|g| !g.deleted)
    }

    fn grouping_index(&self, kind: GroupingKind, id: &str) -> Result<usize, MgnError> {
        self.groupings(kind)
            .iter()
            .position(|g| g.id == id && !g.deleted)
            .ok_or_else(|| MgnError::not_found(id, kind.resource_type()))
    }

    /// The application or wave `id`, or ResourceNotFoundException.
    pub(crate) fn grouping(&self, kind: GroupingKind, id: &str) -> Result<&Grouping, MgnError> {
        self.grouping_index(kind, id)
            .map(|i| &self.groupings(kind)[i])
    }

    fn name_taken(
        &self,
        kind: GroupingKind,
        name: &str,
        except: Option<&str>,
    ) -> Result<(), MgnError> {
        let taken = self
            .listed(kind)
            .find(|g| g.name.eq_ignore_ascii_case(name) && Some(g.id.as_str()) != except);
        match taken {
            Some(g) => Err(MgnError::conflict(
                &g.id,
                kind.resource_type(),
                format!("the name {name:?} is already used by {}", g.id),
            )),
            None => Ok(()),
        }
    }

    /// CreateApplication / CreateWave.
    pub(crate) fn create_grouping(
        &mut self,
        kind: GroupingKind,
        name: &str,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    ) -> Result<&Grouping, MgnError> {
        self.name_taken(kind, name, None)?;
        let (prefix, arn_kind) = match kind {
            GroupingKind::Application => ("app-", "application"),
            GroupingKind::Wave => ("wave-", "wave"),
        };
        let id = self.new_id(prefix);
        let grouping = Grouping {
            arn: self.arn(arn_kind, &id),
            id,
            name: name.to_owned(),
            description,
            archived: false,
            created: self.now,
            modified: self.now,
            tags,
            wave_id: None,
            deleted: false,
        };
        let list = self.groupings_mut(kind);
        list.push(grouping);
        Ok(&list[list.len() - 1])
    }

    /// UpdateApplication / UpdateWave: a new name (still unique) or description.
    pub(crate) fn update_grouping(
        &mut self,
        kind: GroupingKind,
        id: &str,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<&Grouping, MgnError> {
        let index = self.grouping_index(kind, id)?;
        if let Some(name) = &name {
            self.name_taken(kind, name, Some(id))?;
        }
        let now = self.now;
        let g = &mut self.groupings_mut(kind)[index];
        if g.archived {
            return Err(MgnError::conflict(
                id,
                kind.resource_type(),
                format!("{id} is archived"),
            ));
        }
        if let Some(name) = name {
            g.name = name;
        }
        if description.is_some() {
            g.description = description;
        }
        g.modified = now;
        Ok(&self.groupings(kind)[index])
    }

    /// The members an application (servers) or a wave (applications) holds; an
    /// application's come from an index, so that listing thousands of applications over
    /// a large estate does not read every server for each.
    fn members(&self, kind: GroupingKind, id: &str) -> Vec<usize> {
        match kind {
            GroupingKind::Application => self
                .servers_of_application
                .get(id)
                .map(|servers| servers.iter().copied().collect())
                .unwrap_or_default(),
            GroupingKind::Wave => self
                .applications
                .iter()
                .enumerate()
                .filter(|(_, a)| !a.deleted && a.wave_id.as_deref() == Some(id))
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// Puts the server `index` in `application` (or none), keeping the index right.
    pub(super) fn place_server(&mut self, index: usize, application: Option<String>) {
        if let Some(old) = self.servers[index].application_id.take() {
            if let Some(servers) = self.servers_of_application.get_mut(&old) {
                servers.remove(&index);
            }
        }
        if let Some(new) = &application {
            self.servers_of_application
                .entry(new.clone())
                .or_default()
                .insert(index);
        }
        self.servers[index].application_id = application;
    }

    /// Adds `tags` to the application or wave `id` (an import's tag columns).
    pub(super) fn grouping_tags(
        &mut self,
        kind: GroupingKind,
        id: &str,
        tags: BTreeMap<String, String>,
    ) {
        if let Ok(index) = self.grouping_index(kind, id) {
            self.groupings_mut(kind)[index].tags.extend(tags);
        }
    }

    /// DeleteApplication / DeleteWave: only once it holds no member.
    pub(crate) fn delete_grouping(&mut self, kind: GroupingKind, id: &str) -> Result<(), MgnError> {
        let index = self.grouping_index(kind, id)?;
        let members = self.members(kind, id).len();
        if members > 0 {
            return Err(MgnError::conflict(
                id,
                kind.resource_type(),
                format!("{id} still holds {members} members: disassociate them first"),
            ));
        }
        self.groupings_mut(kind)[index].deleted = true;
        Ok(())
    }

    /// ArchiveApplication / ArchiveWave (only once every member is archived) and their
    /// Unarchive.
    pub(crate) fn set_archived(
        &mut self,
        kind: GroupingKind,
        id: &str,
        archived: bool,
    ) -> Result<&Grouping, MgnError> {
        let index = self.grouping_index(kind, id)?;
        if archived {
            let live = self
                .members(kind, id)
                .into_iter()
                .filter(|&m| match kind {
                    GroupingKind::Application => !self.servers[m].archived,
                    GroupingKind::Wave => !self.applications[m].archived,
                })
                .count();
            if live > 0 {
                return Err(MgnError::conflict(
                    id,
                    kind.resource_type(),
                    format!("{id} holds {live} members that are not archived"),
                ));
            }
        }
        let now = self.now;
        let g = &mut self.groupings_mut(kind)[index];
        g.archived = archived;
        g.modified = now;
        Ok(&self.groupings(kind)[index])
    }

    /// AssociateSourceServers / DisassociateSourceServers.
    pub(crate) fn associate_servers(
        &mut self,
        application: &str,
        ids: &[String],
        associate: bool,
    ) -> Result<(), MgnError> {
        let app = self.grouping(GroupingKind::Application, application)?;
        if app.archived {
            return Err(MgnError::conflict(
                application,
                APPLICATION,
                format!("{application} is archived"),
            ));
        }
        let mut servers = Vec::with_capacity(ids.len());
        for id in ids {
            let index = self.server_index(id)?;
            let s = &self.servers[index];
            let problem = match (&s.application_id, associate) {
                (Some(other), true) if other != application => {
                    Some(format!("{id} already belongs to application {other}"))
                }
                (_, true) if s.archived => Some(format!("{id} is archived")),
                (current, false) if current.as_deref() != Some(application) => {
                    Some(format!("{id} does not belong to application {application}"))
                }
                _ => None,
            };
            if let Some(message) = problem {
                return Err(MgnError::conflict(id, SOURCE_SERVER, message));
            }
            servers.push(index);
        }
        for index in servers {
            self.place_server(index, associate.then(|| application.to_owned()));
        }
        Ok(())
    }

    /// AssociateApplications / DisassociateApplications.
    pub(crate) fn associate_applications(
        &mut self,
        wave: &str,
        ids: &[String],
        associate: bool,
    ) -> Result<(), MgnError> {
        let w = self.grouping(GroupingKind::Wave, wave)?;
        if w.archived {
            return Err(MgnError::conflict(
                wave,
                WAVE,
                format!("{wave} is archived"),
            ));
        }
        let mut apps = Vec::with_capacity(ids.len());
        for id in ids {
            let index = self.grouping_index(GroupingKind::Application, id)?;
            let a = &self.applications[index];
            let problem = match (&a.wave_id, associate) {
                (Some(other), true) if other != wave => {
                    Some(format!("{id} already belongs to wave {other}"))
                }
                (current, false) if current.as_deref() != Some(wave) => {
                    Some(format!("{id} does not belong to wave {wave}"))
                }
                _ => None,
            };
            if let Some(message) = problem {
                return Err(MgnError::conflict(id, APPLICATION, message));
            }
            apps.push(index);
        }
        for index in apps {
            self.applications[index].wave_id = associate.then(|| wave.to_owned());
        }
        Ok(())
    }

    /// An application's or a wave's aggregated status, as of now.
    pub(crate) fn aggregate(&self, kind: GroupingKind, id: &str) -> Aggregate {
        match kind {
            GroupingKind::Application => {
                let servers: Vec<usize> = self.members(kind, id);
                let health = servers.iter().map(|&s| self.server_health(s)).max();
                let started = servers
                    .iter()
                    .filter_map(|&s| self.servers[s].first_byte)
                    .min();
                Aggregate {
                    health: health.unwrap_or(Health::Healthy),
                    progress: progress_of(servers.iter().map(|&s| self.server_progress(s))),
                    members: servers.len(),
                    replication_started: started,
                }
            }
            GroupingKind::Wave => {
                let apps: Vec<Aggregate> = self
                    .members(kind, id)
                    .into_iter()
                    .map(|a| self.aggregate(GroupingKind::Application, &self.applications[a].id))
                    .collect();
                Aggregate {
                    health: apps
                        .iter()
                        .map(|a| a.health)
                        .max()
                        .unwrap_or(Health::Healthy),
                    progress: progress_of(apps.iter().map(|a| a.progress)),
                    members: apps.len(),
                    replication_started: apps.iter().filter_map(|a| a.replication_started).min(),
                }
            }
        }
    }

    /// ERROR: replication stalled or lost, or the last launch failed; LAGGING: a lag
    /// past a quarter of an hour; HEALTHY otherwise.
    fn server_health(&self, server: usize) -> Health {
        let s = &self.servers[server];
        let finished = matches!(
            s.life_cycle,
            LifeCycleState::Cutover | LifeCycleState::Disconnected
        );
        if finished {
            return Health::Healthy;
        }
        let r = &s.replication;
        let last_launch_failed = [&s.last_test, &s.last_cutover]
            .into_iter()
            .filter_map(|record| record.initiated.as_ref())
            .max_by_key(|(at, _)| *at)
            .and_then(|(_, job)| self.job(job).ok())
            .and_then(|job| job.participant(&s.id))
            .is_some_and(|p| p.launch_status == LaunchStatus::Failed);
        if matches!(
            r.state,
            DataReplicationState::Stalled | DataReplicationState::Disconnected
        ) || last_launch_failed
        {
            return Health::Error;
        }
        match r.lag(self.now, self.healthy_lag()) {
            Some(lag) if lag > LAGGING_AFTER => Health::Lagging,
            _ => Health::Healthy,
        }
    }

    /// NOT_STARTED until a test, COMPLETED once cut over, IN_PROGRESS between.
    fn server_progress(&self, server: usize) -> Progress {
        let s = &self.servers[server];
        match s.life_cycle {
            LifeCycleState::Cutover => Progress::Completed,
            _ if s.last_test.initiated.is_some() || s.last_cutover.initiated.is_some() => {
                Progress::InProgress
            }
            _ => Progress::NotStarted,
        }
    }
}

/// All members COMPLETED (and at least one): COMPLETED; none started: NOT_STARTED;
/// otherwise IN_PROGRESS.
fn progress_of(members: impl Iterator<Item = Progress>) -> Progress {
    let all: Vec<Progress> = members.collect();
    if !all.is_empty() && all.iter().all(|p| *p == Progress::Completed) {
        Progress::Completed
    } else if all.iter().all(|p| *p == Progress::NotStarted) {
        Progress::NotStarted
    } else {
        Progress::InProgress
    }
}
