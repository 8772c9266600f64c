//! Broken scenario files: wrong types, unknown fields, negative numbers, an app naming
//! an unknown server, duplicate VM names, an empty file, binary garbage, YAML and JSON
//! syntax errors. Each is refused by `Scenario::from_text` and `Scenario::load` with an
//! error that says what is wrong, and by `autopilot-local run --scenario FILE` with one
//! line on stderr naming the file and exit code 2 — never a panic, never a wave.

use std::path::Path;
use std::process::Command;

use autopilot_local::{Scenario, ScenarioError};

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-local");

/// A connector and two servers, so cross-reference cases have something to refer to.
const BASE: &str = "connectors: [{ vm_manager_name: vc }]\n\
servers: [{ vm_name: web-01 }, { vm_name: db-01 }]\n";

/// (label, file contents, what the error must mention).
fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let text = |s: &str| s.as_bytes().to_vec();
    let with_base = |s: &str| format!("{BASE}{s}").into_bytes();
    let with_connector =
        |s: &str| format!("connectors: [{{ vm_manager_name: vc }}]\n{s}").into_bytes();
    vec![
        // Wrong types.
        ("seed as text", text("seed: abc\n"), "seed"),
        ("servers as a number", text("servers: 5\n"), "servers"),
        (
            "a duration as a word",
            text("timing: { catalog_import_secs: soon }\n"),
            "catalog_import_secs",
        ),
        (
            "a flag as a list",
            with_base("apps: [{ name: a, groups: [{ name: g, servers: web-01 }] }]\n"),
            "servers",
        ),
        (
            "start_time that is not a time",
            text("start_time: yesterday\n"),
            "start_time",
        ),
        // Unknown fields.
        ("a misspelt top-level field", text("sevrers: []\n"), "sevrers"),
        (
            "an unknown server field",
            text("servers: [{ vm_name: a, colour: red }]\n"),
            "colour",
        ),
        (
            "an unknown fault",
            text("faults: { earthquake: true }\n"),
            "earthquake",
        ),
        // Negative numbers.
        ("a negative seed", text("seed: -1\n"), "seed"),
        (
            "a negative appearance time",
            with_connector("servers: [{ vm_name: a, appears_at_secs: -5 }]\n")
                .into_iter()
                .collect(),
            "appears_at_secs",
        ),
        (
            "a negative error rate",
            text("faults: { error_rate: -0.5 }\n"),
            "error_rate",
        ),
        (
            "a negative frequency",
            text("limits: { default_frequency_hours: -1 }\n"),
            "default_frequency_hours",
        ),
        (
            "a negative failure count",
            text("servers: [{ vm_name: a, fail_runs: -2 }]\n"),
            "fail_runs",
        ),
        // Cross references.
        (
            "an app naming an unknown server",
            with_base("apps: [{ name: shop, groups: [{ name: tier, servers: [web-01, ghost] }] }]\n"),
            "unknown server \"ghost\"",
        ),
        (
            "duplicate VM names",
            text("connectors: [{ vm_manager_name: vc }]\nservers: [{ vm_name: web }, { vm_name: web }]\n"),
            "duplicate vm_name \"web\"",
        ),
        (
            "a server behind no connector",
            text("servers: [{ vm_name: lonely }]\n"),
            "lonely",
        ),
        (
            "a zero replication time",
            with_connector("servers: [{ vm_name: z, replication_secs: 0 }]\n")
                .into_iter()
                .collect(),
            "replication_secs",
        ),
        // Empty, garbage, syntax.
        (
            "binary garbage",
            vec![0xff, 0xfe, 0x00, 0x9c, 0x80, 0x81, 0xc3, 0x28, 0x00, 0x01],
            "UTF-8",
        ),
        (
            "a YAML list instead of a mapping",
            text("- web-01\n- db-01\n"),
            "",
        ),
        ("an unclosed YAML list", text("servers: [a, b\n"), ""),
        ("truncated JSON", text("{\"servers\": [{\"vm_name\": \"a\""), ""),
        ("JSON of the wrong type", text("{\"servers\": \"many\"}"), "servers"),
        ("a number too large", text("seed: 1e999\n"), "seed"),
        ("tabs for indentation", text("timing:\n\tcatalog_import_secs: 5\n"), ""),
    ]
}

