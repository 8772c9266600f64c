#!/usr/bin/env bash
# The chaos soak: plays the default wave under `Chaos::everything(seed)` for
# SEEDS seeds (default 1000), split over PROCESSES test processes (default 8: a wave
# spends most of its wall time waiting on injected latency, so 2 cores carry 8), built
# with the optimised, unwinding `soak` profile. Each process writes its log to
# target/soak-logs/<backend>/seeds-<first>.log; the script prints every failing seed and the fault
# totals, and exits non-zero if any seed failed.
#
#   bash scripts/soak.sh                       1000 seeds from seed 1
#   SEEDS=200 FIRST_SEED=5001 bash scripts/soak.sh
#   BACKEND=mgn bash scripts/soak.sh           the MGN wave's chaos (mgn_chaos::)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/seed-processes.sh
source scripts/lib/seed-processes.sh

SEEDS="${SEEDS:-1000}"
FIRST_SEED="${FIRST_SEED:-1}"
PROCESSES="${PROCESSES:-8}"
target="${CARGO_TARGET_DIR:-target}"
say() { echo "soak.sh: $*" >&2; }

case "${BACKEND:-sms}" in
    sms) first_var=CHAOS_FIRST_SEED seeds_var=CHAOS_SEEDS
        filter=chaos::waves_keep_their_invariants_under_faults ;;
    mgn) first_var=MGN_CHAOS_FIRST_SEED seeds_var=MGN_CHAOS_SEEDS
        filter=mgn_chaos::mgn_waves_keep_their_guards_under_faults ;;
    *) say "BACKEND must be sms or mgn, not ${BACKEND}"; exit 2 ;;
esac
logs="$target/soak-logs/${BACKEND:-sms}"
mkdir -p "$logs"

say "building the chaos suite with --profile soak"
cargo test --profile soak -p autopilot-local --test suite --no-run

started=$(date +%s)
run_seed_processes "$logs" "$first_var" "$seeds_var" \
    cargo test --profile soak -p autopilot-local --test suite "$filter" -- --exact --nocapture
say "done in $(($(date +%s) - started)) s"
grep -h "^seeds " "$logs"/seeds-*.log >&2 || true
grep -h "^seed [0-9]*: " "$logs"/seeds-*.log | grep -v "converged=true.*breaches \[\]" >&2 || true
if ((seed_processes_failed > 0)); then
    say "FAILED: $seed_processes_failed of $seed_processes processes reported failing seeds (logs in $logs)"
    exit 1
fi
say "all $SEEDS seeds passed"
