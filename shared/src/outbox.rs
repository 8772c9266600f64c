//! The outbox: events a function decided, kept inside its state object in the artifacts
//! bucket until they are published. The events are stored together with the decision
//! that produced them, before the function acts or publishes, so an invocation cut off
//! at any point loses none: the next one publishes what is left. Publishing starts only
//! with [`PUBLISH_MARGIN`] left before Lambda's deadline, so a timeout cannot fall
//! between PutEvents and the write that empties the outbox; only a process dying
//! without warning there (out of memory, a host failure) would publish an event twice.

use std::time::Duration;

use serde::Serialize;

use crate::artifacts::StateObject;
use crate::error::AutopilotError;
use crate::events::OutgoingEvent;
use crate::failures::FailureSnapshot;
use crate::launches::LaunchLedger;
use crate::plan::ledger::PlannerLedger;
use crate::publisher::EventPublisher;
use crate::runtime;

/// Time a function must have left to publish its outbox and then record that it did:
/// the state write after PutEvents, SDK retries included.
pub const PUBLISH_MARGIN: Duration = Duration::from_secs(10);

/// A state object that carries an outbox.
pub trait WithOutbox: Serialize {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent>;
}

impl WithOutbox for FailureSnapshot {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent> {
        &mut self.outbox
    }
}

impl WithOutbox for crate::replication_health::HealthSnapshot {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent> {
        &mut self.outbox
    }
}

impl WithOutbox for crate::cutover::CutoverLedger {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent> {
        &mut self.outbox
    }
}

impl WithOutbox for PlannerLedger {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent> {
        &mut self.outbox
    }
}

impl WithOutbox for LaunchLedger {
    fn outbox_mut(&mut self) -> &mut Vec<OutgoingEvent> {
        &mut self.outbox
    }
}

/// What became of an outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub published: usize,
    /// Left in the outbox for the next invocation: too close to the deadline.
    pub deferred: usize,
}

/// Publishes the outbox and stores the state with what is left of it. Events PutEvents
/// still refused after its retries stay in the outbox, and the error says so.
pub async fn publish<S: WithOutbox>(
    publisher: &EventPublisher,
    object: &StateObject<'_>,
    state: &mut S,
) -> Result<Delivery, AutopilotError> {
    let outbox = state.outbox_mut();
    if outbox.is_empty() {
        return Ok(Delivery::default());
    }
    if runtime::remaining().is_some_and(|left| left < PUBLISH_MARGIN) {
        // Stopped between PutEvents and the write below, this invocation would leave
        // published events in the outbox, and the next one would publish them again.
        // Stored, they wait for the next invocation instead.
        tracing::warn!(
            events = outbox.len(),
            "too close to the deadline to publish; the events stay in the outbox"
        );
        return Ok(Delivery {
            published: 0,
            deferred: outbox.len(),
        });
    }
    // Moved, not copied: at 10,000 servers a first sweep's outbox holds ~10,000 events.
    let report = publisher.publish(std::mem::take(outbox)).await;
    *state.outbox_mut() = report
        .failed
        .iter()
        .map(|failed| failed.event.clone())
        .collect();
    object.store(state).await?;
    let published = report.into_result(publisher.bus_name())?;
    Ok(Delivery {
        published,
        deferred: 0,
    })
}
