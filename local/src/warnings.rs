//! What `autopilot-local run` does with the functions' own warnings: they are counted
//! and shown once, folded into the summary, instead of breaking into the live progress
//! line. With `RUST_LOG` set they are printed to stderr as they happen instead, in
//! colour only on a terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Warnings seen, by what they say, with how often.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<Mutex<BTreeMap<String, u64>>>);

impl Tally {
    /// The warnings as the summary shows them; empty when there were none.
    pub fn summary(&self) -> String {
        let seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.is_empty() {
            return String::new();
        }
        let total: u64 = seen.values().sum();
        let mut out = format!(
            "\nWarnings from the functions ({total}; RUST_LOG=warn prints them as they happen)\n"
        );
        for (said, count) in seen.iter() {
            let _ = writeln!(out, "  {count:>5} x {said}");
        }
        out
    }
}

impl<S: Subscriber> Layer<S> for Tally {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() > Level::WARN {
            return;
        }
        let mut said = Said::default();
        event.record(&mut said);
        let line = format!("{}: {}", event.metadata().target(), said.0);
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *seen.entry(line).or_default() += 1;
    }
}

/// An event's message with its other fields after it, `name=value`.
#[derive(Default)]
struct Said(String);

impl Visit for Said {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// Logs to stderr at `warn` unless `RUST_LOG` says otherwise, in colour only on a
/// terminal: standard output is for what the command prints.
pub fn init_stderr_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// For `run`: with `RUST_LOG` set, logs as [`init_stderr_logging`] does and returns
/// no tally; without it, counts warnings and errors into the returned tally.
pub fn init_wave_logging() -> Option<Tally> {
    if std::env::var_os("RUST_LOG").is_some() {
        init_stderr_logging();
        return None;
    }
    let tally = Tally::default();
    tracing_subscriber::registry().with(tally.clone()).init();
    Some(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_counted_by_what_they_say_and_info_is_left_out() {
        let tally = Tally::default();
        let subscriber = tracing_subscriber::registry().with(tally.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..3 {
                tracing::warn!(target: "app_launcher", error = "throttled", "launch failed");
            }
            tracing::error!(target: "job_watcher", "sweep failed");
            tracing::info!("progress");
        });
        let summary = tally.summary();
        assert!(summary.contains("(4; RUST_LOG=warn"), "{summary}");
        assert!(
            summary.contains("    3 x app_launcher: launch failed error=throttled"),
            "{summary}"
        );
        assert!(
            summary.contains("    1 x job_watcher: sweep failed"),
            "{summary}"
        );
        assert!(!summary.contains("progress"), "{summary}");
        assert!(!summary.contains('\u{1b}'), "no colour codes: {summary}");
        assert!(Tally::default().summary().is_empty());
    }
}
