//! The wave plan a scenario's engineer puts in the artifacts bucket, and the versions
//! that replace it later (`plans:`). The emulator never reads a plan: the wave runner
//! writes each version where the planner finds it. A version is given inline (`text`)
//! or as a file beside the scenario (`file`), read when the scenario is loaded.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Scenario, ScenarioError};

/// One version of the wave plan and when it is put in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanVersionSpec {
    /// Seconds from the start when it is written (0: as the wave starts).
    #[serde(default)]
    pub at_secs: u64,
    /// A file beside the scenario holding the plan (YAML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The plan itself, as text; filled from `file` when the scenario is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Scenario {
    /// The plan versions, (seconds from the start, text), each with its text.
    pub fn plan_versions(&self) -> Vec<(u64, String)> {
        self.plans
            .iter()
            .filter_map(|p| Some((p.at_secs, p.text.clone()?)))
            .collect()
    }

    /// Reads the `file` of each version, relative to `dir` (the scenario's folder), or
    /// from `embedded` (name, text) for a scenario built into the binary.
    pub(super) fn read_plan_files(
        &mut self,
        dir: Option<&Path>,
        embedded: &[(&str, &str)],
        origin: &str,
    ) -> Result<(), ScenarioError> {
        let mut problems = Vec::new();
        for (index, version) in self.plans.iter_mut().enumerate() {
            let place = format!("plans[{index}]");
            match (&version.file, &version.text) {
                (Some(_), Some(_)) => {
                    problems.push(format!("{place}: give `file` or `text`, not both"))
                }
                (None, None) => {
                    problems.push(format!("{place}: give the plan's `file` or its `text`"))
                }
                (None, Some(_)) => {}
                (Some(file), None) => match read(file, dir, embedded) {
                    Ok(text) => version.text = Some(text),
                    Err(problem) => problems.push(format!("{place}.file: {problem}")),
                },
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(ScenarioError::Invalid {
            origin: origin.to_owned(),
            problems,
        })
    }
}

fn read(file: &str, dir: Option<&Path>, embedded: &[(&str, &str)]) -> Result<String, String> {
    if let Some((_, text)) = embedded.iter().find(|(name, _)| *name == file) {
        return Ok((*text).to_owned());
    }
    let Some(dir) = dir else {
        return Err(format!(
            "`{file}` cannot be read: the scenario has no folder"
        ));
    };
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))
}
