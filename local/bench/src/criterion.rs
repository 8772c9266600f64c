//! criterion's estimates of the core's decisions, read from where
//! `cargo bench -p autopilot-core --bench decisions` left them.

use std::path::Path;
use std::time::UNIX_EPOCH;

use serde_json::Value;

use crate::error::{MeasureError, Measured};

/// The benchmarks of `shared/benches/decisions.rs`.
const CRITERION_IDS: [&str; 3] = [
    "wave_policy_plan_10000_servers",
    "failure_snapshot_observe_10000_jobs",
    "app_readiness_500_apps_10000_jobs",
];

pub struct Estimate {
    pub mean_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
    pub median_ns: f64,
}

pub fn estimates(dir: &Path, since: Option<i64>) -> Vec<(&'static str, Measured<Estimate>)> {
    CRITERION_IDS
        .iter()
        .map(|&id| {
            let path = dir.join(id).join("new").join("estimates.json");
            let estimate = (|| {
                let written = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .map_err(|_| MeasureError::Malformed {
                        path: path.display().to_string(),
                        problem: "missing: run `cargo bench -p autopilot-core --bench decisions`"
                            .into(),
                    })?;
                let written = written
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let malformed = |problem: String| MeasureError::Malformed {
                    path: path.display().to_string(),
                    problem,
                };
                if since.is_some_and(|since| written < since) {
                    return Err(malformed("older than this run".into()));
                }
                let text = std::fs::read_to_string(&path).map_err(MeasureError::io(&path))?;
                let json: Value =
                    serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
                let number = |v: &Value| {
                    v.as_f64()
                        .ok_or_else(|| malformed("not criterion's estimates".into()))
                };
                Ok(Estimate {
                    mean_ns: number(&json["mean"]["point_estimate"])?,
                    low_ns: number(&json["mean"]["confidence_interval"]["lower_bound"])?,
                    high_ns: number(&json["mean"]["confidence_interval"]["upper_bound"])?,
                    median_ns: number(&json["median"]["point_estimate"])?,
                })
            })();
            (id, estimate)
        })
        .collect()
}
