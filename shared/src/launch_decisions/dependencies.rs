//! Where each application another depends on stands, as far as the launcher can tell
//! from its listing, the accepted plan and its ledger: launched, or left to a person (a
//! manual or opted-out application, one whose launch budget is spent, or one held
//! itself, so a chain of dependents is reported link by link). A dependent of an
//! application left to a person is reported held once, rather than waiting in silence.

use std::collections::BTreeMap;

use crate::launches::LaunchLedger;
use crate::migration::LaunchPhase;
use crate::model::ListedApp;
use crate::plan::resolved::ResolvedPlan;
use crate::plan::LaunchMode;

/// Where one application stands, for those that depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    Launched,
    /// The autopilot will not launch it; why.
    LeftToAPerson(String),
}

/// The standing of every listed application that is launched or left to a person, by
/// name; the others are still on their way.
#[derive(Debug, Clone, Default)]
pub struct Dependencies {
    by_name: BTreeMap<String, Standing>,
}

impl Dependencies {
    /// Reads the listing against the plan and the ledger.
    pub fn of(
        listing: &[ListedApp],
        plan: &ResolvedPlan,
        ledger: &LaunchLedger,
        max_attempts: u32,
    ) -> Self {
        let by_name = listing
            .iter()
            .filter_map(|listed| {
                let standing = standing(listed, plan, ledger, max_attempts)?;
                Some((listed.name.clone(), standing))
            })
            .collect();
        Self { by_name }
    }

    /// Whether the application named `name` is launched.
    pub fn launched(&self, name: &str) -> bool {
        self.by_name.get(name) == Some(&Standing::Launched)
    }

    /// Why the autopilot will not launch the application named `name`, if it will not.
    pub fn left_to_a_person(&self, name: &str) -> Option<&str> {
        match self.by_name.get(name)? {
            Standing::LeftToAPerson(why) => Some(why),
            Standing::Launched => None,
        }
    }
}

fn standing(
    listed: &ListedApp,
    plan: &ResolvedPlan,
    ledger: &LaunchLedger,
    max_attempts: u32,
) -> Option<Standing> {
    let status = &listed.launch_status;
    if status.is_launched() {
        return Some(Standing::Launched);
    }
    match plan.apps.get(&listed.name).map(|policy| policy.launch) {
        Some(LaunchMode::Manual) => {
            return Some(Standing::LeftToAPerson("a person launches it".to_owned()));
        }
        Some(LaunchMode::Rollback) => {
            let why = "the wave plan rolls it back".to_owned();
            return Some(Standing::LeftToAPerson(why));
        }
        Some(LaunchMode::Automatic) | None => {}
    }
    let id = listed.id.as_ref()?;
    let record = ledger.apps.get(id)?;
    let failed_for_good = status.phase == LaunchPhase::LaunchFailed
        && record.alerted_failure.is_some()
        && record.launches >= max_attempts;
    let why = if failed_for_good {
        format!(
            "its launch failed {} times, the launch budget is spent",
            record.launches
        )
    } else if !ledger.may_launch(id, max_attempts) {
        format!(
            "its launch was refused {} times, the launch budget is spent",
            record.launches
        )
    } else if record.ready_announced {
        // Announced ready for a person: opted out by tag (or manual, above).
        "a person launches it".to_owned()
    } else if let Some(hold) = &record.reported_hold {
        format!("held: {hold}")
    } else {
        return None;
    };
    Some(Standing::LeftToAPerson(why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppId, AppLaunchStatus};

    #[test]
    fn a_dependency_whose_launch_budget_is_spent_is_left_to_a_person() {
        let listing = [ListedApp {
            id: Some(AppId::from("app-1")),
            name: "billing".into(),
            launch_status: AppLaunchStatus::LaunchFailed.into(),
        }];
        let plan = ResolvedPlan::default();
        let mut ledger = LaunchLedger::default();
        let id = AppId::from("app-1");
        ledger.claim_launch(&id);
        ledger.failed_launch(&id, "first failure", 2);
        let one_spent = Dependencies::of(&listing, &plan, &ledger, 2);
        assert_eq!(one_spent.left_to_a_person("billing"), None, "one more try");
        ledger.claim_launch(&id);
        ledger.failed_launch(&id, "second failure", 2);
        let spent = Dependencies::of(&listing, &plan, &ledger, 2);
        assert_eq!(
            spent.left_to_a_person("billing"),
            Some("its launch failed 2 times, the launch budget is spent")
        );
        assert!(!spent.launched("billing"));
    }
}
