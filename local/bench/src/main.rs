//! `autopilot-bench`: the project's benchmarks, measured in one run and written as one
//! Markdown table (BENCHMARKS.md, between its bench markers).
//!
//! The functions run as their release binaries, started the way Lambda starts
//! `bootstrap`: with only Lambda's variables and the template's environment, against the
//! harness's Lambda Runtime API on 127.0.0.1, with SMS and S3 served by the emulator and
//! EventBridge by the local bus. The timed sweeps run the same handlers in this
//! process, because the job creator's configuration caps `MAX_ACTIVE_JOBS` at 1,000 and
//! the sweep must create 10,000 jobs in one cycle.
//!
//! One module per measurement: [`cold_start`], [`cycles`] (SMS calls and peak memory
//! per cycle against the lower bound), [`timed`] (sweeps at scale under latency),
//! [`planning`] (the app-planner's cycles), [`convergence`], [`packages`],
//! [`criterion`] (the core's decisions), [`side_by_side`] (the job-creator beside a
//! plain boto3 script), [`resolution`] (plans rehearsed and planned at scale); [`table`] writes the Markdown ([`memory_table`] its memory
//! section). [`bench`] starts and invokes binaries, [`world`] is the local stand-in
//! they run against.

mod args;
mod bench;
mod cold_start;
mod convergence;
mod criterion;
mod cycles;
mod error;
mod machine;
mod measure;
mod memory_table;
mod mgn_cycles;
mod mgn_measure;
mod mgn_side_by_side;
mod mgn_table;
mod mgn_world;
mod packages;
mod planning;
mod resolution;
mod sandbox;
mod side_by_side;
mod table;
mod timed;
mod verdict;
mod world;

use clap::Parser;

use args::BenchArgs;
use bench::Bench;
use error::BenchError;

#[tokio::main]
async fn main() {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw
        .get(1)
        .is_some_and(|first| first == resolution::MEASURE_EXEC)
    {
        resolution::measure_exec(&raw[2..]);
    }
    let args = BenchArgs::parse();
    autopilot_local::cli::init_stderr_logging();
    if let Err(error) = run(args).await {
        eprintln!("autopilot-bench: {error}");
        std::process::exit(match error {
            BenchError::MeasurementsFailed(_) => 1,
            _ => 2,
        });
    }
}

/// Takes every measurement of the stacks asked for, prints each stack's table and
/// writes it into its section where asked.
async fn run(args: BenchArgs) -> Result<(), BenchError> {
    args.check().map_err(BenchError::Usage)?;
    let bench = Bench::new(&args)?;
    let mut failures = Vec::new();
    if args.backend.sms() {
        let figures = bench.measure_everything().await;
        publish(&args, &table::render(&figures), table::SMS_SECTION)?;
        failures.extend(figures.failures);
    }
    if args.backend.mgn() {
        let figures = bench.measure_mgn().await;
        publish(&args, &mgn_table::render(&figures), table::MGN_SECTION)?;
        failures.extend(figures.failures);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(BenchError::MeasurementsFailed(failures))
    }
}

/// Prints `table` and writes it between `section`'s markers of `--write`'s file.
fn publish(args: &BenchArgs, table: &str, section: table::Section) -> Result<(), BenchError> {
    println!("{table}");
    if let Some(path) = &args.write {
        table::write_between_markers(path, table, section).map_err(|source| BenchError::Io {
            path: path.display().to_string(),
            source,
        })?;
        eprintln!("bench: table written into {}", path.display());
    }
    Ok(())
}
