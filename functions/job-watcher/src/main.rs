//! Lambda entry point of job-watcher: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("job-watcher", job_watcher::handle).await
}
