//! autopilot-core: the domain model, pure decisions, configuration, errors, event
//! schemas and AWS wiring shared by every sms-autopilot function.

pub mod app_cache;
pub mod artifacts;
pub mod clients;
pub mod config;
pub mod error;
pub mod events;
pub mod failures;
pub mod model;
pub mod publisher;
pub mod readiness;
pub mod runtime;
pub mod sms_api;
pub mod sms_convert;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trigger;
pub mod wave_policy;

pub use clients::Clients;
pub use error::{AutopilotError, AwsCallError, AwsErrorKind, Retryability};
pub use publisher::EventPublisher;
