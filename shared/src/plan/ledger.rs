//! What the planner remembers between invocations, so each report goes out once: the
//! plan version last refused, the drift last reported per application, the launch
//! configurations put, the applications finalized and rolled back, and the outbox.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::digest;
use crate::digest::Digest;
use crate::events::OutgoingEvent;
use crate::model::AppId;

/// Stored as JSON in the artifacts bucket; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannerLedger {
    /// The version of the plan last refused, reported once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// The drift reported per application, as a digest of its differences.
    #[serde(default)]
    pub drift: BTreeMap<AppId, String>,
    /// Applications found as planned, by id: the app's last-modified time and the digest
    /// of what the plan wants of it. While both stay the same the planner does not read
    /// the app's configurations again (SMS moves lastModified when they change).
    #[serde(default)]
    pub in_step: BTreeMap<AppId, String>,
    /// The launch configuration last put or found as planned, by application: its
    /// digest. A plan that changed since is put again, so a value it stopped giving
    /// leaves SMS (the comparison alone ignores values the plan does not set).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub launch_put: BTreeMap<AppId, String>,
    /// Events decided but not yet published (see `outbox`).
    #[serde(default)]
    pub outbox: Vec<OutgoingEvent>,
    /// In a dry run, the changes already announced (plan version, kind and detail): a
    /// dry run makes none, so every run would otherwise announce the same ones again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub announced_in_dry_run: BTreeSet<String>,
    /// Applications whose replication was ended after a launch, by the finalization's
    /// key (application and launch): each is ended and announced once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub finalized: BTreeMap<String, String>,
    /// MGN: the launch settings put on each server, as the digest of what the plan
    /// wanted (`plan::mgn_launch`): while the plan wants the same, MGN is not read again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mgn_launch: BTreeMap<crate::model::ServerId, Digest>,
    /// MGN: the replication settings put on each server, likewise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mgn_replication: BTreeMap<crate::model::ServerId, Digest>,
    /// MGN: the launch template versions made for each server, with the digest of what
    /// the plan wanted of them (`plan::launch_template`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mgn_templates: BTreeMap<crate::model::ServerId, super::launch_template::TemplatesMade>,
    /// Applications whose stack was terminated for a `rollback`, by the rollback's key
    /// (application and plan version): once per version.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub rolled_back: BTreeSet<String>,
}

impl PlannerLedger {
    /// Keeps, of the dry-run events from `from` on in the outbox, only those not
    /// announced before for plan `version`.
    pub fn drop_repeated_dry_run(&mut self, from: usize, version: &str) {
        let announced = &mut self.announced_in_dry_run;
        let mut index = 0;
        self.outbox.retain(|event| {
            index += 1;
            index <= from
                || announced.insert(format!("{version}|{}|{}", event.detail_type, event.detail))
        });
    }

    /// Records a refused plan version; true when it was not reported yet.
    pub fn report_rejection(&mut self, version: &str) -> bool {
        if self.rejected.as_deref() == Some(version) {
            return false;
        }
        self.rejected = Some(version.to_owned());
        true
    }

    /// A refused plan version, reported once (`PlanRejected` into the outbox); `plan`
    /// says where it is, `s3://bucket/key`. True when it was reported now.
    pub fn reject(
        &mut self,
        plan: String,
        version: &str,
        problems: &[super::PlanProblem],
        dry_run: bool,
    ) -> bool {
        tracing::warn!(
            problems = problems.len(),
            version,
            "plan refused; nothing changed"
        );
        if !self.report_rejection(version) {
            return false;
        }
        let rejected = crate::events::PlanRejected {
            plan,
            plan_version: version.to_owned(),
            problems: problems.iter().map(ToString::to_string).collect(),
            headline: match (problems.len(), problems.first()) {
                (1, Some(only)) => format!("The problem: {only}"),
                (n, Some(first)) => format!("{n} problems; the first: {first}"),
                (_, None) => "No problem was named.".to_owned(),
            },
        };
        self.outbox.push(OutgoingEvent::new(rejected, dry_run));
        true
    }

    /// The plan was accepted: a later refusal of any version is news again.
    pub fn accepted(&mut self) {
        self.rejected = None;
    }

    /// Records an application's drift; true when these differences were not reported.
    pub fn report_drift(&mut self, app: &AppId, differences: &[String]) -> bool {
        let seen = digest(differences.join("\n").as_bytes());
        if self.drift.get(app) == Some(&seen) {
            return false;
        }
        self.drift.insert(app.clone(), seen);
        true
    }

    /// Forgets the drift of applications that no longer drift.
    pub fn keep_drift_of(&mut self, drifting: &[&AppId]) {
        self.drift.retain(|app, _| drifting.contains(&app));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_and_drift_are_reported_once_until_they_change() {
        let mut ledger = PlannerLedger::default();
        assert!(ledger.report_rejection("v1"));
        assert!(!ledger.report_rejection("v1"));
        assert!(ledger.report_rejection("v2"));
        ledger.accepted();
        assert!(
            ledger.report_rejection("v2"),
            "refused again after an accepted plan"
        );

        let app = AppId::from("app-1");
        let differences = vec!["tags".to_owned()];
        assert!(ledger.report_drift(&app, &differences));
        assert!(!ledger.report_drift(&app, &differences));
        assert!(ledger.report_drift(
            &app,
            &["tags".to_owned(), "launch configuration".to_owned()]
        ));
        ledger.keep_drift_of(&[]);
        assert!(ledger.report_drift(&app, &differences));
    }

    #[test]
    fn the_settings_books_read_and_write_back_the_same_bytes() {
        // A ledger written before the digests were kept as numbers must read as the
        // same books and write back unchanged, or the first run would store it again.
        let stored = r#"{"drift":{},"inStep":{},"outbox":[],"mgnLaunch":{"s-1":"85944171f73967e8"},"mgnReplication":{"s-1":"cbf29ce484222325"}}"#;
        let ledger: PlannerLedger = serde_json::from_str(stored).unwrap();
        assert_eq!(
            ledger.mgn_launch[&crate::model::ServerId::from("s-1")],
            Digest::of(b"foobar")
        );
        assert_eq!(serde_json::to_string(&ledger).unwrap(), stored);
        let corrupt = stored.replace("cbf29ce484222325", "not-a-digest");
        let error = serde_json::from_str::<PlannerLedger>(&corrupt).unwrap_err();
        assert!(error.to_string().contains("16 hex digits"), "{error}");
    }
}
