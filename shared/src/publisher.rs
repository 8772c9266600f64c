//! Publishes the project's events to EventBridge: batches of at most 10 entries (the
//! PutEvents limit), entries the service reports as failed are retried with backoff,
//! and whatever still failed is returned to the caller, never dropped silently.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::stream::{FuturesOrdered, StreamExt};

use crate::error::AwsCallError;
use crate::events::{OutgoingEvent, EVENT_SOURCE};

/// PutEvents accepts at most this many entries per call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// PutEvents calls in flight at once: a sweep announcing thousands of completed runs
/// would otherwise wait on a thousand round trips one after another, while the default
/// PutEvents quota is hundreds of calls per second.
pub const CALLS_IN_FLIGHT: usize = 4;

/// An event that could not be published, with the last reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEvent {
    pub event: OutgoingEvent,
    pub error_code: String,
    pub error_message: String,
}

/// The outcome of one `publish` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    pub published: usize,
    pub failed: Vec<FailedEvent>,
}

impl PublishReport {
    /// An error when any event is still unpublished (retrying the invocation is safe:
    /// every action is idempotent), otherwise the count published.
    pub fn into_result(self, bus: &str) -> Result<usize, crate::error::AutopilotError> {
        match self.failed.first() {
            None => Ok(self.published),
            Some(first) => Err(crate::error::AutopilotError::Publish {
                bus: bus.to_owned(),
                failed: self.failed.len(),
                total: self.published + self.failed.len(),
                first_error: format!("{}: {}", first.error_code, first.error_message),
            }),
        }
    }
}

/// Publishes to one bus.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
    /// Rounds of PutEvents per entry, the first included.
    max_rounds: u32,
    first_backoff: Duration,
}

impl EventPublisher {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
            max_rounds: 4,
            first_backoff: Duration::from_millis(100),
        }
    }

    /// Overrides the retry rounds and the first backoff (doubled each round).
    pub fn with_retries(mut self, max_rounds: u32, first_backoff: Duration) -> Self {
        self.max_rounds = max_rounds.max(1);
        self.first_backoff = first_backoff;
        self
    }

    /// The EventBridge client it publishes with, for the function's other EventBridge
    /// calls (the launcher's switch of its re-check rule).
    pub fn client(&self) -> &aws_sdk_eventbridge::Client {
        &self.client
    }

    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    /// Publishes every event, retrying failed entries; returns what could not be sent.
    pub async fn publish(&self, events: Vec<OutgoingEvent>) -> PublishReport {
        let mut report = PublishReport::default();
        let mut pending: Vec<(OutgoingEvent, Option<(String, String)>)> =
            events.into_iter().map(|event| (event, None)).collect();
        let mut backoff = self.first_backoff;
        for round in 0..self.max_rounds {
            if pending.is_empty() {
                break;
            }
            if round > 0 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            let mut still_failing = Vec::new();
            // A few calls in flight, each request built only when its call starts (a
            // sweep may publish thousands of events). The futures own their data: ones
            // borrowing `self` inside a stream combinator trip the Send check of the
            // runtime's handler bound.
            let mut batches = pending.chunks(MAX_ENTRIES_PER_CALL);
            let mut in_flight = FuturesOrdered::new();
            let mut answers = Vec::with_capacity(pending.len().div_ceil(MAX_ENTRIES_PER_CALL));
            loop {
                while in_flight.len() < CALLS_IN_FLIGHT {
                    let Some(batch) = batches.next() else { break };
                    let entries = self.entries(batch.iter().map(|(event, _)| event));
                    in_flight.push_back(put_entries(self.client.clone(), entries));
                }
                match in_flight.next().await {
                    Some(answer) => answers.push(answer),
                    None => break,
                }
            }
            for (batch, outcomes) in pending.chunks(MAX_ENTRIES_PER_CALL).zip(answers) {
                for ((event, _), outcome) in batch.iter().zip(outcomes) {
                    match outcome {
                        Ok(()) => {
                            report.published += 1;
                            // One line per decision, by the ids and names people search.
                            tracing::info!(
                                decision = %event.detail_type,
                                about = %event.about(),
                                "decision published"
                            );
                        }
                        Err(reason) => still_failing.push((event.clone(), Some(reason))),
                    }
                }
            }
            pending = still_failing;
        }
        report.failed = pending
            .into_iter()
            .map(|(event, reason)| {
                let (error_code, error_message) =
                    reason.unwrap_or_else(|| ("NotAttempted".into(), "no attempt was made".into()));
                FailedEvent {
                    event,
                    error_code,
                    error_message,
                }
            })
            .collect();
        if !report.failed.is_empty() {
            tracing::error!(
                bus = %self.bus_name,
                failed = report.failed.len(),
                first_code = %report.failed[0].error_code,
                "events could not be published"
            );
        }
        report
    }

    /// The PutEvents entries of `batch`.
    fn entries<'a>(
        &self,
        batch: impl Iterator<Item = &'a OutgoingEvent>,
    ) -> Vec<PutEventsRequestEntry> {
        batch
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(EVENT_SOURCE)
                    .detail_type(&event.detail_type)
                    .detail(&event.detail)
                    .set_resources((!event.resources.is_empty()).then(|| event.resources.clone()))
                    .build()
            })
            .collect()
    }
}

