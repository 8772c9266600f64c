//! An app's launch configuration: PutAppLaunchConfiguration and its deletion, and the
//! check the service makes of it. A put moves the app to CONFIGURATION_IN_PROGRESS;
//! `configuration_secs` later it is READY_FOR_LAUNCH, or CONFIGURATION_INVALID with a
//! status message naming every problem. A configuration is complete when every member
//! server has one with a logical id (the console fills it in, the API caller must),
//! an instance type, a subnet and a security group; where the scenario declares the
//! target account's network, everything it names must exist there, subnet and
//! security group in the named VPC. A change of members checks it again.

use serde_json::{Map, Value};

use super::{secs, Action, App, AppKey, Engine};
use crate::scenario::{Network, NetworkMember};
use crate::sms::protocol::AppLaunchStatus;

/// Parameters of PutAppLaunchConfiguration.
#[derive(Debug, Clone)]
pub(crate) struct LaunchConfiguration {
    /// roleName.
    pub role_name: Option<String>,
    /// autoLaunch.
    pub auto_launch: Option<bool>,
    /// serverGroupLaunchConfigurations as put, already checked against the app.
    pub server_groups: Vec<Value>,
}

/// Launch statuses a new or changed configuration moves back to a check: the app is not
/// launching, launched or terminating.
fn reconfigurable(status: AppLaunchStatus) -> bool {
    matches!(
        status,
        AppLaunchStatus::ReadyForConfiguration
            | AppLaunchStatus::ConfigurationInProgress
            | AppLaunchStatus::ConfigurationInvalid
            | AppLaunchStatus::ReadyForLaunch
            | AppLaunchStatus::LaunchFailed
            | AppLaunchStatus::Terminated
    )
}

impl Engine {
    /// PutAppLaunchConfiguration: stored as put, then checked.
    pub(crate) fn put_launch_config(&mut self, key: AppKey, c: LaunchConfiguration) {
        let mut config = Map::new();
        if let Some(v) = c.role_name {
            config.insert("roleName".into(), v.into());
        }
        if let Some(v) = c.auto_launch {
            config.insert("autoLaunch".into(), v.into());
        }
        config.insert(
            "serverGroupLaunchConfigurations".into(),
            Value::Array(c.server_groups),
        );
        let now = self.now;
        let a = &mut self.apps[key.0];
        a.launch_config = Some(Value::Object(config));
        a.last_modified = now;
        self.check_launch_config_later(key.0);
    }

    /// DeleteAppLaunchConfiguration.
    pub(crate) fn delete_launch_config(&mut self, key: AppKey) {
        let now = self.now;
        let a = &mut self.apps[key.0];
        a.launch_config = None;
        if reconfigurable(a.launch_status) {
            a.epoch += 1;
            a.launch_status = AppLaunchStatus::ReadyForConfiguration;
            a.launch_status_message = None;
        }
        a.last_modified = now;
    }

    /// Starts the check of the app's configuration, when it has one and is not
    /// launching: CONFIGURATION_IN_PROGRESS until the clock reaches the verdict.
    pub(super) fn check_launch_config_later(&mut self, app: usize) {
        let a = &mut self.apps[app];
        if a.launch_config.is_none() || !reconfigurable(a.launch_status) {
            return;
        }
        a.epoch += 1;
        a.launch_status = AppLaunchStatus::ConfigurationInProgress;
        a.launch_status_message = None;
        let epoch = a.epoch;
        let at = self.now + secs(self.cfg.timing.configuration_secs);
        self.schedule(at, Action::ConfigurationChecked { app, epoch });
    }

    /// The verdict of a check no later call superseded.
    pub(super) fn configuration_checked(&mut self, app: usize, epoch: u32) {
        let a = &self.apps[app];
        if a.epoch != epoch || a.launch_status != AppLaunchStatus::ConfigurationInProgress {
            return;
        }
        self.settle_launch_config(app);
    }

