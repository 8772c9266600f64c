//! The MGN planner puts the plan's EC2 settings on each member's launch template against
//! the stand-in's EC2: checked against the account first (an application whose subnet
//! or key pair the account lacks is held, named by VM and plan line, and its templates
//! left alone), a new default version for the rest, nothing read again for the same
//! plan; a test network gets its own version, which the launcher makes the default for
//! the test and puts back for the cutover.

use std::sync::Arc;
use std::time::Duration;

use autopilot_core::config::{MgnLauncherConfig, MgnPlannerConfig, DEFAULT_PLAN_KEY};
use autopilot_core::plan::resolved::{ResolvedPlan, RESOLVED_KEY};
use autopilot_local::harness::payloads::rule_event;

use crate::common::mgn_world::{of_type, MgnWorld, BUCKET};

const SCENARIO: &str = r#"
connectors: [{vm_manager_name: vc}]
servers: [{vm_name: web-01}, {vm_name: db-01}, {vm_name: fax-01}]
network:
  vpcs: [vpc-a, vpc-b]
  subnets: [{id: subnet-a, vpc: vpc-a}, {id: subnet-b, vpc: vpc-b}]
  security_groups: [{id: sg-a, vpc: vpc-a}, {id: sg-b, vpc: vpc-b}]
  key_pairs: [ops]
  instance_types: [t3.medium, m5.large]
mgn:
  timing: {initial_sync_secs: 600}
"#;

const PLAN: &str = "version: 1
defaults:
  launch: { subnet: subnet-a, securityGroups: [sg-a], ec2KeyName: ops }
applications:
  - name: shop
    tags: { team: web }
    settings: { launch: { instanceType: m5.large } }
    groups: [{name: web, servers: [web-01]}]
  - name: billing
    settings: { launch: { testSubnet: subnet-b, testSecurityGroups: [sg-b] } }
    groups: [{name: db, servers: [db-01]}]
  - name: office
    groups:
      - name: fax
        servers: [fax-01]
        settings: { launch: { subnet: subnet-x, ec2KeyName: nobody } }
";

async fn put_plan(world: &MgnWorld, text: &str) {
    world
        .clients()
        .s3
        .put_object()
        .bucket(BUCKET)
        .key(DEFAULT_PLAN_KEY)
        .body(text.as_bytes().to_vec().into())
        .send()
        .await
        .expect("plan stored");
}

