"""The signed Merkle-CRDT log: entries, clocks, heads, traversal and join."""

from orbitstore.log.access import AccessController, AllowAll, EntryLookup
from orbitstore.log.clock import Clock, compare_clocks
from orbitstore.log.entry import ENTRY_VERSION, Entry
from orbitstore.log.heads import find_heads
from orbitstore.log.log import BlockFetcher, Log

__all__ = [
    "ENTRY_VERSION",
    "AccessController",
    "AllowAll",
    "BlockFetcher",
    "Clock",
    "Entry",
    "EntryLookup",
    "Log",
    "compare_clocks",
    "find_heads",
]
