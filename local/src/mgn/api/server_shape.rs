//! The model's SourceServer as typed shapes borrowed from the engine's records, written
//! straight to JSON: a page of 1,000 servers is the stand-in's largest answer, and a
//! tree of `serde_json::Value`s built, pruned and dropped for each cost more than the
//! functions' whole cycle. Members the record does not have are left out, as MGN leaves
//! them out (never written as `null`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::mgn::engine::{
    device_name, iso8601_duration, rfc3339, Engine, Instance, LaunchRecord, SourceServer,
    RECOMMENDED_INSTANCE_TYPE,
};
use crate::mgn::model::{FirstBoot, ReplicationType};

/// The model's SourceServer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SourceServerShape<'a> {
    #[serde(rename = "sourceServerID")]
    source_server_id: &'a str,
    arn: &'a str,
    is_archived: bool,
    tags: &'a BTreeMap<String, String>,
    replication_type: &'static str,
    #[serde(rename = "applicationID", skip_serializing_if = "Option::is_none")]
    application_id: Option<&'a str>,
    #[serde(rename = "userProvidedID", skip_serializing_if = "Option::is_none")]
    user_provided_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launched_instance: Option<LaunchedInstance<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_replication_info: Option<DataReplicationInfo>,
    life_cycle: LifeCycle<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_properties: Option<SourceProperties<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_action: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LaunchedInstance<'a> {
    #[serde(rename = "ec2InstanceID")]
    ec2_instance_id: &'a str,
    #[serde(rename = "jobID")]
    job_id: &'a str,
    first_boot: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataReplicationInfo {
    data_replication_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_replication_initiation: Option<Initiation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_replication_error: Option<ReplicationError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eta_date_time: Option<String>,
    replicated_disks: Vec<ReplicatedDisk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_snapshot_date_time: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Initiation {
    start_date_time: String,
    steps: Vec<InitiationStep>,
}

#[derive(Serialize)]
struct InitiationStep {
    name: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplicationError {
    error: &'static str,
    raw_error: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplicatedDisk {
    device_name: String,
    total_storage_bytes: u64,
    replicated_storage_bytes: u64,
    rescanned_storage_bytes: u64,
    backlogged_storage_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LifeCycle<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    added_to_service_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_byte_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_replication_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seen_by_service_date_time: Option<String>,
    last_test: Launch<'a>,
    last_cutover: Launch<'a>,
    state: &'static str,
}

/// The model's LifeCycleLastTest and LifeCycleLastCutover.
#[derive(Serialize)]
struct Launch<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    initiated: Option<Initiated<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reverted: Option<ApiCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finalized: Option<ApiCall>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Initiated<'a> {
    api_call_date_time: String,
    #[serde(rename = "jobID")]
    job_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiCall {
    api_call_date_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_date_time: Option<String>,
    recommended_instance_type: &'static str,
    identification_hints: IdentificationHints<'a>,
    network_interfaces: [NetworkInterface<'a>; 1],
    disks: Vec<Disk>,
    cpus: [Cpu; 1],
    ram_bytes: u64,
    os: Os,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentificationHints<'a> {
    fqdn: &'a str,
    hostname: &'a str,
    vm_ware_uuid: &'a str,
    vm_path: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkInterface<'a> {
    mac_address: &'a str,
    ips: [&'a str; 1],
    is_primary: bool,
}

#[derive(Serialize)]
struct Disk {
    #[serde(rename = "deviceName")]
    device_name: String,
    bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cpu {
    cores: u32,
    model_name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Os {
    full_string: &'static str,
}

impl<'a> SourceServerShape<'a> {
    /// The server `s` as MGN answers it at the engine's clock.
    pub(super) fn of(engine: &'a Engine, s: &'a SourceServer) -> Self {
        let now = engine.now();
        let launched = s.launched_instance.map(|i| &engine.instances()[i]);
        Self {
            source_server_id: &s.id,
            arn: &s.arn,
            is_archived: s.archived,
            tags: &s.tags,
            replication_type: ReplicationType::AgentBased.as_str(),
            application_id: s.application_id.as_deref(),
            user_provided_id: s.user_provided_id.as_deref(),
            launched_instance: launched.map(LaunchedInstance::of),
            data_replication_info: s
                .agent_installed
                .then(|| DataReplicationInfo::of(engine, s)),
            life_cycle: LifeCycle {
                added_to_service_date_time: s.added.map(rfc3339),
                first_byte_date_time: s.first_byte.map(rfc3339),
                elapsed_replication_duration: s.first_byte.map(|t| iso8601_duration(now - t)),
                last_seen_by_service_date_time: s.last_seen(now).map(rfc3339),
                last_test: Launch::of(&s.last_test),
                last_cutover: Launch::of(&s.last_cutover),
                state: s.life_cycle.as_str(),
            },
            source_properties: s.agent_installed.then(|| SourceProperties::of(s, now)),
            connector_action: s.connector_action.as_ref(),
        }
    }
}

impl<'a> LaunchedInstance<'a> {
    fn of(i: &'a Instance) -> Self {
        Self {
            ec2_instance_id: &i.id,
            job_id: &i.job_id,
            first_boot: FirstBoot::Succeeded.as_str(),
        }
    }
}

impl DataReplicationInfo {
    fn of(engine: &Engine, s: &SourceServer) -> Self {
        let now = engine.now();
        let r = &s.replication;
        let replicated = r.replicated_bytes(now);
        let rescanned = r.rescanned_bytes(now);
        let replicated_disks = r
            .total_bytes()
            .iter()
            .zip(replicated.iter().zip(&rescanned))
            .enumerate()
            .map(|(k, (&total, (&done, &rescanned)))| ReplicatedDisk {
                device_name: device_name(k),
                total_storage_bytes: total,
                replicated_storage_bytes: done,
                rescanned_storage_bytes: rescanned,
                backlogged_storage_bytes: if k == 0 { r.backlogged } else { 0 },
            })
            .collect();
        Self {
            data_replication_state: r.state.as_str(),
            data_replication_initiation: r.initiation.as_ref().map(|(started, steps)| Initiation {
                start_date_time: rfc3339(*started),
                steps: steps
                    .iter()
                    .map(|(name, status)| InitiationStep {
                        name: name.as_str(),
                        status: status.as_str(),
                    })
                    .collect(),
            }),
            data_replication_error: r.error.map(|e| ReplicationError {
                error: e.as_str(),
                raw_error: format!("data replication stalled: {e}"),
            }),
            lag_duration: r.lag(now, engine.healthy_lag()).map(iso8601_duration),
            eta_date_time: r.eta(now).map(rfc3339),
            replicated_disks,
            last_snapshot_date_time: r.last_snapshot.map(rfc3339),
        }
    }
}

impl<'a> Launch<'a> {
    fn of(record: &'a LaunchRecord) -> Self {
        let at = |t: Option<i64>| {
            t.map(|t| ApiCall {
                api_call_date_time: rfc3339(t),
            })
        };
        Self {
            initiated: record.initiated.as_ref().map(|(t, job)| Initiated {
                api_call_date_time: rfc3339(*t),
                job_id: job,
            }),
            reverted: at(record.reverted),
            finalized: at(record.finalized),
        }
    }
}

impl<'a> SourceProperties<'a> {
    fn of(s: &'a SourceServer, now: i64) -> Self {
        let hints = &s.hints;
        Self {
            last_updated_date_time: s.added.map(|_| rfc3339(now)),
            recommended_instance_type: RECOMMENDED_INSTANCE_TYPE,
            identification_hints: IdentificationHints {
                fqdn: &hints.fqdn,
                hostname: &hints.hostname,
                vm_ware_uuid: &hints.vmware_uuid,
                vm_path: &hints.vm_path,
            },
            network_interfaces: [NetworkInterface {
                mac_address: &hints.mac_address,
                ips: [&hints.ip_address],
                is_primary: true,
            }],
            disks: s
                .replication
                .disks
                .iter()
                .enumerate()
                .map(|(k, &bytes)| Disk {
                    device_name: device_name(k),
                    bytes,
                })
                .collect(),
            cpus: [Cpu {
                cores: 2,
                model_name: "Intel(R) Xeon(R) CPU",
            }],
            ram_bytes: 8u64 << 30,
            os: Os {
                full_string: "Linux",
            },
        }
    }
}
