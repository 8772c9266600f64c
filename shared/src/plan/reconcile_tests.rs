//! The planner's decisions: create what is missing, align what differs, report what it
//! must not touch, prune only when asked; applying them leaves nothing to do, whatever
//! the listing order.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use super::desired::{self, DesiredWave};
use super::reconcile::*;
use super::rules::MANAGED_TAG;
use super::Plan;
use crate::migration::AppReplicationPhase;
use crate::model::{AppId, AppLaunchStatus, AppReplicationStatus, Server, ServerId, VmServer};

const PLAN: &str = "version: 1
defaults: { launch: { instanceType: t3.small, subnet: subnet-1, securityGroup: sg-1 } }
applications:
  - name: shop
    replicatedBy: app
    groups:
      - { name: web, launchOrder: 2, servers: [web-01, web-02] }
      - { name: db, launchOrder: 1, servers: [db-01] }
  - name: intranet
    groups: [{ name: all, servers: [intra-01] }]
";

fn catalog(names: &[&str]) -> Vec<Server> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Server {
            id: ServerId::from(format!("s-{i}").as_str()),
            vm: VmServer {
                vm_name: Some((*name).into()),
                ..Default::default()
            },
            replication_job_id: None,
            replication_job_terminated: false,
        })
        .collect()
}

fn wave(text: &str, names: &[&str]) -> DesiredWave {
    desired::resolve(&Plan::parse(text).unwrap(), &catalog(names))
}

/// What SMS would hold after `changes` (a stand-in for the app-planner's calls).
fn apply(existing: &mut Vec<ExistingApp>, changes: &[Change]) {
    for change in changes {
        match change {
            Change::Create {
                app,
                launch,
                replication,
                ..
            } => existing.push(ExistingApp {
                id: AppId::from(format!("app-{}", existing.len()).as_str()),
                name: app.name.clone(),
                description: app.description.clone(),
                tags: app.tags.clone(),
                deleted: false,
                launch_status: AppLaunchStatus::ReadyForLaunch.into(),
                replication_status: replication
                    .as_ref()
                    .map_or(AppReplicationPhase::NotStarted, |_| {
                        AppReplicationStatus::ReplicationPending.into()
                    }),
                groups: app.groups.clone(),
                launch: Held::Read(launch.clone()),
                replication: replication.clone().map_or(Held::Unknown, Held::Read),
                last_modified: None,
                launched_at: None,
                launch_put: None,
            }),
            Change::Update { app_id, app, .. } => {
                let held = existing.iter_mut().find(|a| &a.id == app_id).unwrap();
                held.groups = app.groups.clone();
                held.tags = app.tags.clone();
                held.description = app.description.clone().or(held.description.take());
            }
            Change::PutLaunch { app_id, config, .. } => {
                let held = existing.iter_mut().find(|a| &a.id == app_id).unwrap();
                held.launch = Held::Read(config.clone());
                held.launch_put = Some(config.digest());
            }
            Change::PutReplication { app_id, config, .. } => {
                existing
                    .iter_mut()
                    .find(|a| &a.id == app_id)
                    .unwrap()
                    .replication = Held::Read(config.clone());
            }
            Change::StartReplication { app_id, .. } => {
                existing
                    .iter_mut()
                    .find(|a| &a.id == app_id)
                    .unwrap()
                    .replication_status = AppReplicationStatus::ReplicationPending.into();
            }
            Change::DeleteReplication { app_id, .. } => {
                existing
                    .iter_mut()
                    .find(|a| &a.id == app_id)
                    .unwrap()
                    .replication = Held::AsPlanned;
            }
            Change::Delete { app_id, .. } => existing.retain(|a| &a.id != app_id),
        }
    }
}

/// Reconciles and applies the changes.
fn settle(wave: &DesiredWave, existing: &mut Vec<ExistingApp>) {
    let changes = reconcile(wave, existing, false).changes;
    apply(existing, &changes);
}

