//! The stable key of each published decision. A key names what the decision decides:
//! its subject (a server, a job, an application, a plan) and, where the same subject
//! can be decided about again, what tells one decision from the next (a catalog
//! import's schedule tick, a job's failure episode, a launch attempt, a plan version).
//! It is computed from the detail alone, so an event published again (from an outbox
//! after a crash, or by a retried invocation deciding the same) carries the same key,
//! and a subscriber drops repeats by detail-type and key. Long free text (reasons,
//! differences) enters a key as a short digest.

use crate::events::{
    AppArchived, AppConfigured, AppCutOver, AppFinalized, AppLaunchCheckFailed, AppLaunchFailed,
    AppLaunchHeld, AppLaunchPassed, AppLaunchStarted, AppLaunched, AppMoveHeld, AppMoveResumed,
    AppPlanned, AppReady, AppRolledBack, CatalogImportSkipped, CatalogImportStarted,
    ChangeSetGenerated, DecisionKey, ImportCatalogRequested, InventoryImported, PlanDrift,
    PlanRejected, RemediationAction, ReplicationExpiring, ReplicationJobCreated,
    ReplicationJobFailed, ReplicationJobRecovered, ReplicationJobRemediated, ReplicationJobUpdated,
    ReplicationProblemCleared, ReplicationProblemDetected, ReplicationRetried,
    ReplicationRunCompleted, RetryAction, ServerSkipped, TemplateGenerated,
};
use crate::model::JobId;

/// A short digest of free text: FNV-1a, 64 bits, as 12 hex digits. Stable across
/// builds and platforms (unlike the standard library's hasher).
pub fn digest(text: &str) -> String {
    crate::digest::hex(text.as_bytes())[..12].to_owned()
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

impl DecisionKey for ImportCatalogRequested {
    fn key_parts(&self) -> Vec<String> {
        vec![or_dash(self.requested_by.as_deref())]
    }
}

impl DecisionKey for CatalogImportStarted {
    fn key_parts(&self) -> Vec<String> {
        vec![or_dash(self.requested_at.as_deref())]
    }
}

/// An import is reported once.
impl DecisionKey for InventoryImported {
    fn key_parts(&self) -> Vec<String> {
        vec![self.import_id.clone()]
    }
}

impl DecisionKey for CatalogImportSkipped {
    fn key_parts(&self) -> Vec<String> {
        vec![or_dash(self.requested_at.as_deref())]
    }
}

impl DecisionKey for ReplicationJobCreated {
    fn key_parts(&self) -> Vec<String> {
        let job = match (&self.replication_job_id, self.already_existed) {
            (Some(job), _) => job.to_string(),
            (None, true) => "already-existed".to_owned(),
            (None, false) => "would-create".to_owned(),
        };
        vec![self.server_id.to_string(), job]
    }
}

impl DecisionKey for ServerSkipped {
    fn key_parts(&self) -> Vec<String> {
        vec![self.server_id.to_string(), digest(&self.reason)]
    }
}

/// A job's failure episode: the job, and when the episode was first seen.
fn episode(job: &JobId, failed_since: Option<&str>) -> Vec<String> {
    vec![job.to_string(), or_dash(failed_since)]
}

/// An enum's name on the wire (`created`, `replicationStarted`).
fn wire_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl DecisionKey for ReplicationJobFailed {
    fn key_parts(&self) -> Vec<String> {
        episode(&self.replication_job_id, self.failed_since.as_deref())
    }
}

impl DecisionKey for ReplicationJobRemediated {
    fn key_parts(&self) -> Vec<String> {
        let action = match &self.action {
            RemediationAction::OnDemandRunStarted => "onDemandRunStarted".to_owned(),
            RemediationAction::JobRecreated { .. } => "jobRecreated".to_owned(),
            RemediationAction::JobDeleted => "jobDeleted".to_owned(),
            RemediationAction::Held { reason } => format!("held-{}", digest(reason)),
        };
        let mut parts = episode(&self.replication_job_id, self.failed_since.as_deref());
        parts.extend([self.attempt.to_string(), action]);
        parts
    }
}

impl DecisionKey for ReplicationJobRecovered {
    fn key_parts(&self) -> Vec<String> {
        episode(&self.replication_job_id, self.failed_since.as_deref())
    }
}

/// The job, and the change from the settings it held to those wanted: the same
/// update announced again has the same key, a later change to other settings another.
impl DecisionKey for ReplicationJobUpdated {
    fn key_parts(&self) -> Vec<String> {
        let change = format!("{:?}{:?}", self.changes, self.left_as_is);
        vec![self.replication_job_id.to_string(), digest(&change)]
    }
}

/// The application and the launch it follows: a relaunch is finalized anew.
impl DecisionKey for AppFinalized {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), self.launched_at.clone()]
    }
}

