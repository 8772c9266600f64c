//! The report as one self-contained HTML page: tables and an inline SVG timeline, no
//! script and no network, so it opens from a laptop's disk or an S3 link alike.

use std::fmt::Write as _;

use super::{Decision, Progress, Table, WaveStatus};

/// The page.
pub fn render(status: &WaveStatus) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sms-autopilot wave report: {name}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#111}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;font-size:.9rem;vertical-align:top}}
th{{background:#f3f4f6}}.verdict{{font-weight:bold;color:{colour}}}ul{{margin:0;padding-left:1rem}}
#decisions td:last-child{{font-family:monospace;font-size:.75rem;word-break:break-word}}
</style></head><body>
<h1>Wave report: {name}</h1>
<p class="verdict" id="verdict">{verdict}</p>
<p id="period">{period}</p>
<h2>Timeline</h2>
{svg}
<h2>Apps</h2>
<table id="apps"><tr><th>name</th><th>id</th><th>members</th><th>depends on</th><th>completed runs</th><th>launch status</th><th>launched at</th><th>note</th></tr>{apps}</table>
{plan}{expiring}<h2>Failures</h2>
<p id="detection">{failures_note}</p>
<table id="failures"><tr><th>job</th><th>server</th><th>state</th><th>alerted at</th><th>now</th><th>what was done</th></tr>{failures}</table>
{tables}<h2>Decisions</h2>
<table id="decisions"><tr><th>time</th><th>detail-type</th><th>detail</th></tr>{decisions}</table>
</body></html>
"#,
        name = escape(&status.title),
        colour = if status.settled { "#166534" } else { "#991b1b" },
        verdict = escape(&status.verdict),
        period = escape(&status.period),
        svg = timeline_svg(&status.timeline, status.timeline_minutes),
        apps = app_rows(status),
        plan = plan_section(status),
        expiring = expiry_section(status),
        failures_note = escape(&status.failures_note),
        failures = failure_rows(status),
        tables = status.tables.iter().map(table).collect::<String>(),
        decisions = decision_rows(&status.decisions),
    )
}

/// A plan version's digest, shortened as git shortens commits.
pub fn short_version(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cells(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!("<td>{}</td>", escape(value)))
        .collect()
}

fn bullets(items: &[String]) -> String {
    let items: String = items
        .iter()
        .map(|item| format!("<li>{}</li>", escape(item)))
        .collect();
    format!("<ul>{items}</ul>")
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

/// An SVG step chart of the timeline, `span` minutes wide.
fn timeline_svg(points: &[Progress], span: u64) -> String {
    let (width, height, left, bottom, top, right) = (900.0, 320.0, 50.0, 40.0, 20.0, 20.0);
    let max_minute = span.max(1) as f64;
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
        for point in points {
            let (px, py) = (x(point.elapsed_minutes), y(series_value(point, index)));
            let step = if path.is_empty() { "M" } else { " H" };
            let _ = if path.is_empty() {
                write!(path, "{step}{px:.1},{py:.1}")
            } else {
                write!(path, "{step}{px:.1} V{py:.1}")
            };
        }
        if !path.is_empty() {
            let _ = write!(path, " H{:.1}", x(span));
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

/// One row per application: its members by VM name, what it waits for, how far it is.
fn app_rows(status: &WaveStatus) -> String {
    let mut rows = String::new();
    for app in &status.apps {
        let members = if app.member_names.is_empty() {
            app.members.to_string()
        } else {
            format!("{} {}", app.members, bullets(&app.member_names))
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td class=\"members\">{members}</td><td class=\"depends\">{}</td><td>{}</td><td class=\"status\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&app.name),
            escape(&app.id),
            escape(&app.depends_on.join(", ")),
            app.completed_runs,
            escape(&app.launch_status),
            escape(app.launched_at.as_deref().unwrap_or("-")),
            escape(&app.note())
        );
    }
    rows
}

/// The wave plan's versions and the planner's changes, as two tables; nothing when the
/// wave has no plan.
fn plan_section(status: &WaveStatus) -> String {
    let plan = &status.plan;
    if plan.versions.is_empty() && plan.steps.is_empty() {
        return String::new();
    }
    let mut versions = String::new();
    for version in &plan.versions {
        let verdict = match &version.refused {
            None => "accepted".to_owned(),
            Some(problems) => format!("refused{}", bullets(problems)),
        };
        let _ = write!(
            versions,
            "<tr><td>{}</td><td>{}</td><td>{verdict}</td></tr>",
            escape(&version.time),
            escape(short_version(&version.version)),
        );
    }
    let steps: String = plan
        .steps
        .iter()
        .map(|step| {
            let row = [&step.time, &step.detail_type, &step.app, &step.what].map(String::clone);
            format!("<tr>{}</tr>", cells(&row))
        })
        .collect();
    format!(
        r#"<h2>Wave plan</h2>
<table id="plan-versions"><tr><th>put in place</th><th>version</th><th>verdict</th></tr>{versions}</table>
<table id="plan"><tr><th>time</th><th>detail-type</th><th>application</th><th>what the planner did</th></tr>{steps}</table>
"#
    )
}

/// The replication expiry warnings; nothing when there were none.
fn expiry_section(status: &WaveStatus) -> String {
    if status.expiring.is_empty() {
        return String::new();
    }
    let rows: String = status
        .expiring
        .iter()
        .map(|w| {
            let row = [&w.warned_at, &w.server, &w.expires_at, &w.days_left].map(String::clone);
            format!("<tr>{}</tr>", cells(&row))
        })
        .collect();
    format!(
        "<h2>Replication ending</h2>\n<table id=\"expiring\"><tr><th>warned at</th><th>server</th><th>replication ends</th><th>days left</th></tr>{rows}</table>\n"
    )
}

/// One row per failure, the server by VM name and application when known, with what
/// was done.
fn failure_rows(status: &WaveStatus) -> String {
    let mut rows = String::new();
    for failure in &status.failures {
        let row = [
            failure.job_id.clone(),
            failure.subject(),
            failure.state.clone(),
            failure.alerted_at.clone(),
            failure.final_state.clone(),
        ];
        let _ = write!(
            rows,
            "<tr>{}<td>{}</td></tr>",
            cells(&row),
            bullets(&failure.actions)
        );
    }
    rows
}

/// A section of one filler's own, as a titled table.
fn table(table: &Table) -> String {
    let head: String = table
        .columns
        .iter()
        .map(|c| format!("<th>{}</th>", escape(c)))
        .collect();
    let rows: String = table
        .rows
        .iter()
        .map(|row| format!("<tr>{}</tr>", cells(row)))
        .collect();
    format!(
        "<h2>{}</h2>\n<table id=\"{}\"><tr>{head}</tr>{rows}</table>\n",
        escape(&table.title),
        escape(&table.id)
    )
}

/// One row per decision.
fn decision_rows(decisions: &[Decision]) -> String {
    decisions
        .iter()
        .map(|d| {
            let row = [d.time.clone(), d.detail_type.clone(), d.detail.to_string()];
            format!("<tr>{}</tr>", cells(&row))
        })
        .collect()
}
