//! Tracing set-up for the functions: JSON lines when Lambda's advanced logging asks for
//! them (`AWS_LAMBDA_LOG_FORMAT=JSON`), the level from `AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`, then info.

use tracing_subscriber::EnvFilter;

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
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn lambda_level_wins_then_rust_log_then_info() {
        assert_eq!(log_filter(Some("DEBUG"), Some("warn")), "debug");
        assert_eq!(log_filter(None, Some("autopilot=trace")), "autopilot=trace");
        assert_eq!(log_filter(Some(""), None), "info");
        assert_eq!(log_filter(None, None), "info");
    }
}
