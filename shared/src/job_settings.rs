//! Whether a live replication job holds the settings the wave plan wants for its
//! server, and the UpdateReplicationJob that would make it hold them. Only the fields
//! the wanted parameters set are compared; `runOnce` cannot be changed on a live job
//! (UpdateReplicationJob has no such member), so a change of it is reported, not made.

use serde::{Deserialize, Serialize};

use crate::config::JobParameters;
use std::collections::{BTreeMap, BTreeSet};

use crate::events::OutgoingEvent;
use crate::migration::LicenseType;
use crate::model::{JobId, JobSettings, ReplicationJob, ServerId};

/// What UpdateReplicationJob is asked to set: only the fields that differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_hours: Option<i32>,
    #[serde(flatten)]
    pub settings: JobSettings,
}

impl JobUpdate {
    pub fn is_empty(&self) -> bool {
        *self == JobUpdate::default()
    }
}

/// A live job whose settings differ from what the plan wants for its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsDrift {
    pub job: JobId,
    pub server: ServerId,
    pub vm_name: Option<String>,
    /// The call that makes the job hold the wanted settings; empty when only what
    /// cannot be changed differs.
    pub update: JobUpdate,
    /// Each difference the update makes, `frequency 24 -> 12`.
    pub changes: Vec<String>,
    /// Each difference no call can make on a live job (`runOnce`).
    pub unchangeable: Vec<String>,
    /// A digest of the change (held to wanted): the same drift found again, before or
    /// after a call that was cut off, has the same one.
    pub change_digest: String,
}

/// How `job` differs from `wanted`, whatever its state (whether it may be updated is
/// [`crate::migration::ReplicationPhase::is_updatable`]).
pub fn drift(job: &ReplicationJob, wanted: &JobParameters) -> Option<SettingsDrift> {
    let held = &job.settings;
    let mut update = JobUpdate::default();
    let mut changes = Vec::new();
    let mut compare = |field: &str, held: String, wanted: String| -> bool {
        let differs = held != wanted;
        if differs {
            changes.push(format!("{field} {held} -> {wanted}"));
        }
        differs
    };
    let frequency = i32::try_from(wanted.frequency_hours).ok();
    if compare("frequency", shown(job.frequency_hours), shown(frequency)) {
        update.frequency_hours = frequency;
    }
    if let Some(license) = &wanted.license_type {
        let held_license = held.license_type.as_ref().map(LicenseType::as_str);
        if compare(
            "licenseType",
            shown(held_license),
            license.as_str().to_owned(),
        ) {
            update.settings.license_type = Some(*license);
        }
    }
    if let Some(role) = &wanted.role_name {
        if compare("roleName", shown(held.role_name.as_deref()), role.clone()) {
            update.settings.role_name = Some(role.clone());
        }
    }
    if let Some(keep) = wanted.amis_to_keep.and_then(|n| i32::try_from(n).ok()) {
        if compare(
            "numberOfRecentAmisToKeep",
            shown(held.amis_to_keep),
            keep.to_string(),
        ) {
            update.settings.amis_to_keep = Some(keep);
        }
    }
    let held_encrypted = held.encrypted.unwrap_or(false);
    if compare(
        "encrypted",
        held_encrypted.to_string(),
        wanted.encrypted.to_string(),
    ) {
        update.settings.encrypted = Some(wanted.encrypted);
    }
    if let Some(key) = &wanted.kms_key_id {
        if compare("kmsKeyId", shown(held.kms_key_id.as_deref()), key.clone()) {
            update.settings.kms_key_id = Some(key.clone());
            // SMS takes the key with the flag it belongs to.
            update.settings.encrypted = Some(wanted.encrypted);
        }
    }
    let unchangeable: Vec<String> = (job.run_once != wanted.run_once)
        .then(|| format!("runOnce {} -> {}", job.run_once, wanted.run_once))
        .into_iter()
        .collect();
    if changes.is_empty() && unchangeable.is_empty() {
        return None;
    }
    let change_digest = crate::event_keys::digest(&format!("{changes:?}{unchangeable:?}"));
    Some(SettingsDrift {
        job: job.id.clone(),
        server: job.server_id.clone(),
        vm_name: job.vm_name.clone(),
        update,
        changes,
        unchangeable,
        change_digest,
    })
}

/// What the watcher remembers of a job whose settings it changes: the change, and
/// while the call may not have been made, the event that announces it once it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsRecord {
    pub change_digest: String,
    /// Claimed before UpdateReplicationJob is called; published once the job is seen
    /// holding the settings (or the call answers), so a call whose invocation was cut
    /// off is still announced, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<OutgoingEvent>,
}

/// What one complete sweep decides about the jobs' settings.
#[derive(Debug, Default)]
pub struct SettingsPass {
    /// Updates to call, each claimed in the records first.
    pub calls: Vec<SettingsDrift>,
    /// Announcements due now: updates seen made, differences no call can change.
    pub announced: Vec<OutgoingEvent>,
}

