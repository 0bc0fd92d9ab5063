"""The embedded on-disk storage: one LMDB file per database directory.

One :class:`EmbeddedStore` is one LMDB environment, a single data file
``<dir>/store.lmdb`` (plus LMDB's ``store.lmdb-lock``). Each named sub-database
is a :class:`EmbeddedStorage` (``store.storage("entries")``) implementing the
:class:`~orbitstore.storage.base.Storage` Protocol. All sub-storages of a store
share **one pending write buffer**: a commit writes everything pending, in all
sub-databases, in one LMDB write transaction, so entries, index and heads
reach the disk together. Reads see pending writes.

Two durability modes (see ``docs/storage.md`` for what each can lose):

- ``"batch"`` (default): a commit happens when ``batch_size`` writes are
  pending, ``batch_interval`` seconds after the first pending write (a timer
  task owned by the store), and on :meth:`EmbeddedStore.flush` and ``aclose()``.
  ``sync()`` does not commit.
- ``"durable"``: nothing commits until ``sync()`` (or ``flush()``, ``aclose()``,
  ``put_many``); ``sync()`` returns once everything pending is committed and
  fsynced.

Every commit is fsynced (LMDB's default ``sync=True``), in both modes. Commits
run in a worker thread: an fsynced commit takes milliseconds on the reference
machine while the thread hop costs ~0.2 ms, and meanwhile the event loop keeps
serving other tasks, whose writes pile up for the next commit (group commit).
Everything else (reads, buffering) runs inline: it takes microseconds.

The committed state is always the result of a prefix of the writes, in the
order they were made: a crash never applies a later write without every
earlier one. Write what is pointed to (an entry) before what points at it
(heads) and a crash never leaves a dangling pointer.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_right
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import lmdb

from orbitstore.errors import ConfigError, NotFound, StorageClosed, StorageError
from orbitstore.storage._buffer import DbOps, WriteBuffer, lookup, merge_chunk, overlay
from orbitstore.storage._environment import DATA_FILE, grow_map, open_environment, write_buffer
from orbitstore.storage._lifecycle import Lifecycle
from orbitstore.storage._wal import CLEAR, DELETE, PUT, WalOp, WriteAheadLog, mark_applied, replay_wal
from orbitstore.storage.base import Storage

__all__ = [
    "DATA_FILE",
    "Durability",
    "EmbeddedOptions",
    "EmbeddedStats",
    "EmbeddedStorage",
    "EmbeddedStore",
]

Durability = Literal["batch", "durable"]
"""``"batch"``: commit every ``batch_size`` writes or ``batch_interval`` seconds;
``"durable"``: commit (and fsync) on every ``sync()``."""

_CHUNK = 256  # pairs read per read transaction while iterating


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


def _consume_result(task: asyncio.Future[Any]) -> None:
    """Mark a background task's exception as retrieved; callers already got or recorded it."""
    if not task.cancelled():
        task.exception()


