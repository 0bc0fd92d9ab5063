"""Two storages used as one: a fast first layer in front of a complete second.

The usual pair is an :class:`~orbitstore.storage.lru.LRUStorage` in front of
an embedded or Kubo storage, as OrbitDB composes an LRU with Level or IPFS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from orbitstore.storage._lifecycle import Lifecycle
from orbitstore.storage.base import Storage, delete_many, put_many

__all__ = ["ComposedStorage"]


class ComposedStorage(Lifecycle):
    """``first`` in front of ``second``; implements :class:`~orbitstore.storage.base.Storage`.

    - ``put``, ``delete``, ``clear``, ``sync`` and ``aclose`` go to both;
    - ``get`` asks ``first``, then ``second``, copying a value found only in
      ``second`` into ``first`` (back-filling it);
    - ``items`` yields the union of both, each key once (``first``'s pairs first);
    - ``merge(other)`` merges in both directions, as OrbitDB does: ``other``
      into both layers, then both layers into ``other``.

    The composed storage owns both layers: closing it closes them.
    """

    __slots__ = ("_first", "_second")

    def __init__(self, first: Storage, second: Storage) -> None:
        super().__init__()
        self._first = first
        self._second = second

    @property
    def first(self) -> Storage:
        """The layer asked first (usually small and fast)."""
        return self._first

    @property
    def second(self) -> Storage:
        """The layer asked when ``first`` misses (usually complete and persistent)."""
        return self._second

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` in both layers."""
        self._check_open()
        await self._first.put(key, value)
        await self._second.put(key, value)

    async def put_many(self, pairs: Iterable[tuple[str, bytes]]) -> int:
        """Store every pair in both layers, one :func:`~orbitstore.storage.base.put_many` call each."""
        self._check_open()
        batch = list(pairs)
        await put_many(self._first, batch)
        return await put_many(self._second, batch)

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key from both layers, one :func:`~orbitstore.storage.base.delete_many` call each."""
        self._check_open()
        batch = list(keys)
        await delete_many(self._first, batch)
        await delete_many(self._second, batch)
        return len(batch)

    async def get(self, key: str) -> bytes | None:
        """Return ``first``'s value, else ``second``'s (back-filling ``first``), else ``None``."""
        self._check_open()
        value = await self._first.get(key)
        if value is not None:
            return value
        value = await self._second.get(key)
        if value is not None:
            await self._first.put(key, value)
        return value

    async def delete(self, key: str) -> None:
        """Remove ``key`` from both layers."""
        self._check_open()
        await self._first.delete(key)
        await self._second.delete(key)

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Yield ``first``'s pairs, then ``second``'s pairs whose key ``first`` did not have.

        Memory used is one set of ``first``'s keys, which is the small layer.
        """
        self._check_open()
        seen: set[str] = set()
        async for key, value in self._first.items():
            seen.add(key)
            yield key, value
        async for key, value in self._second.items():
            if key not in seen:
                yield key, value

    async def merge(self, other: Storage) -> None:
        """Merge ``other`` into both layers, then both layers into ``other``."""
        self._check_open()
        await self._first.merge(other)
        await self._second.merge(other)
        await other.merge(self._first)
        await other.merge(self._second)

    async def clear(self) -> None:
        """Remove every pair from both layers."""
        self._check_open()
        await self._first.clear()
        await self._second.clear()

    async def sync(self) -> None:
        """Sync both layers."""
        self._check_open()
        await self._first.sync()
        await self._second.sync()

    async def aclose(self) -> None:
        """Close both layers (``second`` even if closing ``first`` fails); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._first.aclose()
        finally:
            await self._second.aclose()
