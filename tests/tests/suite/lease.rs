//! The functions' lease (`shared/src/lease.rs`) against two S3 peers, the local S3 and
//! moto's: one taking at a time, a lapsed lease taken over and its old holder told so,
//! a run that looked before another took and handed it back answered by that pass, and
//! many runs at once of which no two ever work together, the ones that found the lease
//! held being covered by their holder's passes once more.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autopilot_core::config::{LeasePolicy, LeasedRuns};
use autopilot_core::lease::{HandBack, Lease, LeaseStore, Taking};
use autopilot_core::runtime::{run_alone_if_asked, Clock};
use autopilot_core::trigger::{run_name, scheduled_event};
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};

const BUCKET: &str = "artifacts";

/// The lease of `function` in the test bucket, taken by every run.
fn policy(function: &'static str) -> LeasePolicy<'static> {
    LeasePolicy {
        function,
        bucket: BUCKET,
        runs: LeasedRuns::All,
    }
}

fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    common::clients("http://127.0.0.1:9", "http://127.0.0.1:9", endpoint).s3
}

/// Hands `lease` back, taking it again for no rerun.
async fn released(store: &LeaseStore<'_>, lease: &Lease) -> HandBack {
    store.hand_back(lease, None).await.expect("hand back")
}

async fn one_taking_at_a_time(s3: &aws_sdk_s3::Client, function: &str) {
    let store = LeaseStore::new(s3, BUCKET, function);
    let now = Utc::now();
    let term = TimeDelta::minutes(5);
    let Taking::Taken(first) = store.take("run A", now, term).await.expect("take") else {
        panic!("{function}: a lease nobody held was not taken");
    };
    match store.take("run B", now, term).await.expect("take") {
        Taking::Held(held) => {
            assert_eq!(held.record.holder, "run A");
            assert_eq!(held.record.expires_at, now + term);
        }
        other => panic!("{function}: a held lease was taken again: {other:?}"),
    }
    assert_eq!(released(&store, &first).await, HandBack::Released);
    let Taking::Taken(second) = store.take("run B", now, term).await.expect("take") else {
        panic!("{function}: a lease handed back was not taken");
    };
    assert_ne!(first.record.token, second.record.token);
    assert_eq!(released(&store, &second).await, HandBack::Released);
}

async fn a_lapsed_lease_is_taken_over(s3: &aws_sdk_s3::Client, function: &str) {
    let store = LeaseStore::new(s3, BUCKET, function);
    let now = Utc::now();
    let Taking::Taken(lapsed) = store
        .take("run killed", now, TimeDelta::seconds(30))
        .await
        .expect("take")
    else {
        panic!("{function}: first take failed");
    };
    let later = now + TimeDelta::seconds(31);
    let Taking::Taken(next) = store
        .take("run after", later, TimeDelta::minutes(5))
        .await
        .expect("take")
    else {
        panic!("{function}: a lease past its term was not taken over");
    };
    assert_eq!(
        released(&store, &lapsed).await,
        HandBack::TakenOver,
        "{function}: a holder whose lease was taken over must be told so"
    );
    match store
        .take("third", later, TimeDelta::minutes(5))
        .await
        .expect("take")
    {
        Taking::Held(held) => assert_eq!(held.record.token, next.record.token),
        other => panic!("{function}: the late hand-back freed the new taking: {other:?}"),
    }
    assert_eq!(released(&store, &next).await, HandBack::Released);
}

async fn a_pass_made_since_the_look_answers_the_run(s3: &aws_sdk_s3::Client, function: &str) {
    let store = LeaseStore::new(s3, BUCKET, function);
    let term = TimeDelta::minutes(5);
    for round in ["never taken", "handed back"] {
        let now = Utc::now();
        let seen = store.look().await.expect("look");
        assert_eq!(
            seen.is_some(),
            round == "handed back",
            "{function}: {round}"
        );
        let Taking::Taken(other) = store.take("run quick", now, term).await.expect("take") else {
            panic!("{function}: {round}: a free lease was not taken");
        };
        match store
            .take_as_seen(seen.clone(), "run late", now, term)
            .await
        {
            Ok(Taking::Held(held)) => assert_eq!(held.record.token, other.record.token),
            other => panic!("{function}: {round}: a lease taken since was not held: {other:?}"),
        }
        assert_eq!(released(&store, &other).await, HandBack::Released);
        match store.take_as_seen(seen, "run late", now, term).await {
            Ok(Taking::Answered(passed)) => assert_eq!(passed.token, other.record.token),
            other => panic!("{function}: {round}: a pass made since did not answer: {other:?}"),
        }
    }
}

