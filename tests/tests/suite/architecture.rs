//! The rules of ARCHITECTURE.md that a machine can check, read from the sources: the
//! emulator never uses the core; decision modules never name an SDK crate; no import
//! cycle among the modules of `shared/src` or of `local/src`; product files and
//! functions stay small enough to read in one sitting, exceptions named here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Product source files longer than this are refused.
const MAX_FILE_LINES: usize = 600;
/// Product functions longer than this are refused.
const MAX_FUNCTION_LINES: usize = 80;

/// Functions allowed over the limit, with the reason.
const LONG_FUNCTIONS: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The product code of a file: `tests.rs` files and `#[cfg(test)]` modules left out.
fn product_lines(path: &Path) -> Vec<String> {
    if path
        .file_name()
        .is_some_and(|n| n == "tests.rs" || n == "testing.rs")
    {
        return Vec::new();
    }
    let text = read(path);
    let lines: Vec<&str> = text.lines().collect();
    let inline_tests = lines.iter().enumerate().position(|(i, l)| {
        l.trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|next| {
                next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{')
            })
    });
    let product = inline_tests.map_or(&lines[..], |cut| &lines[..cut]);
    product.iter().map(|l| (*l).to_owned()).collect()
}

/// Product source roots: the core, the functions, the local stand-in and the bench.
fn product_files() -> Vec<PathBuf> {
    let root = root();
    let mut dirs = vec![
        root.join("shared/src"),
        root.join("local/src"),
        root.join("local/bench/src"),
    ];
    for entry in std::fs::read_dir(root.join("functions"))
        .expect("functions/")
        .flatten()
    {
        dirs.push(entry.path().join("src"));
    }
    dirs.iter().flat_map(|d| rust_files(d)).collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
        .replace("../", "")
}

/// The files of the stand-ins (`sms/`, `mgn/`, `scenario/`) and every module of
/// `local/src` they reach through `crate::` paths, transitively.
fn stand_in_files(root: &Path) -> Vec<PathBuf> {
    let local = root.join("local/src");
    let mut files: Vec<PathBuf> = ["sms", "mgn", "scenario"]
        .iter()
        .flat_map(|dir| rust_files(&local.join(dir)))
        .collect();
    let mut seen: std::collections::BTreeSet<PathBuf> = files.iter().cloned().collect();
    let mut next = 0;
    while next < files.len() {
        let text = read(&files[next]);
        next += 1;
        for module in crate_modules(&text) {
            let reached = [local.join(format!("{module}.rs")), local.join(&module)];
            for path in reached.iter().filter(|p| p.exists()) {
                for file in if path.is_dir() {
                    rust_files(path)
                } else {
                    vec![path.clone()]
                } {
                    if seen.insert(file.clone()) {
                        files.push(file);
                    }
                }
            }
        }
    }
    files
}

/// The modules of the crate `text` names by `crate::module` or `crate::{module, …}`
/// (a type re-exported at the crate's root is its module's, named elsewhere).
fn crate_modules(text: &str) -> Vec<String> {
    let mut modules = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + 7..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for name in names {
            let module: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if module.starts_with(|c: char| c.is_ascii_lowercase()) {
                modules.push(module);
            }
        }
    }
    modules
}

#[test]
fn the_emulator_never_uses_the_core() {
    let root = root();
    let files = stand_in_files(&root);
    let shared = root.join("local/src/schedule.rs");
    assert!(
        files.contains(&shared),
        "what the stand-ins share is followed"
    );
    let offenders: Vec<String> = files
        .iter()
        .filter(|file| read(file).contains("autopilot_core"))
        .map(|file| relative(file))
        .collect();
    assert!(
        offenders.is_empty(),
        "the emulator imports the core, or a module that does, in {offenders:?}"
    );
}

/// The modules of `shared/src` that talk to AWS: the shell (clients, runtime, state in
/// S3, publishing, logs and metrics) and the SMS adapter. Every other module is a
/// decision, or the model and vocabulary decisions read, and names no SDK crate.
const SHELL_AND_ADAPTERS: &[&str] = &[
    "lib",
    "app_cache",
    "artifacts",
    "clients",
    "error",
    "lease",
    "metrics",
    "outbox",
    "publisher",
    "runtime",
    "telemetry",
    "testing",
    "paging",
    "calls",
    "sms",
    "mgn",
    "ec2",
];

#[test]
fn decisions_never_name_an_sdk_crate() {
    let src = root().join("shared/src");
    let mut offenders = Vec::new();
    let mut decisions = 0;
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        let top = module.first().map_or("lib", String::as_str);
        if SHELL_AND_ADAPTERS.contains(&top) {
            continue;
        }
        decisions += 1;
        if product_lines(&file).iter().any(|l| l.contains("aws_sdk_")) {
            offenders.push(relative(&file));
        }
    }
    assert!(decisions > 30, "only {decisions} decision files found");
    assert!(
        offenders.is_empty(),
        "SDK types reach decisions in {offenders:?}"
    );
}

/// The decisions: what a backend must not reach into. They read the project's own
/// vocabulary (`ReplicationPhase`, `LaunchPhase`, `AppReplicationPhase`, ...), and each
/// service's states are mapped onto it in that service's adapter (`shared/src/sms/`).
const DECISIONS: &[&str] = &[
    "wave_policy",
    "failures",
    "job_settings",
    "readiness",
    "launches",
    "launch_decisions",
    "expiry",
    "plan",
    "report",
];

