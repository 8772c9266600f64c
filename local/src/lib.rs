//! autopilot-local: sms-autopilot on one machine, with no AWS account. AWS retired the
//! Server Migration Service; this crate stands in for it on loopback and plays whole
//! migration waves with the project's real handlers.
//!
//! # Layout
//!
//! The stand-in, peers of the functions (none of them uses `autopilot-core`):
//! - [`sms`]: the SMS emulator, the real awsJson1.1 protocol on a simulated clock;
//!   `endpoint` → `api/` (one file per resource) → `engine/` (one file per resource,
//!   the only place emulated state changes);
//! - [`mgn`]: the MGN stand-in, as far as it goes: its wire protocol from the official
//!   model (routes by method and URI, the model's errors);
//! - [`scenario`]: what the emulator plays: connectors, servers appearing over time,
//!   apps, durations, failures, faults; validation, generated estates, catalog dumps;
//! - [`s3`]: the local S3 (s3s + s3s-fs) where templates and the functions' state go;
//! - [`bus`]: the local EventBridge, PutEvents only;
//! - [`http`]: the one loopback HTTP server under every endpoint; [`rng`]: seeded dice;
//!   `model_enum`: enums declared with their model shape and values, for both stand-ins.
//!
//! Running the functions as AWS runs them:
//! - [`harness`]: the template's wiring, the functions registered once, events,
//!   clients, the local world (emulator and bus started together), the Lambda Runtime
//!   API fake and the one starter of the functions' binaries, Lambda's queue of
//!   asynchronous invocations (retries, dead letters), the wave invariants;
//! - [`wave`]: the wave runner (schedules, routing, Lambda's retries, chaos) and its
//!   outcome; [`report`]: the summary and the HTML report; [`rehearsal`]: a wave plan
//!   rehearsed against a catalog; [`plan_csv`]: a spreadsheet turned into a plan;
//! - [`cli`]: the `autopilot-local` command line (`run`, `serve`, `import-catalog`,
//!   `plan`, `csv-to-plan`); [`warnings`]: the functions' warnings during `run`, folded
//!   into its summary.
//!
//! The benchmarks live in their own crate, `local/bench`; ARCHITECTURE.md at the root
//! has the whole project's map and the rules the code keeps.
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
mod csv_records;
mod delivery;
mod faults;
pub mod harness;
pub mod http;
pub mod mgn;
pub mod mgn_inventory;
mod model_enum;
mod page_token;
pub mod plan_csv;
pub mod real_time;
pub mod rehearsal;
pub mod report;
pub mod rng;
pub mod s3;
pub mod scenario;
mod schedule;
pub mod sms;
pub mod warnings;
pub mod wave;

pub use scenario::{Faults, LatencySpikes, Scenario, ScenarioError, Throttle, ThrottleClock};
pub use sms::job_state_changes::{JobStateChangeDetail, SmsEvent};
pub use sms::protocol::{ApiError, ErrorCode};
pub use sms::{
    AnswerHook, Clock, Emulator, EmulatorError, EmulatorHandle, EmulatorOptions, FaultCounts,
    StateSnapshot,
};
