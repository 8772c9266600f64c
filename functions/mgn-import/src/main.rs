//! Lambda entry point of mgn-import: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("mgn-import", mgn_import::handle).await
}
