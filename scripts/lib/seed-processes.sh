# Sourced by scripts/soak.sh and scripts/hard-kills.sh: splits SEEDS seeds from
# FIRST_SEED over PROCESSES test processes, each told its share through two variables,
# each writing its log to <logs>/seeds-<first>.log, and waits for all of them.
#
#   run_seed_processes LOGS FIRST_VAR COUNT_VAR COMMAND...
#
# Sets `seed_processes_failed` to the number of processes that exited non-zero.
run_seed_processes() {
    local logs=$1 first_var=$2 count_var=$3
    shift 3
    local per=$(((SEEDS + PROCESSES - 1) / PROCESSES))
    local first=$FIRST_SEED left=$SEEDS count log pid
    local pids=()
    mkdir -p "$logs"
    rm -f "$logs"/seeds-*.log
    while ((left > 0)); do
        count=$((left < per ? left : per))
        log="$logs/seeds-$first.log"
        say "seeds $first..$((first + count - 1)) -> $log"
        env "$first_var=$first" "$count_var=$count" "$@" >"$log" 2>&1 &
        pids+=($!)
        first=$((first + count))
        left=$((left - count))
    done
    seed_processes_failed=0
    for pid in "${pids[@]}"; do
        wait "$pid" || seed_processes_failed=$((seed_processes_failed + 1))
    done
    seed_processes=${#pids[@]}
}
