//! `autopilot-local`: parses arguments and delegates to `autopilot_local::cli`.

use autopilot_local::cli::{self, Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    cli::init_stderr_logging();
    let result = match cli.command {
        Command::Serve(args) => cli::serve(args).await,
        Command::Run(args) => cli::run(args).await,
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
