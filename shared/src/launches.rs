//! Launch bookkeeping for the app launcher: which held apps and failed launches were
//! already reported (each is reported once), and whether an app whose last launch
//! failed may be launched again within the launch budget.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::events::OutgoingEvent;
use crate::model::AppId;

/// What the launcher remembers between invocations; stored as JSON in the artifacts
/// bucket. Unknown fields are ignored so an older function reads a newer ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchLedger {
    #[serde(default)]
    pub apps: BTreeMap<AppId, LaunchRecord>,
    /// Events decided but not yet published (see `outbox`).
    #[serde(default)]
    pub outbox: Vec<OutgoingEvent>,
    /// Launches in flight that a ready app waits for, as the last full run found them:
    /// while each is still in flight, a re-check has nothing new to decide.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub awaited: BTreeSet<AppId>,
}

/// One app's launches and reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchRecord {
    /// LaunchApp calls the launcher made (claimed before each call).
    #[serde(default)]
    pub launches: u32,
    /// The latest LaunchApp was refused and that was alerted.
    #[serde(default)]
    pub refusal_alerted: bool,
    /// The failed launch last alerted, by the app's last-modified time when it was
    /// found LAUNCH_FAILED: a launch claimed but never made (the launcher cut off before
    /// LaunchApp) leaves the same failure in place, which must not be alerted again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerted_failure: Option<String>,
    /// The hold last reported, so the same hold is reported once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_hold: Option<String>,
    /// `AppReady` went out for an app a person launches (manual or opted out).
    #[serde(default)]
    pub ready_announced: bool,
    /// The last launch whose outcome went into the outbox (launched or refused); fewer
    /// than `launches` means a launcher was cut off between LaunchApp and recording it.
    #[serde(default)]
    pub settled: u32,
}

/// What to do about an app whose last launch ended LAUNCH_FAILED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLaunch {
    /// This failure was not alerted yet: alert it now.
    pub alert: bool,
    /// LaunchApp calls made so far.
    pub attempts: u32,
    /// The budget allows another launch.
    pub retry: bool,
}

impl LaunchLedger {
    /// Records a hold; true when it was not reported yet (a hold for another reason,
    /// or the same one after the app left it, is reported again).
    pub fn report_hold(&mut self, app: &AppId, reason: &str) -> bool {
        let record = self.apps.entry(app.clone()).or_default();
        if record.reported_hold.as_deref() == Some(reason) {
            return false;
        }
        record.reported_hold = Some(reason.to_owned());
        true
    }

    /// Records that an app a person launches was announced ready; true the first time.
    pub fn announce_ready(&mut self, app: &AppId) -> bool {
        let record = self.apps.entry(app.clone()).or_default();
        !std::mem::replace(&mut record.ready_announced, true)
    }

    /// Forgets a hold that no longer applies.
    pub fn clear_hold(&mut self, app: &AppId) {
        if let Some(record) = self.apps.get_mut(app) {
            record.reported_hold = None;
        }
    }

    /// Decides about an app found LAUNCH_FAILED (`failure` tells this failure from
    /// another: the app's last-modified time), and records that it is alerted. A launch
    /// made by someone else counts as a failure to alert, not as an attempt against the
    /// budget.
    pub fn failed_launch(&mut self, app: &AppId, failure: &str, max_attempts: u32) -> FailedLaunch {
        let record = self.apps.entry(app.clone()).or_default();
        let alert = record.alerted_failure.as_deref() != Some(failure);
        record.alerted_failure = Some(failure.to_owned());
        FailedLaunch {
            alert,
            attempts: record.launches,
            retry: record.launches < max_attempts,
        }
    }

    /// Whether the budget allows a launch of an app that is ready (the first launch
    /// always; after a refusal, only within the budget).
    pub fn may_launch(&self, app: &AppId, max_attempts: u32) -> bool {
        self.apps
            .get(app)
            .is_none_or(|record| !record.refusal_alerted || record.launches < max_attempts)
    }

    /// Claims a launch before LaunchApp is called, so a launcher cut off after the call
    /// still counts it; returns the attempt number.
    pub fn claim_launch(&mut self, app: &AppId) -> u32 {
        let record = self.apps.entry(app.clone()).or_default();
        record.launches += 1;
        record.refusal_alerted = false;
        record.reported_hold = None;
        record.launches
    }

