//! What a played wave leaves behind: the terminal summary, and the output folder with
//! the event log (JSON lines), the archived templates and a self-contained HTML report
//! whose timeline chart is inline SVG (no script, no network).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::wave::{LogEntry, Progress, WaveReport};

/// Files written for a wave.
#[derive(Debug, Clone)]
pub struct Written {
    pub events: PathBuf,
    pub summary: PathBuf,
    pub html: PathBuf,
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
    let expiring = expiry_warnings(report);
    if !expiring.is_empty() {
        let _ = writeln!(out, "\nReplication ending (SMS's 90 days per server)");
        for [time, server, expires, days] in &expiring {
            let _ = writeln!(out, "  {time} {server}: ends {expires}, {days} days left");
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
            "  {} (server {}) {} at {}, now {}",
            failure.job_id,
            failure.server_id,
            failure.state,
            failure.alerted_at,
            failure.final_state
        );
        for action in &failure.actions {
            let _ = writeln!(out, "    - {action}");
        }
    }
    let _ = writeln!(out, "\nSMS calls");
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
            app.held_by.as_deref().unwrap_or("")
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

/// The `ReplicationExpiring` warnings of the wave: when, the server (VM name first),
/// when its replication ends and the days left then.
fn expiry_warnings(report: &WaveReport) -> Vec<[String; 4]> {
    crate::wave::outcome::bus_events(&report.log)
        .filter(|seen| seen.event["detail-type"] == "ReplicationExpiring")
        .map(|seen| {
            let detail = &seen.event["detail"];
            let text = |key: &str| detail[key].as_str().unwrap_or("?").to_owned();
            let server = match detail["vmName"].as_str() {
                Some(vm) => format!("{vm} ({})", text("serverId")),
                None => text("serverId"),
            };
            [
                seen.time.to_owned(),
                server,
                text("expiresAt"),
                detail["daysLeft"].to_string(),
            ]
        })
        .collect()
}

/// A plan version's digest, shortened as git shortens commits.
fn short_version(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
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
    Ok(Written {
        events,
        summary,
        html,
        templates,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The series drawn on the timeline, with their colours.
const SERIES: [(&str, &str); 5] = [
    ("discovered", "#6b7280"),
    ("replicating", "#2563eb"),
    ("replicated", "#16a34a"),
    ("failed", "#dc2626"),
    ("launched apps", "#9333ea"),
];

fn series_value(progress: &Progress, index: usize) -> usize {
    match index {
        0 => progress.discovered,
        1 => progress.replicating,
        2 => progress.replicated,
        3 => progress.failed,
        _ => progress.launched,
    }
}

/// An SVG step chart of the timeline.
fn timeline_svg(report: &WaveReport) -> String {
    let (width, height, left, bottom, top, right) = (900.0, 320.0, 50.0, 40.0, 20.0, 20.0);
    let points = &report.timeline;
    let max_minute = report.simulated_minutes.max(1) as f64;
    let max_value = points
        .iter()
        .flat_map(|p| (0..SERIES.len()).map(|i| series_value(p, i)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |minute: u64| left + (minute as f64 / max_minute) * (width - left - right);
    let y = |value: usize| height - bottom - (value as f64 / max_value) * (height - bottom - top);
    let mut svg = format!(
        r#"<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="wave timeline">"#
    );
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="#111"/><line x1="{left}" y1="{top}" x2="{left}" y2="{b}" stroke="#111"/>"##,
        b = height - bottom,
        r = width - right
    );
    for tick in 0..=4 {
        let minute = (max_minute as u64) * tick / 4;
        let value = (max_value as usize) * tick as usize / 4;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">{}h{:02}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"#,
            x(minute),
            height - bottom + 16.0,
            minute / 60,
            minute % 60,
            left - 6.0,
            y(value) + 4.0,
            value
        );
    }
    for (index, (name, colour)) in SERIES.iter().enumerate() {
        let mut path = String::new();
        let mut previous: Option<f64> = None;
        for point in points {
            let (px, py) = (x(point.elapsed_minutes), y(series_value(point, index)));
            match previous {
                None => {
                    let _ = write!(path, "M{px:.1},{py:.1}");
                }
                Some(_) => {
                    let _ = write!(path, " H{px:.1} V{py:.1}");
                }
            }
            previous = Some(py);
        }
        if previous.is_some() {
            let _ = write!(path, " H{:.1}", x(report.simulated_minutes));
        }
        let _ = write!(
            svg,
            r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"><title>{name}</title></path>"#
        );
        let _ = write!(
            svg,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}" font-size="12">{name}</text>"#,
            left + 10.0 + index as f64 * 150.0,
            top - 12.0,
            left + 24.0 + index as f64 * 150.0,
            top - 3.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The self-contained HTML report.
pub fn html_report(report: &WaveReport) -> String {
    let apps = app_rows(report);
    let failures = failure_rows(report);
    let calls = call_rows(report);
    let decisions = decision_rows(report);
    let plan = plan_section(report);
    let expiring = expiry_section(report);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sms-autopilot wave report: {name}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#111}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;font-size:.9rem;vertical-align:top}}
th{{background:#f3f4f6}}.verdict{{font-weight:bold;color:{colour}}}ul{{margin:0;padding-left:1rem}}
#decisions td:last-child{{font-family:monospace;font-size:.75rem}}
</style></head><body>
<h1>Wave report: {name}</h1>
<p class="verdict" id="verdict">{verdict}</p>
<p>Simulated {started} to {ended} ({minutes} minutes).</p>
<h2>Timeline</h2>
{svg}
<h2>Apps</h2>
<table id="apps"><tr><th>name</th><th>id</th><th>members</th><th>completed runs</th><th>launch status</th><th>launched at</th><th>note</th></tr>{apps}</table>
{plan}{expiring}<h2>Failures</h2>
<p id="detection">{detection}</p>
<table id="failures"><tr><th>job</th><th>server</th><th>state</th><th>alerted at</th><th>final state</th><th>what was done</th></tr>{failures}</table>
<h2>SMS calls</h2>
<table id="calls"><tr><th>operation</th><th>calls</th></tr>{calls}</table>
<h2>Decisions</h2>
<table id="decisions"><tr><th>time</th><th>detail-type</th><th>detail</th></tr>{decisions}</table>
</body></html>
"#,
        name = escape(&report.scenario),
        colour = if report.converged {
            "#166534"
        } else {
            "#991b1b"
        },
        verdict = escape(&report.verdict),
        started = escape(&report.started),
        ended = escape(&report.ended),
        minutes = report.simulated_minutes,
        svg = timeline_svg(report),
        detection = detection_text(&report.detection_delay),
    )
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

/// One table row per app.
fn app_rows(report: &WaveReport) -> String {
    let mut apps = String::new();
    for app in &report.apps {
        let _ = write!(
            apps,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"status\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&app.name),
            escape(&app.id),
            app.members,
            app.completed_runs,
            escape(&app.launch_status),
            escape(app.launched_at.as_deref().unwrap_or("-")),
            escape(app.held_by.as_deref().unwrap_or(""))
        );
    }
    apps
}

/// The wave plan's versions and the planner's changes, as two tables; nothing when the
/// wave had no plan.
fn plan_section(report: &WaveReport) -> String {
    let plan = &report.plan;
    if plan.versions.is_empty() {
        return String::new();
    }
    let mut versions = String::new();
    for version in &plan.versions {
        let verdict = match &version.refused {
            None => "accepted".to_owned(),
            Some(problems) => format!(
                "refused<ul>{}</ul>",
                problems
                    .iter()
                    .map(|p| format!("<li>{}</li>", escape(p)))
                    .collect::<String>()
            ),
        };
        let _ = write!(
            versions,
            "<tr><td>{}</td><td>{}</td><td>{verdict}</td></tr>",
            escape(&version.time),
            escape(short_version(&version.version)),
        );
    }
    let mut steps = String::new();
    for step in &plan.steps {
        let _ = write!(
            steps,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&step.time),
            escape(&step.detail_type),
            escape(&step.app),
            escape(&step.what)
        );
    }
    format!(
        r#"<h2>Wave plan</h2>
<table id="plan-versions"><tr><th>put in place</th><th>version</th><th>verdict</th></tr>{versions}</table>
<table id="plan"><tr><th>time</th><th>detail-type</th><th>application</th><th>what the planner did</th></tr>{steps}</table>
"#
    )
}

/// The replication expiry warnings as a table; nothing when there were none.
fn expiry_section(report: &WaveReport) -> String {
    let warnings = expiry_warnings(report);
    if warnings.is_empty() {
        return String::new();
    }
    let rows: String = warnings
        .iter()
        .map(|cells| {
            let cells: String = cells
                .iter()
                .map(|c| format!("<td>{}</td>", escape(c)))
                .collect();
            format!("<tr>{cells}</tr>")
        })
        .collect();
    format!(
        "<h2>Replication ending</h2>\n<table id=\"expiring\"><tr><th>warned at</th><th>server</th><th>replication ends</th><th>days left</th></tr>{rows}</table>\n"
    )
}

/// One table row per failure, with what was done.
fn failure_rows(report: &WaveReport) -> String {
    let mut failures = String::new();
    for failure in &report.failures {
        let _ = write!(
            failures,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><ul>{}</ul></td></tr>",
            escape(&failure.job_id),
            escape(&failure.server_id),
            escape(&failure.state),
            escape(&failure.alerted_at),
            escape(&failure.final_state),
            failure
                .actions
                .iter()
                .map(|a| format!("<li>{}</li>", escape(a)))
                .collect::<String>()
        );
    }
    failures
}

/// One table row per SMS operation.
fn call_rows(report: &WaveReport) -> String {
    let mut calls = String::new();
    for (operation, count) in &report.sms_calls {
        let _ = write!(
            calls,
            "<tr><td>{}</td><td>{count}</td></tr>",
            escape(operation)
        );
    }
    calls
}

/// One table row per project event (the functions' decisions).
fn decision_rows(report: &WaveReport) -> String {
    let mut decisions = String::new();
    for entry in &report.log {
        if let LogEntry::Event { time, bus, event } = entry {
            if event["source"] == "sms-autopilot" {
                let _ = write!(
                    decisions,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(time),
                    escape(event["detail-type"].as_str().unwrap_or_default()),
                    escape(&format!("{bus}: {}", event["detail"]))
                );
            }
        }
    }
    decisions
}