fn parse_error(text: &str) -> String {
    match Scenario::from_text(text) {
        Ok(scenario) => panic!("accepted: {scenario:?}"),
        Err(error) => {
            assert!(
                matches!(
                    error,
                    ScenarioError::Parse { .. } | ScenarioError::Invalid { .. }
                ),
                "{error:?}"
            );
            error.to_string()
        }
    }
}

#[test]
fn from_text_refuses_every_broken_scenario_saying_what_is_wrong() {
    for (label, bytes, mentions) in cases() {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue; // not text: only a file can hold it (below)
        };
        let message = std::panic::catch_unwind(|| parse_error(text))
            .unwrap_or_else(|_| panic!("{label}: from_text panicked or accepted"));
        assert!(message.contains(mentions), "{label}: {message}");
        assert!(message.contains("<inline>"), "{label}: {message}");
    }
}

#[test]
fn load_refuses_every_broken_file_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, (label, bytes, mentions)) in cases().into_iter().enumerate() {
        let path = dir.path().join(format!("case-{i}.yaml"));
        std::fs::write(&path, &bytes).expect("write case");
        let error = Scenario::load(&path).expect_err(label);
        let message = error.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "{label}: {message}"
        );
        assert!(message.contains(mentions), "{label}: {message}");
    }
}

fn run_with(path: &Path) -> (Option<i32>, String, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(["run", "--scenario"])
        .arg(path)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run autopilot-local");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_cli_answers_each_broken_scenario_with_one_line_and_exit_two() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, (label, bytes, mentions)) in cases().into_iter().enumerate() {
        let path = dir.path().join(format!("broken-{i}.yaml"));
        std::fs::write(&path, &bytes).expect("write case");
        let (code, stdout, stderr) = run_with(&path);
        assert_eq!(code, Some(2), "{label}: {stderr}");
        let lines: Vec<&str> = stderr.trim().lines().collect();
        assert_eq!(lines.len(), 1, "{label}: one line, got {stderr}");
        assert!(
            lines[0].starts_with("autopilot-local: ")
                && lines[0].contains(&*path.to_string_lossy()),
            "{label}: {stderr}"
        );
        assert!(lines[0].contains(mentions), "{label}: {stderr}");
        assert!(!stderr.contains("panicked"), "{label}: {stderr}");
        assert!(!stdout.contains("Wave `"), "{label}: a wave ran: {stdout}");
    }
}

/// Empty scenario texts: an empty file, or one with only a comment (say, a file cut to
/// nothing, or the wrong path), are refused like the cases above.
const EMPTY_SCENARIOS: [(&str, &str); 3] = [
    ("an empty file", ""),
    ("only a comment", "# nothing here\n"),
    ("only whitespace", "\n   \n"),
];

#[test]
fn an_empty_scenario_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, (label, text)) in EMPTY_SCENARIOS.into_iter().enumerate() {
        assert!(
            Scenario::from_text(text).is_err(),
            "{label}: from_text accepted it"
        );
        let path = dir.path().join(format!("empty-{i}.yaml"));
        std::fs::write(&path, text).expect("write case");
        let (code, _, stderr) = run_with(&path);
        assert_eq!(code, Some(2), "{label}: {stderr}");
    }
}

/// The fuzz targets' checks (`local/fuzz/src/checks.rs`, the same file the libFuzzer
/// binaries run) over every committed corpus seed, so they hold in every `cargo test`.
#[path = "../../fuzz/src/checks.rs"]
mod fuzz_checks;

#[test]
fn fuzz_corpus_replays_cleanly() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    type Check = fn(&[u8]);
    let targets: [(&str, Check); 2] = [
        ("event_parsing", fuzz_checks::event),
        ("scenario_parsing", fuzz_checks::scenario),
    ];
    for (target, check) in targets {
        let mut seeds = 0;
        for entry in std::fs::read_dir(corpus.join(target)).expect("corpus directory") {
            let path = entry.expect("entry").path();
            check(&std::fs::read(&path).expect("seed"));
            seeds += 1;
        }
        assert!(seeds >= 10, "{target}: {seeds} seeds");
    }
}
