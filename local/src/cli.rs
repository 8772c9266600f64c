//! The `autopilot-local` command line: argument types and the `serve` subcommand.
//!
//! `main.rs` only parses and delegates here; further subcommands (e.g. `run`) add a
//! variant to [`Command`] and a function beside [`serve`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Play a whole migration wave with the real handlers on the simulated clock.
    Run(RunArgs),
    /// Turn an `aws sms get-servers` JSON dump into a scenario (YAML on stdout).
    ImportCatalog(ImportCatalogArgs),
    /// Turn a spreadsheet (CSV, one row per server) into a wave plan (YAML on stdout).
    CsvToPlan(CsvToPlanArgs),
    /// Rehearse a wave plan against a catalog: what the planner would create and
    /// change. Exit 0: nothing to change; 4: changes; 3: the plan is refused or its
    /// members conflict; 2: the command could not run.
    Plan(PlanArgs),
}

pub use crate::warnings::init_stderr_logging;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (YAML or JSON); the built-in default scenario when absent.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Overrides the scenario's seed (ids, AMIs and fault dice).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time the wave may take before it counts as not converged, e.g.
    /// `72h`, `3d`, `90m`.
    #[arg(long, default_value = "3d", value_parser = parse_duration)]
    pub until: Duration,
    /// Every function decides and publishes but makes no mutating SMS call.
    #[arg(long)]
    pub dry_run: bool,
    /// Folder for the event log, the archived templates and the HTML report.
    #[arg(long, default_value = "out/wave")]
    pub out: PathBuf,
    /// The SAM template whose schedules, rules and environment are played.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// A wave plan (YAML or JSON) put in the artifacts bucket as the wave starts.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The migration service the wave plays on: `sms` (the SMS emulator and the SMS
    /// functions) or `mgn` (the MGN stand-in with its EC2, and the MGN functions: the
    /// template deployed with `Backend` MGN).
    #[arg(long, value_enum, default_value_t = Backend::Sms)]
    pub backend: Backend,
}

/// The backend a wave plays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sms,
    Mgn,
}

/// Arguments of `csv-to-plan`.
#[derive(Debug, Args)]
pub struct CsvToPlanArgs {
    /// The CSV file, with a header row (application, group, vm_name, launch_order, ...).
    pub file: PathBuf,
    /// Write the plan here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write MGN's inventory sheet (its import CSV: each server with its
    /// application and wave) here, for mgn-import.
    #[arg(long)]
    pub mgn_inventory: Option<PathBuf>,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The wave plan (YAML or JSON).
    pub plan: PathBuf,
    /// The catalog: a scenario file; the built-in default scenario when absent.
    #[arg(long, conflicts_with_all = ["get_servers", "describe_source_servers"])]
    pub scenario: Option<PathBuf>,
    /// The catalog: the JSON printed by `aws sms get-servers`.
    #[arg(long, conflicts_with = "describe_source_servers")]
    pub get_servers: Option<PathBuf>,
    /// The catalog: the JSON printed by `aws mgn describe-source-servers` (MGN).
    #[arg(long)]
    pub describe_source_servers: Option<PathBuf>,
}

/// Arguments of `import-catalog`.
#[derive(Debug, Args)]
pub struct ImportCatalogArgs {
    /// The JSON printed by `aws sms get-servers` (all pages merged or the first).
    pub file: PathBuf,
    /// Write the scenario here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `90s`, `45m`, `12h`, `3d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit; use s, m, h or d (e.g. 72h)"))?;
    let (count, unit) = text.split_at(split);
    let count: u64 = count
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit `{other}`; use s, m, h or d")),
    };
    if count == 0 {
        return Err("the duration must be positive".into());
    }
    Ok(Duration::from_secs(count.saturating_mul(seconds)))
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
    /// EventBridge (local event bus) port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub bus_port: u16,
    /// MGN port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub mgn_port: u16,
    /// EC2 port on 127.0.0.1, the MGN account's (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub ec2_port: u16,
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
    /// The input cannot become a wave plan (exit code 3).
    #[error("{0}")]
    Rejected(String),
    /// The scenario could not be used.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The emulator could not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// The wave could not be played.
    #[error(transparent)]
    Wave(#[from] crate::wave::WaveError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The wave ran but did not converge (exit code 1).
    #[error("{0}")]
    NotConverged(String),
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
    let served = Served::start(scenario, &args).await?;
    // Listening before the endpoints are printed: whoever reads them may press Ctrl-C at
    // once, and that must stop the servers cleanly rather than kill the process.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(CliError::Signal)?;
    println!("sms-autopilot emulator running ({summary})");
    served.print_endpoints(&region);
    println!("Press Ctrl-C to stop.");
    interrupt.recv().await;
    served.shutdown().await;
    println!("stopped");
    Ok(())
}

