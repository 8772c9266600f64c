//! Lambda entry point of wave-reporter: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("wave-reporter", wave_reporter::handle).await
}
