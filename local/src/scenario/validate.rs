//! Scenario validation: ranges and cross references, every problem reported at once,
//! in file order, so a user fixes a scenario in one pass rather than one error a run.

use std::collections::BTreeSet;

use super::{Scenario, ScenarioError};
use crate::mgn::model::DataReplicationError;

/// The connector manager types the model knows.
pub(super) const MANAGER_TYPES: [&str; 3] = ["VSPHERE", "SCVMM", "HYPERV-MANAGER"];

impl Scenario {
    pub(super) fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        let mut problems = Vec::new();
        self.check_settings(&mut problems);
        // Connector and server ids share one namespace: both end up in SMS answers.
        let mut ids = BTreeSet::new();
        let managers = self.check_connectors(&mut problems, &mut ids);
        let names = self.check_servers(&mut problems, &mut ids, &managers);
        self.check_apps(&mut problems, &names);
        self.check_mgn(&mut problems, &names);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    fn check_settings(&self, problems: &mut Vec<String>) {
        let rates = [
            ("error_rate", self.faults.error_rate),
            ("dropped_sms_events", self.faults.dropped_sms_events),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                problems.push(format!("faults.{name} must be within 0..=1, got {rate}"));
            }
        }
        if let Some(t) = &self.faults.throttle {
            if t.max_calls_per_second == 0 {
                problems.push("faults.throttle.max_calls_per_second must be at least 1".into());
            }
        }
        if !(1..=24).contains(&self.limits.default_frequency_hours) {
            problems.push("limits.default_frequency_hours must be within 1..=24".into());
        }
        if !valid_bucket(&self.template_bucket) {
            problems.push(format!(
                "template_bucket {:?} is not a valid S3 bucket name",
                self.template_bucket
            ));
        }
        for b in &self.extra_buckets {
            if !valid_bucket(b) {
                problems.push(format!(
                    "extra_buckets: {b:?} is not a valid S3 bucket name"
                ));
            }
        }
    }

    /// Checks the connectors; returns the VM managers they watch.
    fn check_connectors(
        &self,
        problems: &mut Vec<String>,
        ids: &mut BTreeSet<String>,
    ) -> BTreeSet<&str> {
        let mut managers = BTreeSet::new();
        for (i, c) in self.connectors.iter().enumerate() {
            if !MANAGER_TYPES.contains(&c.vm_manager_type.as_str()) {
                problems.push(format!(
                    "connectors[{i}].vm_manager_type {:?} is not one of {MANAGER_TYPES:?}",
                    c.vm_manager_type
                ));
            }
            if !managers.insert(c.vm_manager_name.as_str()) {
                problems.push(format!(
                    "connectors[{i}]: vm manager {:?} has two connectors",
                    c.vm_manager_name
                ));
            }
            for p in &c.unhealthy {
                if p.from_secs >= p.to_secs {
                    problems.push(format!(
                        "connectors[{i}].unhealthy: from_secs must be < to_secs"
                    ));
                }
            }
            if let Some(id) = &c.id {
                if !ids.insert(id.clone()) {
                    problems.push(format!("connectors[{i}]: duplicate id {id}"));
                }
            }
        }
        managers
    }

    /// Checks the servers against the connectors; returns their VM names.
    fn check_servers(
        &self,
        problems: &mut Vec<String>,
        ids: &mut BTreeSet<String>,
        managers: &BTreeSet<&str>,
    ) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        for (i, s) in self.servers.iter().enumerate() {
            if s.vm_name.is_empty() {
                problems.push(format!("servers[{i}].vm_name is empty"));
            }
            if !names.insert(s.vm_name.as_str()) {
                problems.push(format!("servers[{i}]: duplicate vm_name {:?}", s.vm_name));
            }
            match s.vm_manager_name.as_deref() {
                None => problems.push(format!(
                    "servers[{i}] ({}) names no vm_manager_name and there is no connector",
                    s.vm_name
                )),
                Some(m) if !managers.contains(m) => problems.push(format!(
                    "servers[{i}] ({}): no connector watches vm manager {m:?}",
                    s.vm_name
                )),
                Some(_) => {}
            }
            if let Some(id) = &s.id {
                if !ids.insert(id.clone()) {
                    problems.push(format!("servers[{i}]: duplicate id {id}"));
                }
            }
            if s.replication_secs == Some(0) {
                problems.push(format!("servers[{i}].replication_secs must be at least 1"));
            }
        }
        names
    }

    fn check_mgn(&self, problems: &mut Vec<String>, names: &BTreeSet<&str>) {
        for (vm_name, server) in &self.mgn.servers {
            let at = format!("mgn.servers.{vm_name}");
            if !names.contains(vm_name.as_str()) {
                problems.push(format!(
                    "{at}: no server of the estate is named {vm_name:?}"
                ));
            }
            if server.initial_sync_secs == Some(0) {
                problems.push(format!("{at}.initial_sync_secs must be at least 1"));
            }
            let mut previous_end = 0;
            for (i, stall) in server.stalls.iter().enumerate() {
                if DataReplicationError::parse(&stall.error).is_none() {
                    problems.push(format!(
                        "{at}.stalls[{i}].error {:?} is not one of MGN's DataReplicationError values",
                        stall.error
                    ));
                }
                if stall.for_secs == Some(0) {
                    problems.push(format!("{at}.stalls[{i}].for_secs must be at least 1"));
                }
                if stall.at_secs < previous_end {
                    problems.push(format!(
                        "{at}.stalls[{i}] starts before the stall ahead of it ends"
                    ));
                }
                previous_end = stall.for_secs.map_or(stall.at_secs, |d| stall.at_secs + d);
            }
        }
        if !(0.0..=1.0).contains(&self.mgn.dropped_events) {
            problems.push(format!(
                "mgn.dropped_events must be within 0..=1, got {}",
                self.mgn.dropped_events
            ));
        }
        for (vm_name, server) in &self.mgn.servers {
            let catch_ups = [("backlogs", &server.backlogs), ("rescans", &server.rescans)];
            for (what, list) in catch_ups {
                for (i, catch_up) in list.iter().enumerate() {
                    if catch_up.for_secs == 0 {
                        problems.push(format!(
                            "mgn.servers.{vm_name}.{what}[{i}].for_secs must be at least 1"
                        ));
                    }
                }
            }
        }
        if self.mgn.timing.initial_sync_secs == 0 {
            problems.push("mgn.timing.initial_sync_secs must be at least 1".into());
        }
    }

    fn check_apps(&self, problems: &mut Vec<String>, names: &BTreeSet<&str>) {
        let mut app_names = BTreeSet::new();
        for (i, a) in self.apps.iter().enumerate() {
            if !app_names.insert(a.name.as_str()) {
                problems.push(format!("apps[{i}]: duplicate app name {:?}", a.name));
            }
            let mut members = BTreeSet::new();
            for g in &a.groups {
                for m in &g.servers {
                    if !names.contains(m.as_str()) {
                        problems.push(format!(
                            "apps[{i}] ({}), group {:?}: unknown server {m:?}",
                            a.name, g.name
                        ));
                    }
                    if !members.insert(m.as_str()) {
                        problems.push(format!(
                            "apps[{i}] ({}): server {m:?} is in two groups",
                            a.name
                        ));
                    }
                }
            }
        }
    }
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.'])
}

#[cfg(test)]
mod tests {
    use crate::Scenario;

    #[test]
    fn bad_scenarios_name_every_problem() {
        let err = Scenario::from_text(
            "connectors: [{vm_manager_name: vc, vm_manager_type: NOPE}]\n\
             servers: [{vm_name: a, vm_manager_name: other}]\n\
             apps: [{name: x, groups: [{name: g, servers: [ghost]}]}]\n\
             faults: {error_rate: 2}\n",
        )
        .expect_err("invalid");
        let text = err.to_string();
        for needle in ["NOPE", "other", "ghost", "error_rate"] {
            assert!(text.contains(needle), "{text} lacks {needle}");
        }
        let err = Scenario::from_text("servers: [{vm_nam: a}]").expect_err("unknown field");
        assert!(err.to_string().contains("vm_nam"), "{err}");
    }
}
