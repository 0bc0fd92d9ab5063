"""One named sub-database of an embedded store (private to :mod:`orbitstore.storage.embedded`).

:class:`EmbeddedStorage` is the :class:`~orbitstore.storage.base.Storage` view
that :meth:`EmbeddedStore.storage() <orbitstore.storage.embedded.EmbeddedStore.storage>`
hands out: it checks its arguments and delegates to its store, which buffers,
commits and reads for every sub-storage together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from orbitstore.errors import ConfigError, StorageClosed
from orbitstore.storage._lifecycle import Lifecycle
from orbitstore.storage.base import Storage

if TYPE_CHECKING:
    from orbitstore.storage.embedded import EmbeddedStore

__all__ = ["EmbeddedStorage"]


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

    async def load(self, pairs: Iterable[tuple[str, bytes]], *, chunk_size: int = 10_000) -> int:
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
