//! Replays every committed corpus seed (`corpus/<target>/`) through its target's check,
//! so the fuzz properties hold under plain `cargo test` where nightly is missing.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("seed");
        check(&data);
        seeds += 1;
    }
    assert!(seeds >= 10, "{target}: {seeds} seeds");
}

#[test]
fn event_parsing_corpus() {
    replay("event_parsing", autopilot_fuzz::event);
}

#[test]
fn scenario_parsing_corpus() {
    replay("scenario_parsing", autopilot_fuzz::scenario);
}