    /// Records that the latest claimed launch's outcome is in the outbox.
    pub fn settle_launch(&mut self, app: &AppId) {
        if let Some(record) = self.apps.get_mut(app) {
            record.settled = record.launches;
        }
    }

    /// The claimed launch whose outcome was never recorded, if any, and records it now:
    /// the caller found the app launching or launched, so that launch was made.
    pub fn take_unsettled(&mut self, app: &AppId) -> Option<u32> {
        let record = self.apps.get_mut(app)?;
        if record.settled >= record.launches {
            return None;
        }
        record.settled = record.launches;
        Some(record.launches)
    }

    /// Gives back a claim whose LaunchApp failed before the service acted on it
    /// (throttled, unreachable), so it does not use up the budget.
    pub fn release_launch(&mut self, app: &AppId) {
        if let Some(record) = self.apps.get_mut(app) {
            record.launches = record.launches.saturating_sub(1);
            record.settled = record.settled.min(record.launches);
        }
    }

    /// Records that a refused LaunchApp was alerted; returns the attempts made and
    /// whether the budget allows another.
    pub fn refused_launch(&mut self, app: &AppId, max_attempts: u32) -> (u32, bool) {
        let record = self.apps.entry(app.clone()).or_default();
        record.refusal_alerted = true;
        (record.launches, record.launches < max_attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_reported_once_per_reason_and_again_after_it_cleared() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        assert!(ledger.report_hold(&app, "no launch configuration"));
        assert!(!ledger.report_hold(&app, "no launch configuration"));
        assert!(ledger.report_hold(&app, "invalid: subnet-9"));
        ledger.clear_hold(&app);
        assert!(ledger.report_hold(&app, "invalid: subnet-9"));
    }

    #[test]
    fn each_failed_launch_is_alerted_once_and_retried_within_the_budget() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        assert!(ledger.may_launch(&app, 2));
        assert_eq!(ledger.claim_launch(&app), 1);
        let first = ledger.failed_launch(&app, "t1", 2);
        assert_eq!(
            first,
            FailedLaunch {
                alert: true,
                attempts: 1,
                retry: true
            }
        );
        assert!(
            !ledger.failed_launch(&app, "t1", 2).alert,
            "seen again: no second alert"
        );
        assert_eq!(ledger.claim_launch(&app), 2);
        let second = ledger.failed_launch(&app, "t2", 2);
        assert!(second.alert && !second.retry, "{second:?}");
    }

    #[test]
    fn a_claim_never_made_leaves_the_same_failure_alerted_once() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        ledger.claim_launch(&app);
        assert!(ledger.failed_launch(&app, "t1", 3).alert);
        // Claimed again, then cut off before LaunchApp: SMS still shows failure t1.
        ledger.claim_launch(&app);
        assert!(!ledger.failed_launch(&app, "t1", 3).alert);
    }

    #[test]
    fn a_launch_claimed_but_never_recorded_is_taken_once() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        ledger.claim_launch(&app);
        ledger.settle_launch(&app);
        assert_eq!(ledger.take_unsettled(&app), None);
        ledger.claim_launch(&app);
        assert_eq!(ledger.take_unsettled(&app), Some(2));
        assert_eq!(ledger.take_unsettled(&app), None);
    }

    #[test]
    fn an_app_a_person_launches_is_announced_ready_once() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        assert!(ledger.announce_ready(&app));
        assert!(!ledger.announce_ready(&app));
    }

    #[test]
    fn a_launch_made_by_someone_else_is_alerted_without_using_the_budget() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        let failed = ledger.failed_launch(&app, "t1", 1);
        assert!(failed.alert && failed.retry && failed.attempts == 0);
    }

    #[test]
    fn refusals_count_against_the_budget_and_released_claims_do_not() {
        let mut ledger = LaunchLedger::default();
        let app = AppId::from("app-1");
        ledger.claim_launch(&app);
        ledger.release_launch(&app);
        assert_eq!(ledger.apps[&app].launches, 0);
        ledger.claim_launch(&app);
        assert_eq!(ledger.refused_launch(&app, 1), (1, false));
        assert!(!ledger.may_launch(&app, 1));
        assert!(ledger.may_launch(&app, 2));
    }

    #[test]
    fn an_older_ledger_without_fields_reads() {
        let ledger: LaunchLedger = serde_json::from_str(r#"{"apps":{"app-1":{}}}"#).unwrap();
        assert_eq!(ledger.apps[&AppId::from("app-1")], LaunchRecord::default());
    }
}
