"""The pending write buffer of an embedded store, and how reads see through it.

Private to :mod:`orbitstore.storage.embedded`. A store holds up to two
buffers: the one being filled (``pending``) and the one a worker thread is
committing. Reads look in the newer, then the older, then on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["CursorLike", "DbOps", "WriteBuffer", "lookup", "merge_chunk", "overlay"]


@dataclass(slots=True)
class DbOps:
    """Buffered writes of one sub-database: an optional clear first, then puts (deletes are ``None``)."""

    cleared: bool = False
    ops: dict[bytes, bytes | None] = field(default_factory=dict)


@dataclass(slots=True)
class WriteBuffer:
    """Writes buffered for all sub-databases of a store, and how many were made."""

    dbs: dict[str, DbOps] = field(default_factory=dict)
    count: int = 0

    def absorb(self, newer: WriteBuffer) -> None:
        """Apply ``newer``'s writes on top of these (to put a failed commit back)."""
        for name, ops in newer.dbs.items():
            mine = self.dbs.get(name)
            if mine is None or ops.cleared:
                self.dbs[name] = ops
            else:
                mine.ops.update(ops.ops)
        self.count += newer.count


def lookup(newest_first: Sequence[WriteBuffer | None], name: str, key: bytes) -> tuple[bool, bytes | None]:
    """``(True, value)`` when the buffers decide ``key`` (``None``: deleted), else ``(False, None)``."""
    for buffer in newest_first:
        if buffer is None:
            continue
        ops = buffer.dbs.get(name)
        if ops is not None:
            if key in ops.ops:
                return True, ops.ops[key]
            if ops.cleared:
                return True, None
    return False, None


def overlay(oldest_first: Sequence[WriteBuffer | None], name: str) -> tuple[bool, dict[bytes, bytes | None]]:
    """The buffered writes of ``name`` flattened: (disk contents hidden?, key -> value or ``None``)."""
    cleared = False
    merged: dict[bytes, bytes | None] = {}
    for buffer in oldest_first:
        if buffer is None:
            continue
        ops = buffer.dbs.get(name)
        if ops is None:
            continue
        if ops.cleared:
            cleared = True
            merged = dict(ops.ops)
        else:
            merged.update(ops.ops)
    return cleared, merged


class CursorLike(Protocol):
    """The part of an LMDB cursor :func:`merge_chunk` uses."""

    def key(self) -> bytes: ...

    def value(self) -> bytes: ...

    def next(self) -> bool: ...


def merge_chunk(
    cursor: CursorLike,
    on_disk: bool,
    keys: list[bytes],
    start: int,
    buffered: dict[bytes, bytes | None],
    limit: int,
) -> list[tuple[bytes, bytes]]:
    """Up to ``limit`` pairs in key order, merging a cursor with buffered writes.

    ``cursor`` stands on the first disk key to consider when ``on_disk`` is
    true; ``keys`` are the sorted keys of ``buffered``, from index ``start``.
    A buffered write hides the disk pair with the same key; a buffered delete
    yields nothing.
    """
    out: list[tuple[bytes, bytes]] = []
    i, n = start, len(keys)
    while len(out) < limit:
        disk_key = cursor.key() if on_disk else None
        buffered_key = keys[i] if i < n else None
        if buffered_key is None:
            if disk_key is None:
                break
            out.append((disk_key, cursor.value()))
            on_disk = cursor.next()
        elif disk_key is None or buffered_key <= disk_key:
            i += 1
            if buffered_key == disk_key:
                on_disk = cursor.next()
            value = buffered[buffered_key]
            if value is not None:
                out.append((buffered_key, value))
        else:
            out.append((disk_key, cursor.value()))
            on_disk = cursor.next()
    return out
