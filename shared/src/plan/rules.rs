//! What a plan must satisfy beyond its schema: known version, unique names, members that
//! parse and belong to one application only, known dependencies without a cycle, valid
//! windows, per-server settings for members only, and settings SMS would not refuse.

use std::collections::{BTreeMap, BTreeSet};

use super::shape::Problem;
use super::{
    parse_duration, Finalize, LaunchMode, LaunchSettings, Plan, PlannedApp, RightSizing, Settings,
    PLAN_VERSION,
};
use crate::readiness::LaunchWindow;
use crate::wave_policy::{Selector, VmField};

/// The tag the planner puts on the applications it manages; a plan may not set it.
pub const MANAGED_TAG: &str = "autopilot:plan";

/// A member of a group, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// One VM by name.
    VmName(String),
    /// Every catalog server the selector matches.
    Selector(Selector),
}

impl Member {
    /// A selector when the text starts with a field's name and a `:` (a known field, or
    /// a word beginning `vm` or `server`, a misspelt one), else a VM name (VM names may
    /// contain `:` too).
    pub fn parse(text: &str) -> Result<Member, String> {
        let prefix = text.trim_start().split_once(':').map(|(field, _)| field);
        let selector_like = prefix.is_some_and(|field| {
            let known = VmField::ALL.iter().any(|f| f.name() == field);
            let misspelt = (field.starts_with("vm") || field.starts_with("server"))
                && field.chars().all(|c| c.is_ascii_alphabetic());
            known || misspelt
        });
        if selector_like {
            return text
                .parse::<Selector>()
                .map(Member::Selector)
                .map_err(|error| error.to_string());
        }
        if text.trim().is_empty() {
            return Err("a member must name a VM or be a selector".to_owned());
        }
        Ok(Member::VmName(text.to_owned()))
    }
}

/// Every rule the plan breaks.
pub fn check(plan: &Plan) -> Vec<Problem> {
    let mut rules = Rules::default();
    if plan.version != PLAN_VERSION {
        rules.report(
            "version".into(),
            format!(
                "version {} is not one this autopilot reads ({PLAN_VERSION})",
                plan.version
            ),
        );
    }
    rules.settings("defaults".into(), &Settings::default(), &plan.defaults);
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, app) in plan.applications.iter().enumerate() {
        let path = format!("applications[{index}]");
        if let Some(first) = names.insert(app.name.as_str(), index) {
            rules.report(
                format!("{path}.name"),
                format!("`{}` is also the name of applications[{first}]", app.name),
            );
        }
        rules.application(&path, app, &plan.defaults);
    }
    rules.dependencies(plan, &names);
    rules.problems
}

#[derive(Default)]
struct Rules<'a> {
    problems: Vec<Problem>,
    /// Where each VM named literally was first claimed.
    claimed: BTreeMap<&'a str, String>,
}

impl<'a> Rules<'a> {
    fn report(&mut self, path: String, message: String) {
        self.problems.push(Problem { path, message });
    }

    /// A launch window (`field` of the application at `path`): only an automatic
    /// application has one, and it must parse.
    fn window(&mut self, path: &str, field: &str, window: Option<&str>, launch: LaunchMode) {
        let Some(window) = window else {
            return;
        };
        let problem = match launch {
            LaunchMode::Manual => {
                "a manual application is launched by a person: it has no launch window".to_owned()
            }
            LaunchMode::Rollback => {
                "an application rolled back is not launched: it has no launch window".to_owned()
            }
            LaunchMode::Automatic => match window.parse::<LaunchWindow>() {
                Ok(_) => return,
                Err(error) => error,
            },
        };
        self.report(format!("{path}.{field}"), problem);
    }

    /// `defaults`: the plan's settings, under the application's.
    fn application(&mut self, path: &str, app: &'a PlannedApp, defaults: &Settings) {
        if app.name.trim().is_empty() {
            self.report(format!("{path}.name"), "an application needs a name".into());
        }
        self.tags(path, app);
        self.window(path, "window", app.window.as_deref(), app.launch);
        self.window(path, "testWindow", app.test_window.as_deref(), app.launch);
        if let Finalize::After(finalize) = &app.finalize {
            if let Err(error) = parse_duration(&finalize.after) {
                self.report(format!("{path}.finalize.after"), error);
            }
        }
        let app_settings = self.settings(format!("{path}.settings"), defaults, &app.settings);
        if app.groups.is_empty() {
            self.report(
                format!("{path}.groups"),
                "an application needs a server group".into(),
            );
        }
        let mut groups = BTreeSet::new();
        for (index, group) in app.groups.iter().enumerate() {
            let group_path = format!("{path}.groups[{index}]");
            if !groups.insert(group.name.as_str()) {
                self.report(
                    format!("{group_path}.name"),
                    format!("group `{}` appears twice in `{}`", group.name, app.name),
                );
            }
            self.members(&group_path, &group.servers);
            let group_settings = self.settings(
                format!("{group_path}.settings"),
                &app_settings,
                &group.settings,
            );
            // A group that takes servers by selector learns which from the catalog: its
            // settings by VM name are checked when the plan is resolved.
            let selects = group
                .servers
                .iter()
                .any(|member| matches!(Member::parse(member), Ok(Member::Selector(_))));
            for (vm, settings) in &group.server_settings {
                let settings_path = format!("{group_path}.serverSettings.{vm}");
                if !selects && !group.servers.iter().any(|member| member == vm) {
                    self.report(
                        settings_path.clone(),
                        format!("`{vm}` is not named among the group's servers"),
                    );
                }
                self.settings(settings_path, &group_settings, settings);
            }
        }
    }

