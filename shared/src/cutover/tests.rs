use super::*;
use crate::migration::{CutoverPhase, CutoverState, ReplicationPhase, ReplicationState};
use crate::model::{SourceServer, VmServer};
use proptest::prelude::*;

fn at(minute: i64) -> DateTime<Utc> {
    // 2026-11-23 was a Monday; 10:00 UTC.
    DateTime::from_timestamp(1_795_428_000 + minute * 60, 0).unwrap()
}

fn limits() -> LaunchLimits {
    LaunchLimits {
        max_attempts: 2,
        status_checks_within: Duration::minutes(30),
    }
}

fn member(id: &str, phase: CutoverPhase) -> SourceServer {
    SourceServer {
        id: id.into(),
        vm: VmServer {
            vm_name: Some(id.to_owned()),
            ..VmServer::default()
        },
        replication: ReplicationState {
            phase: ReplicationPhase::Replicating,
            status: "CONTINUOUS".into(),
        },
        cutover: CutoverState {
            phase,
            status: format!("{phase:?}"),
        },
        replication_error: None,
        lag_seconds: Some(1),
        sync_eta: None,
        archived: false,
        application_id: None,
    }
}

fn subject<'a>(policy: &'a MovePolicy, members: &'a [SourceServer]) -> Subject<'a> {
    Subject {
        name: "shop",
        policy,
        members,
        missing: 0,
        progress: None,
    }
}

fn books(stage: MoveStage) -> CutoverLedger {
    let mut ledger = CutoverLedger::default();
    ledger.apps.insert(
        "shop".into(),
        AppMove {
            stage,
            ..AppMove::default()
        },
    );
    ledger
}

fn launch(attempt: u32, launched_at: Option<i64>) -> Launch {
    Launch {
        attempt,
        claimed_at: at(0),
        job_id: Some("mgnjob-1".into()),
        launched_at: launched_at.map(at),
    }
}

fn check(server: &str, status: CheckStatus) -> InstanceCheck {
    InstanceCheck {
        server: server.into(),
        instance_id: format!("i-{server}"),
        status,
    }
}

#[test]
fn a_test_starts_once_every_member_is_ready_and_replicating() {
    let policy = MovePolicy::default();
    let ledger = CutoverLedger::default();
    let ready = [
        member("a", CutoverPhase::ReadyToTest),
        member("b", CutoverPhase::ReadyToTest),
    ];
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Start {
            kind: LaunchKind::Test,
            attempt: 1
        }
    );

    let syncing = [
        member("a", CutoverPhase::ReadyToTest),
        member("b", CutoverPhase::NotReady),
    ];
    let step = decide(&subject(&policy, &syncing), &ledger, &limits(), at(0));
    assert_eq!(step, Step::Wait(Blocker::MembersNotReady { waiting: 1 }));

    let mut unlisted = subject(&policy, &ready);
    unlisted.missing = 2;
    let step = decide(&unlisted, &ledger, &limits(), at(0));
    assert_eq!(step, Step::Wait(Blocker::MembersNotReady { waiting: 2 }));

    let mut stalled = ready.clone();
    stalled[1].replication = ReplicationState {
        phase: ReplicationPhase::Stalled,
        status: "STALLED".into(),
    };
    let step = decide(&subject(&policy, &stalled), &ledger, &limits(), at(0));
    let expected = Blocker::Replication {
        server: "b".into(),
        state: "STALLED".into(),
    };
    assert_eq!(step, Step::Wait(expected));
    let step = decide(&subject(&policy, &[]), &ledger, &limits(), at(0));
    assert_eq!(step, Step::Wait(Blocker::NoMembers));
}

