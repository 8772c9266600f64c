//! Helpers shared by the integration tests under `tests/tests/suite/`.
