//! What a played wave leaves behind: the terminal summary, and the output folder with
//! the event log (JSON lines), the archived templates and a self-contained HTML report
//! whose timeline chart is inline SVG (no script, no network).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use autopilot_core::report::html::{self, short_version};
use autopilot_core::report::{decisions, Table, WaveStatus};

use crate::wave::{outcome, Progress, WaveReport};

/// Files written for a wave.
#[derive(Debug, Clone)]
pub struct Written {
    pub events: PathBuf,
    pub summary: PathBuf,
    pub html: PathBuf,
    /// The report the stack wrote to its artifacts bucket, when it has a reporter.
    pub deployed: Option<PathBuf>,
    pub templates: Vec<PathBuf>,
}

/// The summary a person reads at the end of `autopilot-local run`.
pub fn summary_text(report: &WaveReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Wave `{}`: {} after {} simulated minutes ({} -> {})",
        report.scenario,
        if report.converged {
            "CONVERGED"
        } else {
            "NOT CONVERGED"
        },
        report.simulated_minutes,
        report.started,
        report.ended
    );
    let _ = writeln!(out, "{}", report.verdict);
    apps_text(report, &mut out);
    plan_text(report, &mut out);
    rehearsal_text(report, &mut out);
    let expiring = decisions::expiry_warnings(&outcome::decisions(&report.log));
    if !expiring.is_empty() {
        let _ = writeln!(out, "\nReplication ending (SMS's 90 days per server)");
        for w in &expiring {
            let _ = writeln!(
                out,
                "  {} {}: ends {}, {} days left",
                w.warned_at, w.server, w.expires_at, w.days_left
            );
        }
    }
    let _ = writeln!(out, "\nFailures");
    if report.failures.is_empty() {
        let _ = writeln!(out, "  none");
    }
    let delay = &report.detection_delay;
    if delay.alerted > 0 {
        let _ = writeln!(
            out,
            "  detected {} after {:.1} min on average, {:.1} at most",
            delay.alerted, delay.mean_minutes, delay.max_minutes
        );
    }
    for failure in &report.failures {
        let _ = writeln!(
            out,
            "  {} of {}: {} at {}, now {}",
            failure.job_id,
            failure.subject(),
            failure.state,
            failure.alerted_at,
            failure.final_state
        );
        for action in &failure.actions {
            let _ = writeln!(out, "    - {action}");
        }
    }
    let _ = writeln!(out, "\n{} calls", report.service);
    let total: u64 = report.sms_calls.values().sum();
    for (operation, count) in &report.sms_calls {
        let _ = writeln!(out, "  {operation:<30} {count:>6}");
    }
    let _ = writeln!(out, "  {:<30} {total:>6}", "total");
    let _ = writeln!(out, "\nInvocations");
    for (function, count) in &report.invocations {
        let _ = writeln!(out, "  {function:<30} {count:>6}");
    }
    if !report.dead_lettered.is_empty() {
        let _ = writeln!(out, "\nDead-lettered invocations");
        for line in &report.dead_lettered {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// One line per application: its members, completed runs, launch status and time,
/// and why it is not launched when it is not.
fn apps_text(report: &WaveReport, out: &mut String) {
    let _ = writeln!(out, "\nApps");
    let _ = writeln!(
        out,
        "  {:<16} {:>7} {:>6}  {:<24} {:<22} note",
        "name", "members", "runs", "launch status", "launched at"
    );
    for app in &report.apps {
        let _ = writeln!(
            out,
            "  {:<16} {:>7} {:>6}  {:<24} {:<22} {}",
            app.name,
            app.members,
            app.completed_runs,
            app.launch_status,
            app.launched_at.as_deref().unwrap_or("-"),
            app.note()
        );
    }
}

/// The planner's part of the summary: each version of the plan and what became of it,
/// then every change; nothing when the wave had no plan.
fn plan_text(report: &WaveReport, out: &mut String) {
    let plan = &report.plan;
    if plan.versions.is_empty() {
        return;
    }
    let heading = if report.rehearsal.is_some() {
        "Wave plan (dry run: what the planner would do)"
    } else {
        "Wave plan"
    };
    let _ = writeln!(out, "\n{heading}");
    for version in &plan.versions {
        let verdict = match &version.refused {
            None => "accepted".to_owned(),
            Some(problems) => format!("refused, {} problems", problems.len()),
        };
        let _ = writeln!(
            out,
            "  version {} put in place at {}: {verdict}",
            short_version(&version.version),
            version.time
        );
        for problem in version.refused.iter().flatten() {
            let _ = writeln!(out, "    - {problem}");
        }
    }
    for step in &plan.steps {
        let _ = writeln!(
            out,
            "  {} {:<14} {:<16} {}",
            step.time, step.detail_type, step.app, step.what
        );
    }
}

/// In a dry run, what would have been done: the jobs, the launches and the
/// applications announced ready, each with when it was decided.
fn rehearsal_text(report: &WaveReport, out: &mut String) {
    let Some(rehearsal) = &report.rehearsal else {
        return;
    };
    let _ = writeln!(out, "\nRehearsal (dry run: nothing was changed in SMS)");
    let lists = [
        ("jobs it would create", &rehearsal.jobs),
        ("launches it would make", &rehearsal.launches),
        ("applications it would announce ready", &rehearsal.ready),
    ];
    for (what, decided) in lists {
        let _ = writeln!(out, "  {what}: {}", decided.len());
        for (time, subject) in decided {
            let _ = writeln!(out, "    {time} {subject}");
        }
    }
    if rehearsal.launches.is_empty() {
        let _ = writeln!(
            out,
            "  (a dry run replicates nothing, so no application becomes ready to launch; the wave plan above shows what would be created and configured)"
        );
    }
}

/// One progress line, for terminals and logs alike.
pub fn progress_line(progress: &Progress) -> String {
    let plan = if progress.plan_versions == 0 {
        String::new()
    } else {
        format!(
            "  plan v{} ({} changes)",
            progress.plan_versions, progress.plan_changes
        )
    };
    format!(
        "{} +{:>5} min  discovered {:>4}  replicating {:>4}  replicated {:>4}  failed {:>3}  launched {}/{}{plan}",
        progress.time,
        progress.elapsed_minutes,
        progress.discovered,
        progress.replicating,
        progress.replicated,
        progress.failed,
        progress.launched,
        progress.apps
    )
}

/// Writes the output folder.
pub fn write_outputs(report: &WaveReport, folder: &Path) -> std::io::Result<Written> {
    std::fs::create_dir_all(folder)?;
    let events = folder.join("events.jsonl");
    let mut lines = String::new();
    for entry in &report.log {
        lines.push_str(&serde_json::to_string(entry).unwrap_or_default());
        lines.push('\n');
    }
    std::fs::write(&events, lines)?;
    let summary = folder.join("summary.json");
    std::fs::write(
        &summary,
        serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
    )?;
    let mut templates = Vec::new();
    for (key, content) in &report.archived_templates {
        let target = folder.join("templates").join(key);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, content)?;
        templates.push(target);
    }
    let html = folder.join("report.html");
    std::fs::write(&html, html_report(report))?;
    let deployed = match &report.deployed_report {
        Some(page) => {
            let path = folder.join("deployed-report.html");
            std::fs::write(&path, page)?;
            Some(path)
        }
        None => None,
    };
    Ok(Written {
        events,
        summary,
        html,
        deployed,
        templates,
    })
}

/// The self-contained HTML report, drawn by the one renderer the deployed stack uses.
pub fn html_report(report: &WaveReport) -> String {
    html::render(&wave_status(report))
}

/// The report's model filled from what the local run saw: the emulator's end state,
/// every decision, and the run's own sections (SMS calls, faults, invariants).
pub fn wave_status(report: &WaveReport) -> WaveStatus {
    let decisions = outcome::decisions(&report.log);
    WaveStatus {
        title: report.scenario.clone(),
        verdict: report.verdict.clone(),
        settled: report.converged,
        period: format!(
            "Simulated {} to {} ({} minutes).",
            report.started, report.ended, report.simulated_minutes
        ),
        timeline: report.timeline.clone(),
        timeline_minutes: report.simulated_minutes,
        apps: report.apps.clone(),
        plan: report.plan.clone(),
        expiring: decisions::expiry_warnings(&decisions),
        failures: report.failures.clone(),
        failures_note: detection_text(&report.detection_delay),
        tables: run_tables(report),
        decisions,
    }
}

/// The sections only a local run has.
fn run_tables(report: &WaveReport) -> Vec<Table> {
    let counts = |map: &std::collections::BTreeMap<String, u64>| -> Vec<Vec<String>> {
        map.iter()
            .map(|(name, count)| vec![name.clone(), count.to_string()])
            .collect()
    };
    let mut tables = vec![Table {
        id: "calls".into(),
        title: format!("{} calls", report.service),
        columns: vec!["operation".into(), "calls".into()],
        rows: counts(&report.sms_calls),
    }];
    if !report.faults.is_empty() {
        tables.push(Table {
            id: "faults".into(),
            title: "Faults injected".into(),
            columns: vec!["fault".into(), "times".into()],
            rows: counts(&report.faults),
        });
    }
    if !report.invariant_breaches.is_empty() {
        tables.push(Table {
            id: "breaches".into(),
            title: "Invariants broken".into(),
            columns: vec!["what".into()],
            rows: report
                .invariant_breaches
                .iter()
                .map(|b| vec![b.clone()])
                .collect(),
        });
    }
    tables
}

/// The detection delay in a sentence.
fn detection_text(delay: &crate::wave::DetectionDelay) -> String {
    if delay.alerted == 0 {
        return "No failure was alerted.".to_owned();
    }
    format!(
        "{} failures alerted {:.1} simulated minutes after they happened on average, {:.1} at most.",
        delay.alerted, delay.mean_minutes, delay.max_minutes
    )
}