#[test]
fn launch_settings_the_account_cannot_honour_hold_the_next_launch() {
    let policy = MovePolicy {
        launch_settings_problem: Some("web-01: subnet subnet-x does not exist (line 7)".into()),
        ..MovePolicy::default()
    };
    let ready = [member("a", CutoverPhase::ReadyToTest)];
    let mut ledger = CutoverLedger::default();
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Hold(
            "its launch settings cannot be used: web-01: subnet subnet-x does not exist (line 7)"
                .into()
        )
    );
    let passed = [member("a", CutoverPhase::ReadyToCutOver)];
    ledger.apps.insert(
        "shop".into(),
        AppMove {
            stage: MoveStage::TestPassed,
            ..AppMove::default()
        },
    );
    let step = decide(&subject(&policy, &passed), &ledger, &limits(), at(0));
    assert!(matches!(step, Step::Hold(_)), "nor its cutover: {step:?}");
    let sound = MovePolicy::default();
    let step = decide(&subject(&sound, &passed), &ledger, &limits(), at(0));
    assert!(
        matches!(
            step,
            Step::Start {
                kind: LaunchKind::Cutover,
                ..
            }
        ),
        "{step:?}"
    );
}

#[test]
fn an_application_waits_until_its_launch_settings_are_in_place() {
    let policy = MovePolicy {
        settings_pending: 2,
        ..MovePolicy::default()
    };
    let ready = [member("a", CutoverPhase::ReadyToTest)];
    let ledger = CutoverLedger::default();
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), at(0));
    assert_eq!(step, Step::Wait(Blocker::SettingsPending { members: 2 }));
    let in_place = MovePolicy::default();
    let step = decide(&subject(&in_place, &ready), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Start {
            kind: LaunchKind::Test,
            attempt: 1
        }
    );
}

#[test]
fn dependencies_and_windows_hold_a_launch_back() {
    let policy = MovePolicy {
        depends_on: vec!["db".into()],
        test_window: Some("sat,sun 00:00-24:00".parse().unwrap()),
        ..MovePolicy::default()
    };
    let ready = [member("a", CutoverPhase::ReadyToTest)];
    let mut ledger = CutoverLedger::default();
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), at(0));
    assert_eq!(step, Step::Wait(Blocker::Dependencies(vec!["db".into()])));

    ledger.apps.insert(
        "db".into(),
        AppMove {
            stage: MoveStage::TestPassed,
            ..AppMove::default()
        },
    );
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Wait(Blocker::OutsideWindow(LaunchKind::Test)),
        "a Monday"
    );
    let saturday = at(5 * 24 * 60);
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), saturday);
    assert_eq!(
        step,
        Step::Start {
            kind: LaunchKind::Test,
            attempt: 1
        }
    );

    ledger.apps.get_mut("db").unwrap().given_up = Some("its test failed 2 times".into());
    let step = decide(&subject(&policy, &ready), &ledger, &limits(), saturday);
    assert_eq!(
        step,
        Step::Hold("waits for db, left to a person: its test failed 2 times".into())
    );
}

#[test]
fn a_launch_is_judged_by_its_job_then_its_status_checks_within_the_limit() {
    let policy = MovePolicy::default();
    let members = [
        member("a", CutoverPhase::Testing),
        member("b", CutoverPhase::Testing),
    ];
    let judged = |launched_at: Option<i64>, progress: LaunchProgress, minute: i64| {
        let ledger = books(MoveStage::Testing(launch(1, launched_at)));
        let mut subject = subject(&policy, &members);
        subject.progress = Some(progress);
        decide(&subject, &ledger, &limits(), at(minute))
    };
    assert_eq!(
        judged(None, LaunchProgress::Running, 1),
        Step::Watch {
            first_launched: false
        }
    );
    let pending = vec![
        check("a", CheckStatus::Passed),
        check("b", CheckStatus::Pending),
    ];
    assert_eq!(
        judged(None, LaunchProgress::Launched(pending.clone()), 5),
        Step::Watch {
            first_launched: true
        }
    );
    assert_eq!(
        judged(Some(5), LaunchProgress::Launched(pending.clone()), 35),
        Step::Watch {
            first_launched: false
        }
    );
    let Step::Fail {
        server,
        reason,
        give_up,
        ..
    } = judged(Some(5), LaunchProgress::Launched(pending), 36)
    else {
        panic!("past the limit");
    };
    assert_eq!(server, Some("b".into()));
    assert_eq!(
        reason,
        "its status checks did not pass within 30 minutes (i-b)"
    );
    assert!(!give_up, "one more attempt in the budget");

    let impaired = vec![
        check("a", CheckStatus::Passed),
        check("b", CheckStatus::Failed("impaired".into())),
    ];
    let Step::Fail { server, reason, .. } = judged(Some(5), LaunchProgress::Launched(impaired), 6)
    else {
        panic!("impaired fails");
    };
    assert_eq!((server, reason.as_str()), (Some("b".into()), "impaired"));

    let passed = vec![
        check("a", CheckStatus::Passed),
        check("b", CheckStatus::Passed),
    ];
    let step = judged(Some(5), LaunchProgress::Launched(passed), 6);
    let instances = vec!["i-a".to_owned(), "i-b".to_owned()];
    assert_eq!(
        step,
        Step::Pass {
            kind: LaunchKind::Test,
            instances
        }
    );

    let failed = LaunchProgress::Failed {
        server: "a".into(),
        reason: "InvalidSubnetID.NotFound".into(),
    };
    let Step::Fail { server, .. } = judged(None, failed, 2) else {
        panic!("failed launch")
    };
    assert_eq!(server, Some("a".into()));
    let Step::Fail {
        server: None,
        reason,
        ..
    } = judged(None, LaunchProgress::Lost, 2)
    else {
        panic!("lost")
    };
    assert!(reason.contains("no longer knows"));
}

