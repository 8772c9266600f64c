//! The Markdown table of a bench run: the machine, one section per measurement, and
//! the targets with their status; written between the bench markers of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::args::BenchArgs;
use crate::cold_start::ColdStart;
use crate::convergence::Convergence;
use crate::criterion::Estimate;
use crate::cycles::Cycle;
use crate::error::Measured;
use crate::machine::Machine;
use crate::packages::Package;
use crate::timed::{Timed, LAMBDA_LIMIT_SECS};
use crate::verdict::{mib, status, Target};
use crate::world::PAGE;

/// The lines around a generated section of BENCHMARKS.md: (before, after).
pub type Section = (&'static str, &'static str);
/// The SMS stack's section.
pub const SMS_SECTION: Section = (
    "<!-- bench:begin — written by `autopilot-bench`; do not edit by hand -->",
    "<!-- bench:end -->",
);
/// The MGN stack's section.
pub const MGN_SECTION: Section = (
    "<!-- bench:mgn:begin — written by `autopilot-bench --backend mgn`; do not edit by hand -->",
    "<!-- bench:mgn:end -->",
);

/// The targets the table judges each measurement against.
const INIT_TARGET_MS: f64 = 10.0;
const PACKAGE_TARGET_BYTES: u64 = 4 * 1024 * 1024;
const EFFICIENCY_TARGET: f64 = 0.8;

/// Everything a bench run measured, and what failed.
pub struct Figures<'a> {
    pub machine: Machine,
    pub args: &'a BenchArgs,
    pub cold: Vec<(&'static str, Measured<ColdStart>)>,
    pub cycles: Vec<(usize, Measured<Vec<Cycle>>)>,
    pub timed: Measured<Vec<Timed>>,
    pub convergence: Measured<Vec<Convergence>>,
    pub side_by_side: Measured<crate::side_by_side::SideBySide>,
    pub resolution: Measured<crate::resolution::Resolution>,
    pub packages: Vec<Package>,
    pub criterion: Vec<(&'static str, Measured<Estimate>)>,
    /// Each measurement that could not be taken, and why.
    pub failures: Vec<String>,
}

/// Nearest-rank percentile of unsorted figures.
pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn duration_text(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.1} s")
    } else {
        format!("{:.0} ms", secs * 1000.0)
    }
}

