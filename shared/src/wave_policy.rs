//! Which catalog servers get a replication job: the wave policy's selectors, the
//! live-job and terminated-job rules, and the cap on concurrently active jobs.
//!
//! Selectors are `field:glob`, where field is `vmName`, `vmPath`, `vmManagerName` or
//! `serverId` (the catalog's id, which tells apart VMs that share a name) and the glob
//! matches the whole value with `*` (any run of characters, `/` included) and `?` (one
//! character); matching is case-sensitive, as vCenter and SCVMM names are. `vmPath:/dc1/prod/*` selects everything under that folder.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ReplicationJob, Server, ServerId};

use crate::migration::ReplicationPhase;

/// The VM attribute a selector looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VmField {
    VmName,
    VmPath,
    VmManagerName,
    ServerId,
    Hostname,
    Fqdn,
    VmwareUuid,
    UserProvidedId,
}

impl VmField {
    /// Every field, as selectors name them: the VM manager's (SMS), then the
    /// identification hints MGN keeps.
    pub const ALL: [VmField; 8] = [
        Self::VmName,
        Self::VmPath,
        Self::VmManagerName,
        Self::ServerId,
        Self::Hostname,
        Self::Fqdn,
        Self::VmwareUuid,
        Self::UserProvidedId,
    ];

    pub fn value_of(self, server: &Server) -> Option<&str> {
        let vm = &server.vm;
        match self {
            Self::VmName => vm.vm_name.as_deref(),
            Self::VmPath => vm.vm_path.as_deref(),
            Self::VmManagerName => vm.vm_manager_name.as_deref(),
            Self::ServerId => Some(server.id.as_str()),
            Self::Hostname => vm.hostname.as_deref(),
            Self::Fqdn => vm.fqdn.as_deref(),
            Self::VmwareUuid => vm.vmware_uuid.as_deref(),
            Self::UserProvidedId => vm.user_provided_id.as_deref(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::VmName => "vmName",
            Self::VmPath => "vmPath",
            Self::VmManagerName => "vmManagerName",
            Self::ServerId => "serverId",
            Self::Hostname => "hostname",
            Self::Fqdn => "fqdn",
            Self::VmwareUuid => "vmwareUuid",
            Self::UserProvidedId => "userProvidedId",
        }
    }

    /// Every field's selector form, for messages: `vmName:GLOB, …`.
    pub fn forms() -> String {
        let forms: Vec<String> = Self::ALL
            .iter()
            .map(|f| format!("{}:GLOB", f.name()))
            .collect();
        forms.join(", ")
    }
}

/// One `field:glob` selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub field: VmField,
    pub pattern: String,
}

/// Why a selector string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector `{input}`: {problem} (expected one of {})", VmField::forms())]
pub struct SelectorParseError {
    pub input: String,
    pub problem: &'static str,
}

impl FromStr for Selector {
    type Err = SelectorParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |problem| SelectorParseError {
            input: input.to_owned(),
            problem,
        };
        let (field, pattern) = input.trim().split_once(':').ok_or_else(|| fail("no `:`"))?;
        let field = VmField::ALL
            .into_iter()
            .find(|known| known.name() == field.trim())
            .ok_or_else(|| fail("unknown field"))?;
        if pattern.is_empty() {
            return Err(fail("empty pattern"));
        }
        Ok(Self {
            field,
            pattern: pattern.to_owned(),
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.field.name(), self.pattern)
    }
}

impl Selector {
    /// The literal start of the pattern, before its first wildcard: every value the
    /// selector matches begins with it, so a sorted index narrows the search to them.
    pub fn literal_prefix(&self) -> &str {
        let end = self.pattern.find(['*', '?']).unwrap_or(self.pattern.len());
        &self.pattern[..end]
    }

    /// A server without the attribute never matches.
    pub fn matches(&self, server: &Server) -> bool {
        self.field
            .value_of(server)
            .is_some_and(|value| glob_matches(&self.pattern, value))
    }
}