class EmbeddedStore:
    """An LMDB environment holding named sub-storages; open it with :meth:`open`.

    ::

        store = await EmbeddedStore.open(path, durability="durable")
        entries = store.storage("entries")
        heads = store.storage("heads")
        await entries.put(cid, block)
        await heads.put("heads", heads_json)
        await heads.sync()  # one fsynced commit covers both
        await store.aclose()

    ``aclose()`` commits what is pending and closes the environment; it is
    idempotent, and afterwards every verb of the store and of its storages
    raises :class:`~orbitstore.errors.StorageClosed`. The store is an async
    context manager too.
    """

    def __init__(
        self,
        *,
        directory: Path,
        env: lmdb.Environment,
        lock_fd: int,
        handles: dict[str, Any],
        options: EmbeddedOptions,
    ) -> None:
        """Wrap an opened environment; use :meth:`open` instead."""
        self._directory = directory
        self._env = env
        self._lock_fd = lock_fd
        self._options = options
        self._max_key = int(env.max_key_size())
        self._dbs = dict(handles)  # name -> lmdb handle, once the sub-database exists
        self._storages: dict[str, EmbeddedStorage] = {}
        self._pending = WriteBuffer()
        self._committing: WriteBuffer | None = None
        self._version = 0  # bumped whenever the buffered view changes (for iterators)
        self._commit_task: asyncio.Task[None] | None = None
        self._writer: asyncio.Future[tuple[dict[str, Any], bool]] | None = None  # worker thread's commit
        self._timer: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()  # batch mode: something is pending and the timer should run
        self._first_pending_at = 0.0
        self._failure: StorageError | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._closed = False
        self._commits = 0
        self._committed_ops = 0
        self._recorded = 0  # writes ever buffered
        self._durable = 0  # how many of them the last successful commit covered
        self._reader: Any = None  # a read transaction reused until the next commit
        # Durable mode: sync() appends to a write-ahead log; LMDB is committed in batches (_wal.py).
        self._wal: WriteAheadLog | None = None
        self._wal_tail: list[WalOp] = []
        if options.durability == "durable" and not options.readonly:
            self._wal = WriteAheadLog(directory)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "batch",
        batch_size: int = 1000,
        batch_interval: float = 0.05,
        map_size: int = 1 << 30,
        max_dbs: int = 64,
        readonly: bool = False,
    ) -> EmbeddedStore:
        """Open (creating if needed) the store in directory ``path``.

        ``durability``, ``batch_size`` and ``batch_interval`` choose when commits
        happen (module docstring). ``map_size`` is the initial LMDB map size in
        bytes: address space, not disk; it doubles whenever it fills up.
        ``max_dbs`` bounds the number of named sub-storages. ``readonly`` opens
        an existing store without writing to it.

        Raises :class:`~orbitstore.errors.ConfigError` for bad options, a path
        that is not a directory, or (read-only) a missing store, and
        :class:`~orbitstore.errors.StorageError` when the store is already open
        in this or another process, or LMDB cannot open it.
        """
        options = EmbeddedOptions(
            durability=durability,
            batch_size=batch_size,
            batch_interval=batch_interval,
            map_size=map_size,
            max_dbs=max_dbs,
            readonly=readonly,
        )
        directory = Path(path)
        env, lock_fd, handles = open_environment(
            directory, map_size=options.map_size, max_dbs=options.max_dbs, readonly=options.readonly
        )
        try:
            applied = replay_wal(env, handles, directory, readonly=options.readonly)
        except BaseException:
            env.close()
            os.close(lock_fd)
            raise
        store = cls(directory=directory, env=env, lock_fd=lock_fd, handles=handles, options=options)
        store._recorded = store._durable = applied
        return store

    # -- public API -----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The store's directory."""
        return self._directory

    @property
    def options(self) -> EmbeddedOptions:
        """The options the store was opened with."""
        return self._options

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    def storage(self, name: str) -> EmbeddedStorage:
        """The sub-storage ``name`` (a named LMDB sub-database), created on first write.

        Asking twice for the same name returns the same object while it is open.
        Raises :class:`~orbitstore.errors.NotFound` for a missing sub-database of
        a read-only store.
        """
        self._check_open()
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a sub-storage name must be non-empty text, got {name!r}")
        current = self._storages.get(name)
        if current is not None and not current.closed:
            return current
        if name not in self._dbs and name not in self._storages:
            if self._options.readonly:
                raise NotFound(f"no sub-storage {name!r} in read-only store {str(self._directory)!r}")
            if len(name.encode("utf-8")) > self._max_key:
                raise ConfigError(f"sub-storage name longer than {self._max_key} bytes")
            if len(self._dbs.keys() | self._storages.keys()) >= self._options.max_dbs:
                raise ConfigError(f"more than max_dbs={self._options.max_dbs} sub-storages")
            # The sub-database itself is created by the first commit that writes to it:
            # a write transaction here could deadlock against a commit in the worker thread.
        storage = EmbeddedStorage(self, name)
        self._storages[name] = storage
        return storage

    async def flush(self) -> None:
        """Commit (and fsync) everything pending now, in either mode.

        After a failed background commit this is also how to retry it.
        """
        self._check_open()
        if not self._options.readonly:
            await self._commit_pending()

    def stats(self) -> EmbeddedStats:
        """Current counters."""
        pending = self._pending.count + (self._committing.count if self._committing else 0)
        map_size = int(self._env.info()["map_size"]) if not self._closed else 0
        return EmbeddedStats(
            commits=self._commits,
            committed_ops=self._committed_ops,
            pending_ops=pending,
            map_size=map_size,
        )

    async def aclose(self) -> None:
        """Commit what is pending, stop the timer, close LMDB and release the lock.

        Safe to call twice. If the final commit fails the error is raised, and
        the store is closed all the same.
        """
        task = self._close_task
        if task is None:
            self._closed = True
            task = asyncio.get_running_loop().create_task(self._close())
            task.add_done_callback(_consume_result)
            self._close_task = task
            # Shielded: a cancelled caller must not leave LMDB open under a running commit.
            await asyncio.shield(task)
        elif not task.done():
            await asyncio.wait((task,))

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._options.durability
        return f"<EmbeddedStore {str(self._directory)!r} {state}>"

    # -- checks and keys ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosed(f"embedded store {str(self._directory)!r} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self._options.readonly:
            raise StorageError(f"embedded store {str(self._directory)!r} is open read-only")
        if self._failure is not None:
            raise StorageError(
                f"a commit to {str(self._directory)!r} failed; call flush() to retry it"
            ) from self._failure

    def _write_key(self, key: str) -> bytes:
        if not isinstance(key, str):
            raise TypeError(f"storage keys are str, got {type(key).__name__}")
        try:
            raw = key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StorageError(f"key {key!r} is not valid Unicode text") from exc
        if not raw or len(raw) > self._max_key:
            raise StorageError(f"embedded storage keys must be 1..{self._max_key} UTF-8 bytes, got {len(raw)}")
        return raw

    def _read_key(self, key: str) -> bytes | None:
        """The key as stored, or ``None`` for a key that cannot be stored (so is absent)."""
        try:
            return self._write_key(key)
        except StorageError:
            return None

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

    # -- reads ----------------------------------------------------------------------------------

    def _get(self, name: str, key: str) -> bytes | None:
        self._check_open()
        raw = self._read_key(key)
        if raw is None:
            return None
        decided, value = lookup((self._pending, self._committing), name, raw)
        if decided:
            return value
        handle = self._dbs.get(name)
        if handle is None:
            return None
        try:
            reader = self._reader
            if reader is None:
                reader = self._reader = self._env.begin()
            found = reader.get(raw, db=handle)
        except lmdb.Error as exc:
            self._drop_reader()
            raise StorageError(f"read from {str(self._directory)!r} failed: {exc}") from exc
        return None if found is None else bytes(found)

    def _drop_reader(self) -> None:
        """End the cached read transaction: after a commit (to see it), before growing the map or closing."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.abort()

    async def _iterate(self, name: str) -> AsyncIterator[tuple[str, bytes]]:
        """Yield every pair of ``name`` in key order, merging the buffer over the disk.

        No read transaction is held across a ``yield``: pairs are read in chunks,
        each chunk resuming after the last key yielded, so every key present
        throughout is yielded exactly once.
        """
        after: bytes | None = None
        seen_version = -1
        cleared = False
        buffered: dict[bytes, bytes | None] = {}
        keys: list[bytes] = []
        while True:
            self._check_open()
            if seen_version != self._version:
                cleared, buffered = overlay((self._committing, self._pending), name)
                keys = sorted(buffered)
                seen_version = self._version
            chunk = self._read_chunk(name, after, cleared, buffered, keys)
            for key, value in chunk:
                yield key.decode("utf-8"), value
            if len(chunk) < _CHUNK:
                return
            after = chunk[-1][0]

    def _read_chunk(
        self,
        name: str,
        after: bytes | None,
        cleared: bool,
        buffered: dict[bytes, bytes | None],
        keys: list[bytes],
    ) -> list[tuple[bytes, bytes]]:
        """The next pairs after ``after``, read in one short read transaction."""
        handle = None if cleared else self._dbs.get(name)
        start = 0 if after is None else bisect_right(keys, after)
        try:
            with self._env.begin(db=handle) as txn:
                cursor = txn.cursor()
                if handle is None:
                    on_disk = False
                elif after is None:
                    on_disk = cursor.first()
                else:
                    on_disk = cursor.set_range(after + b"\x00")  # the smallest key after `after`
                return merge_chunk(cursor, on_disk, keys, start, buffered, _CHUNK)
        except lmdb.Error as exc:
            raise StorageError(f"read from {str(self._directory)!r} failed: {exc}") from exc

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
            task.add_done_callback(_consume_result)
            self._commit_task = task
            # Shielded: a cancelled caller must not abandon the bookkeeping of a running commit.
            await asyncio.shield(task)

    async def _commit_when_full(self) -> None:
        """A put filled the batch. Batch mode waits for the commit (its loss bound is exact); durable
        mode's writes are already in the write-ahead log, so the commit runs in the background
        unless twice a batch is waiting (back-pressure)."""
        if self._wal is not None and self._commit_task is None and self._pending.count < 2 * self._options.batch_size:
            task = asyncio.get_running_loop().create_task(self._run_commit())
            task.add_done_callback(_consume_result)  # a failure is kept in self._failure
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
                writer = loop.run_in_executor(None, write_buffer, self._env, self._dbs, batch)
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

    async def _close(self) -> None:
        timer = self._timer
        self._timer = None
        try:
            if timer is not None:
                timer.cancel()
                await asyncio.wait((timer,))
            if not self._options.readonly:
                await self._commit_pending()
            if timer is not None and not timer.cancelled() and timer.exception() is not None:
                raise StorageError("the batch timer of the embedded store failed") from timer.exception()
        finally:
            writer = self._writer
            if writer is not None and not writer.done():
                await asyncio.wait((writer,))  # never close LMDB under a running commit
            self._drop_reader()
            if self._wal is not None:
                self._wal.close()
                if self._failure is None and self._pending.count == 0:
                    self._wal.remove(self._wal.seal())  # everything logged is in LMDB now
            self._env.close()
            os.close(self._lock_fd)
            self._storages.clear()
            self._dbs.clear()


class EmbeddedStorage(Lifecycle):
    """One named sub-database of an :class:`EmbeddedStore`; a :class:`~orbitstore.storage.base.Storage`.

    Get it from :meth:`EmbeddedStore.storage`. Keys are 1 to 511 UTF-8 bytes
    (LMDB's key limit; a longer or empty key raises
    :class:`~orbitstore.errors.StorageError` on ``put``); values are any bytes,
    empty included. ``items()`` yields pairs in key order (UTF-8 byte order).

    Closing a sub-storage commits the store's pending writes and closes this
    view only; the store stays open until :meth:`EmbeddedStore.aclose`.
    """

    __slots__ = ("_name", "_store")

    def __init__(self, store: EmbeddedStore, name: str) -> None:
        """Use :meth:`EmbeddedStore.storage`."""
        super().__init__()
        self._store = store
        self._name = name

    @property
    def name(self) -> str:
        """The sub-database's name."""
        return self._name

    @property
    def store(self) -> EmbeddedStore:
        """The store this sub-storage belongs to."""
        return self._store

    @property
    def closed(self) -> bool:
        """True once this storage or its store is closed."""
        return self._closed or self._store.closed

    def _check_open(self) -> None:
        if self._closed or self._store.closed:
            raise StorageClosed(f"embedded storage {self._name!r} is closed")

    async def put(self, key: str, value: bytes) -> None:
        """Buffer ``value`` under ``key``; in batch mode, commit when ``batch_size`` writes are pending."""
        self._check_open()
        store = self._store
        store._check_writable()
        raw = store._write_key(key)
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"storage values are bytes, got {type(value).__name__}")
        store._record(self._name, raw, bytes(value))
        if store._batch_full():
            await store._commit_when_full()

    async def put_many(self, pairs: Iterable[tuple[str, bytes]], *, chunk_size: int = 10_000) -> int:
        """Bulk load: write ``pairs``, committing every ``chunk_size`` pairs and at the end.

        In both modes everything is committed and fsynced when this returns; a
        crash part-way keeps a prefix of ``pairs``. Returns the number of pairs.
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        store = self._store
        count = 0
        for key, value in pairs:
            self._check_open()
            store._check_writable()
            if not isinstance(value, bytes | bytearray | memoryview):
                raise TypeError(f"storage values are bytes, got {type(value).__name__}")
            store._record(self._name, store._write_key(key), bytes(value))
            count += 1
            if store._pending.count >= chunk_size:
                await store._commit_pending()
        self._check_open()
        await store._commit_pending()
        return count

    async def get(self, key: str) -> bytes | None:
        """Return the value under ``key`` (pending writes included), or ``None``."""
        self._check_open()
        return self._store._get(self._name, key)

    async def delete(self, key: str) -> None:
        """Buffer the removal of ``key``; a missing key is not an error."""
        self._check_open()
        store = self._store
        store._check_writable()
        raw = store._read_key(key)
        if raw is None:
            return
        store._record(self._name, raw, None)
        if store._batch_full():
            await store._commit_when_full()

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over every pair in key order, pending writes included."""
        self._check_open()
        async for pair in self._store._iterate(self._name):
            self._check_open()
            yield pair

    async def merge(self, other: Storage) -> None:
        """Copy every pair of ``other`` into this storage."""
        self._check_open()
        async for key, value in other.items():
            await self.put(key, value)

    async def clear(self) -> None:
        """Buffer the removal of every pair (committed like any other write)."""
        self._check_open()
        store = self._store
        store._check_writable()
        store._record_clear(self._name)
        if store._batch_full():
            await store._commit_when_full()

    async def sync(self) -> None:
        """End of one logical write.

        Durable mode: commit and fsync everything pending (in every sub-storage)
        before returning. Batch mode: no commit here; the batch rules decide.
        """
        self._check_open()
        store = self._store
        if store.options.readonly:
            return
        store._check_writable()
        if store.options.durability == "durable":
            store._wal_sync()

    async def aclose(self) -> None:
        """Commit the store's pending writes and close this view; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if not self._store.closed:
            await self._store.flush()

    def __repr__(self) -> str:
        return f"<EmbeddedStorage {self._name!r} of {self._store!r}>"