/// One PutEvents call; one outcome per entry, in order.
async fn put_entries(
    client: aws_sdk_eventbridge::Client,
    entries: Vec<PutEventsRequestEntry>,
) -> Vec<Result<(), (String, String)>> {
    let count = entries.len();
    match client.put_events().set_entries(Some(entries)).send().await {
        Ok(output) => {
            let results = output.entries();
            (0..count)
                .map(|i| match results.get(i) {
                    Some(result) if result.error_code().is_none() => Ok(()),
                    Some(result) => Err((
                        result.error_code().unwrap_or_default().to_owned(),
                        result.error_message().unwrap_or_default().to_owned(),
                    )),
                    // The service must answer each entry; a short answer is a failure.
                    None => Err((
                        "MissingResult".into(),
                        "PutEvents returned fewer results than entries".into(),
                    )),
                })
                .collect()
        }
        Err(error) => {
            let error = AwsCallError::from_sdk("EventBridge", "PutEvents", &error);
            let reason = (error.kind.name().to_owned(), error.message.clone());
            vec![Err(reason); count]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{AppReady, OutgoingEvent};
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn event(n: u32) -> OutgoingEvent {
        OutgoingEvent::new(
            AppReady {
                app_id: format!("app-{n}").into(),
                app_name: None,
                servers: n,
            },
            false,
        )
    }

    fn ok_entry() -> PutEventsResultEntry {
        PutEventsResultEntry::builder().event_id("e").build()
    }

    fn failed_entry() -> PutEventsResultEntry {
        PutEventsResultEntry::builder()
            .error_code("InternalFailure")
            .error_message("try again")
            .build()
    }

    #[tokio::test]
    async fn batches_by_ten_and_retries_only_failed_entries() {
        // 12 events: first call (10) fails entry 3, second call (2) succeeds,
        // the retry round sends just the failed one.
        let first = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|req| req.entries().len() == 10)
            .then_output(|| {
                let mut entries = vec![ok_entry(); 10];
                entries[3] = failed_entry();
                PutEventsOutput::builder()
                    .failed_entry_count(1)
                    .set_entries(Some(entries))
                    .build()
            });
        let second = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|req| req.entries().len() == 2)
            .then_output(|| {
                PutEventsOutput::builder()
                    .set_entries(Some(vec![ok_entry(); 2]))
                    .build()
            });
        let retry = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|req| {
                req.entries().len() == 1
                    && req.entries()[0]
                        .detail()
                        .is_some_and(|d| d.contains("app-3"))
            })
            .then_output(|| PutEventsOutput::builder().entries(ok_entry()).build());
        let client = mock_client!(
            aws_sdk_eventbridge,
            RuleMode::MatchAny,
            [&first, &second, &retry]
        );
        let publisher =
            EventPublisher::new(client, "bus").with_retries(3, Duration::from_millis(1));
        let report = publisher.publish((0..12).map(event).collect()).await;
        assert_eq!(report.published, 12);
        assert!(report.failed.is_empty());
        assert_eq!(first.num_calls(), 1);
        assert_eq!(second.num_calls(), 1);
        assert_eq!(retry.num_calls(), 1);
    }

    #[tokio::test]
    async fn entries_that_keep_failing_are_returned() {
        let always_failing = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(failed_entry())
                .build()
        });
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&always_failing]);
        let publisher =
            EventPublisher::new(client, "bus").with_retries(3, Duration::from_millis(1));
        let report = publisher.publish(vec![event(1)]).await;
        assert_eq!(report.published, 0);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].error_code, "InternalFailure");
        assert_eq!(always_failing.num_calls(), 3);
    }
}