/// What `serve` serves: SMS with its S3, MGN with its EC2, and the event bus.
struct Served {
    emu: crate::EmulatorHandle,
    mgn: crate::mgn::MgnHandle,
    bus: crate::bus::LocalBus,
}

impl Served {
    async fn start(scenario: Scenario, args: &ServeArgs) -> Result<Self, CliError> {
        let sms = EmulatorOptions {
            sms_port: args.port,
            s3_port: args.s3_port,
            s3_root: args.s3_root.clone(),
            realtime_speed: Some(args.speed),
        };
        let emu = Emulator::start(scenario.clone(), sms).await?;
        let mgn = crate::mgn::MgnOptions {
            port: args.mgn_port,
            ec2_port: args.ec2_port,
            realtime_speed: Some(args.speed),
            s3_root: Some(emu.s3_root()),
        };
        let mgn = crate::mgn::MgnHandle::start_with(scenario, mgn)
            .await
            .map_err(|source| CliError::Io {
                path: format!(
                    "127.0.0.1:{} (MGN) and :{} (EC2)",
                    args.mgn_port, args.ec2_port
                ),
                source,
            })?;
        let clock = emu.clock();
        let now = std::sync::Arc::new(move || clock.now());
        let bus = crate::bus::LocalBus::start(args.bus_port, now, 0)
            .await
            .map_err(|source| CliError::Io {
                path: format!("127.0.0.1:{} (event bus)", args.bus_port),
                source,
            })?;
        Ok(Self { emu, mgn, bus })
    }

    fn print_endpoints(&self, region: &str) {
        let (emu, mgn, bus) = (&self.emu, &self.mgn, &self.bus);
        println!("  SMS endpoint: {}", emu.sms_endpoint());
        let root = emu.s3_root();
        println!(
            "  S3 endpoint:  {} (path-style, root {})",
            emu.s3_endpoint(),
            root.display()
        );
        println!(
            "  EventBridge:  {0} (PutEvents; decisions at {0}/_bus/events)",
            bus.endpoint()
        );
        println!(
            "  admin:        {}/_emulator/state | counters | events",
            emu.sms_endpoint()
        );
        println!(
            "  MGN endpoint: {} (the same estate, agents installed)",
            mgn.endpoint()
        );
        println!("  EC2 endpoint: {} (the MGN account's)", mgn.ec2_endpoint());
        println!("Any static credentials are accepted. In another shell:");
        println!("export AWS_ENDPOINT_URL_SMS={}", emu.sms_endpoint());
        println!("export AWS_ENDPOINT_URL_S3={}", emu.s3_endpoint());
        println!("export AWS_ENDPOINT_URL_EVENTBRIDGE={}", bus.endpoint());
        println!("export AWS_ENDPOINT_URL_MGN={}", mgn.endpoint());
        println!("export AWS_ENDPOINT_URL_EC2={}", mgn.ec2_endpoint());
        println!("export AWS_REGION={region} AWS_DEFAULT_REGION={region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test");
    }

    async fn shutdown(self) {
        self.bus.shutdown().await;
        self.mgn.shutdown().await;
        self.emu.shutdown().await;
    }
}

