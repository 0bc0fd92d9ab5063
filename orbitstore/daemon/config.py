"""The daemon's options, in one frozen object with every default in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orbitstore.errors import ConfigError
from orbitstore.sync.direct import parse_endpoint

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_UPLOAD",
    "DEFAULT_PORT",
    "DaemonConfig",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5101
#: Largest JSON request body (bytes).
DEFAULT_MAX_BODY = 1024 * 1024
#: Largest streamed upload (CSV import), bytes.
DEFAULT_MAX_UPLOAD = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonConfig:
    """How to run ``orbitstore daemon``.

    ``directory`` holds the embedded store, the keystore and the token
    (``None``: everything in memory, and ``token`` must be given). ``port=0``
    picks a free port. ``kubo`` is ``None`` (embedded blocks), a Kubo RPC URL,
    or ``"spawn"`` (start a Kubo node in ``<directory>/kubo``).

    Replication (``sync``, on by default) runs for every open database: over
    Kubo pubsub and bitswap with ``kubo`` (plus the direct fast path), else on
    the direct path alone, listening on ``direct_host:direct_port`` (0: a free
    port) and pulling from the ``peers`` endpoints (``host:port``).
    """

    directory: Path | None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    identity: str | None = None
    kubo: str | None = None
    durability: str = "batch"
    max_body: int = DEFAULT_MAX_BODY
    max_upload: int = DEFAULT_MAX_UPLOAD
    drain_timeout: float = 10.0
    keepalive: float = 15.0
    sync: bool = True
    peers: tuple[str, ...] = ()
    direct_host: str = DEFAULT_HOST
    direct_port: int = 0

    def __post_init__(self) -> None:
        if self.directory is None and self.token is None:
            raise ConfigError("a daemon without a data directory needs an explicit token")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port {self.port} is out of range")
        if self.max_body < 1024 or self.max_upload < self.max_body:
            raise ConfigError("max_body must be at least 1 KiB and max_upload at least max_body")
        if self.drain_timeout <= 0 or self.keepalive <= 0:
            raise ConfigError("drain_timeout and keepalive must be positive")
        if not 0 <= self.direct_port <= 65535:
            raise ConfigError(f"direct port {self.direct_port} is out of range")
        for peer in self.peers:
            parse_endpoint(peer)
        if self.peers and not self.sync:
            raise ConfigError("--peer needs sync on")
        if self.token is not None and len(self.token) < 16:
            raise ConfigError("a token must be at least 16 characters")
