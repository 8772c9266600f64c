#!/usr/bin/env bash
# The hard-kill harness at length: plays the default wave with the functions' real
# binaries as processes, some killed with SIGKILL mid-invocation (tests/tests/suite/hard_kills.rs),
# for SEEDS seeds (default 50) split over PROCESSES test processes (default 2). Each
# process writes its log to target/hard-kill-logs/<backend>/seeds-<first>.log; the script prints
# every seed's line and exits non-zero if any seed failed.
#
#   bash scripts/hard-kills.sh                     50 seeds from seed 1
#   SEEDS=200 FIRST_SEED=1001 bash scripts/hard-kills.sh
#   BACKEND=mgn bash scripts/hard-kills.sh         the MGN wave's
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/seed-processes.sh
source scripts/lib/seed-processes.sh

case "${BACKEND:-sms}" in
    sms) first_var=HARD_KILL_FIRST_SEED seeds_var=HARD_KILL_SEEDS
        test=hard_kills::killed_processes_leave_no_duplicate_and_lose_no_alert ;;
    mgn) first_var=MGN_HARD_KILL_FIRST_SEED seeds_var=MGN_HARD_KILL_SEEDS
        test=hard_kills::killed_mgn_processes_break_no_guard ;;
    *) echo "hard-kills.sh: BACKEND must be sms or mgn, not ${BACKEND}" >&2; exit 2 ;;
esac
SEEDS="${SEEDS:-50}"
FIRST_SEED="${FIRST_SEED:-1}"
PROCESSES="${PROCESSES:-2}"
target="${CARGO_TARGET_DIR:-target}"
logs="$target/hard-kill-logs/${BACKEND:-sms}"
mkdir -p "$logs"
say() { echo "hard-kills.sh: $*" >&2; }

say "building the harness and the binaries"
cargo build --workspace --bins --test suite --quiet
cargo test -p autopilot-tests --test suite --no-run --quiet

started=$(date +%s)
run_seed_processes "$logs" "$first_var" "$seeds_var" \
    cargo test -p autopilot-tests --test suite "$test" -- --exact --nocapture
say "done in $(($(date +%s) - started)) s"
grep -h "^seed [0-9]*: \|^hard kills" "$logs"/seeds-*.log >&2 || true
if ((seed_processes_failed > 0)); then
    say "FAILED: $seed_processes_failed of $seed_processes processes reported failing seeds (logs in $logs)"
    exit 1
fi
say "all $SEEDS seeds passed"
