#!/usr/bin/env bash
# Dependency policy (deny.toml): licences and banned crates, offline. Installs the pinned
# cargo-deny from crates.io into target/tools/ the first time (a few minutes of compiling),
# then checks. Advisories need the network (the RustSec database) and are not checked here.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION="0.20.2"
TOOLS="$PWD/target/tools"
DENY="$TOOLS/bin/cargo-deny"

if ! { [ -x "$DENY" ] && "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; }; then
    echo "deny.sh: installing cargo-deny $CARGO_DENY_VERSION into target/tools/" >&2
    cargo install --locked --quiet --root "$TOOLS" --version "$CARGO_DENY_VERSION" cargo-deny
fi

# cargo metadata (which cargo-deny reads offline) needs every platform's crates in the
# local registry cache, Windows-only ones included: fetch them (a no-op once cached).
cargo fetch --quiet
"$DENY" --offline check --hide-inclusion-graph licenses bans
