//! Lambda entry point of mgn-planner: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("mgn-planner", mgn_planner::handle).await
}