#[test]
fn a_fresh_account_gets_every_application_created_and_configured() {
    let wave = wave(PLAN, &["web-01", "web-02", "db-01", "intra-01"]);
    let outcome = reconcile(&wave, &[], false);
    assert_eq!(outcome.changes.len(), 2);
    let Change::Create {
        app,
        client_token: token,
        launch,
        replication,
    } = &outcome.changes[0]
    else {
        panic!("{:?}", outcome.changes[0]);
    };
    assert_eq!(app.name, "shop");
    assert_eq!(token, &client_token("shop", ""));
    assert_eq!(app.tags.get(MANAGED_TAG).map(String::as_str), Some("shop"));
    assert_eq!(launch.0["db"].launch_order, Some(1));
    let (logical_id, settings) = &launch.0["web"].servers[&ServerId::from("s-1")];
    assert_eq!(
        (logical_id.as_str(), settings.instance_type.as_deref()),
        ("Web02", Some("t3.small"))
    );
    assert!(
        replication.is_some(),
        "shop is replicated by app replication"
    );
    let Change::Create { replication, .. } = &outcome.changes[1] else {
        panic!()
    };
    assert!(
        replication.is_none(),
        "intranet's servers get standalone jobs"
    );
}

#[test]
fn applying_the_changes_leaves_nothing_to_do() {
    let wave = wave(PLAN, &["web-01", "web-02", "db-01", "intra-01"]);
    let mut existing = Vec::new();
    settle(&wave, &mut existing);
    let again = reconcile(&wave, &existing, false);
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.in_step, ["shop", "intranet"]);
}

