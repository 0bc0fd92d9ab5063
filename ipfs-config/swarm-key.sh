#!/usr/bin/env bash
# Generate a libp2p private-network key (swarm.key) for a private Kubo swarm.
#
#   ipfs-config/swarm-key.sh                  # print a new key
#   ipfs-config/swarm-key.sh PATH/swarm.key   # write it (mode 0600; never overwrites)
#
# Format: "/key/swarm/psk/1.0.0/", "/base16/", then 64 lowercase hex characters
# (32 bytes from /dev/urandom). Every node of the network gets the same file in
# its IPFS_PATH; nodes without it cannot connect.
set -euo pipefail

hex="$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')"
if [[ ${#hex} -ne 64 ]]; then
    echo "swarm-key.sh: could not read 32 random bytes" >&2
    exit 1
fi
key="$(printf '/key/swarm/psk/1.0.0/\n/base16/\n%s\n' "$hex")"

if [[ $# -eq 0 ]]; then
    printf '%s\n' "$key"
elif [[ $# -eq 1 ]]; then
    if [[ -e "$1" ]]; then
        echo "swarm-key.sh: $1 exists; remove it first to replace the key" >&2
        exit 1
    fi
    (umask 077 && printf '%s\n' "$key" >"$1")
    echo "wrote $1"
else
    echo "usage: $0 [PATH]" >&2
    exit 2
fi