/// The application and the plan version that rolled it back: once per version.
impl DecisionKey for AppRolledBack {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), self.plan_version.clone()]
    }
}

impl DecisionKey for ReplicationExpiring {
    fn key_parts(&self) -> Vec<String> {
        vec![self.server_id.to_string(), self.expires_at.clone()]
    }
}

impl DecisionKey for ReplicationRunCompleted {
    fn key_parts(&self) -> Vec<String> {
        let run = self
            .replication_run_id
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| self.ami_id.clone());
        vec![self.replication_job_id.to_string(), or_dash(run.as_deref())]
    }
}

impl DecisionKey for AppReady {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), self.servers.to_string()]
    }
}

/// A server's problem episode: the server, the problem, and when the episode began.
impl DecisionKey for ReplicationProblemDetected {
    fn key_parts(&self) -> Vec<String> {
        vec![
            self.server_id.to_string(),
            wire_name(self.problem),
            self.since.clone(),
        ]
    }
}

/// The stall, the attempt and what was done: a retry is announced once, and giving up
/// once per stall.
impl DecisionKey for ReplicationRetried {
    fn key_parts(&self) -> Vec<String> {
        let action = match &self.action {
            RetryAction::Retried => "retried".to_owned(),
            RetryAction::GaveUp { reason } => format!("gaveUp-{}", digest(reason)),
        };
        vec![
            self.server_id.to_string(),
            self.since.clone(),
            self.attempt.to_string(),
            action,
        ]
    }
}

/// The episode that ended, as its detection named it.
impl DecisionKey for ReplicationProblemCleared {
    fn key_parts(&self) -> Vec<String> {
        vec![
            self.server_id.to_string(),
            wire_name(self.problem),
            self.since.clone(),
        ]
    }
}

/// An application's launch: the application, the kind and the attempt.
fn launch(app: &str, kind: crate::cutover::LaunchKind, attempt: u32) -> Vec<String> {
    vec![
        app.to_owned(),
        kind.as_str().to_owned(),
        attempt.to_string(),
    ]
}

impl DecisionKey for AppLaunchStarted {
    fn key_parts(&self) -> Vec<String> {
        launch(&self.app_name, self.kind, self.attempt)
    }
}

impl DecisionKey for AppLaunchPassed {
    fn key_parts(&self) -> Vec<String> {
        launch(&self.app_name, self.kind, self.attempt)
    }
}

impl DecisionKey for AppLaunchCheckFailed {
    fn key_parts(&self) -> Vec<String> {
        launch(&self.app_name, self.kind, self.attempt)
    }
}

/// The application and the cutover that was finalized.
impl DecisionKey for AppCutOver {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_name.clone(), self.attempt.to_string()]
    }
}

/// An application is archived once.
impl DecisionKey for AppArchived {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_name.clone()]
    }
}

/// The application and the reason: held again for another reason is another decision.
impl DecisionKey for AppMoveHeld {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_name.clone(), digest(&self.reason)]
    }
}

/// The application and the hold lifted.
impl DecisionKey for AppMoveResumed {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_name.clone(), digest(&self.reason)]
    }
}

fn archived(location: Option<&crate::events::S3Location>) -> String {
    location.map_or_else(|| "-".to_owned(), |l| l.key.clone())
}

impl DecisionKey for TemplateGenerated {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), archived(self.archived.as_ref())]
    }
}

impl DecisionKey for ChangeSetGenerated {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), archived(self.archived.as_ref())]
    }
}

impl DecisionKey for AppLaunched {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), self.attempt.to_string()]
    }
}

impl DecisionKey for AppLaunchFailed {
    fn key_parts(&self) -> Vec<String> {
        vec![
            self.app_id.to_string(),
            self.attempts.to_string(),
            self.error_code.clone(),
        ]
    }
}

