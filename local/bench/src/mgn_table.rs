//! The Markdown table of an MGN bench run: the machine, the MGN functions' cold starts,
//! their peak memory, run time and calls per cycle at each estate size, the side by
//! side, and the targets; written between the MGN markers of BENCHMARKS.md.

use std::fmt::Write as _;

use crate::mgn_cycles::MgnCycle;
use crate::mgn_measure::MgnFigures;
use crate::table::duration_text;
use crate::verdict::{status, Target};

/// Share of its timeout a run may take.
const TIMEOUT_SHARE_TARGET: f64 = 0.25;

pub fn render(f: &MgnFigures<'_>) -> String {
    let mut out = String::new();
    let m = &f.machine;
    let _ = writeln!(
        out,
        "Measured {} at commit {} on {} CPUs ({}), load average {} at the start; {}.\n\
         The functions are this machine's **x86_64** release builds, deployed with `Backend` MGN; \
         MGN and EC2 are the stand-in (`local/src/mgn`), an optimised build in the bench's process.\n",
        m.date, m.commit, m.cpus, m.model, m.load, m.rustc
    );
    let mut summary: Vec<Target> = Vec::new();
    crate::table::cold_start_section(
        &format!(
            "M1. Cold start on MGN ({} starts per function)",
            f.args.starts
        ),
        &f.cold,
        &mut out,
        &mut summary,
    );
    crate::memory_table::memory_section(
        "M2. Peak RSS (VmHWM) through one cycle on MGN",
        &f.cycles,
        &mut out,
        &mut summary,
    );
    run_time_section(f, &mut out, &mut summary);
    calls_section(f, &mut out, &mut summary);
    for (target, measured, met) in crate::mgn_side_by_side::section(&f.side_by_side, &mut out) {
        summary.push((target, measured, status(met)));
    }
    let _ = writeln!(
        out,
        "\n### MGN targets\n\n| target | measured | status |\n| --- | --- | --- |"
    );
    for (target, measured, state) in summary {
        let _ = writeln!(out, "| {target} | {measured} | {state} |");
    }
    for failure in &f.failures {
        let _ = writeln!(out, "\nnot measured: {failure}");
    }
    out
}

/// Every measured cycle with its estate size.
fn measured<'f>(f: &'f MgnFigures<'_>) -> impl Iterator<Item = (usize, &'f MgnCycle)> {
    f.cycles
        .iter()
        .filter_map(|(size, cycles)| cycles.as_ref().ok().map(|c| (*size, c)))
        .flat_map(|(size, cycles)| cycles.iter().map(move |c| (size, c)))
}

/// Each cycle's run (first poll to response) against its timeout.
fn run_time_section(f: &MgnFigures<'_>, out: &mut String, summary: &mut Vec<Target>) {
    let _ = writeln!(
        out,
        "\n### M3. Run time of one cycle on MGN, against a quarter of the timeout\n\n\
         No latency is added to MGN's or EC2's answers; the stand-in answers in the bench's process, \
         on the same two cores. *MGN answering* is the wall time the stand-in spent answering the \
         cycle's calls (overlapping calls once), *own time* the run less it.\n\n\
         | function (trigger) | source servers | run | MGN answering | own time | timeout | share of the timeout |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut worst: Option<(f64, String)> = None;
    for (size, cycle) in measured(f) {
        let share = cycle.share_of_timeout();
        let _ = writeln!(
            out,
            "| {} | {size} | {} | {} | {} | {} s | {:.1} % |",
            cycle.label,
            duration_text(cycle.run_time),
            duration_text(cycle.service),
            duration_text(cycle.run_time.saturating_sub(cycle.service)),
            cycle.timeout.as_secs(),
            share * 100.0
        );
        if worst.as_ref().is_none_or(|(w, _)| share > *w) {
            worst = Some((share, format!("{} at {size}", cycle.label)));
        }
    }
    let target = "MGN: every cycle within a quarter of its timeout".to_owned();
    summary.push(match worst {
        Some((share, which)) => (
            target,
            format!("largest share {:.1} % ({which})", share * 100.0),
            status(share <= TIMEOUT_SHARE_TARGET),
        ),
        None => (target, "not measured".into(), "**not measured**"),
    });
}

/// MGN's and EC2's calls per cycle against the bench's lower bound.
fn calls_section(f: &MgnFigures<'_>, out: &mut String, summary: &mut Vec<Target>) {
    let _ = writeln!(
        out,
        "\n### M4. MGN and EC2 calls per cycle against the lower bound\n\n\
         Bound = pages of each listing the function must read (⌈items / 1000⌉, at least 1) + \
         the reads the bench allows per item, worked out from MGN's records and the functions' \
         books (see *How the MGN bound is counted* below) + one call per action (every mutating \
         call). Events are entries that reached the local bus.\n\n\
         | function (trigger) | source servers | calls | lower bound | ratio | above the bound | events |\n\
         | --- | ---: | --- | --- | ---: | --- | ---: |"
    );
    let mut worst: Option<(f64, String)> = None;
    for (size, cycle) in measured(f) {
        let ratio = cycle.total() as f64 / cycle.bound().max(1) as f64;
        let calls: Vec<String> = cycle
            .calls
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        let mut terms: Vec<String> = cycle
            .allowed
            .iter()
            .filter(|a| a.calls > 0)
            .map(|a| format!("{} {} ({})", a.operation, a.calls, a.why))
            .collect();
        terms.push(format!("{} actions", cycle.actions()));
        let excess: Vec<String> = cycle
            .excess()
            .iter()
            .map(|(op, n)| format!("{op} +{n}"))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {size} | {} ({}) | {} = {} | {ratio:.2} | {} | {} |",
            cycle.label,
            cycle.total(),
            calls.join(", "),
            terms.join(" + "),
            cycle.bound(),
            if excess.is_empty() {
                "—".into()
            } else {
                excess.join(", ")
            },
            cycle.events
        );
        if worst.as_ref().is_none_or(|(w, _)| ratio > *w) {
            worst = Some((ratio, format!("{} at {size}", cycle.label)));
        }
    }
    let target = "MGN: calls / lower bound = 1.00".to_owned();
    summary.push(match worst {
        Some((ratio, which)) => (
            target,
            format!("highest {ratio:.2} ({which})"),
            status(ratio <= 1.0 + 1e-9),
        ),
        None => (target, "not measured".into(), "**not measured**"),
    });
}
