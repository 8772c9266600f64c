//! Stalled replications retried: which are due (only servers this invocation saw
//! stalled, so a server that recovered unseen is never retried), claimed against the
//! budget before the call, then RetryDataReplication a few at a time, each decision an
//! event.

use autopilot_core::config::MgnWatcherConfig;
use autopilot_core::events::{detail_time, OutgoingEvent, ReplicationRetried, RetryAction};
use autopilot_core::mgn::api;
use autopilot_core::migration::ReplicationPhase;
use autopilot_core::model::ServerId;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::replication_health::{HealthPolicy, HealthSnapshot, RetryDecision};
use autopilot_core::runtime::Context;
use autopilot_core::AwsCallError;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::observe::Observation;

/// RetryDataReplication calls in flight at once.
pub const RETRIES_IN_FLIGHT: usize = 4;

/// A retry decided for one server.
pub struct Due {
    pub server: ServerId,
    pub name: Option<String>,
    pub since: DateTime<Utc>,
    pub decision: RetryDecision,
}

/// What the retries came to.
#[derive(Default)]
pub struct Retried {
    pub started: usize,
    pub given_up: usize,
    pub events: Vec<OutgoingEvent>,
    pub errors: Vec<AwsCallError>,
}

/// The retries due now among the servers observed stalled.
pub fn due(
    snapshot: &HealthSnapshot,
    observation: &Observation,
    policy: &HealthPolicy,
    now: DateTime<Utc>,
) -> Vec<Due> {
    let stalled: std::collections::BTreeMap<&ServerId, Option<&str>> = observation
        .servers
        .iter()
        .filter(|server| server.replication.phase == ReplicationPhase::Stalled)
        .map(|server| (&server.id, server.name()))
        .collect();
    snapshot
        .retries_due(policy, now)
        .into_iter()
        .filter_map(|(server, since, decision)| {
            let name = stalled.get(&server)?.map(str::to_owned);
            Some(Due {
                server,
                name,
                since,
                decision,
            })
        })
        .collect()
}

/// Counts each retry against its server's budget (and each spent budget as said)
/// before anything is called.
pub fn claim(snapshot: &mut HealthSnapshot, due: &[Due], now: DateTime<Utc>) {
    for due in due {
        snapshot.claim(&due.server, due.since, &due.decision, now);
    }
}

/// Calls RetryDataReplication for each retry (none in a dry run), and words every
/// decision as an event.
pub async fn call(
    context: &Context<MgnWatcherConfig>,
    due: &[Due],
    plan: &ResolvedPlan,
    dry_run: bool,
) -> Retried {
    // Owned ids: the calls run concurrently on a future that must be Send.
    let calls: Vec<(ServerId, bool, aws_sdk_mgn::Client)> = due
        .iter()
        .map(|due| {
            let calling = matches!(due.decision, RetryDecision::Retry { .. }) && !dry_run;
            (due.server.clone(), calling, context.mgn.clone())
        })
        .collect();
    let results: Vec<Result<(), AwsCallError>> = stream::iter(calls)
        .map(|(server, calling, mgn)| async move {
            if !calling {
                return Ok(());
            }
            api::retry_data_replication(&mgn, &server).await
        })
        .buffered(RETRIES_IN_FLIGHT)
        .collect()
        .await;
    let mut retried = Retried::default();
    for (due, result) in due.iter().zip(results) {
        let (attempt, action) = match (&due.decision, result) {
            (_, Err(error)) => {
                tracing::warn!(server = %due.server, %error, "RetryDataReplication failed");
                retried.errors.push(error);
                continue;
            }
            (RetryDecision::Retry { attempt }, Ok(())) => {
                retried.started += 1;
                (*attempt, RetryAction::Retried)
            }
            (RetryDecision::GiveUp { attempts }, Ok(())) => {
                retried.given_up += 1;
                let reason = format!("all {attempts} retries of the wave's budget were used");
                (*attempts, RetryAction::GaveUp { reason })
            }
        };
        let (app_name, subject) = plan.naming(due.name.as_deref(), &due.server);
        let event = ReplicationRetried {
            server_id: due.server.clone(),
            vm_name: due.name.clone(),
            app_name,
            subject,
            since: detail_time(due.since),
            attempt,
            action,
        };
        retried.events.push(OutgoingEvent::new(event, dry_run));
    }
    retried
}
