//! The machine a bench run measured on (CPU, load, compiler, commit), and the timeouts
//! the template gives each function.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{SecondsFormat, Utc};

pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub date: String,
    pub commit: String,
    pub rustc: String,
    pub load: String,
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let commit = command_line("git", &["rev-parse", "--short=12", "HEAD"])
        .unwrap_or_else(|| "unknown".to_owned());
    let dirty = command_line("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        model,
        date: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        commit: if dirty {
            format!("{commit} (work tree with uncommitted changes)")
        } else {
            commit
        },
        rustc: command_line("rustc", &["-V"]).unwrap_or_else(|| "rustc ?".to_owned()),
        load: std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
    }
}

/// Each function's `Timeout` in the template (seconds), by binary name.
pub fn template_timeouts(template: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(template).unwrap_or_default();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap_or_default();
    let global = yaml["Globals"]["Function"]["Timeout"].as_u64();
    let mut timeouts = BTreeMap::new();
    if let Some(resources) = yaml["Resources"].as_mapping() {
        for resource in resources.values() {
            if let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() {
                if let Some(timeout) = resource["Properties"]["Timeout"].as_u64().or(global) {
                    timeouts.insert(binary.to_owned(), timeout);
                }
            }
        }
    }
    timeouts
}
