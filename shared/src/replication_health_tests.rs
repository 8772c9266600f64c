use super::*;
use crate::migration::{CutoverPhase, CutoverState};
use crate::model::VmServer;
use proptest::prelude::*;

fn policy() -> HealthPolicy {
    HealthPolicy {
        lag_threshold: Duration::minutes(10),
        sync_grace: Duration::minutes(30),
        max_retries_per_server: 2,
        retry_interval: Duration::hours(1),
    }
}

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_341_600 + minute * 60, 0).unwrap()
}

fn server(id: &str, phase: ReplicationPhase, status: &str) -> SourceServer {
    SourceServer {
        id: id.into(),
        vm: VmServer {
            hostname: Some(format!("{id}-host")),
            ..VmServer::default()
        },
        replication: ReplicationState {
            phase,
            status: status.to_owned(),
        },
        cutover: CutoverState {
            phase: CutoverPhase::ReadyToTest,
            status: "READY_FOR_TEST".to_owned(),
        },
        replication_error: None,
        lag_seconds: None,
        sync_eta: None,
        archived: false,
        application_id: None,
    }
}

fn stalled(id: &str) -> SourceServer {
    SourceServer {
        replication_error: Some("AGENT_NOT_SEEN".to_owned()),
        ..server(id, ReplicationPhase::Stalled, "STALLED")
    }
}

fn healthy(id: &str) -> SourceServer {
    server(id, ReplicationPhase::Replicating, "CONTINUOUS")
}

fn look(
    snapshot: &HealthSnapshot,
    servers: &[SourceServer],
    minute: i64,
) -> (HealthChanges, HealthSnapshot) {
    snapshot.observe(servers, Coverage::Complete, &policy(), at(minute))
}

#[test]
fn a_stall_is_raised_once_and_its_end_announced_once() {
    let (changes, snapshot) = look(&HealthSnapshot::default(), &[stalled("a"), healthy("b")], 0);
    assert_eq!(changes.raised.len(), 1);
    let raised = &changes.raised[0];
    assert_eq!(
        (raised.server.as_str(), raised.problem.kind),
        ("a", ProblemKind::Stalled)
    );
    assert_eq!(raised.problem.detail, "AGENT_NOT_SEEN");
    assert_eq!(raised.name.as_deref(), Some("a-host"));

    let (changes, snapshot) = look(&snapshot, &[stalled("a"), healthy("b")], 5);
    assert!(changes.raised.is_empty() && changes.cleared.is_empty());
    assert_eq!(changes.ongoing, 1);

    let (changes, snapshot) = look(&snapshot, &[healthy("a"), healthy("b")], 10);
    assert_eq!(changes.cleared.len(), 1);
    assert_eq!(changes.cleared[0].since, at(0));
    assert_eq!(
        changes.cleared[0].state.as_ref().unwrap().status,
        "CONTINUOUS"
    );
    assert!(snapshot.episodes.is_empty());

    // Stalling again is a new episode, named by its own start.
    let (changes, _) = look(&snapshot, &[stalled("a")], 20);
    assert_eq!(changes.raised[0].since, at(20));
}

#[test]
fn lag_past_the_threshold_and_an_overdue_first_copy_are_problems() {
    let mut lagging = healthy("a");
    lagging.lag_seconds = Some(600);
    let (changes, snapshot) = look(&HealthSnapshot::default(), &[lagging.clone()], 0);
    assert!(changes.raised.is_empty(), "at the threshold is not past it");
    lagging.lag_seconds = Some(601);
    let (changes, snapshot) = look(&snapshot, &[lagging], 1);
    assert_eq!(changes.raised[0].problem.kind, ProblemKind::Lagging);
    assert_eq!(
        changes.raised[0].problem.detail,
        "601 s behind (threshold 600 s)"
    );
    let (changes, snapshot) = look(&snapshot, &[healthy("a")], 2);
    assert_eq!(changes.cleared[0].kind, ProblemKind::Lagging);

    let mut syncing = server("c", ReplicationPhase::Starting, "INITIAL_SYNC");
    syncing.sync_eta = Some(at(0));
    let (changes, snapshot) = look(&snapshot, &[syncing.clone()], 30);
    assert!(changes.raised.is_empty(), "within the grace");
    let (changes, _) = look(&snapshot, &[syncing], 31);
    assert_eq!(changes.raised[0].problem.kind, ProblemKind::SyncOverdue);
}

