//! The default estate and plan played on the MGN stand-in with the MGN functions wired
//! from the template (`Backend` MGN): every application tested, checked, cut over and
//! finalized in dependency order — shop-web-01's failed test retried and passed,
//! pay-db-02's stalled replication retried and recovered, office left to a person by
//! its failing tests, reporting left to a person by the plan, intranet held by a subnet
//! the account lacks until the plan is fixed — with every guard held.

use autopilot_local::wave::mgn::MgnWave;
use autopilot_local::wave::WaveOptions;
use serde_json::Value;

/// The details of the wave's decisions of `detail_type`.
fn decisions(report: &autopilot_local::wave::WaveReport, detail_type: &str) -> Vec<Value> {
    autopilot_local::wave::outcome::bus_events(&report.log)
        .filter(|seen| seen.event["detail-type"] == detail_type)
        .map(|seen| seen.event["detail"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_wave_converges_on_mgn_with_every_guard_held() {
    let wave = MgnWave::start(WaveOptions::default())
        .await
        .expect("the MGN wave starts");
    let report = wave.play(|_| {}).await.expect("the wave plays");
    assert!(report.converged, "{}", report.verdict);
    assert!(
        report.invariant_breaches.is_empty(),
        "{:#?}",
        report.invariant_breaches
    );
    assert!(
        report.dead_lettered.is_empty(),
        "{:?}",
        report.dead_lettered
    );

    let status = |name: &str| {
        let app = report.apps.iter().find(|a| a.name == name).expect(name);
        (app.launch_status.as_str(), app.held_by.clone())
    };
    for name in ["payments", "shop", "intranet"] {
        assert_eq!(status(name), ("CUT OVER", None), "{name}");
    }
    let held = decisions(&report, "AppMoveHeld");
    let intranet = held
        .iter()
        .find(|h| h["appName"] == "intranet")
        .expect("intranet held by its subnet until the plan is fixed");
    assert!(
        intranet["reason"]
            .as_str()
            .unwrap()
            .contains("subnet subnet-0d1b2c3d4e5f60718 does not exist (line 45)"),
        "{intranet}"
    );
    let resumed = decisions(&report, "AppMoveResumed");
    assert_eq!(resumed.len(), 1, "{resumed:#?}");
    assert_eq!(resumed[0]["appName"], "intranet");
    assert_eq!(
        status("reporting"),
        ("HELD", Some("a person launches its test".to_owned()))
    );
    let (office, why) = status("office");
    assert_eq!(office, "HELD");
    assert!(why.unwrap().contains("its test failed 2 times"));

    let failed = decisions(&report, "AppLaunchCheckFailed");
    let on = |app: &str| failed.iter().filter(|f| f["appName"] == app).count();
    assert_eq!((on("shop"), on("office")), (1, 2), "{failed:#?}");
    let shop_failure = failed.iter().find(|f| f["appName"] == "shop").unwrap();
    assert_eq!(shop_failure["vmName"], "shop-web-01");
    let stalled = decisions(&report, "ReplicationProblemDetected");
    assert!(
        stalled
            .iter()
            .any(|p| p["vmName"] == "pay-db-02" && p["problem"] == "stalled"),
        "{stalled:#?}"
    );
    let cleared = decisions(&report, "ReplicationProblemCleared");
    assert!(
        cleared.iter().any(|p| p["vmName"] == "pay-db-02"),
        "{cleared:#?}"
    );
    let cut_over: Vec<String> = decisions(&report, "AppCutOver")
        .iter()
        .map(|d| d["appName"].as_str().unwrap().to_owned())
        .collect();
    let at = |name: &str| cut_over.iter().position(|n| n == name).expect(name);
    assert!(at("payments") < at("shop"), "{cut_over:?}");
}
