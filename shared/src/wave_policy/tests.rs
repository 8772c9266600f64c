//! Unit tests of the wave policy.

use super::*;
use crate::model::{JobId, ReplicationJobState, VmServer};

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
        state: ReplicationJobState::Deleted.into(),
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
    old.state = ReplicationJobState::Deleting.into();
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
    let err = "hostName:web".parse::<Selector>().unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    assert!(
        err.to_string().contains("userProvidedId:GLOB"),
        "every form named: {err}"
    );
    assert!("vmName:".parse::<Selector>().is_err());
    assert!("vmName".parse::<Selector>().is_err());
}

#[test]
fn mgn_identification_hints_are_selected_by_their_own_fields() {
    let mut agent = server("s-1", "web-01", "/dc1/web/web-01");
    agent.vm.hostname = Some("web-01".into());
    agent.vm.fqdn = Some("web-01.corp.example.com".into());
    agent.vm.vmware_uuid = Some("4210aaaa-0001".into());
    agent.vm.user_provided_id = Some("CMDB-7".into());
    let sms_server = server("s-2", "web-02", "/dc1/web/web-02");
    for (text, field) in [
        ("hostname:web-*", VmField::Hostname),
        ("fqdn:*.corp.example.com", VmField::Fqdn),
        ("vmwareUuid:4210aaaa-*", VmField::VmwareUuid),
        ("userProvidedId:CMDB-7", VmField::UserProvidedId),
    ] {
        let selector: Selector = text.parse().unwrap();
        assert_eq!(selector.field, field);
        assert!(selector.matches(&agent), "{text}");
        assert!(!selector.matches(&sms_server), "no hint, no match: {text}");
    }
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
