"""The storage Protocol that every block, heads and index store implements.

OrbitDB's storages all offer the same few verbs (put, get, del, iterator,
merge, clear, close) and compose: an LRU in front of a block store, say. We
keep those verbs, typed, plus :meth:`Storage.sync`, which a writer calls at
the end of one logical write so that a durable storage can commit there.

Keys are text (CID strings, or names such as ``"heads"``); values are bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Protocol, runtime_checkable

__all__ = ["BulkStorage", "Storage", "delete_each", "delete_many", "put_each", "put_many"]


@runtime_checkable
class Storage(Protocol):
    """A key → bytes store with an owner-managed lifetime.

    Implementations must be safe to use from one event loop; ``aclose()`` is
    idempotent, and every other verb raises :class:`~orbitstore.errors.StorageClosed`
    after it.
    """

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""
        ...

    async def get(self, key: str) -> bytes | None:
        """Return the value under ``key``, or ``None`` when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over every ``(key, value)`` pair (order is storage-defined)."""
        ...

    async def merge(self, other: Storage) -> None:
        """Copy every pair of ``other`` into this storage."""
        ...

    async def clear(self) -> None:
        """Remove every pair."""
        ...

    async def sync(self) -> None:
        """End of one logical write: durable storages commit (and fsync) here.

        Batching storages may defer the commit; in-memory storages do nothing.
        """
        ...

    async def aclose(self) -> None:
        """Flush what is pending and release resources. Safe to call twice."""
        ...


@runtime_checkable
class BulkStorage(Storage, Protocol):
    """A :class:`Storage` that stores many pairs in one operation, cheaper than one ``put`` each.

    The log stores a whole join this way, Kubo pins a join's blocks with one
    pin instead of one per block, and rewrites each pin batch once for many
    deleted blocks. Use :func:`put_many` and :func:`delete_many`, which fall
    back to ``put`` and ``delete`` for a storage without them.
    """

    async def put_many(self, pairs: Iterable[tuple[str, bytes]]) -> int:
        """Store every ``(key, value)`` of ``pairs`` as ``put`` would; return how many.

        Durable no later than the next :meth:`~Storage.sync`. A failure part-way
        may leave some pairs stored (as a sequence of ``put`` calls would).
        """
        ...

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key of ``keys`` as ``delete`` would; return how many were removed (or found gone)."""
        ...


async def put_many(storage: Storage, pairs: Iterable[tuple[str, bytes]]) -> int:
    """Store ``pairs`` in ``storage``: one :meth:`BulkStorage.put_many` call when it has one, else ``put`` each."""
    if isinstance(storage, BulkStorage):
        return await storage.put_many(pairs)
    return await put_each(storage, pairs)


async def delete_many(storage: Storage, keys: Iterable[str]) -> None:
    """Remove ``keys`` from ``storage``: one :meth:`BulkStorage.delete_many` call if it has one, else ``delete``."""
    if isinstance(storage, BulkStorage):
        await storage.delete_many(keys)
    else:
        await delete_each(storage, keys)


async def put_each(storage: Storage, pairs: Iterable[tuple[str, bytes]]) -> int:
    """``put`` every pair, one call each; return how many (the plain form of :meth:`BulkStorage.put_many`)."""
    count = 0
    for key, value in pairs:
        await storage.put(key, value)
        count += 1
    return count


async def delete_each(storage: Storage, keys: Iterable[str]) -> int:
    """``delete`` every key, one call each; return how many (the plain form of :meth:`BulkStorage.delete_many`)."""
    count = 0
    for key in keys:
        await storage.delete(key)
        count += 1
    return count
