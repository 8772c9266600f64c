//! What the fuzz targets check, shared by the libFuzzer binaries and the corpus replay
//! tests: the checks themselves live in `checks.rs` so that a test of the main workspace
//! can include the very same file (`#[path]`) without building this crate.

mod checks;

pub use checks::{event, scenario};
