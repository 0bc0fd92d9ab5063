"""What a replicator reports: counters, peers, status snapshots, progress events, and the wait for sync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from orbitstore.errors import PeerBudgetExceeded
from orbitstore.sync._jobs import _Job
from orbitstore.sync._signals import ProgressCallback, Signals
from orbitstore.sync.budget import PeerLedger
from orbitstore.sync.events import PeerStatus, Progress, ReplicatorStatus, SyncStats
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.transport import DirectPath, PubSub

if TYPE_CHECKING:
    from orbitstore.databases.base import Database


class _Status:
    """The :class:`Replicator` part that answers questions about its state."""

    db: Database
    address: str
    _pubsub: PubSub | None
    _direct: DirectPath | None
    _static: tuple[str, ...]
    _peer_heads: dict[str, tuple[str, ...]]
    _ledger: PeerLedger
    _table: PeerTable
    _current: _Job | None
    _loud_jobs: int
    _runner: asyncio.Task[None] | None
    _closed: bool
    _signals: Signals

    if TYPE_CHECKING:  # provided by the other parts of the Replicator

        def _check_running(self) -> None: ...

    def stats(self) -> SyncStats:
        """A snapshot of the counters (rejected input, traffic, joins)."""
        return self._signals.stats()

    def cut_offs(self) -> dict[str, PeerBudgetExceeded]:
        """The peers cut off now, each with the :class:`PeerBudgetExceeded` recorded for it."""
        return self._ledger.cut_offs()

    @property
    def peers(self) -> frozenset[str]:
        """The other peers on the topic, as last polled (direct-only: static peers whose last exchange succeeded)."""
        return self._table.present

    @property
    def endpoint(self) -> str | None:
        """Where our direct path listens (``host:port``), or ``None``."""
        return self._direct.endpoint if self._direct is not None else None

    async def status(self) -> ReplicatorStatus:
        """A snapshot of the replication state; never waits for sync (it only looks heads up in the log)."""
        table = self._table
        cut = self._ledger.cut_offs()
        peers: list[PeerStatus] = []
        known: set[str] = set()
        for peer in sorted(table.present | set(self._static)):
            heads = set(self._peer_heads.get(peer, ())) | set(table.announced(peer))
            missing = 0
            for head in heads:
                if not await self.db.log.has(head):
                    missing += 1
            known |= heads
            peers.append(
                PeerStatus(
                    peer=peer,
                    endpoint=table.endpoint(peer) or (peer if peer in self._static else None),
                    present=peer in table.present,
                    heard=table.heard_since(peer, 0),
                    cut_off=peer in cut,
                    heads=len(heads),
                    missing=missing,
                )
            )
        joined = 0
        for head in known:
            if await self.db.log.has(head):
                joined += 1
        running = self._runner is not None and not self._runner.done() and not self._closed
        return ReplicatorStatus(
            address=self.address,
            mode="pubsub" if self._pubsub is not None else "direct",
            endpoint=self.endpoint,
            running=running,
            synced=running and await self._is_synced(1, 0),
            peers=tuple(peers),
            heads_known=len(known),
            heads_joined=joined,
            pending_joins=self._pending_work(),
            stats=self.stats(),
        )

    def on_progress(self, callback: ProgressCallback) -> Callable[[], None]:
        """Call ``callback(progress)`` for every :class:`Progress` event; returns a function that unsubscribes."""
        return self._signals.on_progress(callback)

    def progress(self) -> AsyncIterator[Progress]:
        """Every :class:`Progress` event from now on (ends when the replicator closes).

        A consumer that lags more than 1024 events behind misses the newer ones
        (counted in ``stats().progress_dropped``).
        """
        return self._signals.progress(lambda: self._closed)

    async def synced(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - part of the API: answers False rather than raising
        min_peers: int = 1,
        fresh: bool = False,
    ) -> bool:
        """Wait until in sync with the current peers; False if ``timeout`` seconds pass first.

        In sync means: at least ``min_peers`` peers are on the topic (not
        counting cut-off peers); each of them has announced its heads since we
        subscribed — or, with ``fresh``, since this call began (so at least one
        of its announcement rounds has passed: use it after a partition) — by a
        head message or a hello (so a JS OrbitDB peer with an empty database
        never counts as heard); every head they announced is in our log; and no
        join is queued or running. It reflects what was heard: a head published
        but not yet received is not waited for.
        """
        since = self._table.mark() if fresh else 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._check_running()
                    changed = self._signals.changed_event
                    if await self._is_synced(min_peers, since):
                        return True
                    await changed.wait()
        except TimeoutError:
            return False

    async def _is_synced(self, min_peers: int, since: int) -> bool:
        table = self._table
        peers = [p for p in table.present if not self._ledger.is_cut_off(p)]
        if len(peers) < min_peers or self._pending_work():
            return False
        for peer in peers:
            if not table.heard_since(peer, since):
                return False
            for head in self._peer_heads.get(peer, ()):
                if not await self.db.log.has(head):
                    return False
            announced = table.announced(peer)
            for head in list(announced):
                if not await self.db.log.has(head):
                    return False
                announced.pop(head, None)
        return True

    def _pending_work(self) -> int:
        """Jobs queued or running, not counting direct-only polls that have received nothing (yet)."""
        current = self._current
        running = current is not None and not (current.quiet and current.fetched == 0)
        return self._loud_jobs + (1 if running else 0)
