//! `autopilot-local`: parses arguments and delegates to `autopilot_local::cli`.

use autopilot_local::cli::{self, Cli, Command};
use autopilot_local::warnings;
use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    // A wave's progress is one live line: the functions' warnings wait for the summary.
    let tally = match &cli.command {
        Command::Run(_) => warnings::init_wave_logging(),
        _ => {
            cli::init_stderr_logging();
            None
        }
    };
    let result = match cli.command {
        Command::Serve(args) => cli::serve(args).await,
        Command::Run(args) => cli::run(args, tally.as_ref()).await,
        Command::ImportCatalog(args) => cli::import_catalog(args),
        Command::CsvToPlan(args) => cli::csv_to_plan(args),
        Command::Plan(args) => {
            cli::plan(args).map(|verdict| std::process::exit(verdict.exit_code()))
        }
    };
    match result {
        Ok(()) => {}
        Err(cli::CliError::Rejected(why)) => {
            eprintln!("autopilot-local: {why}");
            std::process::exit(3);
        }
        Err(cli::CliError::NotConverged(why)) => {
            eprintln!("autopilot-local: the wave did not converge: {why}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("autopilot-local: {e}");
            std::process::exit(2);
        }
    }
}
