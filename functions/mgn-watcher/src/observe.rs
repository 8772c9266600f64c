//! What the watcher looks at: on its schedule, one sweep of the account's source
//! servers, keeping only those with a problem or an open episode (the rest are counted
//! and let go a page at a time, so a sweep over 100,000 servers holds the few it acts
//! on); on an `aws.mgn` event, the one server it names, read as it is now.

use autopilot_core::config::MgnWatcherConfig;
use autopilot_core::failures::Coverage;
use autopilot_core::mgn::api;
use autopilot_core::model::{ServerId, SourceServer};
use autopilot_core::replication_health::HealthSnapshot;
use autopilot_core::runtime::Context;
use autopilot_core::trigger::{Incoming, MGN_LIFECYCLE_STATE_CHANGE, MGN_STALLED_CHANGE};
use autopilot_core::AutopilotError;
use chrono::{DateTime, Utc};

/// What an invocation was asked to look at, read from its event before anything else
/// is touched: a refused event reads no state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The schedule: every source server.
    Sweep,
    /// An MGN event about one source server.
    Server { id: ServerId, trigger: String },
}

impl Request {
    pub fn of(incoming: &Incoming) -> Result<Self, AutopilotError> {
        if incoming.is_schedule() {
            return Ok(Self::Sweep);
        }
        let accepted = [MGN_STALLED_CHANGE, MGN_LIFECYCLE_STATE_CHANGE];
        let Some(event) = incoming.mgn_server_event(&accepted) else {
            return Err(incoming.unexpected(
                "scheduled events and aws.mgn Data Replication Stalled Change and Lifecycle \
                 State Change events",
            ));
        };
        let event = event?;
        let trigger = format!("{} {}", event.state, event.server_id);
        Ok(Self::Server {
            id: event.server_id,
            trigger,
        })
    }
}

/// The servers an invocation looked at, and how much of the account they cover.
pub struct Observation {
    pub trigger: String,
    /// The servers that matter to this invocation's decisions.
    pub servers: Vec<SourceServer>,
    pub coverage: Coverage,
    /// Servers MGN listed, kept or not.
    pub listed: usize,
}

/// A schedule sweeps every server; an event reads the one server it names.
pub async fn observe(
    context: &Context<MgnWatcherConfig>,
    request: Request,
    snapshot: &HealthSnapshot,
    now: DateTime<Utc>,
) -> Result<Observation, AutopilotError> {
    let (id, trigger) = match request {
        Request::Sweep => return sweep(context, snapshot, now).await,
        Request::Server { id, trigger } => (id, trigger),
    };
    // The event says what changed; the server as it is now says what is true (events
    // arrive late, twice, out of order, or not at all).
    let servers: Vec<_> = api::source_server(&context.mgn, &id)
        .await?
        .into_iter()
        .filter(|server| !server.archived)
        .collect();
    Ok(Observation {
        trigger,
        listed: servers.len(),
        servers,
        coverage: Coverage::Partial,
    })
}

async fn sweep(
    context: &Context<MgnWatcherConfig>,
    snapshot: &HealthSnapshot,
    now: DateTime<Utc>,
) -> Result<Observation, AutopilotError> {
    let policy = &context.config.health;
    let mut servers = Vec::new();
    let swept = api::source_servers_each(&context.mgn, |server| {
        let remembered = snapshot.episodes.contains_key(&server.id);
        if remembered || !policy.problems(&server, now).is_empty() {
            servers.push(server);
        }
    })
    .await?;
    Ok(Observation {
        trigger: "schedule".to_owned(),
        servers,
        coverage: Coverage::Complete,
        listed: swept.items,
    })
}
