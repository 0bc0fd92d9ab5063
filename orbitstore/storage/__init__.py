"""orbitstore storages: one Protocol, several implementations that compose.

- :class:`Storage` — the Protocol (put, get, delete, items, merge, clear, sync, aclose);
- :class:`MemoryStorage` — a dict, for tests and unbounded caches;
- :class:`LRUStorage` — bounded, evicts the least recently used pair;
- :class:`ComposedStorage` — a fast layer in front of a complete one;
- :class:`EmbeddedStore` / :class:`EmbeddedStorage` — the on-disk default
  (one LMDB file per directory, named sub-storages, batch or durable commits).

See ``docs/storage.md``.
"""

from orbitstore.storage.base import Storage
from orbitstore.storage.composed import ComposedStorage
from orbitstore.storage.embedded import EmbeddedStorage, EmbeddedStore
from orbitstore.storage.lru import LRUStorage
from orbitstore.storage.memory import MemoryStorage

__all__ = [
    "ComposedStorage",
    "EmbeddedStorage",
    "EmbeddedStore",
    "LRUStorage",
    "MemoryStorage",
    "Storage",
]
