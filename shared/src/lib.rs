//! autopilot-core: the domain model, pure decisions, configuration, errors, event
//! schemas and AWS wiring shared by every sms-autopilot function.
//!
//! # Layout
//!
//! A handler observes, decides, acts, publishes and stores; each step has its room, and
//! the rooms stand in three floors: the decisions on top, the backend's adapter under
//! them, the shell at the bottom. Nothing on a floor imports one above it.
//!
//! The decisions, pure, in the project's own words:
//! - the vocabulary: [`migration`] (where a server's replication and an application's
//!   launch stand, whatever the service) and [`model`] (servers, jobs and runs, apps,
//!   and the SMS model's state enums, which only the adapter reads);
//! - [`wave_policy`] (which servers get jobs), [`failures`] (which failures are new,
//!   and what to do about them), [`job_settings`] (which live jobs must be updated to
//!   hold the plan's settings), [`expiry`] (which servers near SMS's 90 days of
//!   replication), [`readiness`] (which apps may launch, and when), [`launches`] (the
//!   launcher's ledger: holds and failed launches reported, launches claimed),
//!   [`launch_decisions`] (what the launcher does about each app: report, announce,
//!   wait for dependencies and windows, claim), [`replication_health`] (MGN's
//!   replication problems, once per episode, and stalls retried), [`cutover`] (each
//!   application's move on MGN: test, check, cutover, archive), [`plan`] (the wave plan: reading it,
//!   resolving it against the catalog, and what must change to match it), [`report`]
//!   (the wave report's model, read from the decision trail, and its one HTML
//!   renderer), [`digest`] (the one stable digest);
//!
//! The adapters: [`sms`] (SDK answers turned into core types in `sms::convert`, SMS's
//! states in the project's words in `sms::vocabulary`, the shared calls in `sms::api`,
//! app configurations on the wire in `sms::app_config`), [`mgn`] (the same for MGN,
//! with the launcher's and the planner's calls), [`ec2`] (EC2's status checks),
//! [`paging`] (the one paging loop under their sweeps), [`calls`] (either service's
//! calls counted).
//!
//! The shell:
//! - publishing: [`events`] (the details, with their JSON Schemas in `shared/schemas/`,
//!   and the stable key of each in [`event_keys`]), [`publisher`] (PutEvents in
//!   batches, failed entries retried);
//! - storing: [`artifacts`] (state objects in the artifacts bucket, each read once and
//!   written back when it changed; the one reader of the resolved plan), [`outbox`]
//!   (decided events kept in a state object until published), [`app_cache`] (GetApp
//!   answers shared across invocations, read through one bracket), [`lease`] (one run of
//!   a function at a time);
//! - the rest: [`trigger`] (which events a function accepts), [`config`] (read once at
//!   cold start), [`error`] (typed, retryable or permanent), [`clients`], [`runtime`]
//!   (the Lambda loop and its deadline), [`telemetry`] (JSON logs), [`metrics`] (one
//!   Embedded Metric Format line per invocation);
//! - `testing`: mocked clients and fixture events for unit tests (feature `testing`).
//!
//! Decision modules never see an SDK type and never name one of SMS's states, and no
//! module imports one that imports it back (`tests/tests/suite/architecture.rs` checks
//! all three).

pub mod app_cache;
pub mod artifacts;
pub mod calls;
pub mod clients;
pub mod config;
pub mod cutover;
pub mod digest;
pub mod ec2;
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
pub mod mgn;
pub mod migration;
pub mod model;
pub mod outbox;
pub mod paging;
pub mod plan;
pub mod publisher;
pub mod readiness;
pub mod replication_health;
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
