"""The storage Protocol that every block, heads and index store implements.

OrbitDB's storages all offer the same few verbs (put, get, del, iterator,
merge, clear, close) and compose: an LRU in front of a block store, say. We
keep those verbs, typed, plus :meth:`Storage.sync`, which a writer calls at
the end of one logical write so that a durable storage can commit there.

Keys are text (CID strings, or names such as ``"heads"``); values are bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

__all__ = ["Storage"]


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