fn ns_text(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

/// The whole table: the machine, one section per measurement, then the targets.
pub fn render(f: &Figures<'_>) -> String {
    let mut out = String::new();
    let m = &f.machine;
    let _ = writeln!(
        out,
        "Measured {} at commit {} on {} CPUs ({}), load average {} at the start; {}.",
        m.date, m.commit, m.cpus, m.model, m.load, m.rustc
    );
    let _ = writeln!(
        out,
        "The functions are this machine's **x86_64** release builds (`cargo build --release -p <name>`, \
         the workspace's release profile); Lambda deploys arm64.\n"
    );
    if !f.args.child_env.is_empty() {
        let extra: Vec<String> = f
            .args
            .child_env
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect();
        let _ = writeln!(
            out,
            "Experiment: every function started with {}.\n",
            extra.join(", ")
        );
    }

    let mut summary: Vec<Target> = Vec::new();
    cold_start_section(
        &format!("1. Cold start ({} starts per function)", f.args.starts),
        &f.cold,
        &mut out,
        &mut summary,
    );
    crate::memory_table::memory_section(
        "2. Peak RSS (VmHWM) through one cycle",
        &f.cycles,
        &mut out,
        &mut summary,
    );
    packages_section(f, &mut out, &mut summary);
    calls_section(f, &mut out, &mut summary);
    sweeps_section(f, &mut out, &mut summary);
    convergence_section(f, &mut out, &mut summary);
    criterion_section(f, &mut out);
    let side_by_side = crate::side_by_side::section(&f.side_by_side, &mut out);
    for (target, measured, met) in side_by_side {
        summary.push((target, measured, status(met)));
    }
    crate::resolution::section(&f.resolution, &f.cycles, &mut out, &mut summary);
    let _ = writeln!(
        out,
        "\n### Targets\n\n| target | measured | status |\n| --- | --- | --- |"
    );
    for (target, measured, state) in summary {
        let _ = writeln!(out, "| {target} | {measured} | {state} |");
    }
    out
}

/// Cold start: init and first response per function.
pub(crate) fn cold_start_section(
    heading: &str,
    cold: &[(&'static str, Measured<ColdStart>)],
    out: &mut String,
    summary: &mut Vec<Target>,
) {
    let _ = writeln!(
        out,
        "### {heading}\n\n\
         | function | spawn → first invocation/next, median | p90 | spawn → first response, median | p90 | peak RSS |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut worst_init: Option<(f64, &str)> = None;
    for (function, figures) in cold.iter() {
        match figures {
            Ok(c) => {
                let median = percentile(&c.init_ms, 50.0);
                if worst_init.is_none_or(|(w, _)| median > w) {
                    worst_init = Some((median, function));
                }
                let rss = c
                    .peak_rss_kib
                    .iter()
                    .max()
                    .map_or("?".into(), |k| format!("{:.1} MiB", mib(*k)));
                let _ = writeln!(
                    out,
                    "| {function} | {median:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {rss} |",
                    percentile(&c.init_ms, 90.0),
                    percentile(&c.done_ms, 50.0),
                    percentile(&c.done_ms, 90.0),
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| {function} | not measured: {e} | | | | |");
            }
        }
    }
    summary.push(match worst_init {
        Some((ms, function)) if cold.iter().all(|(_, c)| c.is_ok()) => (
            format!("init under {INIT_TARGET_MS} ms median"),
            format!("slowest median {ms:.1} ms ({function})"),
            status(ms < INIT_TARGET_MS),
        ),
        _ => (
            format!("init under {INIT_TARGET_MS} ms median"),
            "not measured".into(),
            "**not measured**",
        ),
    });
}

/// Package sizes.
fn packages_section(f: &Figures<'_>, out: &mut String, summary: &mut Vec<Target>) {
    let _ = writeln!(
        out,
        "\n### 3. Package size\n\n| function | built by | architecture | bootstrap | zip | zip under 4 MiB |\n| --- | --- | --- | ---: | ---: | --- |"
    );
    let mut worst_arm: Option<(u64, &str)> = None;
    for p in &f.packages {
        match &p.figures {
            Ok(fig) => {
                if fig.arch == "arm64" && worst_arm.is_none_or(|(w, _)| fig.zip_bytes > w) {
                    worst_arm = Some((fig.zip_bytes, p.function));
                }
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.2} MiB | {:.2} MiB ({} bytes) | {} |",
                    p.function,
                    p.source,
                    fig.arch,
                    fig.bootstrap_bytes as f64 / 1048576.0,
                    fig.zip_bytes as f64 / 1048576.0,
                    fig.zip_bytes,
                    status(fig.zip_bytes < PACKAGE_TARGET_BYTES)
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | not measured: {e} | | | |",
                    p.function, p.source
                );
            }
        }
    }
    summary.push(match worst_arm {
        Some((bytes, function)) => (
            "arm64 zip under 4 MiB".into(),
            format!(
                "largest {:.2} MiB = {bytes} bytes ({function})",
                bytes as f64 / 1048576.0
            ),
            status(bytes < PACKAGE_TARGET_BYTES),
        ),
        None => (
            "arm64 zip under 4 MiB".into(),
            "no cargo-lambda arm64 zip found (x86_64 figures above)".into(),
            "**not measured**",
        ),
    });
}

/// The terms of a cycle's lower bound, as the table spells them.
fn bound_terms(c: &Cycle) -> Vec<String> {
    let mut bound: Vec<String> = c
        .lists
        .iter()
        .map(|(op, items, pages)| format!("{op} ⌈{items}/{PAGE}⌉={pages}"))
        .collect();
    if c.first_reads > 0 {
        bound.push(format!("GetApp {} first reads", c.first_reads));
    }
    if c.rereads_before_launch > 0 {
        bound.push(format!(
            "GetApp {} re-reads before LaunchApp",
            c.rereads_before_launch
        ));
    }
    if c.configuration_reads > 0 {
        bound.push(format!(
            "GetAppLaunchConfiguration {} apps not found as planned",
            c.configuration_reads
        ));
    }
    bound.push(format!("{} actions", c.actions()));
    bound
}
/// SMS calls per cycle against the lower bound.
fn calls_section(f: &Figures<'_>, out: &mut String, summary: &mut Vec<Target>) {
    let _ = writeln!(
        out,
        "\n### 4. SMS calls per cycle against the lower bound\n\n\
         Bound = pages of each list operation the function must make (ceil(items / {PAGE}), at least 1) \
         + one GetApp per app whose members the function needs (launcher: launchable apps; template \
         generator on a run completion: launched apps) and whose current version (ListApps' lastModified \
         and counts) no earlier invocation has read and shared in `state/apps/index.json`, counted by the \
         bench from the listing and that file + one GetApp per remembered app the launcher launches (read \
         again first) + for the app-planner, one GetApp per app version the index lacks and one \
         GetAppLaunchConfiguration per app its ledger has not found as planned since its last change \
         + one call per action (every mutating call). Each row is a \
         separate cold start; counters reset before each cycle; events are entries that reached the \
         local bus.\n\n\
         | function (trigger) | servers | SMS calls | lower bound | ratio | above the bound | events |\n\
         | --- | ---: | --- | --- | ---: | --- | ---: |"
    );
    let mut worst_ratio: Option<(f64, String)> = None;
    for (servers, cycles) in &f.cycles {
        let Ok(cycles) = cycles else { continue };
        for c in cycles {
            let ratio = c.total() as f64 / c.bound().max(1) as f64;
            if worst_ratio.as_ref().is_none_or(|(w, _)| ratio > *w) {
                worst_ratio = Some((ratio, format!("{} at {servers} servers", c.label)));
            }
            let calls = c
                .calls
                .iter()
                .map(|(op, n)| format!("{op} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let bound = bound_terms(c);
            let excess = c
                .excess()
                .iter()
                .map(|(op, n)| format!("{op} {n:+}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "| {} | {servers} | {} ({calls}) | {} = {} | {ratio:.2} | {} | {} |",
                c.label,
                c.total(),
                bound.join(" + "),
                c.bound(),
                if excess.is_empty() {
                    "—".into()
                } else {
                    excess
                },
                c.events
            );
        }
    }
    summary.push(match worst_ratio {
        Some((ratio, what)) => (
            "SMS calls / lower bound = 1.00".into(),
            format!("highest {ratio:.2} ({what})"),
            status(ratio <= 1.0 + 1e-9),
        ),
        None => (
            "SMS calls / lower bound = 1.00".into(),
            "not measured".into(),
            "**not measured**",
        ),
    });
}

/// Sweeps at scale against their ideal.
fn sweeps_section(f: &Figures<'_>, out: &mut String, summary: &mut Vec<Target>) {
    let _ = writeln!(
        out,
        "\n### 5. Sweeps at scale with {} ms SMS latency\n\n\
         Ideal = the time the service took to answer the sequential calls + that of the \
         fanned-out calls / concurrency: each call's injected latency as slept, then the \
         emulator's own work (reading the request, building pages, applying actions, rendering \
         the answer), which runs on the cores the function runs on. Nominal = (sequential calls \
         + fanned-out calls / concurrency) × latency, the ideal of a service that costs nothing \
         but its latency. The sweeps run in-process \
         with the template's configuration; the job creator's cap is raised to the catalog size and the \
         emulator's live-job quota to {} (from SMS's default 50).\n\n\
         | sweep | work | SMS calls (sequential + fanned out / concurrency) | wall | nominal | ideal | % of ideal | of 15 min | of the template's Timeout | scale reaching 15 min (linear) |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f.args.latency_ms,
        f.args.scale_servers.max(50)
    );
    match &f.timed {
        Ok(rows) => {
            let mut worst: Option<(f64, &str)> = None;
            let mut longest = 0.0f64;
            for t in rows {
                let efficiency = t.efficiency();
                if worst.is_none_or(|(w, _)| efficiency < w) {
                    worst = Some((efficiency, t.function));
                }
                longest = longest.max(t.wall.as_secs_f64());
                let _ = writeln!(
                    out,
                    "| {} | {} | {} + {} / {} | {} | {} | {} | {:.0} % | {:.1} % | {} | ≈ {:.0} {} |",
                    t.function,
                    t.work,
                    t.sequential,
                    t.parallel,
                    t.concurrency,
                    duration_text(t.wall),
                    duration_text(t.nominal()),
                    duration_text(t.ideal()),
                    efficiency * 100.0,
                    t.wall.as_secs_f64() / LAMBDA_LIMIT_SECS * 100.0,
                    t.timeout_secs.map_or("?".into(), |s| format!(
                        "{:.1} % of {s} s",
                        t.wall.as_secs_f64() / s as f64 * 100.0
                    )),
                    t.items_at_limit(),
                    t.unit
                );
            }
            if let Some((efficiency, function)) = worst {
                summary.push((
                    format!("at least {:.0} % of ideal", EFFICIENCY_TARGET * 100.0),
                    format!("lowest {:.0} % ({function})", efficiency * 100.0),
                    status(efficiency >= EFFICIENCY_TARGET),
                ));
                summary.push((
                    "inside the 15-minute limit with room".into(),
                    format!("longest {:.1} s", longest),
                    status(longest < LAMBDA_LIMIT_SECS / 2.0),
                ));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "| not measured: {e} | | | | | | | | | |");
            summary.push((
                "at least 80 % of ideal".into(),
                "not measured".into(),
                "**not measured**",
            ));
        }
    }
}

/// Convergence latency of the default wave: from the moment each app became
/// launchable to its launch, held to a minute.
fn convergence_section(f: &Figures<'_>, out: &mut String, summary: &mut Vec<Target>) {
    let _ = writeln!(
        out,
        "\n### 6. Convergence latency (default wave, simulated time)\n\n\
         An app is launchable once its last member's first run COMPLETED and every application \
         it depends on is LAUNCHED (the default wave sets no launch window). The runner sees SMS's \
         statuses once a simulated minute.\n\n\
         | app | members | replicated | dependencies LAUNCHED | launchable | AppLaunched | latency | launched by |\n\
         | --- | ---: | --- | --- | --- | --- | ---: | --- |"
    );
    let rows = match &f.convergence {
        Ok(rows) => rows,
        Err(e) => {
            let _ = writeln!(out, "| not measured: {e} | | | | | | | |");
            return;
        }
    };
    let time = |t: Option<DateTime<Utc>>| {
        t.map_or("—".into(), |t| {
            t.to_rfc3339_opts(SecondsFormat::Secs, true)
        })
    };
    let mut worst = 0i64;
    for r in rows {
        let latency = match (r.ready_at, r.launched_at) {
            (Some(ready), Some(launched)) => {
                let secs = (launched - ready).num_seconds();
                worst = worst.max(secs);
                format!("{secs} s")
            }
            _ => "—".into(),
        };
        let by = match (&r.launched_by, &r.held_by) {
            (Some(trigger), _) => trigger.clone(),
            (None, Some(held)) => format!("not launched: {held}"),
            (None, None) => "not launched".into(),
        };
        let dependencies = match (r.dependencies_launched_at, r.depends_on) {
            (Some(at), _) => time(Some(at)),
            (None, 0) => "none".into(),
            (None, _) => "—".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {dependencies} | {} | {} | {latency} | {by} |",
            r.app,
            r.members,
            time(r.replicated_at),
            time(r.ready_at),
            time(r.launched_at)
        );
    }
    summary.push((
        "launch within a minute of becoming launchable".into(),
        format!("longest {worst} s"),
        status(worst <= 60),
    ));
}

/// The core decisions, from criterion.
fn criterion_section(f: &Figures<'_>, out: &mut String) {
    let _ = writeln!(
        out,
        "\n### 7. Core decisions (criterion, `shared/benches/decisions.rs`)\n\n\
         | decision | mean | 95 % interval of the mean | median |\n| --- | ---: | --- | ---: |"
    );
    for (id, estimate) in &f.criterion {
        match estimate {
            Ok(e) => {
                let _ = writeln!(
                    out,
                    "| {id} | {} | {} – {} | {} |",
                    ns_text(e.mean_ns),
                    ns_text(e.low_ns),
                    ns_text(e.high_ns),
                    ns_text(e.median_ns)
                );
            }
            Err(e) => {
                let _ = writeln!(out, "| {id} | not measured: {e} | | |");
            }
        }
    }
}

/// Replaces what lies between `section`'s markers in `path` with `table`.
pub fn write_between_markers(path: &Path, table: &str, section: Section) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let updated = replace_between_markers(&text, table, section).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no `{}` … `{}` section", section.0, section.1),
        )
    })?;
    std::fs::write(path, updated)
}

fn replace_between_markers(text: &str, table: &str, (before, after): Section) -> Option<String> {
    let begin = text.find(before)? + before.len();
    let end = begin + text[begin..].find(after)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..begin],
        table.trim_end(),
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&values, 50.0), 3.0);
        assert_eq!(percentile(&values, 90.0), 5.0);
        assert_eq!(percentile(&[7.0], 90.0), 7.0);
    }

    #[test]
    fn the_table_replaces_only_the_marked_section() {
        let (begin, end) = SMS_SECTION;
        let (mgn_begin, mgn_end) = MGN_SECTION;
        let text =
            format!("intro\n{begin}\nold\n{end}\nmiddle\n{mgn_begin}\nold mgn\n{mgn_end}\nafter\n");
        let updated = replace_between_markers(&text, "new table\n", SMS_SECTION).expect("markers");
        assert_eq!(
            updated,
            format!("intro\n{begin}\nnew table\n{end}\nmiddle\n{mgn_begin}\nold mgn\n{mgn_end}\nafter\n")
        );
        let updated = replace_between_markers(&updated, "mgn table", MGN_SECTION).expect("markers");
        assert!(updated.contains(&format!("{mgn_begin}\nmgn table\n{mgn_end}\nafter")));
        assert!(replace_between_markers("no markers", "x", SMS_SECTION).is_none());
    }
}