#[test]
fn a_lost_agent_is_raised_and_ends_when_the_move_does() {
    let lost = server("a", ReplicationPhase::Failed, "DISCONNECTED");
    let (changes, snapshot) = look(&HealthSnapshot::default(), &[lost], 0);
    assert_eq!(changes.raised[0].problem.kind, ProblemKind::Disconnected);
    assert_eq!(changes.raised[0].problem.detail, "replication DISCONNECTED");
    let finalized = server("a", ReplicationPhase::Completed, "DISCONNECTED");
    let (changes, _) = look(&snapshot, &[finalized], 1);
    assert_eq!(changes.cleared[0].kind, ProblemKind::Disconnected);
}

#[test]
fn only_a_complete_sweep_ends_the_episodes_of_servers_it_does_not_list() {
    let (_, snapshot) = look(&HealthSnapshot::default(), &[stalled("a"), stalled("b")], 0);
    let (changes, snapshot) =
        snapshot.observe(&[healthy("b")], Coverage::Partial, &policy(), at(1));
    assert_eq!(changes.cleared.len(), 1, "b only");
    assert!(snapshot.episodes.contains_key(&ServerId::from("a")));
    let (changes, snapshot) = look(&snapshot, &[], 2);
    assert_eq!(changes.cleared.len(), 1);
    assert_eq!(
        (
            changes.cleared[0].server.as_str(),
            changes.cleared[0].state.as_ref()
        ),
        ("a", None)
    );
    assert!(snapshot.episodes.is_empty());
}

#[test]
fn a_stall_is_retried_within_its_budget_and_its_end_said_once() {
    let policy = policy();
    let a = ServerId::from("a");
    let (_, mut snapshot) = look(&HealthSnapshot::default(), &[stalled("a")], 0);
    let due = snapshot.retries_due(&policy, at(0));
    assert_eq!(
        due,
        [(a.clone(), at(0), RetryDecision::Retry { attempt: 1 })]
    );
    snapshot.claim(&a, at(0), &due[0].2, at(0));
    assert!(
        snapshot.retries_due(&policy, at(59)).is_empty(),
        "within the interval"
    );
    let due = snapshot.retries_due(&policy, at(60));
    assert_eq!(due[0].2, RetryDecision::Retry { attempt: 2 });
    snapshot.claim(&a, at(0), &due[0].2, at(60));
    let due = snapshot.retries_due(&policy, at(120));
    assert_eq!(due[0].2, RetryDecision::GiveUp { attempts: 2 });
    snapshot.claim(&a, at(0), &due[0].2, at(120));
    assert!(
        snapshot.retries_due(&policy, at(180)).is_empty(),
        "said once"
    );

    // Recovered, then stalled again: the budget is the wave's, so it is given up at once.
    let (_, snapshot) = look(&snapshot, &[healthy("a")], 200);
    assert!(snapshot.held.is_empty());
    let (_, snapshot) = look(&snapshot, &[stalled("a")], 210);
    let due = snapshot.retries_due(&policy, at(210));
    assert_eq!(due, [(a, at(210), RetryDecision::GiveUp { attempts: 2 })]);
}

fn phase_strategy() -> impl Strategy<Value = (ReplicationPhase, Option<i64>)> {
    prop_oneof![
        Just((ReplicationPhase::Stalled, None)),
        Just((ReplicationPhase::Failed, None)),
        Just((ReplicationPhase::Starting, None)),
        (0i64..1200).prop_map(|lag| (ReplicationPhase::Replicating, Some(lag))),
        Just((ReplicationPhase::Paused, None)),
        Just((ReplicationPhase::Completed, None)),
    ]
}

proptest! {
    /// However the replication moves, each kind's alerts and recoveries alternate,
    /// starting with an alert: one alert per episode, one recovery per alert.
    #[test]
    fn alerts_and_recoveries_alternate(steps in proptest::collection::vec(phase_strategy(), 1..40)) {
        let mut snapshot = HealthSnapshot::default();
        let mut open: BTreeMap<ProblemKind, bool> = BTreeMap::new();
        for (minute, (phase, lag)) in steps.into_iter().enumerate() {
            let mut observed = server("a", phase, "ANY");
            observed.lag_seconds = lag;
            let (changes, next) = look(&snapshot, &[observed], minute as i64);
            for cleared in &changes.cleared {
                prop_assert!(open.insert(cleared.kind, false).unwrap_or(false), "{:?} cleared unopened", cleared.kind);
            }
            for raised in &changes.raised {
                prop_assert!(!open.insert(raised.problem.kind, true).unwrap_or(false), "{:?} raised twice", raised.problem.kind);
            }
            snapshot = next;
        }
    }
}
