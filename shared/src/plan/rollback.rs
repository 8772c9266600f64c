//! A way back from a bad launch: an application the plan sets to `launch: rollback` has
//! its launched stack terminated (TerminateApp), once per plan version, and only when
//! the planner made it (it carries the planner's tag); the launcher then holds it until
//! the plan says `automatic` again.

use super::desired::DesiredWave;
use super::reconcile::{find, ExistingApp};
use super::rules::MANAGED_TAG;
use super::LaunchMode;
use crate::migration::{LaunchPhase, LaunchState};
use crate::model::AppId;

/// One application whose stack is terminated now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub app_id: AppId,
    pub name: String,
    /// Its launch status when the rollback was decided.
    pub launch_status: LaunchState,
    pub plan_version: String,
}

impl Rollback {
    /// What tells this rollback from another: the application and the plan version.
    pub fn key(&self) -> String {
        format!("{}/{}", self.app_id, self.plan_version)
    }
}

/// The applications of `wave` (plan `version`) to roll back now: planned `rollback`,
/// carrying the planner's tag, with a stack (launched, or its termination failed
/// before), and not rolled back under this version yet (`rolled_back` tells the
/// [`Rollback::key`]s done).
pub fn due(
    wave: &DesiredWave,
    existing: &[ExistingApp],
    rolled_back: &impl Fn(&str) -> bool,
    version: &str,
) -> Vec<Rollback> {
    wave.apps
        .iter()
        .filter(|desired| desired.launch == LaunchMode::Rollback)
        .filter_map(|desired| {
            let app = find(existing, &desired.name)?;
            let has_stack = app.launch_status.is_launched()
                || app.launch_status.phase == LaunchPhase::TerminationFailed;
            let rollback = Rollback {
                app_id: app.id.clone(),
                name: desired.name.clone(),
                launch_status: app.launch_status.clone(),
                plan_version: version.to_owned(),
            };
            let ours = app.tags.contains_key(MANAGED_TAG);
            (ours && has_stack && !rolled_back(&rollback.key())).then_some(rollback)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppLaunchStatus;
    use crate::plan::desired;
    use crate::plan::reconcile::Held;
    use crate::plan::tests::server;
    use crate::plan::Plan;

    fn wave(launch: &str) -> DesiredWave {
        let text = format!(
            "version: 1\napplications:\n  - name: shop\n    launch: {launch}\n    groups: [{{ name: web, servers: [web-01] }}]\n"
        );
        let catalog = [server("s-1", "web-01", "/dc1/web-01")];
        desired::resolve(&Plan::parse(&text).unwrap(), &catalog)
    }

    fn shop(status: AppLaunchStatus, managed: bool) -> Vec<ExistingApp> {
        let tags = if managed {
            [(MANAGED_TAG.to_owned(), "shop".to_owned())].into()
        } else {
            Default::default()
        };
        vec![ExistingApp {
            id: AppId::from("app-1"),
            name: "shop".into(),
            description: None,
            tags,
            deleted: false,
            launch_status: status.into(),
            replication_status: Default::default(),
            groups: Vec::new(),
            launch: Held::Unknown,
            replication: Held::Unknown,
            last_modified: None,
            launched_at: None,
            launch_put: None,
        }]
    }

    #[test]
    fn a_launched_application_the_planner_made_is_rolled_back_once_per_plan_version() {
        let none = |_: &str| false;
        let found = due(
            &wave("rollback"),
            &shop(AppLaunchStatus::Launched, true),
            &none,
            "v2",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key(), "app-1/v2");
        let done = |key: &str| key == "app-1/v2";
        let launched = shop(AppLaunchStatus::Launched, true);
        assert!(due(&wave("rollback"), &launched, &done, "v2").is_empty());
        assert_eq!(due(&wave("rollback"), &launched, &done, "v3").len(), 1);
        for (launch, status, managed) in [
            ("automatic", AppLaunchStatus::Launched, true),
            ("rollback", AppLaunchStatus::Launched, false),
            ("rollback", AppLaunchStatus::Terminated, true),
            ("rollback", AppLaunchStatus::ReadyForLaunch, true),
            ("rollback", AppLaunchStatus::TerminateInProgress, true),
        ] {
            let found = due(&wave(launch), &shop(status.clone(), managed), &none, "v2");
            assert!(found.is_empty(), "{launch} {status:?} {managed}");
        }
        let failed = shop(AppLaunchStatus::TerminateFailed, true);
        assert_eq!(due(&wave("rollback"), &failed, &none, "v2").len(), 1);
    }
}
