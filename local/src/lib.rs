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
pub mod cli;
pub mod harness;
pub mod http;
pub mod report;
pub mod rng;
pub mod s3;
pub mod scenario;
pub mod sms;
pub mod wave;

pub use scenario::{Faults, LatencySpikes, Scenario, ScenarioError, Throttle, ThrottleClock};
pub use sms::events::{JobStateChangeDetail, SmsEvent};
pub use sms::protocol::{ApiError, ErrorCode};
pub use sms::{
    Clock, Emulator, EmulatorError, EmulatorHandle, EmulatorOptions, SmsFaultCounts, StateSnapshot,
};
