//! `autopilot-local run` as a user runs it (the built binary, default scenario): the
//! wave converges, the printed summary and summary.json agree with where the emulator
//! left every app, the HTML report renders in headless Chromium, and bad input gets
//! one clear line with a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-local");

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[&str]) -> Output {
    // From the workspace root, as the README says.
    Command::new(BIN)
        .arg("run")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run autopilot-local")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_default_wave_converges_and_reports_what_happened() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = run(&["--out", out.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{}",
        output.status,
        text(&output.stderr)
    );
    assert!(stdout.contains("Wave `default`: CONVERGED"), "{stdout}");
    // Not a terminal: one plain progress line per change.
    assert!(
        stdout.lines().filter(|l| l.contains("discovered")).count() > 5,
        "{stdout}"
    );

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["converged"], true);
    let apps = summary["apps"].as_array().unwrap();
    let status = |name: &str| {
        let app = apps
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {apps:?}"));
        (
            app["launchStatus"].as_str().unwrap().to_owned(),
            app["heldBy"].as_str().unwrap_or("").to_owned(),
        )
    };
    // The plan brings every application; its dependency, manual app and app
    // replication play out, and intranet's refused launch configuration is fixed by the
    // plan's second version.
    for launched in ["shop", "payments", "intranet"] {
        assert_eq!(status(launched).0, "LAUNCHED", "{launched}");
        assert!(stdout.contains(launched));
    }
    assert!(
        status("reporting").1.contains("manual"),
        "{:?}",
        status("reporting")
    );
    assert_ne!(status("office").0, "LAUNCHED");
    assert!(
        status("office").1.contains("FAILED"),
        "{:?}",
        status("office")
    );
    assert_eq!(
        summary["smsCalls"]["LaunchApp"], 3,
        "one LaunchApp per launched app"
    );
    let failures = summary["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    // payments' plan ends its replication two hours after its launch: its jobs are
    // deleted, it is announced once, and both reports say so.
    let payments = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("payments "))
        .unwrap_or_default();
    assert!(
        payments.contains("finalized: replication ended"),
        "{payments}"
    );
    assert_eq!(
        summary["smsCalls"]["DeleteReplicationJob"], 4,
        "payments' 4 jobs"
    );
    // The terminal names the VM and its application, as the reports do.
    let block = stdout.split("\nFailures\n").nth(1).unwrap_or_default();
    assert!(
        block.contains(" of VM legacy-fax-01 (server s-")
            && block.contains(") of application office: "),
        "{block}"
    );
    // Nothing the functions log breaks into the output, and nothing in colour.
    assert!(!stdout.contains('\u{1b}') && !text(&output.stderr).contains('\u{1b}'));
    // pay-db-02's paused job resumed, replicated, and was deleted when payments was
    // finalized.
    assert!(failures
        .iter()
        .any(|f| f["finalState"] == "DELETED"
            && f["actions"].to_string().contains("onDemandRunStarted")));

    // The planner's work: in the progress lines, the summary and summary.json.
    assert!(stdout.contains("plan v2 ("), "{stdout}");
    assert!(stdout.contains("\nWave plan\n"), "{stdout}");
    assert!(
        stdout.contains("payments         created with 4 servers"),
        "{stdout}"
    );
    let versions = summary["plan"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(
        versions.iter().all(|v| v["refused"].is_null()),
        "{versions:?}"
    );
    let steps = summary["plan"]["steps"].as_array().unwrap();
    let created = steps
        .iter()
        .filter(|s| {
            s["detailType"] == "AppPlanned" && s["what"].as_str().unwrap().starts_with("created")
        })
        .count();
    assert_eq!(created, 5, "{steps:?}");

    // Every launch decision and failure alert is in the event log, once.
    let log = std::fs::read_to_string(out.path().join("events.jsonl")).unwrap();
    let events = |detail_type: &str| -> Vec<Value> {
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["event"]["detail-type"] == detail_type)
            .map(|e| e["event"]["detail"].clone())
            .collect()
    };
    let count = |detail_type: &str| events(detail_type).len();
    assert_eq!(count("AppLaunched"), 3);
    assert_eq!(count("ReplicationJobFailed"), 2);
    let held = events("AppLaunchHeld");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["appName"], "intranet");
    assert_eq!(held[0]["launchStatus"], "CONFIGURATION_INVALID");
    // A template needs a valid launch configuration: the three launched apps', and
    // reporting's, which a person launches and which is announced ready for it.
    assert_eq!(count("TemplateGenerated"), 4);
    assert_eq!(
        std::fs::read_dir(out.path().join("templates/apps"))
            .unwrap()
            .count(),
        4,
        "one archived template per configured app"
    );

    render_in_chromium(&out.path().join("report.html"));
    render_deployed_in_chromium(
        &out.path().join("deployed-report.html"),
        &out.path().join("report.html"),
    );
}