async fn resolved(world: &MgnWorld) -> ResolvedPlan {
    let object = world
        .clients()
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(RESOLVED_KEY)
        .send()
        .await
        .expect("resolved plan stored");
    let bytes = object.body.collect().await.expect("read").into_bytes();
    serde_json::from_slice(&bytes).expect("a resolved plan")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_templates_hold_the_plan_or_the_application_is_held() {
    let world = MgnWorld::start(SCENARIO).await;
    world.mgn.advance(Duration::from_secs(60));
    put_plan(&world, PLAN).await;
    let planner = world.context::<MgnPlannerConfig>(&[]);
    let plan_once = || {
        mgn_planner::handle(
            rule_event(world.mgn.now(), "mgn-planner"),
            Arc::clone(&planner),
        )
    };
    let summary = plan_once().await.expect("planned");
    assert_eq!(
        (summary.templates_changed, summary.held_by_settings),
        (2, 1)
    );

    let plan = resolved(&world).await;
    let problem = plan.apps["office"]
        .launch_settings_problem
        .clone()
        .expect("office is held");
    assert_eq!(
        problem, "fax-01: key pair nobody does not exist (line 16) (and 1 more)",
        "the first problem with its line, and how many follow"
    );
    assert_eq!(plan.apps["shop"].launch_settings_problem, None);
    let db = &plan.servers[&world.server_id("db-01").as_str().into()];
    let billing = db.launch_template.clone().expect("billing's versions");
    assert_eq!((billing.cutover, billing.test), (3, Some(2)));
    let fax = &plan.servers[&world.server_id("fax-01").as_str().into()];
    assert_eq!(
        fax.launch_template, None,
        "a held member's template is left alone"
    );

    let counts = |world: &MgnWorld| world.mgn.call_counts();
    let made = |counts: &std::collections::BTreeMap<String, u64>| {
        counts
            .get("ec2:CreateLaunchTemplateVersion")
            .copied()
            .unwrap_or(0)
    };
    let before = counts(&world);
    let again = plan_once().await.expect("planned again");
    assert_eq!((again.templates_changed, again.held_by_settings), (0, 1));
    assert_eq!(
        made(&counts(&world)),
        made(&before),
        "no version made twice"
    );

    // The launcher: shop tested in its subnet and type; billing tested in its test
    // network and cut over in its own; office held, named once.
    let launcher = world.context::<MgnLauncherConfig>(&[]);
    let mut done = 0;
    for _ in 0..600 {
        world.mgn.advance(Duration::from_secs(60));
        let summary = mgn_launcher::handle(
            rule_event(world.mgn.now(), "mgn-launcher"),
            Arc::clone(&launcher),
        )
        .await
        .expect("launcher runs");
        done = summary.done;
        if done == 2 {
            break;
        }
    }
    assert_eq!(done, 2, "shop and billing moved");
    let instances = world.mgn.instances();
    let placed = |vm: &str, test: bool| {
        let id = world.server_id(vm);
        let instance = instances
            .iter()
            .find(|i| i.server_id == id && i.test == test)
            .expect("launched");
        (
            instance.instance_type.clone(),
            instance.subnet.clone(),
            instance.security_groups.clone(),
        )
    };
    let shop = (
        "m5.large".to_owned(),
        "subnet-a".to_owned(),
        vec!["sg-a".to_owned()],
    );
    assert_eq!(placed("web-01", true), shop);
    assert_eq!(placed("web-01", false), shop);
    assert_eq!(
        placed("db-01", true).1,
        "subnet-b",
        "tested in the test network"
    );
    assert_eq!(placed("db-01", true).2, ["sg-b"]);
    assert_eq!(placed("db-01", false).1, "subnet-a", "cut over in its own");
    let events = world.published();
    let held = of_type(&events, "AppMoveHeld");
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["appName"], "office");
    assert!(held[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("its launch settings cannot be used: fax-01: key pair nobody"));

    // The plan fixed: office's templates are put and its hold lifted, said once.
    put_plan(
        &world,
        &PLAN.replace("subnet: subnet-x, ec2KeyName: nobody", "subnet: subnet-a"),
    )
    .await;
    let fixed = plan_once().await.expect("planned the fix");
    assert_eq!((fixed.templates_changed, fixed.held_by_settings), (1, 0));
    world.mgn.advance(Duration::from_secs(60));
    mgn_launcher::handle(
        rule_event(world.mgn.now(), "mgn-launcher"),
        Arc::clone(&launcher),
    )
    .await
    .expect("launcher runs");
    let events = world.published();
    let resumed = of_type(&events, "AppMoveResumed");
    assert_eq!(resumed.len(), 1, "{events:#?}");
    assert_eq!(resumed[0]["appName"], "office");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planner_near_its_deadline_leaves_its_changes_and_nothing_launches_meanwhile() {
    let world = MgnWorld::start(SCENARIO).await;
    world.mgn.advance(Duration::from_secs(60));
    let shop_only = "version: 1
applications:
  - name: shop
    settings: { launch: { instanceType: m5.large, subnet: subnet-a, securityGroups: [sg-a] } }
    groups: [{name: web, servers: [web-01]}]
";
    put_plan(&world, shop_only).await;
    let planner = world.context::<MgnPlannerConfig>(&[]);
    let plan_once = || {
        mgn_planner::handle(
            rule_event(world.mgn.now(), "mgn-planner"),
            Arc::clone(&planner),
        )
    };
    // A second less than one member's change and the outbox's margin.
    let left = mgn_planner::CHANGE_MARGIN + autopilot_core::outbox::PUBLISH_MARGIN
        - Duration::from_secs(1);
    let near =
        autopilot_core::runtime::with_deadline(std::time::Instant::now() + left, plan_once())
            .await
            .expect("planned what time allowed");
    assert_eq!(
        (
            near.changes_deferred,
            near.launch_configured,
            near.templates_changed
        ),
        (2, 0, 0),
        "the launch configuration and the template left for the next run"
    );
    assert_eq!(near.applications_created, 1, "grouping is not deferred");
    assert_eq!(resolved(&world).await.apps["shop"].settings_pending, 1);

    // Replicated and ready for testing, shop still waits for its settings.
    let launcher = world.context::<MgnLauncherConfig>(&[]);
    let launch_once = || {
        mgn_launcher::handle(
            rule_event(world.mgn.now(), "mgn-launcher"),
            Arc::clone(&launcher),
        )
    };
    world.mgn.advance(Duration::from_secs(30 * 60));
    let waiting = launch_once().await.expect("launcher runs");
    assert_eq!((waiting.launches_started, waiting.waiting), (0, 1));

    let next = plan_once().await.expect("planned the rest");
    assert_eq!(
        (
            next.changes_deferred,
            next.launch_configured,
            next.templates_changed
        ),
        (0, 1, 1)
    );
    assert_eq!(resolved(&world).await.apps["shop"].settings_pending, 0);
    let started = launch_once().await.expect("launcher runs");
    assert_eq!(
        started.launches_started, 1,
        "tested once its settings are in place"
    );
    world.shutdown().await;
}
