//! The scenarios built into the binary: the default estate with its wave plan (what
//! `run` and `serve` play without `--scenario`), and the same estate with its
//! applications made by hand.

use super::Scenario;

/// The built-in scenario `run` and `serve` play when no `--scenario` is given.
pub const DEFAULT_SCENARIO_YAML: &str = include_str!("../../scenarios/default.yaml");

/// The default scenario's wave plan versions, by the file names it gives them.
const DEFAULT_PLAN_FILES: [(&str, &str); 2] = [
    (
        "default.plan.yaml",
        include_str!("../../scenarios/default.plan.yaml"),
    ),
    (
        "default.plan-fixed.yaml",
        include_str!("../../scenarios/default.plan-fixed.yaml"),
    ),
];

/// The default estate with its applications made by hand, and no wave plan.
const HAND_MADE_APPS_YAML: &str = include_str!("../../scenarios/hand-made-apps.yaml");

impl Scenario {
    /// The built-in default scenario.
    pub fn default_scenario() -> Self {
        Self::built_in(DEFAULT_SCENARIO_YAML, "<default>")
    }

    /// The default estate as a user who made its applications by hand before the wave
    /// has it: the apps and their launch configurations come with the scenario, and no
    /// wave plan.
    pub fn hand_made_apps() -> Self {
        Self::built_in(HAND_MADE_APPS_YAML, "<hand-made-apps>")
    }

    fn built_in(text: &str, origin: &str) -> Self {
        // The embedded files are checked by unit tests, so this cannot fail in a release.
        let mut scenario = Self::from_str_named(text, origin)
            .unwrap_or_else(|e| panic!("embedded scenario {origin} is broken: {e}"));
        scenario
            .read_plan_files(None, &DEFAULT_PLAN_FILES, origin)
            .unwrap_or_else(|e| panic!("embedded scenario {origin} is broken: {e}"));
        scenario
    }
}