    fn tags(&mut self, path: &str, app: &PlannedApp) {
        for (key, value) in &app.tags {
            let tag_path = format!("{path}.tags.{key}");
            if key == MANAGED_TAG {
                self.report(
                    tag_path,
                    format!("`{MANAGED_TAG}` is the planner's own tag"),
                );
            } else if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
                self.report(
                    tag_path,
                    "a tag key has 1 to 128 characters and does not start with `aws:`".into(),
                );
            } else if value.chars().count() > 256 {
                self.report(tag_path, "a tag value has at most 256 characters".into());
            }
        }
    }

    fn members(&mut self, group_path: &str, servers: &'a [String]) {
        if servers.is_empty() {
            self.report(
                format!("{group_path}.servers"),
                "a group needs at least one server".into(),
            );
        }
        for (index, text) in servers.iter().enumerate() {
            let path = format!("{group_path}.servers[{index}]");
            match Member::parse(text) {
                Err(error) => self.report(path, error),
                Ok(Member::VmName(_)) => {
                    if let Some(first) = self.claimed.get(text.as_str()) {
                        let message = format!("`{text}` is already a member at {first}");
                        self.report(path, message);
                    } else {
                        self.claimed.insert(text, path);
                    }
                }
                Ok(Member::Selector(_)) => {}
            }
        }
    }

    /// Settings SMS would refuse, or quietly ignore, though each field is well formed:
    /// checked on what the level's settings make of the wider ones (`above`), and
    /// reported at the level that sets one of the fields concerned, so a problem of the
    /// defaults is named once, not once per application. Returns the level's settings.
    fn settings(&mut self, path: String, above: &Settings, own: &Settings) -> Settings {
        let effective = above.then(own);
        let replication = &effective.replication;
        let touches_key =
            own.replication.kms_key_id.is_some() || own.replication.encrypted.is_some();
        if touches_key && replication.kms_key_id.is_some() && replication.encrypted != Some(true) {
            let message = match replication.encrypted {
                Some(false) => "`encrypted` is false here, so SMS would ignore the KMS key",
                _ => {
                    "a KMS key takes effect only on encrypted AMIs: set `encrypted: true` beside it"
                }
            };
            let field = if own.replication.kms_key_id.is_some() {
                "kmsKeyId"
            } else {
                "encrypted"
            };
            self.report(format!("{path}.replication.{field}"), message.into());
        }
        self.launch_settings(&path, &own.launch, &effective.launch);
        effective
    }

    /// MGN launch settings that contradict each other at one level.
    fn launch_settings(&mut self, path: &str, own: &LaunchSettings, effective: &LaunchSettings) {
        if own.security_group.is_some() && own.security_groups.is_some() {
            self.report(
                format!("{path}.launch.securityGroups"),
                "give `securityGroups` or `securityGroup`, not both".into(),
            );
        }
        let touches_type = own.instance_type.is_some() || own.right_sizing.is_some();
        if touches_type
            && effective.instance_type.is_some()
            && effective.right_sizing == Some(RightSizing::Basic)
        {
            let field = if own.instance_type.is_some() {
                "instanceType"
            } else {
                "rightSizing"
            };
            self.report(
                format!("{path}.launch.{field}"),
                "`rightSizing: basic` lets MGN choose the instance type, so `instanceType` \
                 would be ignored: set `rightSizing: none` or leave out `instanceType`"
                    .into(),
            );
        }
    }

    /// Every dependency names another application of the plan, and none loops.
    fn dependencies(&mut self, plan: &Plan, names: &BTreeMap<&str, usize>) {
        for (index, app) in plan.applications.iter().enumerate() {
            for (at, dependency) in app.depends_on.iter().enumerate() {
                let path = format!("applications[{index}].dependsOn[{at}]");
                if dependency == &app.name {
                    self.report(path, "an application cannot depend on itself".into());
                } else if !names.contains_key(dependency.as_str()) {
                    self.report(path, format!("no application is named `{dependency}`"));
                }
            }
        }
        if let Some((index, cycle)) = first_cycle(plan, names) {
            self.report(
                format!("applications[{index}].dependsOn"),
                format!("dependencies loop: {}", cycle.join(" -> ")),
            );
        }
    }
}

/// The first dependency cycle, by the index of an application on it, as names.
fn first_cycle(plan: &Plan, names: &BTreeMap<&str, usize>) -> Option<(usize, Vec<String>)> {
    // 0 unvisited, 1 on the current path, 2 done.
    let mut state = vec![0u8; plan.applications.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        at: usize,
        plan: &Plan,
        names: &BTreeMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[at] = 1;
        path.push(at);
        for dependency in &plan.applications[at].depends_on {
            let Some(&next) = names.get(dependency.as_str()) else {
                continue;
            };
            if next == at {
                continue;
            }
            if state[next] == 1 {
                let start = path.iter().position(|&p| p == next).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(next);
                return Some(cycle);
            }
            if state[next] == 0 {
                if let Some(cycle) = visit(next, plan, names, state, path) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        state[at] = 2;
        None
    }
    (0..plan.applications.len()).find_map(|start| {
        if state[start] != 0 {
            return None;
        }
        let cycle = visit(start, plan, names, &mut state, &mut path)?;
        let shown = cycle
            .iter()
            .map(|&i| plan.applications[i].name.clone())
            .collect();
        Some((cycle[0], shown))
    })
}
