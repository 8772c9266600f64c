//! Tracing set-up for the functions: JSON lines when Lambda's advanced logging asks for
//! them (`AWS_LAMBDA_LOG_FORMAT=JSON`), the level from `AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`, then info. In a JSON line every field is a key of the object, and the
//! fields that carry JSON of their own (`summary`, `about`) are embedded as objects, so
//! CloudWatch Logs Insights can query them field by field.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Fields whose text is JSON, embedded as such in a JSON line.
const JSON_FIELDS: [&str; 2] = ["summary", "about"];

/// The filter directive the variables ask for.
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    lambda_level
        .filter(|level| !level.trim().is_empty())
        .map(|level| level.trim().to_ascii_lowercase())
        .or_else(|| rust_log.filter(|v| !v.trim().is_empty()).map(str::to_owned))
        .unwrap_or_else(|| "info".to_owned())
}

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let directive = log_filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // CloudWatch adds its own timestamp.
        .without_time()
        .with_target(false);
    let _ = if json {
        builder.event_format(JsonLines).try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// One JSON object per event: its level, its target (the module that logged it), its
/// message and every field by name.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", json_line(event))
    }
}

/// The JSON object of one event.
pub fn json_line(event: &Event<'_>) -> Value {
    let mut fields = JsonFields(Map::new());
    let metadata = event.metadata();
    fields
        .0
        .insert("level".into(), metadata.level().as_str().into());
    fields.0.insert("target".into(), metadata.target().into());
    event.record(&mut fields);
    Value::Object(fields.0)
}

/// Collects an event's fields into a JSON object.
struct JsonFields(Map<String, Value>);

impl JsonFields {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_owned(), value);
    }
}

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, text_or_json(field, value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, text_or_json(field, format!("{value:?}")));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

/// The field's text, or the JSON it holds for a field that carries JSON.
fn text_or_json(field: &Field, text: String) -> Value {
    if JSON_FIELDS.contains(&field.name()) {
        if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(&text) {
            return value;
        }
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::{json_line, log_filter};
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};
    use tracing::subscriber::with_default;
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::Layer;

    /// Keeps the JSON line of every event.
    struct Lines(Arc<Mutex<Vec<Value>>>);

    impl<S: tracing::Subscriber> Layer<S> for Lines {
        fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
            self.0.lock().unwrap().push(json_line(event));
        }
    }

    #[test]
    fn a_json_line_holds_every_field_and_embeds_the_summary() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Lines(Arc::clone(&lines)));
        with_default(subscriber, || {
            let summary = json!({ "jobsObserved": 3, "dryRun": false }).to_string();
            tracing::info!(function = "job-watcher", %summary, "invocation complete");
            tracing::warn!(
                about = "not json",
                attempts = 2_u64,
                retrying = true,
                "held"
            );
        });
        let lines = lines.lock().unwrap();
        assert_eq!(
            lines[0],
            json!({
                "level": "INFO",
                "target": "autopilot_core::telemetry::tests",
                "message": "invocation complete",
                "function": "job-watcher",
                "summary": { "jobsObserved": 3, "dryRun": false }
            })
        );
        assert_eq!(
            lines[1],
            json!({
                "level": "WARN",
                "target": "autopilot_core::telemetry::tests",
                "message": "held",
                "about": "not json",
                "attempts": 2,
                "retrying": true
            })
        );
    }

    #[test]
    fn lambda_level_wins_then_rust_log_then_info() {
        assert_eq!(log_filter(Some("DEBUG"), Some("warn")), "debug");
        assert_eq!(log_filter(None, Some("autopilot=trace")), "autopilot=trace");
        assert_eq!(log_filter(Some(""), None), "info");
        assert_eq!(log_filter(None, None), "info");
    }
}
