# Shared by the ipfs-config scripts (sourced, not run).

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The ipfs binary: $IPFS_BIN, <repo>/.tools/bin, $ORBITSTORE_KUBO_BIN, then PATH
# (the same order as orbitstore.kubo.find_ipfs_binary, after the explicit IPFS_BIN).
find_ipfs() {
    local candidate
    for candidate in "${IPFS_BIN:-}" "$repo/.tools/bin/ipfs" "${ORBITSTORE_KUBO_BIN:-}"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    if command -v ipfs >/dev/null 2>&1; then
        command -v ipfs
        return 0
    fi
    echo "kubo binary not found: run ipfs-config/install-kubo.sh" >&2
    return 1
}

# multiaddr /ip4/H/tcp/P -> http://H:P
maddr_to_url() {
    local host port
    host="$(cut -d/ -f3 <<<"$1")"
    port="$(cut -d/ -f5 <<<"$1")"
    echo "http://$host:$port"
}

# True when pid $1 is alive and is an ipfs daemon (guards against reused pids).
is_ipfs_daemon() {
    [[ -n "$1" && -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q "ipfs.* daemon"
}