#[test]
fn the_last_failed_attempt_gives_up() {
    let policy = MovePolicy::default();
    let members = [member("a", CutoverPhase::Testing)];
    let ledger = books(MoveStage::Testing(launch(2, None)));
    let mut subject = subject(&policy, &members);
    subject.progress = Some(LaunchProgress::Lost);
    let Step::Fail {
        attempt, give_up, ..
    } = decide(&subject, &ledger, &limits(), at(0))
    else {
        panic!("fails");
    };
    assert_eq!((attempt, give_up), (2, true));
    let mut ledger = books(MoveStage::AwaitingTest);
    ledger.apps.get_mut("shop").unwrap().given_up = Some("its test failed 2 times".into());
    let step = decide(&subject, &ledger, &limits(), at(0));
    assert_eq!(step, Step::Hold("its test failed 2 times".into()));
}

#[test]
fn a_cutover_follows_only_a_passed_test_and_its_dependencies_cutovers() {
    let policy = MovePolicy {
        depends_on: vec!["db".into()],
        archive: true,
        ..MovePolicy::default()
    };
    let marked = [member("a", CutoverPhase::ReadyToCutOver)];
    // Marked ready for cutover by hand, with no test in the books: tested first.
    let mut ledger = books(MoveStage::AwaitingTest);
    ledger.apps.insert(
        "db".into(),
        AppMove {
            stage: MoveStage::TestPassed,
            ..AppMove::default()
        },
    );
    let step = decide(&subject(&policy, &marked), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Start {
            kind: LaunchKind::Test,
            attempt: 1
        }
    );

    ledger.apps.get_mut("shop").unwrap().stage = MoveStage::TestPassed;
    let step = decide(&subject(&policy, &marked), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Wait(Blocker::Dependencies(vec!["db".into()])),
        "db is not cut over"
    );
    ledger.apps.get_mut("db").unwrap().stage = MoveStage::CutOver;
    let step = decide(&subject(&policy, &marked), &ledger, &limits(), at(0));
    assert_eq!(
        step,
        Step::Start {
            kind: LaunchKind::Cutover,
            attempt: 1
        }
    );

    let reverted = [member("a", CutoverPhase::ReadyToTest)];
    let step = decide(&subject(&policy, &reverted), &ledger, &limits(), at(0));
    assert_eq!(step, Step::Retest { server: "a".into() });

    ledger.apps.get_mut("shop").unwrap().stage = MoveStage::CutOver;
    assert_eq!(
        decide(&subject(&policy, &marked), &ledger, &limits(), at(0)),
        Step::Archive
    );
    ledger.apps.get_mut("shop").unwrap().stage = MoveStage::Archived;
    assert_eq!(
        decide(&subject(&policy, &marked), &ledger, &limits(), at(0)),
        Step::Done
    );
}

