//! SMS emulator, local S3 and local event bus for sms-autopilot.
//!
//! AWS retired the Server Migration Service; this crate stands in for it on loopback.
//! [`Emulator::start`] serves the real SMS wire protocol (awsJson1.1) on a simulated
//! clock driven by a [`Scenario`], plus an in-process S3 (s3s + s3s-fs) where
//! GenerateTemplate and GenerateChangeSet write, so the unmodified `aws-sdk-sms`,
//! `aws-sdk-s3` and AWS CLI work against it through `AWS_ENDPOINT_URL_SMS` /
//! `AWS_ENDPOINT_URL_S3`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), autopilot_local::EmulatorError> {
//! use autopilot_local::{Emulator, EmulatorOptions, Scenario};
//! let emu = Emulator::start(Scenario::default_scenario(), EmulatorOptions::default()).await?;
//! println!("SMS at {}, S3 at {}", emu.sms_endpoint(), emu.s3_endpoint());
//! emu.advance(std::time::Duration::from_secs(3600));
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod bus;
mod catalog_dump;
pub mod cli;
mod emulator;
pub mod events;
mod faults;
pub mod harness;
pub mod http;
pub mod model;
mod ops;
pub mod report;
pub mod rng;
pub mod s3;
pub mod scenario;
pub mod state;
mod template;
pub mod wave;
mod wire;

pub use emulator::{Clock, Emulator, EmulatorHandle, EmulatorOptions};
pub use events::{JobStateChangeDetail, SmsEvent};
pub use faults::SmsFaultCounts;
pub use model::{ApiError, ErrorCode};
pub use scenario::{Faults, LatencySpikes, Scenario, ScenarioError, Throttle, ThrottleClock};
pub use state::StateSnapshot;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listening socket could not be bound.
    #[error("cannot listen for {what} on 127.0.0.1:{port}: {source}")]
    Bind {
        /// Which server.
        what: &'static str,
        /// Requested port.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
    /// The local S3 could not be set up.
    #[error("local S3: {0}")]
    S3(String),
    /// Bad options.
    #[error("invalid emulator options: {0}")]
    Options(String),
    /// Bad scenario.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}
