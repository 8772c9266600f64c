//! The launcher's re-check. SMS sends no event when a launch ends, so a ready app that
//! waits for an application being launched would wait for the launcher's next scheduled
//! run. While one does, the launcher enables a one-minute schedule rule of its own
//! (`LAUNCH_RECHECK_RULE`), and a run of that rule that finds no such wait disables it:
//! the dependent launches within a minute of its dependency's LAUNCHED. A re-check that
//! finds every awaited launch still in flight has nothing new to decide and stops after
//! ListApps.

use std::collections::BTreeSet;

use autopilot_core::launches::LaunchLedger;
use autopilot_core::migration::LaunchPhase;
use autopilot_core::model::AppId;
use autopilot_core::sms::vocabulary;
use autopilot_core::trigger::Incoming;
use autopilot_core::AwsCallError;
use aws_sdk_sms::types::AppSummary;
use serde::Serialize;

use crate::LauncherContext;

/// What a run did to the re-check rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Switched {
    Enabled,
    Disabled,
}

/// The re-check rule as one invocation sees it.
#[derive(Debug, Clone, Copy)]
pub struct Recheck<'a> {
    /// The rule's name; none when the deployment gives the launcher none.
    rule: Option<&'a str>,
    /// This invocation is a run of the rule (so the rule is enabled).
    pub by_rule: bool,
}

impl<'a> Recheck<'a> {
    pub fn of(rule: Option<&'a str>, incoming: &Incoming) -> Self {
        let by_rule = rule.is_some_and(|rule| incoming.is_schedule_of(rule));
        Self { rule, by_rule }
    }

    /// A run of the rule with nothing new to decide: it awaited launches last time, and
    /// the listing shows every one of them still in flight.
    pub fn idle(&self, ledger: &LaunchLedger, summaries: &[AppSummary]) -> bool {
        if !self.by_rule || ledger.awaited.is_empty() {
            return false;
        }
        let launching: BTreeSet<&str> = summaries
            .iter()
            .filter(|listed| in_flight(listed))
            .filter_map(AppSummary::app_id)
            .collect();
        ledger
            .awaited
            .iter()
            .all(|awaited| launching.contains(awaited.as_str()))
    }

    /// Enables the rule while `awaiting`, disables it from a run of its own that is
    /// not; calls nothing otherwise (enabling is idempotent, and a rule left enabled
    /// disables itself at its next run).
    pub async fn switch(
        &self,
        context: &LauncherContext,
        awaiting: bool,
    ) -> Result<Option<Switched>, AwsCallError> {
        let Some(rule) = self.rule else {
            return Ok(None);
        };
        let events = context.publisher.client();
        let switched = match (awaiting, self.by_rule) {
            (true, false) => {
                let answer = events.enable_rule().name(rule).send().await;
                answer.map_err(|e| AwsCallError::from_sdk("EventBridge", "EnableRule", &e))?;
                Switched::Enabled
            }
            (false, true) => {
                let answer = events.disable_rule().name(rule).send().await;
                answer.map_err(|e| AwsCallError::from_sdk("EventBridge", "DisableRule", &e))?;
                Switched::Disabled
            }
            _ => return Ok(None),
        };
        tracing::info!(rule, switched = ?switched, "launch re-check rule switched");
        Ok(Some(switched))
    }
}

/// The apps a ready app waits for (`names`, by the plan's names) whose launch is in
/// flight: the listing says so, or this run launched them (`launched`).
pub fn awaited(
    summaries: &[AppSummary],
    names: &BTreeSet<String>,
    launched: &BTreeSet<AppId>,
) -> BTreeSet<AppId> {
    summaries
        .iter()
        .filter(|listed| listed.name().is_some_and(|name| names.contains(name)))
        .filter_map(|listed| {
            let id = AppId::from(listed.app_id()?);
            (in_flight(listed) || launched.contains(&id)).then_some(id)
        })
        .collect()
}

/// SMS is launching the app: the outcome is not known yet.
fn in_flight(listed: &AppSummary) -> bool {
    listed
        .launch_status()
        .is_some_and(|status| vocabulary::launch_state_of(status).phase == LaunchPhase::Launching)
}
