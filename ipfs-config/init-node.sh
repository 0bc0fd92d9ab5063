#!/usr/bin/env bash
# Initialise an isolated Kubo repository (the orbitstore test profile).
#
#   ipfs-config/init-node.sh IPFS_PATH [--swarm-key FILE] [--api-port N] [--gateway-port N] [--swarm-port N]
#
# `ipfs init --profile=test --empty-repo`, then: Pubsub on, Routing.Type=none,
# no bootstrap, API/Gateway/Swarm on 127.0.0.1 only (port 0 = the kernel picks a
# free port when the daemon starts; the API address is then in IPFS_PATH/api),
# TCP only, no mDNS/relays/AutoNAT/AutoConf/AutoTLS, telemetry off, blocks up
# to 64 KiB sent in answer to a want-have (one bitswap round trip, not two). With
# --swarm-key the node joins only the private network of that key.
# The same settings as orbitstore/kubo/profile.py (a test checks they agree).
# An already initialised repository is left as it is.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

usage() {
    echo "usage: $0 IPFS_PATH [--swarm-key FILE] [--api-port N] [--gateway-port N] [--swarm-port N]" >&2
    exit 2
}
[[ $# -ge 1 ]] || usage
path="$1"
shift
swarm_key="" api_port=0 gateway_port=0 swarm_port=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --swarm-key) swarm_key="${2:?}"; shift 2 ;;
    --api-port) api_port="${2:?}"; shift 2 ;;
    --gateway-port) gateway_port="${2:?}"; shift 2 ;;
    --swarm-port) swarm_port="${2:?}"; shift 2 ;;
    *) usage ;;
    esac
done

for port in "$api_port" "$gateway_port" "$swarm_port"; do
    [[ "$port" =~ ^[0-9]+$ ]] || { echo "init-node.sh: not a port number: $port" >&2; exit 2; }
done

ipfs="$(find_ipfs)"
export IPFS_PATH="$path" IPFS_TELEMETRY=off

if [[ -e "$path/config" ]]; then
    echo "$path is already initialised; leaving it as it is"
else
    mkdir -p "$path"
    "$ipfs" init --profile=test --empty-repo >/dev/null
    # --profile=test already sets Bootstrap=[], MDNS off, AutoConf and AutoTLS off;
    # each `ipfs config` run rewrites the config, so subtrees are set at once.
    cfg() { "$ipfs" config "$@"; }
    cfg --json Addresses "{
        \"API\": \"/ip4/127.0.0.1/tcp/$api_port\",
        \"Gateway\": \"/ip4/127.0.0.1/tcp/$gateway_port\",
        \"Swarm\": [\"/ip4/127.0.0.1/tcp/$swarm_port\"],
        \"Announce\": [], \"AppendAnnounce\": [], \"NoAnnounce\": []}"
    cfg Routing.Type none
    cfg --json Pubsub.Enabled true
    cfg AutoNAT.ServiceMode disabled
    cfg --json Swarm.RelayClient '{"Enabled": false}'
    cfg --json Swarm.RelayService '{"Enabled": false}'
    cfg --json Swarm.Transports.Network \
        '{"QUIC": false, "WebTransport": false, "WebRTCDirect": false, "Websocket": false}'
    cfg --json Plugins.Plugins '{"telemetry": {"Config": {"Mode": "off"}}}'
    cfg --json Internal.Bitswap '{"WantHaveReplaceSize": 65536}'
    echo "initialised $path (peer $("$ipfs" config Identity.PeerID))"
fi

if [[ -n "$swarm_key" ]]; then
    if [[ -e "$path/swarm.key" ]] && ! cmp -s "$swarm_key" "$path/swarm.key"; then
        echo "init-node.sh: $path/swarm.key exists and differs from $swarm_key" >&2
        exit 1
    fi
    install -m 600 "$swarm_key" "$path/swarm.key"
    echo "private network: $path/swarm.key"
fi
