//! What can go wrong in a bench run: the run as a whole ([`BenchError`], the exit
//! status) and one measurement ([`MeasureError`], written into its table cell while the
//! other measurements go on).

use autopilot_local::harness::functions::FunctionsError;
use autopilot_local::harness::wiring::WiringError;
use autopilot_local::harness::world::WorldError;
use autopilot_local::wave::WaveError;
use autopilot_local::{ApiError, EmulatorError, ScenarioError};

/// Why `autopilot-bench` failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The template cannot be read as the functions' wiring.
    #[error(transparent)]
    Wiring(#[from] WiringError),
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Some measurements could not be taken (the table says which and why).
    #[error("{} measurement(s) failed: {}", .0.len(), .0.join("; "))]
    MeasurementsFailed(Vec<String>),
}

/// Why one measurement could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Functions(#[from] FunctionsError),
    #[error(transparent)]
    Wave(#[from] WaveError),
    #[error(transparent)]
    World(#[from] WorldError),
    #[error("Lambda Runtime API: {0}")]
    RuntimeApi(std::io::Error),
    /// A call straight into the emulator was refused.
    #[error("SMS {operation}: {source}")]
    Sms { operation: String, source: ApiError },
    /// A handler run in this process failed.
    #[error("{function}: {source}")]
    Handler {
        function: &'static str,
        source: autopilot_core::AutopilotError,
    },
    /// A function binary is missing, did not start, or answered wrongly.
    #[error("{binary}: {problem}")]
    Binary { binary: String, problem: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A file the bench reads is not what it should be.
    #[error("{path}: {problem}")]
    Malformed { path: String, problem: String },
    /// The world the measurement needs did not come about (e.g. no app launched).
    #[error("{0}")]
    Setup(String),
    /// Left out on purpose.
    #[error("left out ({0})")]
    LeftOut(&'static str),
}

impl MeasureError {
    /// A binary's problem.
    pub fn binary(binary: &str, problem: impl Into<String>) -> Self {
        Self::Binary {
            binary: binary.to_owned(),
            problem: problem.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// A measurement, or why it could not be taken.
pub type Measured<T> = Result<T, MeasureError>;
