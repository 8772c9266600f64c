//! Unit tests of app readiness and launch windows.

use super::*;
use crate::model::{
    AppLaunchStatus, JobId, ReplicationJobState, ReplicationRun, Server, ServerGroup, Tag, VmServer,
};
use proptest::prelude::*;

fn member(id: &str) -> Server {
    Server {
        id: id.into(),
        vm: VmServer::default(),
        replication_job_id: None,
        replication_job_terminated: false,
    }
}

fn app(status: AppLaunchStatus, members: &[&str]) -> App {
    App {
        id: "app-1".into(),
        name: Some("billing".into()),
        description: None,
        launch_status: status.into(),
        launch_status_message: None,
        last_modified: None,
        replication_status: Default::default(),
        server_groups: vec![ServerGroup {
            id: Some("sg-1".into()),
            name: None,
            servers: members.iter().map(|m| member(m)).collect(),
        }],
        tags: vec![],
    }
}

fn job(server: &str, state: ReplicationJobState, completed: bool) -> ReplicationJob {
    ReplicationJob {
        id: JobId(format!("job-{server}")),
        server_id: server.into(),
        vm_name: None,
        state: state.into(),
        status_message: None,
        latest_ami_id: None,
        frequency_hours: Some(12),
        run_once: false,
        seed_replication_time: None,
        settings: Default::default(),
        runs: vec![ReplicationRun {
            id: format!("run-{server}").into(),
            completed,
            ami_id: None,
            status_message: None,
            scheduled_start: None,
            completed_at: None,
        }],
    }
}

fn opt_out() -> OptOutTag {
    "autopilot:launch=false".parse().unwrap()
}

#[test]
fn readiness_covers_each_case() {
    use ReplicationJobState::*;
    let jobs = [
        job("s-1", Active, true),
        job("s-2", Active, false),
        job("s-3", PausedOnFailure, false),
        job("s-4", PausedOnFailure, true),
    ];
    let index: ServerStandings = jobs.iter().collect();
    let ready = AppLaunchStatus::ReadyForLaunch;
    assert_eq!(
        app_readiness(&app(ready.clone(), &["s-1", "s-4"]), &index, &opt_out()),
        AppReadiness::Ready,
        "a member that failed after a completed run still has its AMI"
    );
    assert_eq!(
        app_readiness(
            &app(ready.clone(), &["s-1", "s-2", "s-9"]),
            &index,
            &opt_out()
        ),
        AppReadiness::Waiting {
            pending: vec!["s-2".into(), "s-9".into()]
        }
    );
    assert_eq!(
        app_readiness(
            &app(ready.clone(), &["s-1", "s-2", "s-3"]),
            &index,
            &opt_out()
        ),
        AppReadiness::Blocked {
            failed: vec!["s-3".into()],
            pending: vec!["s-2".into()]
        }
    );
    assert_eq!(
        app_readiness(
            &app(AppLaunchStatus::Launched, &["s-1"]),
            &index,
            &opt_out()
        ),
        AppReadiness::AlreadyLaunched
    );
    assert_eq!(
        app_readiness(
            &app(AppLaunchStatus::LaunchPending, &["s-1"]),
            &index,
            &opt_out()
        ),
        AppReadiness::InProgress
    );
    assert!(matches!(
        app_readiness(&app(ready.clone(), &[]), &index, &opt_out()),
        AppReadiness::NotLaunchable { .. }
    ));
    let mut tagged = app(ready, &["s-1"]);
    tagged.tags.push(Tag {
        key: "autopilot:launch".into(),
        value: "false".into(),
    });
    assert_eq!(
        app_readiness(&tagged, &index, &opt_out()),
        AppReadiness::OptedOut {
            reason: "opted out by tag autopilot:launch=false".into()
        },
        "ready, but a person launches it"
    );
    tagged.server_groups[0].servers.push(member("s-2"));
    assert!(
        matches!(
            app_readiness(&tagged, &index, &opt_out()),
            AppReadiness::Waiting { .. }
        ),
        "an opted-out app still waits for its members"
    );
}

