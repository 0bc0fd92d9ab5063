"""A dict-backed storage: fast, unbounded, gone when the process ends.

Use it in tests, for caches that must never evict, and as the first layer
of a :class:`~orbitstore.storage.composed.ComposedStorage`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from orbitstore.storage._lifecycle import Lifecycle, copy_pairs
from orbitstore.storage.base import Storage, delete_each, put_each

__all__ = ["MemoryStorage"]


class MemoryStorage(Lifecycle):
    """Keeps every pair in a ``dict``; implements :class:`~orbitstore.storage.base.Storage`."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._data)

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``."""
        self._check_open()
        self._data[key] = value

    async def put_many(self, pairs: Iterable[tuple[str, bytes]]) -> int:
        """Store every pair (through :meth:`put`, so subclasses such as the LRU evict as usual)."""
        return await put_each(self, pairs)

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key (through :meth:`delete`); return how many."""
        return await delete_each(self, keys)

    async def get(self, key: str) -> bytes | None:
        """Return the value under ``key``, or ``None``."""
        self._check_open()
        return self._data.get(key)

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._check_open()
        self._data.pop(key, None)

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over a snapshot of the pairs, in insertion order."""
        self._check_open()
        for pair in list(self._data.items()):
            yield pair

    async def merge(self, other: Storage) -> None:
        """Copy every pair of ``other`` into this storage."""
        self._check_open()
        await copy_pairs(self, other)

    async def clear(self) -> None:
        """Remove every pair."""
        self._check_open()
        self._data.clear()

    async def sync(self) -> None:
        """Nothing to commit; only checks that the storage is open."""
        self._check_open()

    async def aclose(self) -> None:
        """Drop the contents; safe to call twice."""
        self._closed = True
        self._data = {}
