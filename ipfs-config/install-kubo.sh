#!/usr/bin/env bash
# Install the pinned Kubo (go-ipfs) into <repo>/.tools/bin with `go install`.
#
#   ipfs-config/install-kubo.sh            # installs or reuses <repo>/.tools/bin/ipfs
#   KUBO_BIN_DIR=/opt/bin ipfs-config/install-kubo.sh
#
# Kubo is pinned to v0.39.0: later versions drop pubsub messages from JS peers
# whose gossipsub is older than 15.0.21 (OrbitDB <= 3.0.2), kubo#11304.
# Kubo v0.39.0 needs Go 1.25 to build (with Go 1.26 its pebble dependency
# fails: cockroachdb/swiss "undefined: hashFn"); when the local Go is not 1.25
# the go command fetches go1.25 as a toolchain module through the Go proxy.
# Module and build caches live in <repo>/.cache/go unless GOPATH, GOMODCACHE or
# GOCACHE are set.
set -euo pipefail

KUBO_VERSION="0.39.0"
KUBO_MODULE="github.com/ipfs/kubo/cmd/ipfs"
GO_TOOLCHAIN_FALLBACK="${KUBO_GO_TOOLCHAIN:-go1.25.5}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${KUBO_BIN_DIR:-$repo/.tools/bin}"
ipfs="$bin_dir/ipfs"

if [[ -x "$ipfs" ]]; then
    have="$("$ipfs" version --number 2>/dev/null || true)"
    if [[ "$have" == "$KUBO_VERSION" ]]; then
        echo "kubo $KUBO_VERSION already installed: $ipfs"
        exit 0
    fi
    echo "found kubo '${have:-unknown}' at $ipfs, replacing it with $KUBO_VERSION"
fi

# Go: $GO when set, else `go` on PATH, else the usual /usr/local/go.
go_bin="${GO:-}"
if [[ -z "$go_bin" ]]; then
    go_bin="$(command -v go 2>/dev/null || true)"
    [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
fi
if [[ -z "$go_bin" || ! -x "$go_bin" ]]; then
    cat >&2 <<MSG
install-kubo.sh: Go is not installed${GO:+ at GO=$GO}. Kubo $KUBO_VERSION is built from source with
'go install $KUBO_MODULE@v$KUBO_VERSION', which needs Go.
Install Go (https://go.dev/dl/; any recent version works, go1.25 is fetched as needed),
or set GO=/path/to/go, or put an ipfs $KUBO_VERSION binary at $ipfs.
MSG
    exit 1
fi

export GOPATH="${GOPATH:-$repo/.cache/go}"
export GOMODCACHE="${GOMODCACHE:-$GOPATH/pkg/mod}"
export GOCACHE="${GOCACHE:-$repo/.cache/go/build}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
if [[ -z "${GOTOOLCHAIN:-}" ]]; then
    local_version="$(GOTOOLCHAIN=local "$go_bin" env GOVERSION)"
    if [[ "$local_version" == go1.25 || "$local_version" == go1.25.* ]]; then
        export GOTOOLCHAIN=local
    else
        echo "local Go is $local_version; building with $GO_TOOLCHAIN_FALLBACK (Kubo $KUBO_VERSION needs Go 1.25)"
        export GOTOOLCHAIN="$GO_TOOLCHAIN_FALLBACK"
    fi
fi

mkdir -p "$bin_dir" "$GOPATH" "$GOMODCACHE" "$GOCACHE"
echo "installing kubo $KUBO_VERSION into $bin_dir (go: $go_bin, caches: $GOPATH) ..."
start=$SECONDS
GOBIN="$bin_dir" "$go_bin" install "$KUBO_MODULE@v$KUBO_VERSION"

have="$("$ipfs" version --number)"
if [[ "$have" != "$KUBO_VERSION" ]]; then
    echo "install-kubo.sh: installed binary reports version '$have', expected $KUBO_VERSION" >&2
    exit 1
fi
echo "kubo $have installed at $ipfs in $((SECONDS - start)) s"
