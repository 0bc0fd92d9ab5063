"""A bounded in-memory storage that evicts the least recently used pair.

OrbitDB puts an LRU of 1000 in front of every persistent storage; use it the
same way, as the first layer of a :class:`~orbitstore.storage.composed.ComposedStorage`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import cast

from orbitstore.errors import ConfigError
from orbitstore.storage.memory import MemoryStorage

__all__ = ["DEFAULT_LRU_SIZE", "LRUStorage"]

DEFAULT_LRU_SIZE = 1_000_000
"""The default capacity, as in OrbitDB (its composed stores pass 1000)."""


class LRUStorage(MemoryStorage):
    """At most ``size`` pairs; ``put`` and ``get`` mark a pair as recently used.

    When a ``put`` makes the storage hold more than ``size`` pairs, the least
    recently used pair is dropped. Iterating with :meth:`items` (least recently
    used first) does not count as use. The other verbs are :class:`MemoryStorage`'s.
    """

    __slots__ = ("_size",)

    def __init__(self, *, size: int = DEFAULT_LRU_SIZE) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"LRUStorage size must be a positive integer, got {size!r}")
        super().__init__()
        self._size = size
        self._data = OrderedDict()

    @property
    def size(self) -> int:
        """The capacity, in pairs."""
        return self._size

    def __len__(self) -> int:
        return len(self._data)

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` as the most recently used pair; evict past ``size``."""
        self._check_open()
        data = cast("OrderedDict[str, bytes]", self._data)
        data[key] = value
        data.move_to_end(key)
        while len(data) > self._size:
            data.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        """Return the value under ``key`` (marking it recently used), or ``None``."""
        self._check_open()
        data = cast("OrderedDict[str, bytes]", self._data)
        value = data.get(key)
        if value is not None:
            data.move_to_end(key)
        return value
