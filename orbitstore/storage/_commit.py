"""The commit machinery of an embedded store (private to :mod:`orbitstore.storage.embedded`).

:class:`CommitMachinery` is mixed into :class:`~orbitstore.storage.embedded.EmbeddedStore`
and owns everything between a write and the disk: the shared pending
:class:`~orbitstore.storage._buffer.WriteBuffer` every sub-storage records into,
the write-ahead log tail of durable mode (appended by ``sync()``), group commits
run in a worker thread (one LMDB write transaction per commit, growing the map
when it fills up), and the batch-mode timer that commits ``batch_interval``
seconds after the first pending write. The store supplies the LMDB side: its
environment, the sub-database handles, ``_write_batch`` and ``_drop_reader``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import lmdb

from orbitstore.errors import StorageError
from orbitstore.storage._buffer import DbOps, WriteBuffer
from orbitstore.storage._environment import grow_map
from orbitstore.storage._options import EmbeddedOptions
from orbitstore.storage._wal import CLEAR, DELETE, PUT, WalOp, WriteAheadLog, mark_applied

__all__ = ["CommitMachinery", "consume_result"]


def consume_result(task: asyncio.Future[Any]) -> None:
    """Mark a background task's exception as retrieved; callers already got or recorded it."""
    if not task.cancelled():
        task.exception()


