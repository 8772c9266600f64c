//! The command line of `autopilot-bench`.

use std::path::PathBuf;

use clap::Parser;

/// Measures cold start, peak memory, package size, SMS calls per cycle against their
/// lower bound, sweeps at scale and the wave's convergence, and writes one Markdown
/// table. `scripts/bench.sh` builds what it needs and runs this.
#[derive(Debug, Parser)]
#[command(name = "autopilot-bench", version, about)]
pub struct BenchArgs {
    /// Folder of the functions' release binaries (`cargo build --release -p <name>`).
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
    /// Folder of cargo-lambda's packages, `<dir>/<name>/bootstrap.zip`.
    #[arg(long, default_value = "target/lambda")]
    pub lambda_dir: PathBuf,
    /// Folder where `cargo bench -p autopilot-core --bench decisions` left criterion's
    /// estimates.
    #[arg(long, default_value = "target/criterion")]
    pub criterion_dir: PathBuf,
    /// Criterion estimates written before this Unix time are reported as stale.
    #[arg(long)]
    pub criterion_since: Option<i64>,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    pub starts: usize,
    /// Catalog sizes (servers) for peak memory and calls per cycle; apps = servers / 20.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    pub sizes: Vec<usize>,
    /// Which stack's measurements to take: `sms`, `mgn` or `both`. Each writes its own
    /// section of the file given to `--write`.
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BackendChoice,
    /// Source-server counts of the MGN cycles; applications = servers / 20.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub mgn_sizes: Vec<usize>,
    /// Servers of the timed sweeps.
    #[arg(long, default_value_t = 10_000)]
    pub scale_servers: usize,
    /// Apps of the timed sweeps.
    #[arg(long, default_value_t = 500)]
    pub scale_apps: usize,
    /// SMS latency injected during the timed sweeps, per call.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Leave out the timed sweeps (minutes of wall time).
    #[arg(long)]
    pub skip_scale: bool,
    /// The SAM template whose environment the functions get.
    #[arg(long, default_value = "infra/template.yaml")]
    pub template: PathBuf,
    /// The official SMS model (for the boto3 script of the side-by-side measurement).
    #[arg(long, default_value = "../shared/reference/sms-2016-10-24")]
    pub sms_model: PathBuf,
    /// Replace the section between the bench markers of this Markdown file.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Extra `NAME=VALUE` for every started function (experiments, e.g.
    /// `SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt`); named in the table.
    #[arg(long, value_parser = parse_env)]
    pub child_env: Vec<(String, String)>,
}

/// The stacks a bench run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    Sms,
    Mgn,
    Both,
}

impl BackendChoice {
    pub fn sms(self) -> bool {
        self != Self::Mgn
    }

    pub fn mgn(self) -> bool {
        self != Self::Sms
    }
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

impl BenchArgs {
    /// Refuses values no measurement can use.
    pub fn check(&self) -> Result<(), String> {
        if self.starts == 0 {
            return Err("--starts must be positive".into());
        }
        if self.sizes.is_empty() || self.sizes.contains(&0) {
            return Err("every --sizes value must be positive".into());
        }
        if self.mgn_sizes.is_empty() || self.mgn_sizes.contains(&0) {
            return Err("every --mgn-sizes value must be positive".into());
        }
        if self.scale_servers == 0 || self.scale_apps == 0 {
            return Err("--scale-servers and --scale-apps must be positive".into());
        }
        Ok(())
    }
}
