//! Launching apps: LaunchApp and TerminateApp, and the launch status the clock then
//! moves them through (LAUNCH_PENDING -> LAUNCH_IN_PROGRESS -> LAUNCHED or
//! LAUNCH_FAILED with a status message, TERMINATE_IN_PROGRESS -> TERMINATED), with the
//! stack a launch leaves behind. An app launches only with a valid launch configuration
//! (`launch_config.rs`); the scenario can make launches fail a number of times, per app
//! it brings or as a seeded draw for every app CreateApp makes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{secs, Action, App, AppKey, Engine, Millis};
use crate::rng::SplitMix64;
use crate::scenario::{uuid_like, UnconfiguredLaunch};
use crate::sms::protocol::{ApiError, AppLaunchStatus};

/// Stack details of a launched app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchDetails {
    /// Last launch time.
    pub latest_launch_time: Millis,
    /// CloudFormation stack name.
    pub stack_name: String,
    /// CloudFormation stack id.
    pub stack_id: String,
}

/// The launch failures `faults.launch_failures_up_to` gives each app CreateApp makes:
/// a draw fixed by the seed and the app's name, so a replay meets the same failures
/// whatever order the apps are created in.
#[derive(Debug, Clone, Default)]
pub(crate) struct LaunchFailureDraws {
    pub up_to: u32,
    pub seed: u64,
}

impl LaunchFailureDraws {
    /// How many of `app_name`'s launches end LAUNCH_FAILED.
    pub(crate) fn draw(&self, app_name: &str) -> u32 {
        if self.up_to == 0 {
            return 0;
        }
        let name = app_name
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
            });
        let drawn = SplitMix64::new(self.seed ^ name).next_u64() % (u64::from(self.up_to) + 1);
        u32::try_from(drawn).unwrap_or(self.up_to)
    }
}

impl Engine {
    /// LaunchApp.
    pub(crate) fn launch_app(&mut self, key: AppKey) -> Result<(), ApiError> {
        let app = key.0;
        let a = &self.apps[app];
        if matches!(
            a.launch_status,
            AppLaunchStatus::LaunchPending
                | AppLaunchStatus::LaunchInProgress
                | AppLaunchStatus::Launched
                | AppLaunchStatus::TerminateInProgress
        ) {
            return Err(ApiError::not_permitted(format!(
                "App {} cannot be launched while its launch status is {}",
                a.id, a.launch_status
            )));
        }
        if a.server_ids().next().is_none() {
            return Err(ApiError::not_permitted(format!(
                "App {} has no servers",
                a.id
            )));
        }
        let missing = self.members_without_ami(a);
        if !missing.is_empty() {
            return Err(ApiError::not_permitted(format!(
                "App {} cannot be launched: servers without a completed replication run: {}",
                a.id,
                missing.join(", ")
            )));
        }
        self.check_launchable_configuration(a)?;
        let at = self.now + secs(self.cfg.timing.launch_pending_secs);
        let a = &mut self.apps[app];
        a.epoch += 1;
        a.launch_status = AppLaunchStatus::LaunchPending;
        a.launch_status_message = None;
        a.last_modified = self.now;
        let epoch = a.epoch;
        self.schedule(at, Action::LaunchStep { app, epoch });
        Ok(())
    }

    /// Refuses a launch the app's launch configuration does not allow. Under the
    /// `fails_later` reading an unconfigured app is accepted and its launch fails.
    fn check_launchable_configuration(&self, a: &App) -> Result<(), ApiError> {
        if a.launch_status == AppLaunchStatus::ConfigurationInProgress {
            return Err(ApiError::not_permitted(format!(
                "App {} cannot be launched while its launch configuration is being checked",
                a.id
            )));
        }
        if self.cfg.readings.unconfigured_launch == UnconfiguredLaunch::FailsLater {
            return Ok(());
        }
        let problems = self.launch_config_problems(a);
        if problems.is_empty() {
            return Ok(());
        }
        Err(ApiError::not_permitted(format!(
            "App {} cannot be launched without a valid launch configuration (launch status {}): {}",
            a.id,
            a.launch_status,
            problems.join("; ")
        )))
    }

    /// TerminateApp.
    pub(crate) fn terminate_app(&mut self, key: AppKey) -> Result<(), ApiError> {
        let app = key.0;
        let a = &self.apps[app];
        if !matches!(
            a.launch_status,
            AppLaunchStatus::Launched
                | AppLaunchStatus::LaunchPending
                | AppLaunchStatus::LaunchInProgress
        ) {
            return Err(ApiError::not_permitted(format!(
                "App {} is not launched (launch status {})",
                a.id, a.launch_status
            )));
        }
        let at = self.now + secs(self.cfg.timing.terminate_secs);
        let a = &mut self.apps[app];
        a.epoch += 1;
        a.launch_status = AppLaunchStatus::TerminateInProgress;
        a.last_modified = self.now;
        let epoch = a.epoch;
        self.schedule(at, Action::TerminateDone { app, epoch });
        Ok(())
    }

