//! Lambda entry point of template-generator: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("template-generator", template_generator::handle).await
}