/// The local run's report, rendered headless: the wave's verdict, timeline, apps and
/// plan, without console errors.
fn render_in_chromium(report: &Path) {
    let Some(rendered) = rendered_dom(report, "wave-report.png") else {
        return;
    };
    assert!(rendered.contains("id=\"verdict\""), "{rendered}");
    assert!(rendered.contains("converged: every app"), "{rendered}");
    assert!(rendered.contains("<svg id=\"timeline\""), "{rendered}");
    assert!(
        rendered.matches("<path d=\"M").count() >= 5,
        "five series drawn"
    );
    assert!(rendered.contains(">LAUNCHED<"), "{rendered}");
    assert!(rendered.contains("<table id=\"plan\""), "{rendered}");
    assert!(rendered.contains("launch configuration put"), "{rendered}");
    assert!(
        rendered.contains("<li>pay-db-01</li>"),
        "members by VM name"
    );
}

/// The report the stack itself wrote to its artifacts bucket, rendered headless: where
/// each application stands and why, read from SMS and the decision trail alone.
fn render_deployed_in_chromium(report: &Path, local: &Path) {
    let Some(rendered) = rendered_dom(report, "deployed-wave-report.png") else {
        return;
    };
    assert!(
        rendered.contains("<h1>Wave report: sms-autopilot</h1>"),
        "titled with the stack's name: {rendered}"
    );
    assert!(
        rendered.contains("3 of 5 applications launched"),
        "{rendered}"
    );
    let row = |app: &str| -> String {
        let start = rendered
            .find(&format!("<tr><td>{app}</td>"))
            .unwrap_or_else(|| panic!("no row for {app}: {rendered}"));
        let end = rendered[start..].find("</tr>").unwrap() + start;
        rendered[start..end].to_owned()
    };
    assert!(
        row("shop").contains("<td class=\"depends\">payments</td>"),
        "{}",
        row("shop")
    );
    assert!(
        row("payments").contains("<li>pay-db-01</li>"),
        "{}",
        row("payments")
    );
    assert!(
        row("reporting").contains("the wave plan leaves its launch to a person"),
        "{}",
        row("reporting")
    );
    assert!(
        row("office").contains("legacy-fax-01 (job FAILED)"),
        "{}",
        row("office")
    );
    assert!(
        row("payments").contains("finalized: replication ended"),
        "{}",
        row("payments")
    );
    assert!(
        rendered.contains("VM legacy-fax-01 (server s-"),
        "failures name the VM"
    );
    // Both versions of the plan, named by the planner's decisions (planVersion).
    let versions = rendered
        .split("<table id=\"plan-versions\"")
        .nth(1)
        .and_then(|table| table.split("</table>").next())
        .unwrap_or_default();
    assert_eq!(
        versions.matches("<td>accepted</td>").count(),
        2,
        "{versions}"
    );
    assert!(rendered.contains("launch configuration put"), "{rendered}");
    assert!(
        rendered.matches("<path d=\"M").count() >= 5,
        "five series drawn"
    );
    // One renderer: the two pages have the same sections.
    let local = std::fs::read_to_string(local).unwrap();
    for section in [
        "verdict",
        "timeline",
        "apps",
        "plan",
        "failures",
        "decisions",
    ] {
        let id = format!("id=\"{section}\"");
        assert!(local.contains(&id) && rendered.contains(&id), "{section}");
    }
}

/// The DOM Chromium renders of `report`, after checking its console stayed quiet and
/// keeping a screenshot under target/; None when Chromium is not installed.
fn rendered_dom(report: &Path, screenshot: &str) -> Option<String> {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        // scripts/test.sh installs Debian's chromium and then asks for it; a bare
        // `cargo test` may lack it.
        let required = std::env::var("AUTOPILOT_TESTS_REQUIRE")
            .is_ok_and(|tools| tools.split(',').any(|tool| tool == "chromium"));
        assert!(!required, "chromium is required here but not installed");
        eprintln!("SKIPPED rendering: chromium is not installed (scripts/test.sh installs it)");
        return None;
    };
    let url = format!("file://{}", report.canonicalize().unwrap().display());
    let profile = tempfile::tempdir().unwrap();
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let dom = Command::new(chromium)
        .args(common)
        .arg(&profile_arg)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let console = text(&dom.stderr);
    assert!(
        !console.contains("CONSOLE") && !console.contains("Uncaught"),
        "console errors: {console}"
    );
    let screenshot = workspace_root().join("target").join(screenshot);
    let shot = Command::new(chromium)
        .args(common)
        .arg(&profile_arg)
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--window-size=1100,1400")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(shot.status.success(), "{}", text(&shot.stderr));
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot of {size} bytes");
    eprintln!("report screenshot: {}", screenshot.display());
    Some(text(&dom.stdout))
}

