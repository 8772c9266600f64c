//! A bench run of the MGN stack: its functions' cold starts, their cycles at each
//! estate size, and the side by side; each failure noted while the rest go on.

use std::time::Duration;

use autopilot_local::harness::functions::wiring_of;
use autopilot_local::harness::two_server_scenario;

use crate::args::BenchArgs;
use crate::bench::Bench;
use crate::cold_start::ColdStart;
use crate::error::{MeasureError, Measured};
use crate::machine::Machine;
use crate::measure::deployed;
use crate::mgn_cycles::{mgn_plan, MgnCycle};
use crate::mgn_side_by_side::MgnSideBySide;
use crate::mgn_world::MgnBenchWorld;

/// Everything an MGN bench run measured, and what failed.
pub struct MgnFigures<'a> {
    pub machine: Machine,
    pub args: &'a BenchArgs,
    pub cold: Vec<(&'static str, Measured<ColdStart>)>,
    pub cycles: Vec<(usize, Measured<Vec<MgnCycle>>)>,
    pub side_by_side: Measured<MgnSideBySide>,
    pub failures: Vec<String>,
}

impl<'a> Bench<'a> {
    /// Every MGN measurement in turn; one that fails is noted and the rest go on.
    pub async fn measure_mgn(&self) -> MgnFigures<'a> {
        let mut failures = Vec::new();
        let mut note = |what: String, error: &MeasureError| {
            eprintln!("bench: {what}: {error}");
            failures.push(format!("{what}: {error}"));
        };
        eprintln!("bench: MGN cold starts ({} per function)", self.args.starts);
        let mut cold = Vec::new();
        for function in deployed(&self.mgn_wiring) {
            let figures = self.mgn_cold_starts(function).await;
            if let Err(error) = &figures {
                note(format!("cold start of {function} on MGN"), error);
            }
            cold.push((function, figures));
        }
        let mut cycles = Vec::new();
        for &servers in &self.args.mgn_sizes {
            eprintln!("bench: one cycle of each MGN function over {servers} source servers");
            let rows = self.mgn_cycles(servers).await;
            if let Err(error) = &rows {
                note(format!("MGN cycles over {servers} servers"), error);
            }
            cycles.push((servers, rows));
        }
        eprintln!("bench: side by side with a plain boto3 test launcher");
        let side_by_side = self.mgn_side_by_side().await;
        if let Err(error) = &side_by_side {
            note("MGN side by side".into(), error);
        }
        MgnFigures {
            machine: crate::machine::machine(),
            args: self.args,
            cold,
            cycles,
            side_by_side,
            failures,
        }
    }

    /// `starts` cold starts of an MGN function on its schedule, each in a fresh small
    /// estate whose plan the mgn-planner has applied (but for the planner itself, whose
    /// first run applies it) and whose servers replicate.
    pub async fn mgn_cold_starts(&self, function: &str) -> Measured<ColdStart> {
        let mut figures = ColdStart::new();
        let wiring = wiring_of(&self.mgn_wiring, function)?;
        for _ in 0..self.args.starts {
            let mut scenario = two_server_scenario();
            let plan = mgn_plan(&scenario);
            scenario.apps.clear();
            let world = MgnBenchWorld::start(scenario, &self.mgn_wiring).await?;
            let invocation = match function {
                "mgn-planner" => {
                    let key = crate::mgn_cycles::plan_key(self)?;
                    world
                        .put_object(&key, plan.to_string().into_bytes())
                        .await?;
                    world.advance(Duration::from_secs(3 * 3600));
                    self.invoke(&world, function, world.schedule(wiring)).await
                }
                _ => {
                    self.plan_applied(&world, &plan).await?;
                    world.advance(Duration::from_secs(3 * 3600));
                    self.invoke(&world, function, world.schedule(wiring)).await
                }
            };
            world.shutdown().await;
            figures.take(&invocation?);
        }
        Ok(figures)
    }
}
