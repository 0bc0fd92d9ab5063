#!/usr/bin/env bash
# Start N isolated Kubo daemons on loopback, connected to each other.
#
#   ipfs-config/start-swarm.sh N [DIR]        # DIR defaults to <repo>/.cache/kubo-swarm
#   SWARM_KEY=path/swarm.key ipfs-config/start-swarm.sh 3 /tmp/private-swarm
#   ipfs-config/stop-swarm.sh [DIR]
#
# Each node lives in DIR/node<i> (its own IPFS_PATH, initialised by init-node.sh
# when new), logs to DIR/node<i>/daemon.log and records its pid in
# DIR/node<i>/daemon.pid. The script waits until every API answers `id`,
# connects every pair, then prints one line per node:  node<i> <API URL> <peer id>
# and writes the API URLs to DIR/api-urls.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

[[ $# -ge 1 && $# -le 2 && "$1" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 N [DIR]" >&2; exit 2; }
n="$1"
dir="${2:-$repo/.cache/kubo-swarm}"
ipfs="$(find_ipfs)"
timeout="${KUBO_START_TIMEOUT:-30}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

key_args=()
[[ -n "${SWARM_KEY:-}" ]] && key_args=(--swarm-key "$SWARM_KEY")

for ((i = 0; i < n; i++)); do
    node="$dir/node$i"
    if [[ -f "$node/daemon.pid" ]] && is_ipfs_daemon "$(cat "$node/daemon.pid")"; then
        echo "start-swarm.sh: $node is already running (pid $(cat "$node/daemon.pid")); run stop-swarm.sh first" >&2
        exit 1
    fi
done

# Initialise the repositories in parallel (each is a dozen `ipfs config` runs).
init_pids=()
for ((i = 0; i < n; i++)); do
    "$(dirname "${BASH_SOURCE[0]}")/init-node.sh" "$dir/node$i" "${key_args[@]}" >/dev/null &
    init_pids+=($!)
done
for pid in "${init_pids[@]}"; do
    wait "$pid" || { echo "start-swarm.sh: initialising a node failed" >&2; exit 1; }
done

for ((i = 0; i < n; i++)); do
    node="$dir/node$i"
    rm -f "$node/api"
    env_vars=(IPFS_PATH="$node" IPFS_TELEMETRY=off)
    [[ -n "${SWARM_KEY:-}" ]] && env_vars+=(LIBP2P_FORCE_PNET=1)
    env "${env_vars[@]}" setsid "$ipfs" daemon </dev/null >>"$node/daemon.log" 2>&1 &
    echo $! >"$node/daemon.pid"
done

# Wait until each API answers `id`.
deadline=$((SECONDS + timeout))
for ((i = 0; i < n; i++)); do
    node="$dir/node$i"
    until [[ -s "$node/api" ]] && IPFS_PATH="$node" "$ipfs" id >/dev/null 2>&1; do
        if ! is_ipfs_daemon "$(cat "$node/daemon.pid")"; then
            echo "start-swarm.sh: the daemon of $node exited; its log:" >&2
            tail -n 20 "$node/daemon.log" >&2
            exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "start-swarm.sh: $node did not answer within $timeout s" >&2
            exit 1
        fi
        sleep 0.1
    done
done

# Connect every pair (i -> j for j > i); libp2p connections are two-way.
for ((i = 0; i < n; i++)); do
    for ((j = i + 1; j < n; j++)); do
        addr="$(IPFS_PATH="$dir/node$j" "$ipfs" id -f '<addrs>\n' | grep -m1 '^/ip4/127.0.0.1/tcp/')"
        IPFS_PATH="$dir/node$i" "$ipfs" swarm connect "$addr" >/dev/null
    done
done

: >"$dir/api-urls"
for ((i = 0; i < n; i++)); do
    node="$dir/node$i"
    url="$(maddr_to_url "$(cat "$node/api")")"
    echo "$url" >>"$dir/api-urls"
    echo "node$i $url $(IPFS_PATH="$node" "$ipfs" config Identity.PeerID)"
done
