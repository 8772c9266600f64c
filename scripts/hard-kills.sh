#!/usr/bin/env bash
# The hard-kill harness at length: plays the default wave with the functions' real
# binaries as processes, some killed with SIGKILL mid-invocation (tests/tests/suite/hard_kills.rs),
# for SEEDS seeds (default 50) split over PROCESSES test processes (default 2). Each
# process writes its log to target/hard-kill-logs/seeds-<first>.log; the script prints
# every seed's line and exits non-zero if any seed failed.
#
#   bash scripts/hard-kills.sh                     50 seeds from seed 1
#   SEEDS=200 FIRST_SEED=1001 bash scripts/hard-kills.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/seed-processes.sh
source scripts/lib/seed-processes.sh

SEEDS="${SEEDS:-50}"
FIRST_SEED="${FIRST_SEED:-1}"
PROCESSES="${PROCESSES:-2}"
target="${CARGO_TARGET_DIR:-target}"
logs="$target/hard-kill-logs"
mkdir -p "$logs"
say() { echo "hard-kills.sh: $*" >&2; }

say "building the harness and the binaries"
cargo build --workspace --bins --test suite --quiet
cargo test -p autopilot-tests --test suite --no-run --quiet

started=$(date +%s)
run_seed_processes "$logs" HARD_KILL_FIRST_SEED HARD_KILL_SEEDS \
    cargo test -p autopilot-tests --test suite hard_kills:: -- --nocapture
say "done in $(($(date +%s) - started)) s"
grep -h "^seed [0-9]*: \|^hard kills: " "$logs"/seeds-*.log >&2 || true
if ((seed_processes_failed > 0)); then
    say "FAILED: $seed_processes_failed of $seed_processes processes reported failing seeds (logs in $logs)"
    exit 1
fi
say "all $SEEDS seeds passed"
