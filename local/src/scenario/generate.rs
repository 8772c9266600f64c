//! Synthetic estates for load tests and benchmarks: any number of servers and apps,
//! fixed by a seed, with the mix of late arrivals, failures and opt-outs a real wave has.

use std::collections::BTreeMap;

use super::{
    default_account, default_bucket, default_connector_version, default_region, default_start,
    AfterFailures, AppSpec, ConnectorSpec, Faults, GroupSpec, LaunchSpec, Limits, MgnSettings,
    Period, Readings, Scenario, ServerSpec, Timing, Volume,
};
use crate::rng::SplitMix64;

impl Scenario {
    /// A large synthetic estate: `servers` VMs over three connectors, `apps` apps of
    /// two or three groups, a few late arrivals, failures and unreplicable VMs, one
    /// unhealthy-connector hour, and every tenth app opted out of launch.
    pub fn generate(servers: usize, apps: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let connectors = vec![
            connector("vcenter-east", "VSPHERE", "10.0.1.10", vec![]),
            connector(
                "vcenter-west",
                "VSPHERE",
                "10.0.2.10",
                vec![Period {
                    from_secs: 7200,
                    to_secs: 9000,
                }],
            ),
            connector("scvmm-lab", "SCVMM", "10.0.3.10", vec![]),
        ];
        // Servers draw from the dice first, then apps: the order fixes every id.
        let specs = generate_servers(&mut rng, &connectors, servers);
        let app_specs = generate_apps(&mut rng, &specs, apps);
        let mut scenario = Scenario {
            name: format!("generated-{servers}-servers-{apps}-apps"),
            seed,
            start_time: default_start(),
            region: default_region(),
            account: default_account(),
            template_bucket: default_bucket(),
            extra_buckets: vec![],
            timing: Timing::default(),
            limits: Limits {
                // A generated estate is for load: the quota would only get in the way.
                max_concurrent_jobs: servers.max(50),
                ..Limits::default()
            },
            faults: Faults::default(),
            connectors,
            servers: specs,
            apps: app_specs,
            network: None,
            readings: Readings::default(),
            plans: Vec::new(),
            mgn: MgnSettings::default(),
        };
        scenario.normalise();
        scenario
    }
}

fn generate_servers(
    rng: &mut SplitMix64,
    connectors: &[ConnectorSpec],
    count: usize,
) -> Vec<ServerSpec> {
    let mut specs = Vec::with_capacity(count);
    for i in 0..count {
        let manager = &connectors[i % connectors.len()].vm_manager_name;
        let roll = rng.next_f64();
        let appears_at_secs = if rng.next_f64() < 0.8 {
            0
        } else {
            600 + rng.next_u64() % (6 * 3600)
        };
        specs.push(ServerSpec {
            id: None,
            vm_name: format!("vm-{i:05}"),
            vm_path: None,
            vm_manager_name: Some(manager.clone()),
            vm_id: None,
            appears_at_secs,
            replication_secs: Some(900 + rng.next_u64() % 4500),
            fail_runs: if roll < 0.02 {
                1
            } else if roll < 0.025 {
                2
            } else {
                0
            },
            after_failures: if roll < 0.02 {
                AfterFailures::Paused
            } else {
                AfterFailures::Failed
            },
            unreplicable: (0.025..0.03).contains(&roll),
            volumes: vec![Volume {
                size_gb: 20 + (rng.next_u64() % 480) as u32,
            }],
        });
    }
    specs
}

/// Apps take the servers in order, one to three per group, until the servers run out.
fn generate_apps(rng: &mut SplitMix64, servers: &[ServerSpec], count: usize) -> Vec<AppSpec> {
    let mut app_specs = Vec::with_capacity(count);
    let mut next = 0usize;
    for a in 0..count {
        let group_count = 2 + (rng.next_u64() % 2) as usize;
        let mut groups = Vec::new();
        for g in 0..group_count {
            let size = 1 + (rng.next_u64() % 3) as usize;
            let members: Vec<String> = (0..size)
                .filter_map(|_| {
                    let idx = next;
                    next += 1;
                    servers.get(idx).map(|s| s.vm_name.clone())
                })
                .collect();
            if !members.is_empty() {
                groups.push(GroupSpec {
                    name: format!("tier-{g}"),
                    launch_order: Some(g as i32 + 1),
                    servers: members,
                });
            }
        }
        let mut tags = BTreeMap::new();
        tags.insert("wave".to_string(), format!("{}", 1 + a % 3));
        if a % 10 == 9 {
            tags.insert("autopilot:launch".to_string(), "false".to_string());
        }
        app_specs.push(AppSpec {
            name: format!("app-{a:04}"),
            description: Some(format!("generated application {a}")),
            tags,
            groups,
            launch: Some(LaunchSpec {
                instance_type: "t3.large".into(),
                subnet: "subnet-0a1b2c3d4e5f60718".into(),
                security_group: "sg-0a1b2c3d4e5f60718".into(),
                vpc: Some("vpc-0a1b2c3d4e5f60718".into()),
            }),
            launch_failures: 0,
        });
    }
    app_specs
}

fn connector(name: &str, kind: &str, ip: &str, unhealthy: Vec<Period>) -> ConnectorSpec {
    ConnectorSpec {
        id: None,
        vm_manager_name: name.into(),
        vm_manager_type: kind.into(),
        vm_manager_id: None,
        ip_address: ip.into(),
        version: default_connector_version(),
        unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::Scenario;

    #[test]
    fn generated_scenario_is_valid_and_deterministic() {
        let a = Scenario::generate(10_000, 300, 9);
        let b = Scenario::generate(10_000, 300, 9);
        assert_eq!(a, b);
        let yaml = a.to_yaml().expect("yaml");
        let back = Scenario::from_text(&yaml).expect("round trip");
        assert_eq!(back.servers.len(), 10_000);
        let ids: BTreeSet<_> = back.servers.iter().map(|s| s.id.clone()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
