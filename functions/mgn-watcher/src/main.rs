//! Lambda entry point of mgn-watcher: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("mgn-watcher", mgn_watcher::handle).await
}
