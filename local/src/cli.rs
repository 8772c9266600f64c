//! The `autopilot-local` command line: argument types and the `serve` subcommand.
//!
//! `main.rs` only parses and delegates here; further subcommands (e.g. `run`) add a
//! variant to [`Command`] and a function beside [`serve`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{Emulator, EmulatorError, EmulatorOptions, Scenario, ScenarioError};

/// Simulated clock speed of `serve` when none is given: the default catalog import
/// (120 simulated seconds) then completes in two real seconds.
pub const DEFAULT_SPEED: f64 = 60.0;

/// sms-autopilot on one machine: the SMS emulator, a local S3, and wave runs.
#[derive(Debug, Parser)]
#[command(name = "autopilot-local", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SMS emulator and the local S3 until Ctrl-C, on a clock that follows
    /// wall time sped up.
    Serve(ServeArgs),
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// SMS port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// S3 port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub s3_port: u16,
    /// Scenario file (YAML or JSON); the built-in default scenario when absent.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Simulated seconds per wall-clock second.
    #[arg(long, default_value_t = DEFAULT_SPEED, allow_negative_numbers = true)]
    pub speed: f64,
    /// Directory for the local S3's buckets (a temporary one when absent).
    #[arg(long)]
    pub s3_root: Option<PathBuf>,
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The scenario could not be used.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The emulator could not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// Waiting for Ctrl-C failed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(std::io::Error),
}

/// `autopilot-local serve`.
pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(CliError::Usage(format!(
            "--speed must be a positive number, got {}",
            args.speed
        )));
    }
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::default_scenario(),
    };
    let summary = format!(
        "scenario {:?}: {} connectors, {} servers, {} apps; clock {}x from {}",
        scenario.name,
        scenario.connectors.len(),
        scenario.servers.len(),
        scenario.apps.len(),
        args.speed,
        scenario.start_time.to_rfc3339(),
    );
    let region = scenario.region.clone();
    let emu = Emulator::start(
        scenario,
        EmulatorOptions {
            sms_port: args.port,
            s3_port: args.s3_port,
            s3_root: args.s3_root.clone(),
            realtime_speed: Some(args.speed),
        },
    )
    .await?;
    println!("sms-autopilot emulator running ({summary})");
    println!("  SMS endpoint: {}", emu.sms_endpoint());
    println!(
        "  S3 endpoint:  {} (path-style, root {})",
        emu.s3_endpoint(),
        emu.s3_root().display()
    );
    println!(
        "  admin:        {}/_emulator/state | counters | events",
        emu.sms_endpoint()
    );
    println!("Any static credentials are accepted. In another shell:");
    println!("export AWS_ENDPOINT_URL_SMS={}", emu.sms_endpoint());
    println!("export AWS_ENDPOINT_URL_S3={}", emu.s3_endpoint());
    println!("export AWS_REGION={region} AWS_DEFAULT_REGION={region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test");
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.map_err(CliError::Signal)?;
    emu.shutdown().await;
    println!("stopped");
    Ok(())
}
