use super::*;
use serde_json::json;

fn change(at: &str, server: &str, from: &'static str, to: &'static str) -> LifeCycleChangeView {
    LifeCycleChangeView {
        at: at.parse().expect("time"),
        server_id: server.to_owned(),
        from,
        to,
    }
}

fn job(initiated_by: &str, at: &str, servers: &[&str]) -> Value {
    let servers: Vec<Value> = servers
        .iter()
        .map(|s| json!({ "sourceServerID": s }))
        .collect();
    json!({
        "type": "LAUNCH",
        "initiatedBy": initiated_by,
        "creationDateTime": at,
        "participatingServers": servers,
    })
}

/// db (s-db, Saturdays only) and web (s-web), web depending on db; 2024-01-06 was a
/// Saturday.
fn estate() -> (Vec<Value>, Vec<Value>, Plan) {
    let servers = vec![
        json!({ "sourceServerID": "s-db", "applicationID": "app-1" }),
        json!({ "sourceServerID": "s-web", "applicationID": "app-2" }),
    ];
    let applications = vec![
        json!({ "applicationID": "app-1", "name": "db" }),
        json!({ "applicationID": "app-2", "name": "web" }),
    ];
    let plan = Plan::parse(
        "version: 1\napplications:\n  - name: db\n    window: \"sat 00:00-24:00\"\n    groups: [{name: g, servers: [db-01]}]\n  - name: web\n    dependsOn: [db]\n    groups: [{name: g, servers: [web-01]}]\n",
    )
    .expect("plan");
    (servers, applications, plan)
}

fn breaches_of(jobs: &[Value], changes: &[LifeCycleChangeView]) -> Vec<String> {
    let (servers, applications, plan) = estate();
    let record = MgnRecord {
        jobs,
        servers: &servers,
        applications: &applications,
        changes,
    };
    launch_breaches(&record, &plan)
}

#[test]
fn a_wave_in_order_breaks_nothing_whatever_order_its_events_crossed_the_bus() {
    let jobs = [
        job("START_TEST", "2024-01-06T00:00:00Z", &["s-db"]),
        job("START_TEST", "2024-01-06T01:00:00Z", &["s-web"]),
        job("START_CUTOVER", "2024-01-06T02:00:00Z", &["s-db"]),
        job("START_CUTOVER", "2024-01-06T03:00:00Z", &["s-web"]),
    ];
    let changes = [
        change(
            "2024-01-06T00:30:00Z",
            "s-db",
            "TESTING",
            "READY_FOR_CUTOVER",
        ),
        // Marked in the same second its dependent's test was asked for.
        change(
            "2024-01-06T01:00:00.400Z",
            "s-web",
            "TESTING",
            "READY_FOR_CUTOVER",
        ),
        change("2024-01-06T02:30:00Z", "s-db", "CUTTING_OVER", "CUTOVER"),
    ];
    assert_eq!(breaches_of(&jobs, &changes), Vec::<String>::new());
}

#[test]
fn every_launch_guard_is_named_when_broken() {
    let jobs = [
        // Before db's test passed, and db outside its window (a Monday).
        job("START_TEST", "2024-01-01T00:00:00Z", &["s-web"]),
        job("START_TEST", "2024-01-01T01:00:00Z", &["s-db"]),
        // db never marked ready: a cutover without a passed test.
        job("START_CUTOVER", "2024-01-06T02:00:00Z", &["s-db"]),
        // web's test reverted before its cutover, and db not yet finalized.
        job("START_CUTOVER", "2024-01-06T05:00:00Z", &["s-web"]),
        // db again after its finalize.
        job("START_CUTOVER", "2024-01-06T07:00:00Z", &["s-db"]),
    ];
    let changes = [
        change(
            "2024-01-01T00:30:00Z",
            "s-web",
            "TESTING",
            "READY_FOR_CUTOVER",
        ),
        change(
            "2024-01-06T04:00:00Z",
            "s-web",
            "READY_FOR_CUTOVER",
            "READY_FOR_TEST",
        ),
        change("2024-01-06T06:00:00Z", "s-db", "CUTTING_OVER", "CUTOVER"),
    ];
    let expected = [
        "2024-01-01 00:00:00 UTC: web test started before db's",
        "2024-01-01 01:00:00 UTC: db test started outside its window",
        "2024-01-06 02:00:00 UTC: s-db cutover started without a passed test",
        "2024-01-06 05:00:00 UTC: s-web cut over without a test since its passed test was reverted at 2024-01-06 04:00:00 UTC",
        "2024-01-06 05:00:00 UTC: web cutover started before db's",
        "2024-01-06 07:00:00 UTC: s-db launched for cutover after its cutover was finalized at 2024-01-06 06:00:00 UTC",
    ];
    assert_eq!(breaches_of(&jobs, &changes), expected);
    let stray = [job("START_TEST", "2024-01-06T00:00:00Z", &["s-stray"])];
    assert_eq!(
        breaches_of(&stray, &[]),
        ["2024-01-06 00:00:00 UTC: s-stray launched for test in no MGN application"]
    );
}

#[test]
fn a_revert_in_the_launchs_own_second_races_it_and_is_let_be() {
    let jobs = [
        job("START_TEST", "2024-01-06T00:00:00Z", &["s-db"]),
        job("START_CUTOVER", "2024-01-06T02:00:00Z", &["s-db"]),
    ];
    let changes = [
        change(
            "2024-01-06T01:00:00Z",
            "s-db",
            "TESTING",
            "READY_FOR_CUTOVER",
        ),
        change(
            "2024-01-06T02:00:00.200Z",
            "s-db",
            "READY_FOR_CUTOVER",
            "READY_FOR_TEST",
        ),
    ];
    assert_eq!(breaches_of(&jobs, &changes), Vec::<String>::new());
}