/// What many runs at once of one leased function did.
#[derive(Debug, Default)]
struct Crowd {
    /// Most runs working at one time.
    most_at_once: usize,
    worked: usize,
    found_held: usize,
    /// Runs that found a pass had been made since they looked.
    answered: usize,
    passed_again: usize,
    /// Runs that ended asking for a rerun after which no work started: the trigger
    /// that started them was never acted on.
    unanswered: usize,
}

/// Twelve runs of `function` at once, each working 20 ms when it holds the lease.
async fn runs_at_once_never_work_together(
    s3: &aws_sdk_s3::Client,
    function: &'static str,
) -> Crowd {
    let clock: Clock = Arc::new(Utc::now);
    let working = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let work_starts = Arc::new(Mutex::new(Vec::new()));
    let mut runs = tokio::task::JoinSet::new();
    for run in 0..12 {
        let (s3, clock) = (s3.clone(), Arc::clone(&clock));
        let (working, most, work_starts) = (
            Arc::clone(&working),
            Arc::clone(&most),
            Arc::clone(&work_starts),
        );
        runs.spawn(async move {
            let policy = policy(function);
            let work = |_payload: Value| {
                let (working, most, work_starts) = (
                    Arc::clone(&working),
                    Arc::clone(&most),
                    Arc::clone(&work_starts),
                );
                async move {
                    work_starts.lock().unwrap().push(Instant::now());
                    let now = working.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    working.fetch_sub(1, Ordering::SeqCst);
                    Ok(json!({ "done": 1 }))
                }
            };
            let started = Instant::now();
            let payload = scheduled_event(&format!("run-{run}"), Utc::now(), None);
            let summary = run_alone_if_asked(Some(policy), &s3, &clock, payload, work).await;
            (started, summary)
        });
    }
    let mut crowd = Crowd::default();
    let mut held_runs_started = Vec::new();
    while let Some(joined) = runs.join_next().await {
        let (started, summary) = joined.expect("run task");
        let summary = summary.expect("a run ends without error");
        if summary["rerunRequested"] == json!(true) {
            assert!(summary["leaseHeldBy"].is_string(), "{summary}");
            crowd.found_held += 1;
            held_runs_started.push(started);
        } else if summary["answeredBy"].is_string() {
            crowd.answered += 1;
            held_runs_started.push(started);
        }
        crowd.passed_again += summary["reruns"].as_u64().unwrap_or(0) as usize;
    }
    let work_starts = work_starts.lock().unwrap();
    // A pass that starts after a run started sees all that run would have seen.
    crowd.unanswered = held_runs_started
        .iter()
        .filter(|held| !work_starts.iter().any(|work| work > *held))
        .count();
    crowd.most_at_once = most.load(Ordering::SeqCst);
    crowd.worked = work_starts.len();
    crowd
}

fn check_crowd(peer: &str, crowd: &Crowd) {
    eprintln!("{peer}: {crowd:?}");
    assert_eq!(crowd.most_at_once, 1, "{peer}: two runs worked at once");
    assert!(
        crowd.found_held + crowd.answered > 0,
        "{peer}: 12 runs at once never met"
    );
    assert_eq!(
        crowd.unanswered, 0,
        "{peer}: runs found the lease held or answered, and no pass started after them"
    );
    assert_eq!(
        crowd.worked,
        12 - crowd.found_held - crowd.answered + crowd.passed_again
    );
}

#[tokio::test]
async fn the_lease_keeps_runs_apart_on_the_local_s3() {
    let s3 = autopilot_local::s3::LocalS3::start(None, 0, &[BUCKET.to_owned()])
        .await
        .expect("local S3 starts");
    let client = s3_client(&s3.endpoint());
    one_taking_at_a_time(&client, "job-watcher").await;
    a_lapsed_lease_is_taken_over(&client, "app-launcher").await;
    a_pass_made_since_the_look_answers_the_run(&client, "wave-reporter").await;
    let crowd = runs_at_once_never_work_together(&client, "job-creator").await;
    check_crowd("local S3", &crowd);
    s3.shutdown().await;
}

