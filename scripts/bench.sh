#!/usr/bin/env bash
# Runs the benchmarks and writes their table into BENCHMARKS.md (between the bench
# markers), printing it too. One command, from a fresh clone:
#
#   bash scripts/bench.sh                     everything (about 10 minutes on 2 cores once built)
#   bash scripts/bench.sh --starts 5 --skip-scale     any `autopilot-bench` option
#   bash scripts/bench.sh --backend mgn       the MGN stack's measurements only (their own section)
#
# Steps: builds each function's release binary (`cargo build --release -p <name>`, for
# this machine's architecture, x86_64 here) and autopilot-local, with the workspace's
# release profile (fat LTO: slow the first time, then cargo skips what is fresh); runs
# criterion's benchmarks of the core decisions; then `autopilot-bench` (local/bench),
# which measures the rest and reads criterion's estimates. Package sizes come from
# target/lambda/<name>/bootstrap.zip when scripts/build-lambdas.sh built them (arm64);
# this script does not rebuild them (a second fat-LTO build per function).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "bench.sh: $*" >&2; }
target="${CARGO_TARGET_DIR:-target}"
started=$(date +%s)

# zip and unzip measure the packages; a fresh Debian machine may lack them.
if ! command -v zip >/dev/null || ! command -v unzip >/dev/null; then
    say "installing zip and unzip"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq zip unzip >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq zip unzip >/dev/null
    fi
fi

for name in app-planner catalog-import job-creator job-watcher template-generator app-launcher wave-reporter \
    mgn-planner mgn-watcher mgn-launcher mgn-import autopilot-local autopilot-bench; do
    say "cargo build --release -p $name"
    cargo build --release -p "$name"
done

say "cargo bench -p autopilot-core --bench decisions"
cargo bench -p autopilot-core --bench decisions

say "autopilot-bench"
"$target/release/autopilot-bench" \
    --bin-dir "$target/release" \
    --lambda-dir "$target/lambda" \
    --criterion-dir "$target/criterion" \
    --criterion-since "$started" \
    --template infra/template.yaml \
    --write BENCHMARKS.md \
    "$@"
say "done in $(($(date +%s) - started)) s; the table is in BENCHMARKS.md"
