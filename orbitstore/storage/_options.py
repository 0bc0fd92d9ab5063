"""How an embedded store is opened (:class:`EmbeddedOptions`) and what it counts (:class:`EmbeddedStats`).

Private to :mod:`orbitstore.storage.embedded`, which re-exports both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orbitstore.errors import ConfigError

__all__ = ["Durability", "EmbeddedOptions", "EmbeddedStats"]

Durability = Literal["batch", "durable"]
"""``"batch"``: commit every ``batch_size`` writes or ``batch_interval`` seconds;
``"durable"``: commit (and fsync) on every ``sync()``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddedOptions:
    """How an :class:`EmbeddedStore` is opened; see :meth:`EmbeddedStore.open`."""

    durability: Durability = "batch"
    batch_size: int = 1000
    batch_interval: float = 0.05
    map_size: int = 1 << 30
    max_dbs: int = 64
    readonly: bool = False

    def __post_init__(self) -> None:
        if self.durability not in ("batch", "durable"):
            raise ConfigError(f"durability must be 'batch' or 'durable', got {self.durability!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not isinstance(self.batch_interval, int | float) or not self.batch_interval > 0:
            raise ConfigError(f"batch_interval must be a positive number of seconds, got {self.batch_interval!r}")
        if not isinstance(self.map_size, int) or self.map_size < 1 << 16:
            raise ConfigError(f"map_size must be an integer of at least 64 KiB, got {self.map_size!r}")
        if not isinstance(self.max_dbs, int) or self.max_dbs < 1:
            raise ConfigError(f"max_dbs must be a positive integer, got {self.max_dbs!r}")


@dataclass(frozen=True, slots=True)
class EmbeddedStats:
    """Counters of one :class:`EmbeddedStore`, for tests, benchmarks and monitoring."""

    commits: int
    """Write transactions committed (each one fsynced)."""
    committed_ops: int
    """Writes (put, delete, clear) those commits carried."""
    pending_ops: int
    """Writes buffered and not yet committed (including a commit in flight)."""
    map_size: int
    """The current LMDB map size in bytes (it doubles when full)."""
