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
  ``load``); ``sync()`` returns once everything pending is committed and
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

This module holds the store: opening, its public API, keys, reads and closing; the
pending buffer, commits, write-ahead log wiring and batch timer are in
:mod:`orbitstore.storage._commit`, the sub-storage in
:mod:`orbitstore.storage._substorage`, the options and counters in
:mod:`orbitstore.storage._options`.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_right
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import lmdb

from orbitstore.errors import ConfigError, NotFound, StorageClosed, StorageError
from orbitstore.storage._buffer import WriteBuffer, lookup, merge_chunk, overlay
from orbitstore.storage._commit import CommitMachinery, consume_result
from orbitstore.storage._environment import DATA_FILE, open_environment, write_buffer
from orbitstore.storage._options import Durability, EmbeddedOptions, EmbeddedStats
from orbitstore.storage._substorage import EmbeddedStorage
from orbitstore.storage._wal import replay_wal

__all__ = [
    "DATA_FILE",
    "Durability",
    "EmbeddedOptions",
    "EmbeddedStats",
    "EmbeddedStorage",
    "EmbeddedStore",
]

_CHUNK = 256  # pairs read per read transaction while iterating


class EmbeddedStore(CommitMachinery):
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
        self._close_task: asyncio.Task[None] | None = None
        self._closed = False
        self._reader: Any = None  # a read transaction reused until the next commit
        self._init_commits(directory, options)

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
            task.add_done_callback(consume_result)
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

    def _write_batch(self, batch: WriteBuffer) -> tuple[dict[str, Any], bool]:
        """Write ``batch`` in one LMDB transaction (called in a worker thread by the commit machinery)."""
        return write_buffer(self._env, self._dbs, batch)

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

    # -- closing --------------------------------------------------------------------------------

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
