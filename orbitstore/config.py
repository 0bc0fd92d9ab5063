"""Defaults in one place. Every option elsewhere is keyword-only and defaults to a value here."""

from __future__ import annotations

__all__ = [
    "DEFAULT_BATCH_INTERVAL",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_REFERENCES_COUNT",
    "DEFAULT_SYNC_FETCH_CONCURRENCY",
    "MAX_BLOCK_SIZE",
]

#: Skip references per database entry (OrbitDB's ``referencesCount`` default).
DEFAULT_REFERENCES_COUNT = 16
#: Embedded store: commit after this many writes in batch mode …
DEFAULT_BATCH_SIZE = 1000
#: … or this many seconds after the first pending write.
DEFAULT_BATCH_INTERVAL = 0.05
#: Largest block accepted from a peer (bytes); Kubo's bitswap limit is 2 MiB.
MAX_BLOCK_SIZE = 2 * 1024 * 1024
#: Missing entries fetched at once while joining a head.
DEFAULT_SYNC_FETCH_CONCURRENCY = 32