#[tokio::test]
async fn the_lease_keeps_runs_apart_on_motos_s3() {
    let Some(moto) = common::moto::start_or_skip("the_lease_keeps_runs_apart_on_motos_s3").await
    else {
        return;
    };
    let client = s3_client(&moto.endpoint);
    client
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("CreateBucket in moto");
    one_taking_at_a_time(&client, "job-watcher").await;
    a_lapsed_lease_is_taken_over(&client, "app-launcher").await;
    a_pass_made_since_the_look_answers_the_run(&client, "wave-reporter").await;
    let crowd = runs_at_once_never_work_together(&client, "job-creator").await;
    check_crowd("moto", &crowd);
}

#[tokio::test]
async fn a_corrupt_lease_is_an_error_naming_it_and_nothing_runs() {
    let s3 = autopilot_local::s3::LocalS3::start(None, 0, &[BUCKET.to_owned()])
        .await
        .expect("local S3 starts");
    let client = s3_client(&s3.endpoint());
    client
        .put_object()
        .bucket(BUCKET)
        .key("state/app-planner/lease.json")
        .body(b"not json".to_vec().into())
        .send()
        .await
        .expect("PutObject");
    let policy = policy("app-planner");
    let clock: Clock = Arc::new(Utc::now);
    let ran = AtomicUsize::new(0);
    let work = |_payload: Value| {
        ran.fetch_add(1, Ordering::SeqCst);
        async { Ok(Value::Null) }
    };
    let payload = scheduled_event("corrupt", Utc::now(), None);
    let error = run_alone_if_asked(Some(policy), &client, &clock, payload, work)
        .await
        .expect_err("a corrupt lease stops the run");
    assert!(
        error.to_string().contains("state/app-planner/lease.json"),
        "{error}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    s3.shutdown().await;
}

#[tokio::test]
async fn a_second_delivery_of_the_held_event_asks_for_no_rerun() {
    let s3 = autopilot_local::s3::LocalS3::start(None, 0, &[BUCKET.to_owned()])
        .await
        .expect("local S3 starts");
    let client = s3_client(&s3.endpoint());
    let store = LeaseStore::new(&client, BUCKET, "app-launcher");
    let event = scheduled_event("tick-1", Utc::now(), None);
    let Taking::Taken(lease) = store
        .take(&run_name(&event), Utc::now(), TimeDelta::minutes(5))
        .await
        .expect("take")
    else {
        panic!("first take failed");
    };
    let policy = policy("app-launcher");
    let clock: Clock = Arc::new(Utc::now);
    let ran = AtomicUsize::new(0);
    let work = |_payload: Value| {
        ran.fetch_add(1, Ordering::SeqCst);
        async { Ok(Value::Null) }
    };
    let again = run_alone_if_asked(Some(policy), &client, &clock, event.clone(), &work)
        .await
        .expect("the repeat ends");
    assert_eq!(again["rerunRequested"], json!(false), "{again}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(released(&store, &lease).await, HandBack::Released);
    // Another event does ask, and the holder takes the lease again for it.
    let Taking::Taken(lease) = store
        .take(&run_name(&event), Utc::now(), TimeDelta::minutes(5))
        .await
        .expect("take")
    else {
        panic!("take after hand-back failed");
    };
    let other = scheduled_event("tick-2", Utc::now(), None);
    let asked = run_alone_if_asked(Some(policy), &client, &clock, other, &work)
        .await
        .expect("the other run ends");
    assert_eq!(asked["rerunRequested"], json!(true), "{asked}");
    let again = store
        .hand_back(&lease, Some((Utc::now(), TimeDelta::minutes(5))))
        .await
        .expect("hand back");
    let HandBack::TakenAgain { by, lease } = again else {
        panic!("the holder was not asked to pass again: {again:?}");
    };
    assert!(by.contains("tick-2"), "{by}");
    assert_eq!(released(&store, &lease).await, HandBack::Released);
    s3.shutdown().await;
}
