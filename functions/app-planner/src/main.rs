//! Lambda entry point of app-planner: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("app-planner", app_planner::handle).await
}
