#!/usr/bin/env bash
# Stop the daemons started by start-swarm.sh: SIGTERM, then SIGKILL after 10 s.
#
#   ipfs-config/stop-swarm.sh [DIR]      # DIR defaults to <repo>/.cache/kubo-swarm
#
# The repositories stay (start-swarm.sh reuses them); delete DIR to start afresh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

[[ $# -le 1 ]] || { echo "usage: $0 [DIR]" >&2; exit 2; }
dir="${1:-$repo/.cache/kubo-swarm}"
grace="${KUBO_STOP_TIMEOUT:-10}"

pids=()
for pidfile in "$dir"/node*/daemon.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if is_ipfs_daemon "$pid"; then
        kill -TERM "$pid"
        pids+=("$pid")
    fi
    rm -f "$pidfile"
done

deadline=$((SECONDS + grace))
for pid in "${pids[@]}"; do
    while is_ipfs_daemon "$pid"; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
done
echo "stopped ${#pids[@]} node(s) in $dir"
