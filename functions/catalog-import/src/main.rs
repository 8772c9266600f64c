//! Lambda entry point of catalog-import: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    autopilot_core::runtime::run("catalog-import", catalog_import::handle).await
}