/// Goes over the jobs of a complete sweep (at least every planned job with a record or
/// a drift). `wanted` gives the parameters the plan wants for a job's server (None for a
/// server the plan does not replicate by standalone jobs); `announce` makes the event
/// of a drift. Records of jobs no longer listed or no longer planned are dropped.
pub fn settings_pass(
    records: &mut BTreeMap<JobId, SettingsRecord>,
    jobs: &[ReplicationJob],
    wanted: impl Fn(&ReplicationJob) -> Option<JobParameters>,
    announce: impl Fn(&SettingsDrift) -> OutgoingEvent,
) -> SettingsPass {
    let mut pass = SettingsPass::default();
    let mut planned = BTreeSet::new();
    for job in jobs {
        let Some(wanted) = wanted(job) else { continue };
        planned.insert(job.id.clone());
        let record = records.remove(&job.id);
        let Some(found) = drift(job, &wanted) else {
            // Holds what is wanted: a claimed update was made.
            pass.announced.extend(record.and_then(|r| r.claimed));
            continue;
        };
        if !job.state.is_updatable() {
            continue;
        }
        match record {
            Some(record) if record.change_digest == found.change_digest => {
                if record.claimed.is_some() {
                    pass.calls.push(found);
                }
                records.insert(job.id.clone(), record);
            }
            _ if found.update.is_empty() => {
                pass.announced.push(announce(&found));
                let record = SettingsRecord {
                    change_digest: found.change_digest,
                    claimed: None,
                };
                records.insert(job.id.clone(), record);
            }
            _ => {
                let record = SettingsRecord {
                    change_digest: found.change_digest.clone(),
                    claimed: Some(announce(&found)),
                };
                records.insert(job.id.clone(), record);
                pass.calls.push(found);
            }
        }
    }
    records.retain(|job, _| planned.contains(job));
    pass
}

