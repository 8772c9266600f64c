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

use crate::model::{ReplicationJob, ReplicationJobState, Server, ServerId};

/// The VM attribute a selector looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VmField {
    VmName,
    VmPath,
    VmManagerName,
    ServerId,
}

impl VmField {
    /// Every field, as selectors name them.
    pub const ALL: [VmField; 4] = [
        Self::VmName,
        Self::VmPath,
        Self::VmManagerName,
        Self::ServerId,
    ];

    pub fn value_of(self, server: &Server) -> Option<&str> {
        match self {
            Self::VmName => server.vm.vm_name.as_deref(),
            Self::VmPath => server.vm.vm_path.as_deref(),
            Self::VmManagerName => server.vm.vm_manager_name.as_deref(),
            Self::ServerId => Some(server.id.as_str()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::VmName => "vmName",
            Self::VmPath => "vmPath",
            Self::VmManagerName => "vmManagerName",
            Self::ServerId => "serverId",
        }
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
#[error("selector `{input}`: {problem} (expected vmName:GLOB, vmPath:GLOB, vmManagerName:GLOB or serverId:GLOB)")]
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
                job.state == ReplicationJobState::Deleting
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
mod tests {
    use super::*;
    use crate::model::{JobId, VmServer};

    #[test]
    fn refusals_are_remembered_per_catalog_import() {
        let at = |s| DateTime::from_timestamp(s, 0);
        let mut memory = CreatorMemory::default().for_catalog(at(100));
        memory
            .unreplicable
            .insert("s-1".into(), "unsupported OS".into());
        let servers = vec![server("s-1", "web-1", "/"), server("s-2", "web-2", "/")];
        let (kept, refused) = memory
            .clone()
            .for_catalog(at(100))
            .without_refused(servers.clone());
        assert_eq!((kept.len(), refused), (1, 1));
        assert_eq!(kept[0].id, ServerId::from("s-2"));
        let (kept, refused) = memory.for_catalog(at(200)).without_refused(servers);
        assert_eq!(
            (kept.len(), refused),
            (2, 0),
            "a new import forgets refusals"
        );
    }
    use proptest::prelude::*;

    fn server(id: &str, name: &str, path: &str) -> Server {
        Server {
            id: id.into(),
            vm: VmServer {
                vm_name: Some(name.into()),
                vm_path: Some(path.into()),
                vm_manager_name: Some("vc01".into()),
                ..VmServer::default()
            },
            replication_job_id: None,
            replication_job_terminated: false,
        }
    }

    #[test]
    fn a_server_whose_old_job_is_deleting_waits() {
        let mut replaced = server("s-1", "web-1", "/dc1/prod");
        replaced.replication_job_id = Some(JobId::from("sms-job-1"));
        replaced.replication_job_terminated = true;
        let fresh = server("s-2", "web-2", "/dc1/prod");
        let policy = WavePolicy {
            recreate_terminated: true,
            ..WavePolicy::default()
        };
        let mut plan = policy.plan(&[replaced, fresh], 0);
        assert!(plan.replaces_any_job());
        let mut old = crate::model::ReplicationJob {
            id: "sms-job-1".into(),
            server_id: "s-1".into(),
            vm_name: None,
            state: ReplicationJobState::Deleted,
            status_message: None,
            latest_ami_id: None,
            frequency_hours: None,
            run_once: false,
            seed_replication_time: None,
            settings: Default::default(),
            runs: Vec::new(),
        };
        let mut deleted = plan.clone();
        deleted.defer_deleting(std::slice::from_ref(&old));
        assert_eq!(deleted.create.len(), 2, "a DELETED job holds nothing");
        old.state = ReplicationJobState::Deleting;
        plan.defer_deleting(&[old]);
        let created: Vec<&str> = plan.create.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(created, ["s-2"]);
        assert_eq!(plan.deferred, [ServerId::from("s-1")]);
    }

    #[test]
    fn glob_handles_stars_questions_and_literals() {
        assert!(glob_matches("web-*", "web-01"));
        assert!(glob_matches("web-*", "web-"));
        assert!(!glob_matches("web-*", "db-01"));
        assert!(glob_matches("/dc1/*/app?", "/dc1/prod/eu/app7"));
        assert!(!glob_matches("/dc1/*/app?", "/dc1/prod/app77"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("a", "ab"));
        assert!(glob_matches("a*b*c", "aXXbYYbc"));
        assert!(!glob_matches("Web-*", "web-1"), "case-sensitive");
    }

    #[test]
    fn selectors_parse_and_reject_with_the_expected_form() {
        let selector: Selector = "vmPath:/dc1/prod/*".parse().unwrap();
        assert_eq!(selector.field, VmField::VmPath);
        assert_eq!(selector.to_string(), "vmPath:/dc1/prod/*");
        let err = "hostname:web".parse::<Selector>().unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert!("vmName:".parse::<Selector>().is_err());
        assert!("vmName".parse::<Selector>().is_err());
    }

    #[test]
    fn the_wave_plan_brings_its_job_replicated_servers_in_and_keeps_app_replicated_ones_out() {
        let mut finalized = server("s-3", "web-3", "/dc1/prod");
        finalized.replication_job_id = Some(JobId::from("sms-job-3"));
        finalized.replication_job_terminated = true;
        let servers = vec![
            server("s-1", "db-1", "/dc1/prod"),
            server("s-2", "web-2", "/dc1/prod"),
            finalized,
        ];
        let policy = WavePolicy {
            include: vec!["vmName:web-*".parse().unwrap()],
            recreate_terminated: true,
            ..WavePolicy::default()
        };
        let planned = PlannedServers {
            by_jobs: ["s-1".into()].into(),
            by_app: ["s-2".into()].into(),
            finalized: ["s-3".into()].into(),
        };
        let plan = policy.plan_with(&servers, 0, &planned);
        let created: Vec<&str> = plan.create.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(created, ["s-1"], "in the plan, whatever the selectors say");
        assert_eq!(
            plan.skipped,
            [
                ("s-2".into(), SkipReason::ReplicatedByItsApp),
                ("s-3".into(), SkipReason::Finalized)
            ],
            "a finalized server gets no job, even where terminated jobs are recreated"
        );
    }

    #[test]
    fn plan_applies_selectors_live_jobs_terminated_jobs_and_cap() {
        let mut with_job = server("s-2", "web-2", "/dc1/prod");
        with_job.replication_job_id = Some(JobId::from("sms-job-2"));
        let mut terminated = server("s-3", "web-3", "/dc1/prod");
        terminated.replication_job_id = Some(JobId::from("sms-job-3"));
        terminated.replication_job_terminated = true;
        let servers = vec![
            server("s-5", "web-5", "/dc1/prod"),
            server("s-1", "web-1", "/dc1/prod"),
            with_job,
            terminated,
            server("s-4", "db-4", "/dc1/prod"),
            server("s-6", "web-6", "/dc1/test"),
            server("s-7", "web-7", "/dc1/prod"),
        ];
        let policy = WavePolicy {
            include: vec!["vmName:web-*".parse().unwrap()],
            exclude: vec!["vmPath:/dc1/test".parse().unwrap()],
            recreate_terminated: false,
            max_active_jobs: 4,
        };
        let plan = policy.plan(&servers, 2);
        let ids = |list: &[Server]| list.iter().map(|s| s.id.0.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&plan.create), ["s-1", "s-5"]);
        assert_eq!(plan.deferred, [ServerId::from("s-7")]);
        assert_eq!(
            plan.skipped,
            vec![
                ("s-2".into(), SkipReason::HasLiveJob),
                ("s-3".into(), SkipReason::JobTerminated),
                ("s-4".into(), SkipReason::NotIncluded),
                (
                    "s-6".into(),
                    SkipReason::Excluded {
                        selector: "vmPath:/dc1/test".into()
                    }
                ),
            ]
        );

        let recreate = WavePolicy {
            recreate_terminated: true,
            max_active_jobs: 50,
            ..policy
        };
        let plan = recreate.plan(&servers, 0);
        assert_eq!(ids(&plan.create), ["s-1", "s-3", "s-5", "s-7"]);
    }

    fn arb_server() -> impl Strategy<Value = Server> {
        (
            0u32..40,
            prop::sample::select(vec!["web", "db", "app"]),
            prop::option::of(0u32..3),
            any::<bool>(),
        )
            .prop_map(|(n, kind, job, terminated)| {
                let mut s = server(&format!("s-{n:03}"), &format!("{kind}-{n}"), "/dc1");
                s.replication_job_id = job.map(|j| JobId(format!("sms-job-{n}-{j}")));
                s.replication_job_terminated = job.is_some() && terminated;
                s
            })
    }

    proptest! {
        #[test]
        fn plan_never_picks_a_live_job_and_never_exceeds_the_cap(
            servers in prop::collection::vec(arb_server(), 0..60),
            cap in 0usize..60,
            active in 0usize..70,
            recreate in any::<bool>(),
        ) {
            let policy = WavePolicy { recreate_terminated: recreate, max_active_jobs: cap, ..WavePolicy::default() };
            let plan = policy.plan(&servers, active);
            prop_assert!(plan.create.len() <= cap.saturating_sub(active));
            for chosen in &plan.create {
                prop_assert!(!chosen.has_live_job());
                prop_assert!(recreate || !chosen.replication_job_terminated);
            }
            let mut unique: Vec<_> = servers.iter().map(|s| s.id.clone()).collect();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(
                plan.create.len() + plan.deferred.len() + plan.skipped.len(),
                unique.len()
            );
        }

        #[test]
        fn plan_does_not_depend_on_page_order(
            servers in prop::collection::vec(arb_server(), 0..60)
                .prop_map(|list| {
                    // Duplicated ids carry identical copies, as repeated pages would.
                    let mut by_id = BTreeMap::new();
                    for s in list { by_id.insert(s.id.clone(), s); }
                    by_id.into_values().collect::<Vec<_>>()
                }),
            cap in 0usize..30,
            seed in any::<u64>(),
        ) {
            let policy = WavePolicy { max_active_jobs: cap, ..WavePolicy::default() };
            let mut shuffled = servers.clone();
            // A deterministic shuffle driven by the seed.
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            let mut pages: Vec<Server> = shuffled.clone();
            pages.extend(shuffled.iter().take(5).cloned());
            prop_assert_eq!(policy.plan(&servers, 0), policy.plan(&pages, 0));
        }
    }
}
