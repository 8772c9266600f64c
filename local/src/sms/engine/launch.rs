//! Launching apps: LaunchApp and TerminateApp, and the launch status the clock then
//! moves them through (LAUNCH_PENDING -> LAUNCH_IN_PROGRESS -> LAUNCHED,
//! TERMINATE_IN_PROGRESS -> TERMINATED), with the stack a launch leaves behind.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{secs, Action, AppKey, Engine, Millis};
use crate::scenario::uuid_like;
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
            AppLaunchStatus::LaunchInProgress => self.finish_launch(app),
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
        }
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
