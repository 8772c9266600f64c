//! Lambda entry point of job-creator: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("job-creator", job_creator::handle).await
}