/// Whole-string glob match with `*` and `?`, iterative with one backtrack point, so a
/// hostile pattern costs O(pattern × value) at worst.
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    let (mut p, mut v) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, v));
                p += 1;
            }
            Some(&c) if c == '?' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    v = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Which servers a wave replicates and how many jobs may run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavePolicy {
    /// A server is in the wave if any include matches; no includes means every server.
    pub include: Vec<Selector>,
    /// A server any exclude matches is out of the wave, whatever the includes say.
    pub exclude: Vec<Selector>,
    /// Give a server whose job was terminated a new job.
    pub recreate_terminated: bool,
    /// Cap on jobs live at once (SMS allows 50 concurrent VM migrations by default).
    pub max_active_jobs: usize,
}

impl Default for WavePolicy {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: Vec::new(),
            recreate_terminated: false,
            max_active_jobs: 50,
        }
    }
}

/// Why a server gets no job this time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum SkipReason {
    /// The catalog shows a live job for it.
    HasLiveJob,
    /// Its job was terminated and the policy does not recreate terminated jobs.
    JobTerminated,
    /// No include selector matched.
    NotIncluded,
    /// An exclude selector matched.
    Excluded { selector: String },
    /// The wave plan replicates it through its application (app replication).
    ReplicatedByItsApp,
    /// Its application is launched and the wave plan ended its replication.
    Finalized,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HasLiveJob => f.write_str("a replication job already replicates it"),
            Self::JobTerminated => f.write_str(
                "its replication job was terminated and the policy does not recreate it",
            ),
            Self::NotIncluded => f.write_str("no include selector of the wave policy matches it"),
            Self::Excluded { selector } => write!(f, "excluded by `{selector}`"),
            Self::ReplicatedByItsApp => {
                f.write_str("the wave plan replicates it through its application")
            }
            Self::Finalized => {
                f.write_str("its application is launched and the wave plan ended its replication")
            }
        }
    }
}

/// The outcome of planning one wave step. Every server of the input lands in exactly
/// one of the three lists, each sorted by server id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationPlan {
    /// Servers to create a job for now.
    pub create: Vec<Server>,
    /// Eligible servers held back by the active-job cap; they go in a later step.
    pub deferred: Vec<ServerId>,
    /// Servers that get no job, with the reason.
    pub skipped: Vec<(ServerId, SkipReason)>,
}

impl ReplicationPlan {
    /// Whether a server the plan gives a job had one before: its old job may still be
    /// DELETING, which only a sweep of the jobs tells.
    pub fn replaces_any_job(&self) -> bool {
        self.create
            .iter()
            .any(|s| s.replication_job_id.is_some() && s.replication_job_terminated)
    }

    /// Defers the servers whose old job `jobs` shows still DELETING: SMS refuses a new
    /// job for the server until the old one is DELETED.
    pub fn defer_deleting(&mut self, jobs: &[ReplicationJob]) {
        let deleting = |server: &Server| {
            jobs.iter().any(|job| {
                job.state.phase == ReplicationPhase::Removing
                    && server.replication_job_id.as_ref() == Some(&job.id)
            })
        };
        let (held, create) = std::mem::take(&mut self.create)
            .into_iter()
            .partition::<Vec<_>, _>(|server| deleting(server));
        self.create = create;
        self.deferred
            .extend(held.into_iter().map(|server| server.id));
        self.deferred.sort();
    }
}

/// What the wave plan says of servers, as the policy needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedServers {
    /// In an application of the plan replicated by standalone jobs: in the wave,
    /// whatever the selectors say.
    pub by_jobs: BTreeSet<ServerId>,
    /// In an application replicated by app replication: never given a job here.
    pub by_app: BTreeSet<ServerId>,
    /// In an application whose replication the plan ended after its launch
    /// (`finalize`): never given a job again.
    pub finalized: BTreeSet<ServerId>,
}

