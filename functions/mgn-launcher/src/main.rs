//! Lambda entry point of mgn-launcher: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("mgn-launcher", mgn_launcher::handle).await
}