#[test]
fn bad_input_gets_one_clear_line_and_a_non_zero_exit() {
    let cases: [(&[&str], &str); 4] = [
        (&["--frobnicate"], "unexpected argument"),
        (
            &["--scenario", "/nonexistent/wave.yaml"],
            "/nonexistent/wave.yaml",
        ),
        (&["--until", "soon"], "soon"),
        (
            &["--template", "/nonexistent/template.yaml"],
            "/nonexistent/template.yaml",
        ),
    ];
    for (args, expected) in cases {
        let output = run(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
    }

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "servers: [{ vm_name: a, fail_runs: lots }]\n").unwrap();
    let output = run(&["--scenario", bad.path().to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_wave_cut_short_exits_one_saying_why() {
    let out = tempfile::tempdir().unwrap();
    let output = run(&["--until", "30m", "--out", out.path().to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not converge"), "{stderr}");
    assert!(stderr.contains("still waiting for"), "{stderr}");
}

/// `--dry-run` rehearses the default wave: the catalog is still imported, every
/// function decides and changes nothing in SMS, and the run ends with what it would
/// have done, exiting 0.
#[test]
fn a_dry_run_rehearses_the_wave_and_lists_what_it_would_do() {
    let out = tempfile::tempdir().unwrap();
    let output = run(&["--dry-run", "--out", out.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{}",
        output.status,
        text(&output.stderr)
    );
    assert!(stdout.contains("rehearsal complete"), "{stdout}");
    assert!(stdout.contains("jobs it would create: 24"), "{stdout}");
    assert!(stdout.contains("Z pay-db-01\n"), "{stdout}");
    // shop is replicated by app replication: its servers get no standalone job.
    assert!(!stdout.contains("Z shop-web-01\n"), "{stdout}");
    assert!(
        stdout.contains("Wave plan (dry run: what the planner would do)"),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .matches("AppPlanned     payments         created")
            .count(),
        1,
        "each decision told once: {stdout}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    let calls = &summary["smsCalls"];
    assert!(
        calls["ImportServerCatalog"].as_u64().unwrap() >= 1,
        "{calls}"
    );
    for mutating in [
        "CreateReplicationJob",
        "CreateApp",
        "PutAppLaunchConfiguration",
        "StartAppReplication",
        "LaunchApp",
    ] {
        assert!(
            calls[mutating].is_null(),
            "{mutating} in a dry run: {calls}"
        );
    }
    assert_eq!(summary["rehearsal"]["jobs"].as_array().unwrap().len(), 24);
}

#[test]
fn the_default_wave_converges_on_mgn_and_reports_it() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = run(&["--backend", "mgn", "--out", out.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{}",
        output.status,
        text(&output.stderr)
    );
    assert!(
        stdout.starts_with("Playing wave `default` on MGN"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 of 5 applications cut over, 2 left to a person"),
        "{stdout}"
    );
    assert!(stdout.contains("\nMGN calls\n"), "{stdout}");
    let summary: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("summary.json")).expect("summary.json"),
    )
    .expect("JSON");
    assert_eq!(summary["converged"], true);
    assert_eq!(summary["invariantBreaches"], serde_json::json!([]));
    let html = std::fs::read_to_string(out.path().join("report.html")).expect("report.html");
    assert!(html.contains("MGN calls") && html.contains("CUT OVER"));
    let deployed = std::fs::read_to_string(out.path().join("deployed-report.html"))
        .expect("the stack's wave-reporter wrote its report");
    assert!(
        deployed.contains("3 of 5 applications cut over")
            && deployed.contains("MGN as it is now")
            && deployed.contains("launch template versions made"),
        "{deployed}"
    );
    let refused = run(&[
        "--backend",
        "mgn",
        "--dry-run",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("without a dry run"),
        "{}",
        text(&refused.stderr)
    );
}
