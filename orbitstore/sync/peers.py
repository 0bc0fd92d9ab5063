"""What a replicator knows of the other peers on its topic: pure bookkeeping, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from orbitstore.log import Entry

__all__ = ["PeerTable"]


@dataclass(slots=True)
class _Peer:
    heard: int = 0  # the table's message count when it last announced (0: never)
    heads: dict[str, Entry | None] = field(default_factory=dict)  # announced, maybe not joined yet
    endpoint: str | None = None
    failed: str | None = None  # an endpoint that failed, not to be used again before retry_at
    retry_at: float = 0.0


class PeerTable:
    """Per peer: when it last announced, the heads it announced that may be missing here, its direct endpoint.

    ``present`` is the set of peers on the topic (as last polled); a peer that
    leaves is forgotten. At most ``max_heads`` announced heads are kept per
    peer (the oldest is forgotten first: a newer announcement covers it).
    """

    def __init__(self, *, max_heads: int) -> None:
        self._max_heads = max_heads
        self._peers: dict[str, _Peer] = {}
        self._count = 0
        self.present: frozenset[str] = frozenset()

    def _peer(self, peer: str) -> _Peer:
        found = self._peers.get(peer)
        if found is None:
            found = self._peers[peer] = _Peer()
        return found

    def update_present(self, peers: set[str]) -> set[str]:
        """Record who is on the topic now; forget those who left; return the newcomers."""
        new = peers - self.present
        for gone in self.present - peers:
            self.forget(gone)
        self.present = frozenset(peers)
        return new

    def mark(self) -> int:
        """A point in time to compare announcements with (see :meth:`heard_since`)."""
        return self._count

    def hear(self, peer: str) -> None:
        """``peer`` announced its heads (a head message or a hello)."""
        self._count += 1
        self._peer(peer).heard = self._count

    def heard_since(self, peer: str, mark: int) -> bool:
        """True when ``peer`` announced after ``mark`` (``mark`` 0: ever, since the table exists)."""
        found = self._peers.get(peer)
        return found is not None and found.heard > mark

    def announce(self, peer: str, head: str, entry: Entry | None) -> None:
        """``peer`` announced ``head`` (with its entry when it came in a head message)."""
        heads = self._peer(peer).heads
        if head not in heads and len(heads) >= self._max_heads:
            heads.pop(next(iter(heads)))
        if entry is not None or head not in heads:
            heads[head] = entry

    def announced(self, peer: str) -> dict[str, Entry | None]:
        """The heads ``peer`` announced that were not yet seen joined (live: callers may remove covered ones)."""
        found = self._peers.get(peer)
        return found.heads if found is not None else {}

    def set_endpoint(self, peer: str, endpoint: str, *, now: float) -> None:
        """``peer`` announced its direct endpoint (ignored while that endpoint is in its failure backoff)."""
        found = self._peer(peer)
        if endpoint != found.failed or now >= found.retry_at:
            found.endpoint = endpoint

    def endpoint_failed(self, peer: str, *, retry_at: float) -> None:
        """``peer``'s endpoint failed: use the block source for it until ``retry_at``."""
        found = self._peer(peer)
        found.failed, found.retry_at, found.endpoint = found.endpoint, retry_at, None

    def endpoint(self, peer: str) -> str | None:
        """``peer``'s direct endpoint, if it announced one."""
        found = self._peers.get(peer)
        return found.endpoint if found is not None else None

    def forget(self, peer: str) -> None:
        """Drop everything known of ``peer`` (it left, or was cut off)."""
        self._peers.pop(peer, None)
