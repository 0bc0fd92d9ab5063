"""Defaults in one place. Every option elsewhere is keyword-only and defaults to a value here.

(``mlbridge`` keeps its own in ``mlbridge/config.py``.)
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_ANCHOR_MAX_BATCH",
    "DEFAULT_ANCHOR_MAX_DELAY",
    "DEFAULT_ANCHOR_RETRIES",
    "DEFAULT_ANCHOR_RETRY_DELAY",
    "DEFAULT_ANNOUNCE_INTERVAL",
    "DEFAULT_BATCH_INTERVAL",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_DIRECT_RETRY",
    "DEFAULT_KUBO_TIMEOUT",
    "DEFAULT_MIN_CONFIRMATIONS",
    "DEFAULT_PEER_POLL_INTERVAL",
    "DEFAULT_PROGRESS_STEP",
    "DEFAULT_REFERENCES_COUNT",
    "DEFAULT_SYNC_CHUNK_BYTES",
    "DEFAULT_SYNC_CHUNK_ENTRIES",
    "DEFAULT_SYNC_FETCH_CONCURRENCY",
    "DEFAULT_SYNC_FETCH_TIMEOUT",
    "DEFAULT_SYNC_PREFETCH",
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

# -- replication (orbitstore.sync.Replicator) --------------------------------------------------------

#: Seconds between re-announcements of our heads (pubsub is best effort).
DEFAULT_ANNOUNCE_INTERVAL = 10.0
#: Seconds between polls of each static direct peer (direct-only mode).
DEFAULT_PEER_POLL_INTERVAL = 1.0
#: Seconds one block may take to arrive from the block source.
DEFAULT_SYNC_FETCH_TIMEOUT = 30.0
#: A direct stream is joined in chunks of this many entries …
DEFAULT_SYNC_CHUNK_ENTRIES = 4096
#: … or this many bytes, whichever comes first.
DEFAULT_SYNC_CHUNK_BYTES = 64 * 1024 * 1024
#: Blocks fetched ahead along ``refs`` while joining from the block source (0: off).
DEFAULT_SYNC_PREFETCH = 256
#: Seconds before a peer's failed direct endpoint is tried again.
DEFAULT_DIRECT_RETRY = 60.0
#: A ``fetched`` progress event every this many blocks.
DEFAULT_PROGRESS_STEP = 256

# -- Kubo -------------------------------------------------------------------------------------------

#: Seconds a Kubo block call may take (``KuboStorage``, ``KuboBlocks``); bulk calls get this per 2000 blocks.
DEFAULT_KUBO_TIMEOUT = 10.0

# -- anchoring --------------------------------------------------------------------------------------

#: CIDs per anchor batch (one transaction each) …
DEFAULT_ANCHOR_MAX_BATCH = 10_000
#: … and seconds the oldest pending CID may wait before its batch closes.
DEFAULT_ANCHOR_MAX_DELAY = 30.0
#: Extra attempts of a failed anchoring backend call …
DEFAULT_ANCHOR_RETRIES = 3
#: … this many seconds apart (doubling).
DEFAULT_ANCHOR_RETRY_DELAY = 2.0
#: Confirmations a receipt's transaction needs to verify.
DEFAULT_MIN_CONFIRMATIONS = 1
