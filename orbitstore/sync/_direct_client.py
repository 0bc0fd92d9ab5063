"""The client side of the direct path: exchanges with a peer's endpoint, and the polling of static direct peers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from orbitstore.errors import ConfigError, SyncError
from orbitstore.sync._jobs import _INVALID, _UNAVAILABLE, _Job, fail_start, undo_all
from orbitstore.sync._signals import Signals
from orbitstore.sync.budget import PeerLedger
from orbitstore.sync.events import Progress
from orbitstore.sync.fetch import Fetcher
from orbitstore.sync.messages import MAX_HEADS
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.stream import StreamJoin
from orbitstore.sync.transport import DirectPath, PubSub

if TYPE_CHECKING:
    from orbitstore.databases.base import Database


class _DirectClient:
    """The :class:`Replicator` part that pulls from peers over the direct path (and the direct-only mode)."""

    db: Database
    address: str
    _pubsub: PubSub | None
    _direct: DirectPath | None
    _static: tuple[str, ...]
    _static_retry: dict[str, tuple[float, float]]
    _peer_heads: dict[str, tuple[str, ...]]
    _announce_interval: float
    _poll_interval: float
    _ledger: PeerLedger
    _chunk_entries: int
    _chunk_bytes: int
    _direct_retry: float
    _clock: Callable[[], float]
    _signals: Signals
    _me: str
    _table: PeerTable
    _cleanup: list[Callable[[], None]]

    if TYPE_CHECKING:  # provided by the other parts of the Replicator

        async def _queue_direct(self, peer: str, *, quiet: bool = False) -> None: ...

        async def _work(self) -> None: ...

        async def _received_block(self, job: _Job, block: bytes) -> None: ...

        def _fetcher(self, job: _Job, local: Mapping[str, bytes] | None = None) -> Fetcher: ...

        async def _fail(self, job: _Job, exc: Exception) -> None: ...

        async def _joined(self, job: _Job, added: int) -> None: ...

        async def _fall_back(self, peer: str) -> None: ...

    async def _run_static(self, ready: asyncio.Future[None]) -> None:
        """Direct-only mode: serve our log, poll the static peers, join what they stream."""
        assert self._direct is not None
        try:
            self._me = self._direct.endpoint or "direct"
            self._cleanup.append(self._direct.serve(self.db.log))
            async with asyncio.TaskGroup() as group:
                group.create_task(self._work())
                group.create_task(self._poll_static())
                ready.set_result(None)
        except BaseException as exc:
            fail_start(ready, exc)
            raise
        finally:
            undo_all(self._cleanup)

    async def _poll_static(self) -> None:
        while True:
            now = self._clock()
            for endpoint in self._static:
                if self._ledger.is_cut_off(endpoint) or now < self._static_retry.get(endpoint, (0.0, 0.0))[0]:
                    continue
                self._table.set_endpoint(endpoint, endpoint, now=now)
                await self._queue_direct(endpoint, quiet=True)
            await asyncio.sleep(self._poll_interval)

    def _static_result(self, peer: str, *, ok: bool) -> None:
        """Direct-only mode: a static peer is present while its exchanges succeed; else back off."""
        present = set(self._table.present)
        if ok:
            self._static_retry.pop(peer, None)
            present.add(peer)
        else:
            backoff = min(
                max(self._static_retry.get(peer, (0.0, 0.0))[1] * 2, self._poll_interval), self._announce_interval
            )
            self._static_retry[peer] = (self._clock() + backoff, backoff)
            present.discard(peer)
            self._peer_heads.pop(peer, None)
        self._table.update_present(present)
        if ok:
            self._table.hear(peer)
        self._signals.changed()

    async def _run_direct(self, job: _Job) -> None:
        endpoint = self._table.endpoint(job.peer)
        if self._direct is None or endpoint is None:
            await self._fall_back(job.peer)
            return

        async def received(block: bytes) -> None:
            job.known += 1
            await self._received_block(job, block)

        joiner = StreamJoin(
            self.db,
            chunk_entries=self._chunk_entries,
            chunk_bytes=self._chunk_bytes,
            received=received,
            fetcher=lambda local: self._fetcher(job, local),
        )
        # Our heads, then the peer's heads of its last answer that we hold (ancestors of ours): when the peer
        # has nothing new, its walk ends at once, even when it does not know our heads (we are ahead).
        # Also our heads' parents and skip references (ancestors at growing distances): a peer that lacks our
        # newest entries still knows some of them, so it sends little even before we know its heads.
        heads = await self.db.heads()
        have = list(dict.fromkeys([h.hash for h in heads]))
        extra = [*self._peer_heads.get(job.peer, ()), *(p for h in heads for p in (*h.next, *h.refs))]
        for cid in dict.fromkeys(extra):
            if len(have) >= MAX_HEADS:
                break
            if cid not in have and await self.db.log.has(cid):
                have.append(cid)
        try:
            async with self._direct.exchange(endpoint, address=self.address, heads=have) as stream:
                await joiner.run(stream)
        except (*_INVALID, *_UNAVAILABLE, SyncError, ConfigError, OSError, TimeoutError) as exc:
            self._signals.count("direct_failures")
            self._signals.count("joined_entries", joiner.added)
            if self._pubsub is None:  # direct-only: no block source to fall back on; poll again later
                self._static_result(job.peer, ok=False)
                if isinstance(exc, (OSError, TimeoutError, ConfigError)):
                    if not job.quiet or joiner.added:
                        detail = f"direct path: {type(exc).__name__}: {exc}"
                        await self._signals.emit(
                            Progress("rejected", job.peer, None, job.fetched, job.known, joiner.added, detail)
                        )
                else:
                    await self._fail(job, exc)
                return
            # Kept: the chunks joined before the failure. Then the block source takes over.
            # Not again for a while, or a history longer than an announce interval would never finish
            # on the block source: every hello would interrupt it.
            self._table.endpoint_failed(job.peer, retry_at=self._clock() + self._direct_retry)
            if isinstance(exc, (OSError, TimeoutError, ConfigError)):  # unreachable, refused, cut short
                detail = f"direct path: {type(exc).__name__}: {exc}"
                await self._signals.emit(
                    Progress("rejected", job.peer, None, job.fetched, job.known, joiner.added, detail)
                )
            else:
                await self._fail(job, exc)
            await self._fall_back(job.peer)
            return
        self._signals.count("direct_exchanges")
        if joiner.done is not None:
            self._peer_heads[job.peer] = joiner.done.heads
        if self._pubsub is None:
            self._static_result(job.peer, ok=True)
        await self._joined(job, joiner.added)
