//! CloudWatch metrics in Embedded Metric Format (EMF): after each invocation the runtime
//! writes one JSON line in which every numeric field of the invocation's summary is a
//! metric (namespace `SmsAutopilot`, dimension `Function`). CloudWatch Logs turns the
//! line into metrics, with no API call and nothing to wait for in the invocation.

use serde_json::{json, Map, Value};

/// The namespace of the project's metrics.
pub const NAMESPACE: &str = "SmsAutopilot";
/// The one dimension: the function (`job-watcher`, ...).
pub const DIMENSION: &str = "Function";
/// The metrics the runtime adds to every function's own: SMS and MGN calls answered
/// (retries included) and those throttled, counted by [`crate::calls`].
pub const SMS_CALLS: &str = "smsCalls";
pub const SMS_THROTTLED: &str = "smsThrottled";
pub const MGN_CALLS: &str = "mgnCalls";
pub const MGN_THROTTLED: &str = "mgnThrottled";

/// The EMF line of `function`'s invocation `summary` at `timestamp_ms`: each number of
/// the summary's top level is a metric of that name (a flag counts 1 or 0); None when
/// the summary has none.
pub fn emf_line(function: &str, summary: &Value, timestamp_ms: i64) -> Option<Value> {
    let mut root = Map::new();
    let mut metrics = Vec::new();
    for (name, value) in summary.as_object()? {
        let number = match value {
            Value::Number(n) => n.as_f64(),
            Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
            _ => None,
        };
        if let Some(number) = number {
            root.insert(name.clone(), json!(number));
            metrics.push(json!({ "Name": name, "Unit": "Count" }));
        }
    }
    if metrics.is_empty() {
        return None;
    }
    root.insert(DIMENSION.into(), json!(function));
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": metrics,
            }],
        }),
    );
    Some(Value::Object(root))
}

/// What keeps `line` from being a valid EMF line, by the specification's rules (root
/// object with `_aws`, an integer `Timestamp`, each directive's namespace, dimensions
/// and metrics naming members of the root, metric values numbers, at most 100 metrics
/// and 30 dimensions); empty when it is valid.
pub fn emf_problems(line: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(root) = line.as_object() else {
        return vec!["not a JSON object".into()];
    };
    let aws = &line["_aws"];
    if !aws["Timestamp"].is_i64() && !aws["Timestamp"].is_u64() {
        problems.push("_aws.Timestamp is not an integer of milliseconds".into());
    }
    let Some(directives) = aws["CloudWatchMetrics"]
        .as_array()
        .filter(|d| !d.is_empty())
    else {
        problems.push("_aws.CloudWatchMetrics is not a non-empty array".into());
        return problems;
    };
    for (index, directive) in directives.iter().enumerate() {
        let at = format!("CloudWatchMetrics[{index}]");
        let namespace = directive["Namespace"].as_str().unwrap_or_default();
        if namespace.is_empty() || namespace.len() > 255 {
            problems.push(format!("{at}.Namespace must be 1 to 255 characters"));
        }
        let dimensions = directive["Dimensions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for set in &dimensions {
            let names = set.as_array().cloned().unwrap_or_default();
            if names.len() > 30 {
                problems.push(format!("{at}: a dimension set has over 30 dimensions"));
            }
            for name in names.iter().filter_map(Value::as_str) {
                if !root.get(name).is_some_and(Value::is_string) {
                    problems.push(format!("{at}: dimension {name} is not a text member"));
                }
            }
        }
        let metrics = directive["Metrics"].as_array().cloned().unwrap_or_default();
        if metrics.is_empty() || metrics.len() > 100 {
            problems.push(format!("{at}.Metrics must hold 1 to 100 metrics"));
        }
        for metric in &metrics {
            let name = metric["Name"].as_str().unwrap_or_default();
            if !root.get(name).is_some_and(Value::is_number) {
                problems.push(format!("{at}: metric {name:?} is not a number member"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_becomes_one_valid_emf_line() {
        let summary = json!({
            "trigger": "schedule", "created": 3, "failed": 0, "dryRun": false,
            "catalogStatus": "AVAILABLE"
        });
        let line = emf_line("job-creator", &summary, 1_700_000_000_000).unwrap();
        assert!(emf_problems(&line).is_empty(), "{:?}", emf_problems(&line));
        assert_eq!(line["created"], 3.0);
        assert_eq!(line["dryRun"], 0.0);
        assert_eq!(line["Function"], "job-creator");
        assert!(line.get("trigger").is_none(), "text is no metric");
        // Sorted: the order of the summary's keys depends on serde_json's features.
        let mut names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["created", "dryRun", "failed"]);
        assert!(emf_line("x", &json!({ "trigger": "schedule" }), 0).is_none());
    }

    #[test]
    fn the_validator_names_what_is_wrong() {
        let mut line = emf_line("job-creator", &json!({ "created": 1 }), 5).unwrap();
        line["created"] = json!("one");
        line["_aws"]["Timestamp"] = json!("now");
        line.as_object_mut().unwrap().remove("Function");
        let problems = emf_problems(&line);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("Timestamp")));
        assert!(problems.iter().any(|p| p.contains("dimension Function")));
        assert!(problems.iter().any(|p| p.contains("\"created\"")));
    }
}