#[test]
fn a_new_member_updates_the_app_and_puts_its_configurations_again() {
    let mut existing = Vec::new();
    let before = wave(PLAN, &["web-01", "db-01", "intra-01"]);
    settle(&before, &mut existing);
    let after = wave(PLAN, &["web-01", "db-01", "intra-01", "web-02"]);
    let outcome = reconcile(&after, &existing, false);
    let kinds: Vec<&str> = outcome
        .changes
        .iter()
        .map(|c| match c {
            Change::Update { .. } => "update",
            Change::PutLaunch { .. } => "launch",
            Change::PutReplication { .. } => "replication",
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["update", "launch", "replication"]);
    let Change::Update { differences, .. } = &outcome.changes[0] else {
        panic!()
    };
    assert_eq!(differences, &["group `web` has other members"]);
}

#[test]
fn tags_the_plan_does_not_set_are_kept_and_a_renamed_application_is_named_back() {
    let wave = wave(PLAN, &["web-01", "web-02", "db-01", "intra-01"]);
    let mut existing = Vec::new();
    settle(&wave, &mut existing);
    existing[0]
        .tags
        .insert("autopilot:launch".into(), "false".into());
    assert!(
        reconcile(&wave, &existing, false).changes.is_empty(),
        "an operator's tag is no drift"
    );
    existing[0].name = "shop-renamed".into();
    let outcome = reconcile(&wave, &existing, false);
    let Change::Update {
        app, differences, ..
    } = &outcome.changes[0]
    else {
        panic!("{:?}", outcome.changes);
    };
    assert_eq!(differences, &["name"]);
    assert_eq!(app.name, "shop");
    assert_eq!(
        app.tags.get("autopilot:launch").map(String::as_str),
        Some("false"),
        "kept"
    );
}

#[test]
fn values_the_service_adds_where_the_plan_says_nothing_are_no_difference() {
    let wave = wave(PLAN, &["web-01", "web-02", "db-01", "intra-01"]);
    let mut existing = Vec::new();
    settle(&wave, &mut existing);
    let Held::Read(mut held) = existing[0].launch.clone() else {
        panic!("settle keeps what it put");
    };
    let wanted = wave.apps[0].launch_config();
    for (_, settings) in held.0.values_mut().flat_map(|g| g.servers.values_mut()) {
        Arc::make_mut(settings).associate_public_ip_address = Some(false);
    }
    existing[0].launch = Held::Read(held.clone());
    assert!(reconcile(&wave, &existing, false).changes.is_empty());
    // Compared as it is read, the same configuration is not even kept.
    existing[0].launch = Held::compared(held.clone(), &wanted);
    assert_eq!(existing[0].launch, Held::AsPlanned);
    assert!(reconcile(&wave, &existing, false).changes.is_empty());

    for (_, settings) in held.0.values_mut().flat_map(|g| g.servers.values_mut()) {
        Arc::make_mut(settings).instance_type = Some("t3.nano".into());
    }
    existing[0].launch = Held::compared(held, &wanted);
    assert!(
        matches!(existing[0].launch, Held::Read(_)),
        "a difference is kept"
    );
    assert_eq!(
        reconcile(&wave, &existing, false).changes.len(),
        1,
        "a value the plan sets"
    );
    existing[0].launch = Held::Unknown;
    assert_eq!(
        reconcile(&wave, &existing, false).changes.len(),
        1,
        "a configuration SMS does not hold is put"
    );
}

#[test]
fn a_launched_application_is_reported_as_drift_not_changed() {
    let mut existing = Vec::new();
    let before = wave(PLAN, &["web-01", "db-01", "intra-01"]);
    settle(&before, &mut existing);
    existing[0].launch_status = AppLaunchStatus::Launched.into();
    let after = wave(PLAN, &["web-01", "db-01", "intra-01", "web-02"]);
    let outcome = reconcile(&after, &existing, false);
    assert!(outcome.changes.is_empty(), "{:?}", outcome.changes);
    assert_eq!(outcome.drift.len(), 1);
    assert!(
        outcome.drift[0].reason.contains("LAUNCHED"),
        "{:?}",
        outcome.drift
    );
}

#[test]
fn only_managed_applications_are_pruned_and_only_when_asked() {
    let mut existing = Vec::new();
    settle(&wave(PLAN, &["web-01", "db-01", "intra-01"]), &mut existing);
    let mut by_hand = existing[1].clone();
    by_hand.id = AppId::from("app-by-hand");
    by_hand.name = "legacy".into();
    by_hand.tags = BTreeMap::new();
    existing.push(by_hand);
    let smaller = PLAN.split("  - name: intranet").next().unwrap();
    let wave = wave(smaller, &["web-01", "db-01", "intra-01"]);
    assert!(reconcile(&wave, &existing, false).changes.is_empty());
    let pruned = reconcile(&wave, &existing, true).changes;
    assert_eq!(
        pruned,
        [Change::Delete {
            app_id: AppId::from("app-1"),
            name: "intranet".into()
        }]
    );
}

#[test]
fn an_application_with_no_member_found_yet_waits() {
    let outcome = reconcile(&wave(PLAN, &["web-01"]), &[], false);
    assert_eq!(outcome.waiting, ["intranet"]);
    assert_eq!(outcome.changes.len(), 1);
}

proptest! {
    #[test]
    fn decisions_do_not_depend_on_the_listing_order(present in proptest::sample::subsequence(vec!["web-01", "web-02", "db-01", "intra-01"], 0..=4), rotate in 0usize..4) {
        let full = wave(PLAN, &["web-01", "web-02", "db-01", "intra-01"]);
        let mut existing = Vec::new();
        settle(&wave(PLAN, &present), &mut existing);
        let forward = reconcile(&full, &existing, false);
        if !existing.is_empty() {
            let turn = rotate % existing.len();
            existing.rotate_left(turn);
        }
        let turned = reconcile(&full, &existing, false);
        prop_assert_eq!(&forward.changes, &turned.changes);
        apply(&mut existing, &turned.changes);
        prop_assert!(reconcile(&full, &existing, false).changes.is_empty());
    }
}

/// shop moves from app replication to standalone jobs: its replication configuration
/// is removed once its app replication is not running, never while it runs, never
/// from a launched application or one the planner does not manage.
#[test]
fn a_replication_configuration_the_plan_no_longer_gives_is_removed_when_it_may_be() {
    let names = ["web-01", "web-02", "db-01", "intra-01"];
    let mut existing = Vec::new();
    settle(&wave(PLAN, &names), &mut existing);
    let by_jobs = wave(&PLAN.replace("    replicatedBy: app\n", ""), &names);
    let shop = existing.iter().find(|a| a.name == "shop").unwrap().clone();
    let with = |status: AppReplicationStatus, launch: AppLaunchStatus, managed: bool| {
        let mut app = shop.clone();
        app.replication_status = status.into();
        app.launch_status = launch.into();
        if !managed {
            app.tags.remove(MANAGED_TAG);
        }
        vec![app]
    };
    let removals = |apps: &[ExistingApp]| {
        reconcile(&by_jobs, apps, false)
            .changes
            .iter()
            .filter(|c| matches!(c, Change::DeleteReplication { .. }))
            .count()
    };
    let stopped = with(
        AppReplicationStatus::ReplicationStopped,
        AppLaunchStatus::ReadyForLaunch,
        true,
    );
    assert_eq!(removals(&stopped), 1);
    let running = with(
        AppReplicationStatus::ReplicationInProgress,
        AppLaunchStatus::ReadyForLaunch,
        true,
    );
    assert_eq!(removals(&running), 0);
    let outcome = reconcile(&by_jobs, &running, false);
    assert!(outcome.drift[0].reason.contains("its app replication runs"));
    let launched = with(
        AppReplicationStatus::ReplicationStopped,
        AppLaunchStatus::Launched,
        true,
    );
    assert_eq!(removals(&launched), 0);
    let foreign = with(
        AppReplicationStatus::ReplicationStopped,
        AppLaunchStatus::ReadyForLaunch,
        false,
    );
    assert_eq!(removals(&foreign), 0);

    // Once removed, nothing is left to do.
    let mut held = stopped;
    settle(&by_jobs, &mut held);
    assert_eq!(removals(&held), 0);
}

/// The planner's ledger: each application found as planned records the digest of the
/// launch configuration the plan wants of it.
fn record_in_step(wave: &DesiredWave, existing: &mut [ExistingApp]) {
    let in_step = reconcile(wave, existing, false).in_step;
    for app in existing.iter_mut() {
        let desired = wave.apps.iter().find(|d| d.name == app.name).unwrap();
        if in_step.contains(&desired.name) {
            app.launch_put = Some(desired.launch_config().digest());
        }
    }
}

#[test]
fn a_launch_value_the_plan_stops_giving_is_put_again_once() {
    let names = ["web-01", "web-02", "db-01", "intra-01"];
    let with_key = PLAN.replace(
        "securityGroup: sg-1",
        "securityGroup: sg-1, ec2KeyName: ops",
    );
    let mut existing = Vec::new();
    settle(&wave(&with_key, &names), &mut existing);
    let mut unrecorded = existing.clone();
    record_in_step(&wave(&with_key, &names), &mut existing);

    // SMS still holds the key: every value the plan gives is there.
    let without_key = wave(PLAN, &names);
    let blind = reconcile(&without_key, &unrecorded, false);
    assert!(
        blind.changes.is_empty(),
        "without a record nothing tells: {:?}",
        blind.changes
    );
    let outcome = reconcile(&without_key, &existing, false);
    let put: Vec<&str> = outcome
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::PutLaunch { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(put, ["shop", "intranet"], "{:?}", outcome.changes);
    apply(&mut existing, &outcome.changes);
    let again = reconcile(&without_key, &existing, false);
    assert!(again.changes.is_empty(), "{:?}", again.changes);

    // A launched application is not put again: the change is reported as drift.
    unrecorded[1].launch_put = Some("an earlier plan".into());
    unrecorded[1].launch_status = AppLaunchStatus::Launched.into();
    let launched = reconcile(&without_key, &unrecorded, false);
    let drift = &launched.drift[0];
    assert_eq!(drift.name, "intranet");
    assert_eq!(
        drift.differences,
        ["launch configuration changed by the plan since it was put"]
    );
}