/// The SMS model's state enums, as `shared/src/model.rs` declares them with `sms_enum!`.
fn sms_state_types() -> Vec<String> {
    let model = read(&root().join("shared/src/model.rs"));
    let lines: Vec<&str> = model.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim() == "sms_enum!(")
        .filter_map(|(i, _)| {
            lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.starts_with("///"))
                .and_then(|l| l.strip_suffix(" {"))
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn decisions_name_no_service_state() {
    let sms_types = sms_state_types();
    assert!(
        sms_types.len() >= 6 && sms_types.iter().any(|t| t == "AppLaunchStatus"),
        "the SMS states were not found in model.rs: {sms_types:?}"
    );
    let src = root().join("shared/src");
    let mut offenders = Vec::new();
    let mut checked = 0;
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        // Test modules build their fixtures from SMS's words through the adapter.
        let is_test = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("tests.rs"))
            || module.iter().any(|part| part == "tests");
        let decision = module
            .first()
            .is_some_and(|top| DECISIONS.contains(&top.as_str()));
        if is_test || !decision {
            continue;
        }
        checked += 1;
        for (number, line) in product_lines(&file).iter().enumerate() {
            let named = sms_types.iter().find(|t| names(line, t));
            if let Some(named) = named {
                offenders.push(format!("{}:{}: {named}", relative(&file), number + 1));
            }
        }
    }
    assert!(checked > 15, "only {checked} decision files found");
    assert!(
        offenders.is_empty(),
        "decisions name SMS's states; map them in shared/src/sms/vocabulary.rs: {offenders:#?}"
    );
}

/// The floors under the decisions: a decision module imports none of these, so the
/// seam shows as floors with no arrow back up.
const ABOVE_THE_DECISIONS: &[&str] = &[
    "sms",
    "mgn",
    "ec2",
    "calls",
    "paging",
    "app_cache",
    "artifacts",
    "clients",
    "lease",
    "outbox",
    "publisher",
    "runtime",
    "testing",
];

#[test]
fn decisions_import_neither_an_adapter_nor_the_shell() {
    let src = root().join("shared/src");
    let files = rust_files(&src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut offenders = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if !module
            .first()
            .is_some_and(|top| DECISIONS.contains(&top.as_str()))
        {
            continue;
        }
        let text = product_lines(file).join("\n");
        for target in imports(&module, &text, &modules) {
            if ABOVE_THE_DECISIONS.contains(&target[0].as_str()) {
                offenders.push(format!("{} -> {}", relative(file), target.join("::")));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "decisions reach into an adapter or the shell: {offenders:#?}"
    );
}

/// Whether `line` names the identifier `ident` (a whole word).
fn names(line: &str, ident: &str) -> bool {
    line.match_indices(ident).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + ident.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// The module a file defines, as a path from the crate root (`sms::engine::jobs`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// `crate::` and `super::` paths a file names, resolved to the deepest module that exists.
fn imports(
    module: &[String],
    text: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent_of(module))] {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: Vec<String> = code[at + prefix.len()..]
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default()
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let mut target = base.clone();
            target.extend(path);
            while !target.is_empty() && !modules.contains(&target) {
                target.pop();
            }
            if !target.is_empty() {
                found.insert(target);
            }
        }
    }
    found
}

/// The module `super::` names from a file (for `x/mod.rs`, the module `x` is the file's).
fn parent_of(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// Edges between modules that are not ancestor and descendant of each other: a parent
/// declaring its children, or a child naming its parent's items, is containment.
fn import_graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = rust_files(src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        let text = product_lines(file).join("\n");
        let edges: BTreeSet<Vec<String>> = imports(&module, &text, &modules)
            .into_iter()
            .filter(|t| !t.starts_with(&module) && !module.starts_with(t))
            .collect();
        graph.insert(module, edges);
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|m| m.join("::")).collect();
            cycle.push(node.join("::"));
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_each_other_in_one_direction() {
    for crate_src in ["shared/src", "local/src", "local/bench/src"] {
        let graph = import_graph(&root().join(crate_src));
        assert!(graph.len() > 3, "{crate_src}: no modules found");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{crate_src}: import cycle {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let module = |name: &str| vec![name.to_owned()];
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (module("a"), [module("b")].into()),
        (module("b"), [module("c")].into()),
        (module("c"), [module("a")].into()),
    ]
    .into();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// (name, first line, length) of each function in `lines`.
fn functions(lines: &[String]) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(after) = [
            "pub fn ",
            "fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) async fn ",
            "pub(super) async fn ",
        ]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p)) else {
            continue;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i64;
        let mut opened = false;
        for (offset, body) in lines[start..].iter().enumerate() {
            let code = body.split("//").next().unwrap_or_default();
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && code.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                found.push((name.clone(), start + 1, offset + 1));
                break;
            }
        }
    }
    found
}

#[test]
fn product_files_and_functions_stay_readable() {
    let mut problems = Vec::new();
    for file in product_files() {
        let lines = product_lines(&file);
        if lines.len() > MAX_FILE_LINES {
            problems.push(format!("{}: {} lines", relative(&file), lines.len()));
        }
        for (name, line, length) in functions(&lines) {
            let id = format!("{}::{name}", relative(&file));
            if length > MAX_FUNCTION_LINES && !LONG_FUNCTIONS.iter().any(|(known, _)| *known == id)
            {
                problems.push(format!("{id} (line {line}): {length} lines"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "over {MAX_FILE_LINES} lines a file or {MAX_FUNCTION_LINES} a function:\n{}",
        problems.join("\n")
    );
}
