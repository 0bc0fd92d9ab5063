"""Join jobs: the worker that runs them one by one, the block fetcher of a job, and the accounting of failures."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from orbitstore.errors import LogError, NotFound, PeerBudgetExceeded, SyncError
from orbitstore.sync._jobs import _INVALID, _UNAVAILABLE, _Job, _UseDirect
from orbitstore.sync._signals import Signals
from orbitstore.sync.budget import Admission, PeerLedger
from orbitstore.sync.events import Progress
from orbitstore.sync.fetch import Fetcher
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.transport import BlockSource, DirectPath

if TYPE_CHECKING:
    from orbitstore.databases.base import Database


class _Joining:
    """The :class:`Replicator` part that runs the queued jobs, in arrival order, and joins what they fetch."""

    db: Database
    address: str
    _log_id: str
    _blocks: BlockSource | None
    _direct: DirectPath | None
    _ledger: PeerLedger
    _fetch_limit: asyncio.Semaphore
    _fetch_timeout: float
    _max_block_size: int
    _prefetch: int
    _progress_step: int
    _signals: Signals
    _table: PeerTable
    _jobs: asyncio.Queue[_Job]
    _queued_heads: set[str]
    _pending: dict[str, int]
    _direct_queued: set[str]
    _current: _Job | None
    _loud_jobs: int

    if TYPE_CHECKING:  # provided by the other parts of the Replicator

        async def _run_direct(self, job: _Job) -> None: ...

        async def _queue_direct(self, peer: str, *, quiet: bool = False) -> None: ...

        async def _invalid(self, peer: str, reason: str, *, head: str | None = None) -> None: ...

        def _cut(self, peer: str) -> None: ...

        def _oversized(self, size: int) -> bool: ...

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            self._current = job
            if not job.quiet:
                self._loud_jobs -= 1
            try:
                if job.direct:
                    self._direct_queued.discard(job.peer)
                if not self._ledger.is_cut_off(job.peer):
                    await (self._run_direct(job) if job.direct else self._run_head(job))
            finally:
                self._current = None
                if job.head is not None:
                    self._queued_heads.discard(job.head)
                    self._pending[job.peer] = max(0, self._pending.get(job.peer, 0) - 1)
                self._signals.changed()

    async def _fail(self, job: _Job, exc: Exception) -> None:
        """Account a failed job: the peer's fault (invalid) or not (unavailable, retried later)."""
        if getattr(self.db, "_closed", False):  # Database has no public "closed" yet
            raise SyncError(f"database {self.address} was closed before its replicator") from exc
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, PeerBudgetExceeded):
            await self._signals.emit(Progress("rejected", job.peer, job.head, job.fetched, job.known, detail=reason))
        elif isinstance(exc, (*_INVALID, SyncError)):
            self._signals.count("invalid")
            await self._invalid(job.peer, reason, head=job.head)
        else:
            self._signals.count("failed_joins")
            await self._signals.emit(Progress("rejected", job.peer, job.head, job.fetched, job.known, detail=reason))

    async def _run_head(self, job: _Job) -> None:
        assert job.head is not None
        if await self.db.log.has(job.head):
            return
        fetch = self._fetcher(job)
        try:
            await self._join_head(job, fetch)
        finally:
            await fetch.aclose()

    async def _join_head(self, job: _Job, fetch: Fetcher) -> None:
        assert job.head is not None
        try:
            entry = job.entry
            if entry is None:
                block = await fetch(job.head)
                if block is None:
                    raise NotFound(f"head {job.head} is not available")
                entry = await self.db.log.decode_entry(block, expected_hash=job.head)
                if entry.id != self._log_id:
                    raise LogError(f"head {entry.hash} belongs to log {entry.id!r}")
            added = await self.db.join_entry(entry, fetch=fetch)
        except _UseDirect:  # nothing was stored: the log stores only after the whole join
            await self._queue_direct(job.peer)
            return
        except (*_INVALID, *_UNAVAILABLE, SyncError) as exc:
            await self._fail(job, exc)
            return
        await self._joined(job, len(added))

    async def _joined(self, job: _Job, added: int) -> None:
        if added:
            self._signals.count("joins")
            self._signals.count("joined_entries", added)
        elif job.quiet:
            return
        await self._signals.emit(Progress("joined", job.peer, job.head, job.fetched, job.known, added))

    def _fetcher(self, job: _Job, local: Mapping[str, bytes] | None = None) -> Fetcher:
        """The block fetcher for one job: ``local`` (streamed) blocks first, then the block source."""

        def check() -> None:
            if self._direct is not None and self._table.endpoint(job.peer) is not None:
                raise _UseDirect  # its hello arrived after its head: the direct path is faster

        async def account(block: bytes) -> None:
            job.known = max(job.known, fetcher.requested)
            await self._received_block(job, block)

        fetcher = Fetcher(
            self._blocks,
            log_id=self._log_id,
            limit=self._fetch_limit,
            timeout=self._fetch_timeout,
            has=self.db.log.has,
            account=account,
            local=local,
            window=0 if local is not None else self._prefetch,
            check=check if local is None else None,
        )
        return fetcher

    async def _received_block(self, job: _Job, block: bytes) -> None:
        """Account one fetched or streamed block against the job's peer."""
        size = len(block)
        if self._oversized(size):
            raise SyncError(f"block of {size} bytes exceeds {self._max_block_size}")
        admission = self._ledger.charge_bytes(job.peer, size)
        if admission is Admission.CUT_OFF:
            self._cut(job.peer)
        if admission in (Admission.CUT_OFF, Admission.IGNORED):
            raise PeerBudgetExceeded(f"peer {job.peer} is cut off")
        self._signals.count("fetched_blocks")
        self._signals.count("fetched_bytes", size)
        job.fetched += 1
        if job.fetched % self._progress_step == 0:
            await self._signals.emit(Progress("fetched", job.peer, job.head, job.fetched, max(job.known, job.fetched)))