    /// The next step of a launch that no later call cancelled.
    pub(super) fn launch_step(&mut self, app: usize, epoch: u32) {
        if self.apps[app].epoch != epoch {
            return;
        }
        match self.apps[app].launch_status {
            AppLaunchStatus::LaunchPending => {
                self.apps[app].launch_status = AppLaunchStatus::LaunchInProgress;
                self.apps[app].launch_status_message = None;
                let at = self.now + secs(self.cfg.timing.launch_secs);
                self.schedule(at, Action::LaunchStep { app, epoch });
            }
            AppLaunchStatus::LaunchInProgress => match self.launch_failure(app) {
                Some(message) => self.fail_launch(app, message),
                None => self.finish_launch(app),
            },
            _ => {}
        }
    }

    /// The end of a termination that no later call cancelled.
    pub(super) fn terminate_done(&mut self, app: usize, epoch: u32) {
        let a = &mut self.apps[app];
        if a.epoch == epoch && a.launch_status == AppLaunchStatus::TerminateInProgress {
            a.launch_status = AppLaunchStatus::Terminated;
            a.launch_status_message = None;
            a.last_modified = self.now;
            a.terminations += 1;
        }
    }

    /// Why the launch of `app` fails, if it does: its configuration does not allow it
    /// (possible only under the `fails_later` reading, or after a put during the
    /// launch), or the scenario injects a failure.
    fn launch_failure(&mut self, app: usize) -> Option<String> {
        let problems = self.launch_config_problems(&self.apps[app]);
        if !problems.is_empty() {
            return Some(format!(
                "Launch failed: the launch configuration is not valid: {}",
                problems.join("; ")
            ));
        }
        let a = &mut self.apps[app];
        if a.launch_failures_left == 0 {
            return None;
        }
        a.launch_failures_left -= 1;
        let first = a.server_ids().next().cloned().unwrap_or_default();
        Some(format!(
            "Launch failed: CloudFormation stack sms-app-{} rolled back: the instance of server {first} did not start (failure injected by the scenario)",
            a.id.trim_start_matches("app-")
        ))
    }

    /// LAUNCH_FAILED with a message; LaunchApp may be called again.
    fn fail_launch(&mut self, app: usize, message: String) {
        let a = &mut self.apps[app];
        a.launch_status = AppLaunchStatus::LaunchFailed;
        a.launch_status_message = Some(message);
        a.launches_failed += 1;
        a.last_modified = self.now;
    }

    /// LAUNCHED: the stack exists and remembers each member's AMI for change sets.
    fn finish_launch(&mut self, app: usize) {
        let amis: BTreeMap<String, String> = self.apps[app]
            .server_ids()
            .filter_map(|sid| Some((sid.clone(), self.latest_ami_of(sid)?)))
            .collect();
        let region = self.cfg.region.clone();
        let account = self.cfg.account.clone();
        let suffix = uuid_like(&mut self.ids);
        let a = &mut self.apps[app];
        let stack_name = format!("sms-app-{}", a.id.trim_start_matches("app-"));
        a.launch_details = Some(LaunchDetails {
            latest_launch_time: self.now,
            stack_id: format!(
                "arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{suffix}"
            ),
            stack_name,
        });
        a.launch_status = AppLaunchStatus::Launched;
        a.launch_status_message = None;
        a.launched_amis = amis;
        a.last_modified = self.now;
    }
}

#[cfg(test)]
mod tests {
    use super::LaunchFailureDraws;

    #[test]
    fn launch_failures_are_drawn_per_app_name_within_the_bound() {
        let draws = LaunchFailureDraws { up_to: 2, seed: 7 };
        let names: Vec<String> = (0..200).map(|i| format!("app-{i}")).collect();
        let drawn: Vec<u32> = names.iter().map(|name| draws.draw(name)).collect();
        assert!(drawn.iter().all(|&n| n <= 2), "{drawn:?}");
        for outcome in 0..=2 {
            assert!(drawn.contains(&outcome), "{outcome} never drawn: {drawn:?}");
        }
        let again: Vec<u32> = names.iter().map(|name| draws.draw(name)).collect();
        assert_eq!(drawn, again, "a replay meets the same failures");
        let other_seed = LaunchFailureDraws { up_to: 2, seed: 8 };
        assert_ne!(
            drawn,
            names.iter().map(|n| other_seed.draw(n)).collect::<Vec<_>>()
        );
        let none = LaunchFailureDraws { up_to: 0, seed: 7 };
        assert!(names.iter().all(|name| none.draw(name) == 0));
    }
}