/// A value as a change names it; `unset` when the service reports none.
fn shown(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "unset".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReplicationJobState;

    fn job(state: ReplicationJobState) -> ReplicationJob {
        ReplicationJob {
            id: "sms-job-1".into(),
            server_id: "s-1".into(),
            vm_name: Some("web-01".into()),
            state: state.into(),
            status_message: None,
            latest_ami_id: None,
            frequency_hours: Some(12),
            run_once: false,
            seed_replication_time: None,
            settings: JobSettings {
                license_type: Some(LicenseType::Aws),
                role_name: Some("sms".into()),
                amis_to_keep: Some(3),
                encrypted: Some(false),
                kms_key_id: None,
            },
            runs: Vec::new(),
        }
    }

    fn wanted() -> JobParameters {
        JobParameters {
            frequency_hours: 12,
            run_once: false,
            license_type: Some(LicenseType::Aws),
            role_name: Some("sms".into()),
            amis_to_keep: Some(3),
            encrypted: false,
            kms_key_id: None,
            seed_offset_minutes: 0,
        }
    }

    #[test]
    fn a_job_that_holds_what_is_wanted_needs_nothing() {
        assert_eq!(drift(&job(ReplicationJobState::Active), &wanted()), None);
        let unset = JobParameters {
            license_type: None,
            role_name: None,
            amis_to_keep: None,
            ..wanted()
        };
        assert_eq!(
            drift(&job(ReplicationJobState::Active), &unset),
            None,
            "a field the plan leaves unset is not compared"
        );
    }

    #[test]
    fn each_changed_field_is_updated_alone_and_named() {
        let cases: [(JobParameters, JobUpdate, &str); 5] = [
            (
                JobParameters {
                    frequency_hours: 6,
                    ..wanted()
                },
                JobUpdate {
                    frequency_hours: Some(6),
                    ..JobUpdate::default()
                },
                "frequency 12 -> 6",
            ),
            (
                JobParameters {
                    license_type: Some(LicenseType::Byol),
                    ..wanted()
                },
                JobUpdate {
                    settings: JobSettings {
                        license_type: Some(LicenseType::Byol),
                        ..JobSettings::default()
                    },
                    ..JobUpdate::default()
                },
                "licenseType AWS -> BYOL",
            ),
            (
                JobParameters {
                    amis_to_keep: Some(0),
                    ..wanted()
                },
                JobUpdate {
                    settings: JobSettings {
                        amis_to_keep: Some(0),
                        ..JobSettings::default()
                    },
                    ..JobUpdate::default()
                },
                "numberOfRecentAmisToKeep 3 -> 0",
            ),
            (
                JobParameters {
                    role_name: Some("migration".into()),
                    ..wanted()
                },
                JobUpdate {
                    settings: JobSettings {
                        role_name: Some("migration".into()),
                        ..JobSettings::default()
                    },
                    ..JobUpdate::default()
                },
                "roleName sms -> migration",
            ),
            (
                JobParameters {
                    encrypted: true,
                    kms_key_id: Some("alias/k".into()),
                    ..wanted()
                },
                JobUpdate {
                    settings: JobSettings {
                        encrypted: Some(true),
                        kms_key_id: Some("alias/k".into()),
                        ..JobSettings::default()
                    },
                    ..JobUpdate::default()
                },
                "kmsKeyId unset -> alias/k",
            ),
        ];
        for (parameters, update, change) in cases {
            let found = drift(&job(ReplicationJobState::Pending), &parameters).expect("drift");
            assert_eq!(found.update, update, "{change}");
            assert!(
                found.changes.iter().any(|c| c == change),
                "{:?}",
                found.changes
            );
            assert!(found.unchangeable.is_empty());
        }
    }

    #[test]
    fn run_once_is_reported_and_jobs_sms_will_not_update_are_left_alone() {
        let once = JobParameters {
            run_once: true,
            ..wanted()
        };
        let found = drift(&job(ReplicationJobState::Active), &once).expect("drift");
        assert!(found.update.is_empty());
        assert_eq!(found.unchangeable, ["runOnce false -> true"]);
        let faster = JobParameters {
            frequency_hours: 1,
            ..wanted()
        };
        for state in [
            ReplicationJobState::Completed,
            ReplicationJobState::Failed,
            ReplicationJobState::Deleting,
            ReplicationJobState::Deleted,
            ReplicationJobState::Failing,
        ] {
            let mut records = BTreeMap::new();
            let found = pass(&mut records, &[job(state.clone())], &faster);
            assert!(found.calls.is_empty(), "{state:?}");
        }
        let mut records = BTreeMap::new();
        let paused = pass(
            &mut records,
            &[job(ReplicationJobState::PausedOnFailure)],
            &faster,
        );
        assert_eq!(paused.calls.len(), 1);
    }

    #[test]
    fn the_same_change_found_again_has_the_same_digest() {
        let faster = JobParameters {
            frequency_hours: 6,
            ..wanted()
        };
        let first = drift(&job(ReplicationJobState::Active), &faster).expect("drift");
        let again = drift(&job(ReplicationJobState::Active), &faster).expect("drift");
        assert_eq!(first.change_digest, again.change_digest);
        let mut held_24 = job(ReplicationJobState::Active);
        held_24.frequency_hours = Some(24);
        let from_24 = drift(&held_24, &faster).expect("drift");
        assert_ne!(first.change_digest, from_24.change_digest);
    }

    fn announce(found: &SettingsDrift) -> OutgoingEvent {
        OutgoingEvent {
            detail_type: "ReplicationJobUpdated".into(),
            detail: format!("{}|{}", found.job, found.changes.join(",")),
            resources: Vec::new(),
        }
    }

    fn pass(
        records: &mut BTreeMap<JobId, SettingsRecord>,
        jobs: &[ReplicationJob],
        parameters: &JobParameters,
    ) -> SettingsPass {
        settings_pass(records, jobs, |_| Some(parameters.clone()), announce)
    }

    #[test]
    fn an_update_is_claimed_called_until_made_and_announced_once() {
        let faster = JobParameters {
            frequency_hours: 6,
            ..wanted()
        };
        let mut records = BTreeMap::new();
        let held = [job(ReplicationJobState::Active)];
        let first = pass(&mut records, &held, &faster);
        assert_eq!(first.calls.len(), 1);
        assert!(first.announced.is_empty(), "announced once made");
        assert!(records[&JobId::from("sms-job-1")].claimed.is_some());

        // The call failed or its answer was lost: the same drift is called again.
        let again = pass(&mut records, &held, &faster);
        assert_eq!(again.calls.len(), 1);
        assert!(again.announced.is_empty());

        // The job holds the settings now: the claimed event goes out, once.
        let mut updated = job(ReplicationJobState::Active);
        updated.frequency_hours = Some(6);
        let made = pass(&mut records, std::slice::from_ref(&updated), &faster);
        assert!(made.calls.is_empty());
        assert_eq!(made.announced.len(), 1);
        assert!(made.announced[0].detail.contains("frequency 12 -> 6"));
        assert!(records.is_empty());
        let later = pass(&mut records, &[updated], &faster);
        assert!(later.calls.is_empty() && later.announced.is_empty());
    }

    #[test]
    fn what_no_call_changes_is_announced_once_and_ended_jobs_are_let_go() {
        let once = JobParameters {
            run_once: true,
            ..wanted()
        };
        let mut records = BTreeMap::new();
        let held = [job(ReplicationJobState::Active)];
        let first = pass(&mut records, &held, &once);
        assert!(first.calls.is_empty());
        assert_eq!(first.announced.len(), 1);
        let again = pass(&mut records, &held, &once);
        assert!(again.calls.is_empty() && again.announced.is_empty());

        // A claimed update whose job ended is dropped unannounced; so is a job gone.
        let faster = JobParameters {
            frequency_hours: 6,
            ..wanted()
        };
        let mut records = BTreeMap::new();
        pass(&mut records, &held, &faster);
        let ended = pass(
            &mut records,
            &[job(ReplicationJobState::Completed)],
            &faster,
        );
        assert!(ended.calls.is_empty() && ended.announced.is_empty());
        assert!(records.is_empty());
        pass(&mut records, &held, &faster);
        let gone = pass(&mut records, &[], &faster);
        assert!(gone.announced.is_empty());
        assert!(records.is_empty());
        let unplanned = settings_pass(&mut records, &held, |_| None, announce);
        assert!(unplanned.calls.is_empty());
    }
}