#[test]
fn an_unconfigured_app_is_held_once_replicated_naming_what_it_lacks() {
    use ReplicationJobState::Active;
    let jobs = [job("s-1", Active, true), job("s-2", Active, false)];
    let index: ServerStandings = jobs.iter().collect();
    let unconfigured = app(AppLaunchStatus::ReadyForConfiguration, &["s-1"]);
    let AppReadiness::Unconfigured { reason } = app_readiness(&unconfigured, &index, &opt_out())
    else {
        panic!("a replicated app without a launch configuration is held");
    };
    assert!(
        reason.contains("no launch configuration") && reason.contains("s-1"),
        "{reason}"
    );
    let still_replicating = app(AppLaunchStatus::ReadyForConfiguration, &["s-1", "s-2"]);
    assert_eq!(
        app_readiness(&still_replicating, &index, &opt_out()),
        AppReadiness::Waiting {
            pending: vec!["s-2".into()]
        },
        "nothing to report before the members are replicated"
    );
    let mut invalid = app(AppLaunchStatus::ConfigurationInvalid, &["s-1"]);
    invalid.launch_status_message = Some("subnet-9 does not exist".into());
    assert_eq!(
        app_readiness(&invalid, &index, &opt_out()),
        AppReadiness::Unconfigured {
            reason: "its launch configuration is invalid: subnet-9 does not exist".into()
        }
    );
}

#[test]
fn the_current_job_speaks_for_a_server_with_an_old_deleted_one() {
    let jobs = vec![
        job("s-1", ReplicationJobState::Deleted, true),
        job("s-1", ReplicationJobState::Active, false),
    ];
    let index = jobs_by_server(&jobs);
    assert_eq!(
        index[&ServerId::from("s-1")].state,
        ReplicationJobState::Active.into()
    );
    // The deleted job's completed run does not make the server replicated.
    let standings: ServerStandings = jobs.iter().collect();
    assert_eq!(standings.of(&"s-1".into()), Some(Standing::Pending));
    let only_deleted = [job("s-1", ReplicationJobState::Deleted, true)];
    let standings: ServerStandings = only_deleted.iter().collect();
    assert_eq!(
        standings.of(&"s-1".into()),
        Some(Standing::Pending),
        "a server whose only job was deleted is not replicated"
    );
    assert_eq!(standings.of(&"s-2".into()), None);
    assert_eq!(standings.len(), 1);
}

#[test]
fn launch_window_parses_and_wraps_midnight() {
    let window: LaunchWindow = "fri 22:00-02:00".parse().unwrap();
    let friday_late = DateTime::parse_from_rfc3339("2026-11-20T23:30:00Z").unwrap();
    let saturday_early = DateTime::parse_from_rfc3339("2026-11-21T01:59:00Z").unwrap();
    let saturday_late = DateTime::parse_from_rfc3339("2026-11-21T23:00:00Z").unwrap();
    let friday_noon = DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").unwrap();
    assert!(window.contains(friday_late.into()));
    assert!(window.contains(saturday_early.into()));
    assert!(!window.contains(saturday_late.into()));
    assert!(!window.contains(friday_noon.into()));

    let weekdays: LaunchWindow = "mon-fri 09:00-17:00".parse().unwrap();
    assert!(weekdays.contains(friday_noon.into()));
    assert!(!weekdays.contains(saturday_late.into()));
    let always: LaunchWindow = "* 00:00-24:00".parse().unwrap();
    assert!(always.contains(saturday_late.into()));

    for bad in [
        "",
        "mon",
        "xyz 01:00-02:00",
        "mon 25:00-26:00",
        "mon 01:00-01:00",
        "mon 1-2",
    ] {
        assert!(
            bad.parse::<LaunchWindow>().is_err(),
            "{bad:?} should be refused"
        );
    }
}

fn arb_launch_status() -> impl Strategy<Value = AppLaunchStatus> {
    prop::sample::select(
        AppLaunchStatus::WIRE_VALUES
            .iter()
            .map(|w| AppLaunchStatus::from_wire(w))
            .collect::<Vec<_>>(),
    )
}

proptest! {
    #[test]
    fn ready_iff_every_member_completed_and_not_launched_or_launching(
        status in arb_launch_status(),
        members in prop::collection::vec((0u8..3, prop::sample::select(vec![
            ReplicationJobState::Active, ReplicationJobState::PausedOnFailure,
            ReplicationJobState::Failed, ReplicationJobState::Completed,
        ]), any::<bool>()), 1..10),
    ) {
        // kind 0: no job, 1: a job without completed run, 2: a job with one.
        let ids: Vec<String> = (0..members.len()).map(|i| format!("s-{i}")).collect();
        let jobs: Vec<_> = members.iter().zip(&ids).filter(|((kind, _, _), _)| *kind > 0)
            .map(|((kind, state, _), id)| job(id, state.clone(), *kind == 2)).collect();
        let index: ServerStandings = jobs.iter().collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let readiness = app_readiness(&app(status.clone(), &id_refs), &index, &opt_out());
        let all_completed = members.iter().all(|(kind, _, _)| *kind == 2);
        let launchable = matches!(status,
            AppLaunchStatus::ReadyForLaunch | AppLaunchStatus::LaunchFailed
            | AppLaunchStatus::Terminated);
        prop_assert_eq!(readiness == AppReadiness::Ready, all_completed && launchable);
    }
}