#[test]
fn a_person_moves_a_manual_application_and_a_launch_outside_the_books_is_held() {
    let manual = MovePolicy {
        launch: LaunchMode::Manual,
        ..MovePolicy::default()
    };
    let ready = [member("a", CutoverPhase::ReadyToTest)];
    let step = decide(
        &subject(&manual, &ready),
        &CutoverLedger::default(),
        &limits(),
        at(0),
    );
    assert_eq!(step, Step::Hold("a person launches its test".into()));

    let policy = MovePolicy::default();
    let by_hand = [member("a", CutoverPhase::Testing)];
    let step = decide(
        &subject(&policy, &by_hand),
        &CutoverLedger::default(),
        &limits(),
        at(0),
    );
    assert_eq!(
        step,
        Step::Hold("server a is Testing outside the autopilot's books".into())
    );
}

fn phase() -> impl Strategy<Value = CutoverPhase> {
    prop::sample::select(vec![
        CutoverPhase::AwaitingAgent,
        CutoverPhase::NotReady,
        CutoverPhase::ReadyToTest,
        CutoverPhase::Testing,
        CutoverPhase::ReadyToCutOver,
        CutoverPhase::CuttingOver,
        CutoverPhase::CutOver,
    ])
}

fn stage() -> impl Strategy<Value = MoveStage> {
    prop::sample::select(vec![
        MoveStage::AwaitingTest,
        MoveStage::Testing(launch(1, None)),
        MoveStage::TestPassed,
        MoveStage::CuttingOver(launch(1, None)),
        MoveStage::CutOver,
        MoveStage::Archived,
    ])
}

proptest! {
    /// Whatever the books and the service say, a cutover starts only for an application
    /// whose test passed in the books, whose servers all hold that test, and whose
    /// dependencies are all cut over; a test only for one whose dependencies' tests passed.
    #[test]
    fn no_launch_without_its_guards(
        phases in prop::collection::vec(phase(), 1..4),
        own in stage(),
        dependency in stage(),
        minute in 0i64..10_080,
    ) {
        let policy = MovePolicy { depends_on: vec!["db".into()], ..MovePolicy::default() };
        let members: Vec<_> = phases.iter().enumerate()
            .map(|(i, p)| member(&format!("s{i}"), *p))
            .collect();
        let mut ledger = books(own.clone());
        ledger.apps.insert("db".into(), AppMove { stage: dependency.clone(), ..AppMove::default() });
        match decide(&subject(&policy, &members), &ledger, &limits(), at(minute)) {
            Step::Start { kind: LaunchKind::Cutover, .. } => {
                prop_assert_eq!(own, MoveStage::TestPassed);
                prop_assert!(phases.iter().all(|p| *p == CutoverPhase::ReadyToCutOver));
                prop_assert!(dependency.cut_over());
            }
            Step::Start { kind: LaunchKind::Test, .. } => {
                prop_assert_eq!(own, MoveStage::AwaitingTest);
                prop_assert!(dependency.test_passed());
            }
            _ => {}
        }
    }
}

#[test]
fn a_job_is_read_member_by_member_once_it_ends() {
    let copy = |server: &str, copy: CopyLaunch, instance: Option<&str>| JobServer {
        server: server.into(),
        copy,
        instance_id: instance.map(str::to_owned),
    };
    let members = [ServerId::from("a"), ServerId::from("b")];
    let mut job = LaunchJob {
        id: "mgnjob-1".into(),
        finished: false,
        servers: vec![
            copy("a", CopyLaunch::Launched, Some("i-a")),
            copy("b", CopyLaunch::Pending, None),
        ],
    };
    assert_eq!(read_job(Some(&job), &members), JobReading::Running);
    assert_eq!(read_job(None, &members), JobReading::Lost);
    job.finished = true;
    assert_eq!(
        read_job(Some(&job), &members),
        JobReading::Failed("b".into())
    );
    job.servers[1] = copy("b", CopyLaunch::Launched, None);
    assert_eq!(
        read_job(Some(&job), &members),
        JobReading::Failed("b".into()),
        "no instance"
    );
    job.servers[1] = copy("b", CopyLaunch::Launched, Some("i-b"));
    let launched = vec![
        ("a".into(), "i-a".to_owned()),
        ("b".into(), "i-b".to_owned()),
    ];
    assert_eq!(
        read_job(Some(&job), &members),
        JobReading::Launched(launched)
    );
    job.servers.pop();
    assert_eq!(
        read_job(Some(&job), &members),
        JobReading::Failed("b".into()),
        "left out"
    );
}
