//! Lambda entry point of app-launcher: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("app-launcher", app_launcher::handle).await
}
