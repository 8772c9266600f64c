#!/usr/bin/env bash
# The whole test suite, set-up included: installs what the tests need from the package
# registries (Python tools into virtualenvs under target/), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Headless Chromium renders the wave report in local/tests/suite/cli_run.rs (Debian package;
# the test says SKIPPED if it cannot be installed, e.g. without root).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "test.sh: chromium missing and not root; the report rendering check will be skipped" >&2
    fi
fi

# Here the suite's tools are installed, so a test that cannot find one fails instead of
# saying SKIPPED (a bare `cargo test` on a laptop may still skip them).
export AUTOPILOT_TESTS_REQUIRE="moto"
if command -v chromium >/dev/null 2>&1; then
    AUTOPILOT_TESTS_REQUIRE="moto,chromium"
fi

bash scripts/lint-infra.sh
bash scripts/deny.sh
cargo test --workspace --all-targets