/// `autopilot-local run`; the functions' warnings, when `tally` counts them, are shown
/// after the summary.
pub async fn run(args: RunArgs, tally: Option<&crate::warnings::Tally>) -> Result<(), CliError> {
    let mut scenario = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::default_scenario(),
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let template = args
        .template
        .clone()
        .unwrap_or_else(crate::wave::default_template);
    let plans = match &args.plan {
        Some(path) => vec![crate::wave::PlanVersion {
            after: Duration::ZERO,
            text: read_text(path)?,
        }],
        None => Vec::new(),
    };
    println!(
        "Playing wave `{}` on {}: {} servers, {} apps, {} connectors; wiring from {}{}",
        scenario.name,
        match args.backend {
            Backend::Sms => "SMS",
            Backend::Mgn => "MGN",
        },
        scenario.servers.len(),
        scenario.apps.len(),
        scenario.connectors.len(),
        template.display(),
        if args.dry_run { " (dry run)" } else { "" }
    );
    let options = crate::wave::WaveOptions {
        scenario,
        template,
        until: args.until,
        dry_run: args.dry_run,
        plans,
        ..Default::default()
    };
    let terminal = std::io::stdout().is_terminal();
    let show = |progress: &crate::wave::Progress| {
        let line = crate::report::progress_line(progress);
        if terminal {
            // One live line on a terminal; plain lines in logs and pipes.
            print!("\r\x1b[2K{line}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        } else {
            println!("{line}");
        }
    };
    let report = match args.backend {
        Backend::Sms => crate::wave::Wave::start(options).await?.play(show).await?,
        Backend::Mgn => {
            let wave = crate::wave::mgn::MgnWave::start(options).await?;
            wave.play(show).await?
        }
    };
    if terminal {
        println!();
    }
    println!("\n{}", crate::report::summary_text(&report));
    if let Some(tally) = tally {
        print!("{}", tally.summary());
    }
    let written =
        crate::report::write_outputs(&report, &args.out).map_err(|source| CliError::Io {
            path: args.out.display().to_string(),
            source,
        })?;
    print_written(&written, &args.out);
    if report.converged {
        Ok(())
    } else {
        Err(CliError::NotConverged(report.verdict))
    }
}

/// Where a played wave's files went.
fn print_written(written: &crate::report::Written, out: &std::path::Path) {
    println!("Written:");
    println!("  event log      {}", written.events.display());
    println!("  summary        {}", written.summary.display());
    println!("  HTML report    {}", written.html.display());
    if let Some(deployed) = &written.deployed {
        println!(
            "  stack's report {} (reports/latest.html)",
            deployed.display()
        );
    }
    println!(
        "  templates      {} under {}",
        written.templates.len(),
        out.join("templates").display()
    );
}

/// A file's text; a file that is not UTF-8 text is refused (exit 3), not a failure
/// to run.
fn read_text(path: &std::path::Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        CliError::Rejected(format!(
            "{}: not UTF-8 text (byte {at} is not): save it as UTF-8 text (a spreadsheet as CSV, a plan as YAML or JSON)",
            path.display()
        ))
    })
}

/// `autopilot-local plan`: prints the rehearsal; the verdict gives the exit code.
pub fn plan(args: PlanArgs) -> Result<crate::rehearsal::Verdict, CliError> {
    use crate::rehearsal::Estate;
    let text = read_text(&args.plan)?;
    let estate = match (
        &args.scenario,
        &args.get_servers,
        &args.describe_source_servers,
    ) {
        (_, _, Some(dump)) => {
            Estate::of_describe_source_servers_dump(&read_text(dump)?, &dump.display().to_string())?
        }
        (_, Some(dump), None) => {
            Estate::of_get_servers_dump(&read_text(dump)?, &dump.display().to_string())?
        }
        (Some(path), None, None) => Estate::of_scenario(&Scenario::load(path)?),
        (None, None, None) => Estate::of_scenario(&Scenario::default_scenario()),
    };
    let origin = args.plan.display().to_string();
    let (report, verdict) = crate::rehearsal::rehearse(&text, &origin, &estate);
    print!("{report}");
    Ok(verdict)
}

/// `autopilot-local csv-to-plan`: the plan is checked as the planner checks it before
/// it is written.
pub fn csv_to_plan(args: CsvToPlanArgs) -> Result<(), CliError> {
    let text = read_text(&args.file)?;
    let plan = crate::plan_csv::plan_from_csv(&text)
        .map_err(|problems| CliError::Rejected(format!("{}: {problems}", args.file.display())))?;
    let yaml = serde_yaml_ng::to_string(&plan)
        .map_err(|error| CliError::Rejected(format!("the plan cannot be written: {error}")))?;
    autopilot_core::plan::Plan::parse(&yaml)
        .map_err(|refusal| CliError::Rejected(format!("{}: {refusal}", args.file.display())))?;
    if let Some(path) = &args.mgn_inventory {
        let sheet = crate::mgn_inventory::inventory_csv(&plan);
        std::fs::write(path, sheet).map_err(|source| CliError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    match &args.output {
        Some(path) => std::fs::write(path, yaml).map_err(|source| CliError::Io {
            path: path.display().to_string(),
            source,
        })?,
        None => print!("{yaml}"),
    }
    Ok(())
}

/// `autopilot-local import-catalog`.
pub fn import_catalog(args: ImportCatalogArgs) -> Result<(), CliError> {
    let text = read_text(&args.file)?;
    let scenario = Scenario::from_get_servers_dump(&text, &args.file.display().to_string())?;
    let yaml = scenario.to_yaml()?;
    match &args.output {
        Some(path) => std::fs::write(path, yaml).map_err(|source| CliError::Io {
            path: path.display().to_string(),
            source,
        })?,
        None => print!("{yaml}"),
    }
    Ok(())
}