class CommitMachinery:
    """The pending buffer, write-ahead log wiring, commits and batch timer of an embedded store."""

    # Provided by the store.
    _directory: Path
    _env: lmdb.Environment
    _options: EmbeddedOptions
    _dbs: dict[str, Any]

    def _init_commits(self, directory: Path, options: EmbeddedOptions) -> None:
        """Start with nothing pending; durable (writable) stores get a write-ahead log in ``directory``."""
        self._pending = WriteBuffer()
        self._committing: WriteBuffer | None = None
        self._version = 0  # bumped whenever the buffered view changes (for iterators)
        self._commit_task: asyncio.Task[None] | None = None
        self._writer: asyncio.Future[tuple[dict[str, Any], bool]] | None = None  # worker thread's commit
        self._timer: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()  # batch mode: something is pending and the timer should run
        self._first_pending_at = 0.0
        self._failure: StorageError | None = None
        self._commits = 0
        self._committed_ops = 0
        self._recorded = 0  # writes ever buffered
        self._durable = 0  # how many of them the last successful commit covered
        # Durable mode: sync() appends to a write-ahead log; LMDB is committed in batches (_wal.py).
        self._wal: WriteAheadLog | None = None
        self._wal_tail: list[WalOp] = []
        if options.durability == "durable" and not options.readonly:
            self._wal = WriteAheadLog(directory)

    def _write_batch(self, batch: WriteBuffer) -> tuple[dict[str, Any], bool]:
        """Write ``batch`` in one LMDB transaction, in a worker thread: new handles, and whether the map filled up."""
        raise NotImplementedError

    def _drop_reader(self) -> None:
        """End the store's cached read transaction (a commit changes what reads must see)."""
        raise NotImplementedError

    # -- the pending buffer ---------------------------------------------------------------------

    def _record(self, name: str, key: bytes, value: bytes | None) -> None:
        if self._wal is not None:
            self._wal_tail.append(WalOp(self._recorded + 1, PUT if value is not None else DELETE, name, key, value))
        batch = self._pending
        ops = batch.dbs.get(name)
        if ops is None:
            ops = batch.dbs[name] = DbOps()
        ops.ops[key] = value
        self._noted(batch)

    def _record_clear(self, name: str) -> None:
        if self._wal is not None:
            self._wal_tail.append(WalOp(self._recorded + 1, CLEAR, name, b"", None))
        batch = self._pending
        batch.dbs[name] = DbOps(cleared=True)
        self._noted(batch)

    def _noted(self, batch: WriteBuffer) -> None:
        batch.count += 1
        self._recorded += 1
        self._version += 1
        if batch.count == 1:
            self._first_pending_at = asyncio.get_running_loop().time()
            self._dirty.set()
            if self._timer is None:
                self._timer = asyncio.get_running_loop().create_task(
                    self._run_timer(), name=f"orbitstore-embedded-timer {self._directory}"
                )

    def _wal_sync(self) -> None:
        """Durable mode: make every write recorded so far survive a crash (one fdatasync, inline)."""
        if self._wal is None or not self._wal_tail:
            return
        tail, self._wal_tail = self._wal_tail, []
        try:
            self._wal.append(tail)
        except StorageError:
            self._wal_tail = tail + self._wal_tail
            raise

    def _batch_full(self) -> bool:
        # Both modes: durable mode's sync() logs ahead, and LMDB is committed in batches too.
        return self._pending.count >= self._options.batch_size

    # -- commits --------------------------------------------------------------------------------

    async def _commit_pending(self) -> None:
        """Return once every write buffered before this call is committed and fsynced.

        Callers arriving while a commit is in flight wait for it, then share the
        next one (group commit). A caller whose writes were in a failed commit
        starts a new one and gets its error if that fails too.
        """
        target = self._recorded
        while self._durable < target:
            task = self._commit_task
            if task is not None:
                await asyncio.wait((task,))
                continue
            task = asyncio.get_running_loop().create_task(self._run_commit())
            task.add_done_callback(consume_result)
            self._commit_task = task
            # Shielded: a cancelled caller must not abandon the bookkeeping of a running commit.
            await asyncio.shield(task)

    async def _commit_when_full(self) -> None:
        """A put filled the batch. Batch mode waits for the commit (its loss bound is exact); durable
        mode's writes are already in the write-ahead log, so the commit runs in the background
        unless twice a batch is waiting (back-pressure)."""
        if self._wal is not None and self._commit_task is None and self._pending.count < 2 * self._options.batch_size:
            task = asyncio.get_running_loop().create_task(self._run_commit())
            task.add_done_callback(consume_result)  # a failure is kept in self._failure
            self._commit_task = task
            await asyncio.sleep(0)  # let it hand the batch to the worker thread
            return
        await self._commit_pending()

    async def _run_commit(self) -> None:
        batch = self._pending
        upto = self._recorded
        mark_applied(batch, upto)
        sealed = self._wal.seal() if self._wal is not None else []
        self._pending = WriteBuffer()
        self._committing = batch
        self._version += 1
        self._dirty.clear()
        loop = asyncio.get_running_loop()
        try:
            previous = self._writer
            if previous is not None and not previous.done():
                # Left running by a cancelled commit: two writers would contend for
                # LMDB's writer lock inside py-lmdb, which may hold the GIL meanwhile.
                await asyncio.wait((previous,))
            while True:
                writer = loop.run_in_executor(None, self._write_batch, batch)
                self._writer = writer
                new_dbs, map_full = await asyncio.shield(writer)
                self._dbs.update(new_dbs)
                if not map_full:
                    break
                self._drop_reader()
                grow_map(self._env)
        except BaseException as exc:
            batch.absorb(self._pending)  # newer writes win over the failed batch
            self._pending = batch
            if isinstance(exc, StorageError):
                self._failure = exc
                raise
            if isinstance(exc, Exception):  # lmdb.Error, OSError, ...
                failure = StorageError(f"commit to {str(self._directory)!r} failed: {exc}")
                self._failure = failure
                raise failure from exc
            raise  # cancellation: the batch is pending again, nothing failed
        else:
            self._commits += 1
            self._committed_ops += batch.count
            self._durable = upto
            self._failure = None
            if self._wal is not None:
                self._wal.remove(sealed)  # LMDB now holds every write they logged
                if self._wal_tail and self._wal_tail[0].seq <= upto:
                    self._wal_tail = [op for op in self._wal_tail if op.seq > upto]
        finally:
            self._drop_reader()  # together with the next line: reads move from the buffer to disk
            self._committing = None
            self._commit_task = None
            self._version += 1

    async def _run_timer(self) -> None:
        """Batch mode: commit ``batch_interval`` seconds after the first pending write."""
        loop = asyncio.get_running_loop()
        interval = self._options.batch_interval
        while True:
            await self._dirty.wait()
            delay = self._first_pending_at + interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            try:
                await self._commit_pending()
            except StorageError:
                # Recorded in self._failure: writers now get it, flush() retries.
                self._dirty.clear()
            if self._pending.count == 0:
                self._dirty.clear()
