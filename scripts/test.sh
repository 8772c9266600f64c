#!/usr/bin/env bash
# The whole test suite, set-up included: installs what the tests need from the package
# registries (Python tools into virtualenvs under target/), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

bash scripts/lint-infra.sh
cargo test --workspace --all-targets
