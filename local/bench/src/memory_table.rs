//! The bench table's memory section: peak RSS per function and catalog size, and the
//! targets it is judged against.

use std::fmt::Write as _;

use crate::cycles::Cycle;
use crate::error::Measured;
use crate::verdict::{mib, status, Target};

/// The functions' memory setting in the template. Lambda's documentation says MB; it
/// is judged as decimal megabytes (122.1 MiB), the stricter of the two readings.
const LAMBDA_MEMORY_MB: f64 = 128.0;
const GROWTH_TARGET_MIB: f64 = 1.0;

/// Peak RSS through one cycle, per function and catalog size, judged against Lambda's
/// 128 MB at the largest size and against the growth per 1,000 servers between the
/// smallest and the largest size.
pub(crate) fn memory_section<C: Peak>(
    heading: &str,
    cycles: &[(usize, Measured<Vec<C>>)],
    out: &mut String,
    summary: &mut Vec<Target>,
) {
    let sizes: Vec<usize> = cycles.iter().map(|(s, _)| *s).collect();
    let labels: Vec<String> = cycles
        .iter()
        .find_map(|(_, c)| c.as_ref().ok())
        .map(|c| c.iter().map(|c| c.label().to_owned()).collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n### {heading}\n\n| function (trigger) | {} |\n| --- |{}",
        sizes
            .iter()
            .map(|s| format!("{s} servers"))
            .collect::<Vec<_>>()
            .join(" | "),
        " ---: |".repeat(sizes.len())
    );
    let mut judged = MemoryJudged::default();
    for label in &labels {
        let mut line = format!("| {label} |");
        let mut row = Vec::new();
        for (servers, measured) in cycles {
            let rss = match measured {
                Ok(found) => found
                    .iter()
                    .find(|c| c.label() == label)
                    .and_then(Peak::peak_rss_kib)
                    .map(mib),
                Err(_) => None,
            };
            let cell = match (measured, rss) {
                (Err(_), _) => "not measured".into(),
                (Ok(_), None) => "?".into(),
                (Ok(_), Some(rss)) => {
                    row.push((*servers, rss));
                    format!("{rss:.1} MiB")
                }
            };
            let _ = write!(line, " {cell} |");
        }
        judged.take(label, &row);
        let _ = writeln!(out, "{line}");
    }
    for (servers, measured) in cycles {
        if let Err(e) = measured {
            let _ = writeln!(out, "\n{servers} servers not measured: {e}");
        }
    }
    summary.extend(judged.targets());
}

/// A cycle whose peak memory the section shows.
pub(crate) trait Peak {
    fn label(&self) -> &str;
    fn peak_rss_kib(&self) -> Option<u64>;
}

impl Peak for Cycle {
    fn label(&self) -> &str {
        &self.label
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        self.peak_rss_kib
    }
}

impl Peak for crate::mgn_cycles::MgnCycle {
    fn label(&self) -> &str {
        &self.label
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        self.peak_rss_kib
    }
}

/// The worst peak at the largest size and the worst growth per 1,000 servers.
#[derive(Default)]
struct MemoryJudged {
    largest: Option<(usize, f64, String)>,
    steepest: Option<(f64, String)>,
}

impl MemoryJudged {
    /// Takes one function's peaks, (servers, MiB) in the order of the sizes.
    fn take(&mut self, label: &str, row: &[(usize, f64)]) {
        let smallest = row.iter().min_by_key(|(servers, _)| *servers);
        let largest = row.iter().max_by_key(|(servers, _)| *servers);
        let (Some(&(low, low_rss)), Some(&(high, high_rss))) = (smallest, largest) else {
            return;
        };
        if self.largest.as_ref().is_none_or(|(servers, worst, _)| {
            high > *servers || (high == *servers && high_rss > *worst)
        }) {
            self.largest = Some((high, high_rss, label.to_owned()));
        }
        if high > low {
            let growth = (high_rss - low_rss) / ((high - low) as f64 / 1000.0);
            if self
                .steepest
                .as_ref()
                .is_none_or(|(worst, _)| growth > *worst)
            {
                self.steepest = Some((growth, label.to_owned()));
            }
        }
    }

    fn targets(self) -> Vec<Target> {
        let lambda_mib = LAMBDA_MEMORY_MB * 1e6 / 1048576.0;
        let within = match self.largest {
            Some((servers, rss, label)) => (
                format!("peak RSS within Lambda's {LAMBDA_MEMORY_MB:.0} MB at {servers} servers"),
                format!("largest {rss:.1} MiB ({label}) of {lambda_mib:.1} MiB"),
                status(rss < lambda_mib),
            ),
            None => (
                format!("peak RSS within Lambda's {LAMBDA_MEMORY_MB:.0} MB"),
                "not measured".into(),
                "**not measured**",
            ),
        };
        let growth = match self.steepest {
            Some((growth, label)) => (
                format!("peak RSS growth at most {GROWTH_TARGET_MIB} MiB per 1,000 servers"),
                format!("steepest {growth:.2} MiB ({label})"),
                status(growth <= GROWTH_TARGET_MIB),
            ),
            None => (
                format!("peak RSS growth at most {GROWTH_TARGET_MIB} MiB per 1,000 servers"),
                "needs two sizes".into(),
                "**not measured**",
            ),
        };
        vec![within, growth]
    }
}