impl WavePolicy {
    fn eligibility(&self, server: &Server, planned: &PlannedServers) -> Result<(), SkipReason> {
        if planned.by_app.contains(&server.id) {
            return Err(SkipReason::ReplicatedByItsApp);
        }
        if planned.finalized.contains(&server.id) {
            return Err(SkipReason::Finalized);
        }
        if server.has_live_job() {
            return Err(SkipReason::HasLiveJob);
        }
        if server.replication_job_terminated && !self.recreate_terminated {
            return Err(SkipReason::JobTerminated);
        }
        if planned.by_jobs.contains(&server.id) {
            return Ok(());
        }
        if let Some(selector) = self.exclude.iter().find(|s| s.matches(server)) {
            return Err(SkipReason::Excluded {
                selector: selector.to_string(),
            });
        }
        if !self.include.is_empty() && !self.include.iter().any(|s| s.matches(server)) {
            return Err(SkipReason::NotIncluded);
        }
        Ok(())
    }

    /// Chooses the servers that need a replication job, given every server the catalog
    /// returned (pages may overlap: a server id seen twice counts once, the later copy
    /// winning) and the number of jobs live right now. Eligible servers are taken in
    /// server-id order until the cap is reached, so the answer does not depend on the
    /// order pages arrived in.
    pub fn plan(&self, servers: &[Server], active_jobs: usize) -> ReplicationPlan {
        self.plan_with(servers, active_jobs, &PlannedServers::default())
    }

    /// [`WavePolicy::plan`], with what the wave plan says of servers: servers of its
    /// job-replicated applications are in the wave, those of its app-replicated ones
    /// never get a job here.
    pub fn plan_with(
        &self,
        servers: &[Server],
        active_jobs: usize,
        planned: &PlannedServers,
    ) -> ReplicationPlan {
        let unique: BTreeMap<&ServerId, &Server> =
            servers.iter().map(|server| (&server.id, server)).collect();
        let mut room = self.max_active_jobs.saturating_sub(active_jobs);
        let mut plan = ReplicationPlan::default();
        for (id, server) in unique {
            match self.eligibility(server, planned) {
                Err(reason) => plan.skipped.push((id.clone(), reason)),
                Ok(()) if room > 0 => {
                    room -= 1;
                    plan.create.push(server.clone());
                }
                Ok(()) => plan.deferred.push(id.clone()),
            }
        }
        plan
    }
}

/// What the job creator remembers between invocations: the servers SMS refused to
/// replicate, so each refusal is attempted and reported once per catalog import rather
/// than on every schedule tick. Stored as JSON in the artifacts bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorMemory {
    /// `lastModifiedOn` of the catalog the refusals were seen in.
    #[serde(default)]
    pub catalog_modified: Option<DateTime<Utc>>,
    /// Refused servers and the service's reason.
    #[serde(default)]
    pub unreplicable: BTreeMap<ServerId, String>,
    /// In a dry run, the servers whose job was already announced: a dry run creates
    /// nothing, so every tick would otherwise announce the same jobs again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub announced_in_dry_run: BTreeSet<ServerId>,
}

impl CreatorMemory {
    /// The memory valid for a catalog: a newer import may describe a server differently
    /// (a fixed OS, a new disk layout), so earlier refusals are forgotten then.
    pub fn for_catalog(self, modified: Option<DateTime<Utc>>) -> Self {
        if self.catalog_modified == modified {
            self
        } else {
            Self {
                catalog_modified: modified,
                unreplicable: BTreeMap::new(),
                announced_in_dry_run: self.announced_in_dry_run,
            }
        }
    }

    /// Splits off the servers already refused for this catalog.
    pub fn without_refused(&self, servers: Vec<Server>) -> (Vec<Server>, usize) {
        let before = servers.len();
        let kept: Vec<Server> = servers
            .into_iter()
            .filter(|server| !self.unreplicable.contains_key(&server.id))
            .collect();
        let refused = before - kept.len();
        (kept, refused)
    }
}

#[cfg(test)]
mod tests;
