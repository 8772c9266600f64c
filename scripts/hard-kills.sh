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
per=$(((SEEDS + PROCESSES - 1) / PROCESSES))
pids=()
first=$FIRST_SEED
left=$SEEDS
while ((left > 0)); do
    count=$((left < per ? left : per))
    log="$logs/seeds-$first.log"
    say "seeds $first..$((first + count - 1)) -> $log"
    HARD_KILL_FIRST_SEED=$first HARD_KILL_SEEDS=$count \
        cargo test -p autopilot-tests --test suite hard_kills:: -- --nocapture >"$log" 2>&1 &
    pids+=($!)
    first=$((first + count))
    left=$((left - count))
done

failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=$((failed + 1))
done
say "done in $(($(date +%s) - started)) s"
grep -h "^seed [0-9]*: \|^hard kills: " "$logs"/seeds-*.log >&2 || true
if ((failed > 0)); then
    say "FAILED: $failed of ${#pids[@]} processes reported failing seeds (logs in $logs)"
    exit 1
fi
say "all $SEEDS seeds passed"
