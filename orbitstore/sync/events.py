"""What a replicator reports: progress events and counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PeerStatus", "Progress", "ProgressKind", "ReplicatorStatus", "SyncStats"]

ProgressKind = Literal["known", "fetched", "joined", "rejected"]


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of replication from ``peer``.

    * ``known``: a head we lack became known (``head``), or a direct exchange
      started (``head`` is ``None``); work is queued;
    * ``fetched``: blocks are arriving: ``fetched`` so far, of ``known`` asked
      for so far (the log widens its frontier through ``refs``, so ``known``
      grows as it goes);
    * ``joined``: the work is done and ``joined`` entries were added;
    * ``rejected``: the work failed; ``detail`` says why (nothing of it was
      stored, except chunks of a direct exchange already joined).
    """

    kind: ProgressKind
    peer: str
    head: str | None = None
    fetched: int = 0
    known: int = 0
    joined: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Counters of one replicator since it started (for metrics)."""

    #: pubsub messages received from other peers (heads and hellos)
    received: int = 0
    #: head blocks and hellos published
    published: int = 0
    #: publishes that failed after their retries
    publish_failures: int = 0
    #: announce rounds (periodic, on a new peer, at start)
    announces: int = 0
    #: heads joined (or direct exchanges) that added entries
    joins: int = 0
    #: entries added from peers
    joined_entries: int = 0
    #: blocks fetched from the block source or streamed on the direct path
    fetched_blocks: int = 0
    #: bytes of those blocks
    fetched_bytes: int = 0
    #: direct exchanges completed
    direct_exchanges: int = 0
    #: direct exchanges that failed (then the block source is used)
    direct_failures: int = 0
    #: joins that failed for want of blocks or time (not the peer's fault); retried on re-announce
    failed_joins: int = 0
    #: input rejected as invalid: undecodable messages, entries that fail verification or access
    invalid: int = 0
    #: messages or blocks over the size limit (rejected, also counted as invalid input of the peer)
    oversized: int = 0
    #: messages dropped because their peer was over its message or byte rate
    rate_limited: int = 0
    #: messages ignored: peer cut off, too many peers, or too many pending heads
    dropped: int = 0
    #: peers cut off by their budget
    cut_off: int = 0
    #: progress events not delivered because a progress() consumer lagged
    progress_dropped: int = 0


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """What a replicator knows of one peer (:meth:`Replicator.status`)."""

    #: the peer id (pubsub), or its endpoint (a static direct peer)
    peer: str
    #: its direct endpoint, when known
    endpoint: str | None
    #: on the topic now (direct-only: its last exchange succeeded)
    present: bool
    #: it has told us its heads since the replicator started
    heard: bool
    #: cut off by its budget
    cut_off: bool
    #: heads it told us (its last hello or direct answer, and head messages not yet seen joined)
    heads: int
    #: of those, how many are not in our log
    missing: int


@dataclass(frozen=True, slots=True)
class ReplicatorStatus:
    """A snapshot of one replicator (:meth:`Replicator.status`): peers, heads, pending work, counters."""

    address: str
    #: ``pubsub`` (Kubo or memory pubsub, maybe with the direct fast path) or ``direct`` (static peers only)
    mode: Literal["pubsub", "direct"]
    #: where our direct path listens, or ``None``
    endpoint: str | None
    running: bool
    #: in sync with at least one peer, as :meth:`Replicator.synced` with ``min_peers=1`` would answer now
    synced: bool
    peers: tuple[PeerStatus, ...]
    #: distinct heads the peers told us, and how many of them are in our log
    heads_known: int
    heads_joined: int
    #: joins (or direct exchanges bringing entries) queued or running
    pending_joins: int
    stats: SyncStats
