//! A bench run: every measurement in turn, each failure noted while the rest go on.

use autopilot_local::harness::functions::{wiring_of, NAMES};
use autopilot_local::harness::wiring::Wiring;

use crate::bench::Bench;
use crate::error::MeasureError;
use crate::table::Figures;

impl<'a> Bench<'a> {
    /// Every measurement in turn; one that fails is noted and the rest go on.
    pub async fn measure_everything(&self) -> Figures<'a> {
        let mut failures = Vec::new();
        let mut note = |what: String, error: &MeasureError| {
            eprintln!("bench: {what}: {error}");
            failures.push(format!("{what}: {error}"));
        };
        eprintln!("bench: cold starts ({} per function)", self.args.starts);
        let mut cold = Vec::new();
        for function in deployed(&self.wiring) {
            let figures = self.cold_starts(function).await;
            if let Err(error) = &figures {
                note(format!("cold start of {function}"), error);
            }
            cold.push((function, figures));
        }
        let mut cycles = Vec::new();
        for &servers in &self.args.sizes {
            eprintln!("bench: one cycle of each function over {servers} servers");
            let rows = self.cycles(servers).await;
            if let Err(error) = &rows {
                note(format!("cycles over {servers} servers"), error);
            }
            cycles.push((servers, rows));
        }
        let timed = self.timed_sweeps().await;
        if let Some(error) = timed
            .as_ref()
            .err()
            .filter(|e| !matches!(e, MeasureError::LeftOut(_)))
        {
            note("timed sweeps".into(), error);
        }
        eprintln!("bench: convergence of the default wave");
        let convergence = crate::convergence::convergence(&self.args.template).await;
        if let Err(error) = &convergence {
            note("convergence".into(), error);
        }
        eprintln!("bench: side by side with a plain boto3 job-creator");
        let side_by_side = self.side_by_side().await;
        if let Err(error) = &side_by_side {
            note("side by side".into(), error);
        }
        eprintln!("bench: plan resolution at scale");
        let resolution = self.resolution();
        if let Err(error) = &resolution {
            note("plan resolution".into(), error);
        }
        eprintln!("bench: packages");
        Figures {
            machine: crate::machine::machine(),
            args: self.args,
            cold,
            cycles,
            timed,
            convergence,
            side_by_side,
            resolution,
            packages: self.packages(),
            criterion: crate::criterion::estimates(
                &self.args.criterion_dir,
                self.args.criterion_since,
            ),
            failures,
        }
    }
}

/// The functions a stack deploys, in the registry's order.
pub fn deployed(stack: &Wiring) -> impl Iterator<Item = &'static str> + '_ {
    NAMES
        .into_iter()
        .filter(|name| wiring_of(stack, name).is_ok())
}