impl DecisionKey for AppLaunchHeld {
    fn key_parts(&self) -> Vec<String> {
        vec![self.app_id.to_string(), digest(&self.reason)]
    }
}

impl DecisionKey for AppPlanned {
    fn key_parts(&self) -> Vec<String> {
        vec![
            self.app_name.clone(),
            or_dash(self.plan_version.as_deref()),
            wire_name(self.change),
            or_dash(self.app_id.as_ref().map(|id| id.as_str())),
            digest(&self.differences.join("\n")),
        ]
    }
}

impl DecisionKey for AppConfigured {
    fn key_parts(&self) -> Vec<String> {
        vec![
            self.app_name.clone(),
            or_dash(self.plan_version.as_deref()),
            wire_name(self.configuration),
            or_dash(self.app_id.as_ref().map(|id| id.as_str())),
        ]
    }
}

impl DecisionKey for PlanDrift {
    fn key_parts(&self) -> Vec<String> {
        vec![
            self.app_id.to_string(),
            or_dash(self.plan_version.as_deref()),
            digest(&self.differences.join("\n")),
        ]
    }
}

impl DecisionKey for PlanRejected {
    fn key_parts(&self) -> Vec<String> {
        vec![self.plan_version.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{OutgoingEvent, PlanChange};

    #[test]
    fn digests_are_fnv_1a_and_stable() {
        // The published FNV-1a 64-bit test vectors, cut to 12 hex digits.
        assert_eq!(digest("a"), "af63dc4c8601");
        assert_eq!(digest("foobar"), "85944171f739");
    }

    #[test]
    fn one_decision_published_twice_has_one_key_and_the_next_decision_another() {
        let failed = |since: &str| ReplicationJobFailed {
            replication_job_id: "sms-job-1".into(),
            server_id: "s-1".into(),
            vm_name: None,
            app_name: None,
            subject: "server s-1".into(),
            state: crate::model::ReplicationJobState::Failed,
            status_message: None,
            failed_since: Some(since.into()),
        };
        let first = OutgoingEvent::new(failed("2026-11-22T10:00:00Z"), false);
        let again = OutgoingEvent::new(failed("2026-11-22T10:00:00Z"), false);
        let next_episode = OutgoingEvent::new(failed("2026-11-23T08:00:00Z"), false);
        assert_eq!(first.key(), again.key());
        assert_eq!(first.key(), "sms-job-1/2026-11-22T10:00:00Z");
        assert_ne!(first.key(), next_episode.key());
        let rehearsed = OutgoingEvent::new(failed("2026-11-22T10:00:00Z"), true);
        assert_eq!(rehearsed.key(), "dry-run/sms-job-1/2026-11-22T10:00:00Z");

        let launched = |attempt| AppLaunched {
            app_id: "app-1".into(),
            app_name: Some("shop".into()),
            servers: 2,
            attempt,
        };
        assert_eq!(launched(1).key(), "app-1/1");
        assert_ne!(launched(1).key(), launched(2).key());

        let tick = |at: &str| CatalogImportStarted {
            healthy_connectors: vec!["c-1".into()],
            requested_at: Some(at.into()),
        };
        assert_ne!(
            tick("2026-11-22T10:00:00Z").key(),
            tick("2026-11-22T11:00:00Z").key()
        );
    }

    #[test]
    fn free_text_enters_a_key_as_a_digest() {
        let held = |reason: &str| AppLaunchHeld {
            app_id: "app-1".into(),
            app_name: None,
            launch_status: "CONFIGURATION_INVALID".into(),
            reason: reason.into(),
        };
        let key = held("subnet subnet-9 does not exist in the account").key();
        assert_eq!(key.len(), "app-1/".len() + 12, "{key}");
        assert_ne!(key, held("another reason").key());
        let planned = |version: &str| AppPlanned {
            app_name: "shop".into(),
            app_id: Some("app-1".into()),
            change: PlanChange::Updated,
            differences: vec!["group `web` has other members".into()],
            servers: 2,
            plan_version: Some(version.into()),
        };
        assert!(planned("v1").key().starts_with("shop/v1/updated/app-1/"));
        assert_ne!(planned("v1").key(), planned("v2").key());
    }
}
