"""A bounded in-memory storage that evicts the least recently used pair.

OrbitDB puts an LRU of 1000 in front of every persistent storage; use it the
same way, as the first layer of a :class:`~orbitstore.storage.composed.ComposedStorage`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator

from orbitstore.errors import ConfigError
from orbitstore.storage._lifecycle import Lifecycle, copy_pairs
from orbitstore.storage.base import Storage

__all__ = ["DEFAULT_LRU_SIZE", "LRUStorage"]

DEFAULT_LRU_SIZE = 1_000_000
"""The default capacity, as in OrbitDB (its composed stores pass 1000)."""


class LRUStorage(Lifecycle):
    """At most ``size`` pairs; ``put`` and ``get`` mark a pair as recently used.

    When a ``put`` makes the storage hold more than ``size`` pairs, the least
    recently used pair is dropped. Iterating with :meth:`items` does not count
    as use.
    """

    __slots__ = ("_data", "_size")

    def __init__(self, *, size: int = DEFAULT_LRU_SIZE) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"LRUStorage size must be a positive integer, got {size!r}")
        super().__init__()
        self._size = size
        self._data: OrderedDict[str, bytes] = OrderedDict()

    @property
    def size(self) -> int:
        """The capacity, in pairs."""
        return self._size

    def __len__(self) -> int:
        return len(self._data)

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` as the most recently used pair; evict past ``size``."""
        self._check_open()
        data = self._data
        data[key] = value
        data.move_to_end(key)
        while len(data) > self._size:
            data.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        """Return the value under ``key`` (marking it recently used), or ``None``."""
        self._check_open()
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._check_open()
        self._data.pop(key, None)

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        """Iterate over a snapshot of the pairs, least recently used first."""
        self._check_open()
        for pair in list(self._data.items()):
            yield pair

    async def merge(self, other: Storage) -> None:
        """Copy every pair of ``other`` in (which may evict older pairs)."""
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
        self._data = OrderedDict()