    /// READY_FOR_LAUNCH or CONFIGURATION_INVALID, from the configuration as it is now.
    pub(super) fn settle_launch_config(&mut self, app: usize) {
        let problems = self.launch_config_problems(&self.apps[app]);
        let now = self.now;
        let a = &mut self.apps[app];
        if problems.is_empty() {
            a.launch_status = AppLaunchStatus::ReadyForLaunch;
            a.launch_status_message = None;
        } else {
            a.launch_status = AppLaunchStatus::ConfigurationInvalid;
            a.launch_status_message = Some(problems.join("; "));
        }
        a.last_modified = now;
    }

    /// Everything that keeps the app's launch configuration from launching it, each
    /// naming the server and the setting; empty when it is complete and valid.
    pub(super) fn launch_config_problems(&self, app: &App) -> Vec<String> {
        let Some(config) = &app.launch_config else {
            return vec!["the app has no launch configuration".into()];
        };
        let mut problems = Vec::new();
        for group in &app.groups {
            for server in &group.server_ids {
                match server_entry(config, &group.id, server) {
                    None => problems.push(format!("server {server} has no launch configuration")),
                    Some(entry) => problems.extend(
                        entry_problems(entry, self.cfg.network.as_ref())
                            .into_iter()
                            .map(|p| format!("server {server}: {p}")),
                    ),
                }
            }
        }
        problems
    }
}

/// The launch settings a configuration gives `server` in group `group`.
fn server_entry<'a>(config: &'a Value, group: &str, server: &str) -> Option<&'a Value> {
    config["serverGroupLaunchConfigurations"]
        .as_array()?
        .iter()
        .filter(|g| g["serverGroupId"].as_str() == Some(group))
        .filter_map(|g| g["serverLaunchConfigurations"].as_array())
        .flatten()
        .find(|s| s["server"]["serverId"].as_str() == Some(server))
}

/// What is missing from, or absent in the target account for, one server's settings.
fn entry_problems(entry: &Value, network: Option<&Network>) -> Vec<String> {
    let text = |key: &str| entry[key].as_str().filter(|v| !v.is_empty());
    let mut problems: Vec<String> = ["logicalId", "instanceType", "subnet", "securityGroup"]
        .into_iter()
        .filter(|key| text(key).is_none())
        .map(|key| format!("{key} is missing"))
        .collect();
    let Some(network) = network else {
        return problems;
    };
    let vpc = text("vpc");
    let absent = |what: &str, id: &str| format!("{what} {id} does not exist in the account");
    if let (Some(vpc), Some(vpcs)) = (vpc, &network.vpcs) {
        if !vpcs.iter().any(|v| v == vpc) {
            problems.push(absent("VPC", vpc));
        }
    }
    for (key, what, members) in [
        ("subnet", "subnet", &network.subnets),
        ("securityGroup", "security group", &network.security_groups),
    ] {
        if let (Some(id), Some(members)) = (text(key), members) {
            problems.extend(member_problem(what, id, vpc, members));
        }
    }
    for (key, what, known) in [
        ("ec2KeyName", "key pair", &network.key_pairs),
        ("instanceType", "instance type", &network.instance_types),
    ] {
        if let (Some(name), Some(known)) = (text(key), known) {
            if !known.iter().any(|k| k == name) {
                problems.push(absent(what, name));
            }
        }
    }
    problems
}

/// Whether a subnet or security group exists, and in the VPC the server names.
fn member_problem(
    what: &str,
    id: &str,
    vpc: Option<&str>,
    members: &[NetworkMember],
) -> Option<String> {
    match members.iter().find(|m| m.id == id) {
        None => Some(format!("{what} {id} does not exist in the account")),
        Some(member) => vpc
            .filter(|vpc| *vpc != member.vpc)
            .map(|vpc| format!("{what} {id} is in {}, not in {vpc}", member.vpc)),
    }
}
