"""Heads: the entries no other entry points at through ``next``, and how they are stored.

As OrbitDB 3+ does, the heads live under one key, ``heads``, as UTF-8 JSON
``[{"hash": …, "next": […]}, …]``, so a heads store is readable by both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol, TypeVar

from orbitstore.errors import DecodeError
from orbitstore.storage.base import Storage

__all__ = ["HEADS_KEY", "HasNext", "find_heads", "load_heads", "save_heads"]

HEADS_KEY = "heads"


class HasNext(Protocol):
    """Anything with a ``hash`` and ``next`` hashes (an Entry)."""

    @property
    def hash(self) -> str: ...

    @property
    def next(self) -> tuple[str, ...]: ...


E = TypeVar("E", bound=HasNext)


def find_heads(entries: Iterable[E]) -> list[E]:
    """The members of ``entries`` that no member names in its ``next`` (order kept, duplicates dropped)."""
    unique: dict[str, E] = {}
    for entry in entries:
        unique.setdefault(entry.hash, entry)
    pointed = {h for entry in unique.values() for h in entry.next}
    return [entry for h, entry in unique.items() if h not in pointed]


async def load_heads(storage: Storage) -> list[str]:
    """The stored head hashes, in stored order."""
    raw = await storage.get(HEADS_KEY)
    if raw is None:
        return []
    try:
        items = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"heads record is not JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("hash"), str) for i in items):
        raise DecodeError("heads record must be a JSON array of {hash, next} objects")
    return [i["hash"] for i in items]


async def save_heads(storage: Storage, heads: Iterable[HasNext]) -> None:
    """Store ``heads`` as OrbitDB's JSON heads record."""
    heads = list(heads)
    if not all(h.hash.isalnum() and all(n.isalnum() for n in h.next) for h in heads):
        plain = [{"hash": h.hash, "next": list(h.next)} for h in heads]
        await storage.put(HEADS_KEY, json.dumps(plain, separators=(",", ":")).encode("utf-8"))
        return
    # CID strings need no JSON escaping; build the record directly (this runs on every append).
    parts = []
    for h in heads:
        nexts = ",".join(f'"{n}"' for n in h.next)
        parts.append(f'{{"hash":"{h.hash}","next":[{nexts}]}}')
    await storage.put(HEADS_KEY, ("[" + ",".join(parts) + "]").encode())
