//! autopilot-core: the domain model, pure decisions, configuration, errors, event
//! schemas and AWS wiring shared by every sms-autopilot function.
//!
//! # Layout
//!
//! A handler observes, decides, acts, publishes and stores; each step has its room:
//! - the domain: [`model`] (servers, jobs, apps, their states and versions), built from
//!   SDK answers in [`sms::convert`] and nowhere else;
//! - observing and acting on SMS: [`sms::api`] (the paginated sweeps, GetApp,
//!   CreateReplicationJob), [`sms_calls`] (calls and throttles counted for the metrics),
//!   [`sms::app_config`] (app launch and replication
//!   configurations on the wire), [`app_cache`] (GetApp answers shared across
//!   invocations);
//! - deciding, purely: [`wave_policy`] (which servers get jobs), [`failures`] (which
//!   failures are new, and what to do about them), [`job_settings`] (which live jobs
//!   must be updated to hold the plan's settings), [`expiry`] (which servers near
//!   SMS's 90 days of replication), [`readiness`] (which apps may
//!   launch, and when), [`launches`] (which holds and failed launches were reported,
//!   and whether a failed launch is tried again), [`plan`] (the wave plan: reading it,
//!   resolving it against the catalog, and what SMS must change to match it);
//! - publishing: [`events`] (the details, with their JSON Schemas in `shared/schemas/`,
//!   and the stable key of each in [`event_keys`]),
//!   [`publisher`] (PutEvents in batches, failed entries retried);
//! - telling people: [`report`] (the wave report's model, read from the decision
//!   trail, and its one HTML renderer);
//! - storing: [`artifacts`] (state objects in the artifacts bucket), [`outbox`] (decided
//!   events kept in a state object until published);
//! - the shell: [`trigger`] (which events a function accepts), [`config`] (read once at
//!   cold start), [`error`] (typed, retryable or permanent), [`clients`], [`runtime`]
//!   (the Lambda loop and its deadline), [`telemetry`] (JSON logs), [`metrics`] (one
//!   Embedded Metric Format line per invocation);
//! - `testing`: mocked clients and fixture events for unit tests (feature `testing`).
//!
//! Decision modules never see an SDK type, and no module imports one that imports it
//! back (`tests/tests/suite/architecture.rs` checks both).

pub mod app_cache;
pub mod artifacts;
pub mod clients;
pub mod config;
pub mod digest;
pub mod error;
pub mod event_keys;
pub mod events;
pub mod expiry;
pub mod failures;
pub mod job_settings;
pub mod launch_decisions;
pub mod launches;
pub mod lease;
pub mod metrics;
pub mod migration;
pub mod model;
pub mod outbox;
pub mod plan;
pub mod publisher;
pub mod readiness;
pub mod report;
pub mod runtime;
pub mod sms;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trigger;
pub mod wave_policy;

pub use clients::Clients;
pub use error::{AutopilotError, AwsCallError, AwsErrorKind, Retryability};
pub use publisher::EventPublisher;
