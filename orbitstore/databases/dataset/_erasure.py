"""Deleting the blocks that valid ERASE operations name, once (private to :mod:`orbitstore.databases.dataset`).

Opening a dataset finishes any erasure a crash interrupted. Deleting is
idempotent but not free (a Kubo node walks all its recursive pins for each
block it removes), so a completed pass is remembered in the database's index
storage as a digest of the erased set, and opening skips the pass when that
set has not changed since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from orbitstore.storage.base import Storage, delete_many

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = ["erase_blocks", "finish_erasures"]

_DONE = "erasures-done"


def _digest(keys: Iterable[str]) -> bytes:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).digest()


def _marker(ds: Dataset) -> Storage | None:
    found = ds.options.get("index_storage")
    return found if isinstance(found, Storage) else None


async def finish_erasures(ds: Dataset) -> None:
    """On open: delete every block a valid ERASE names, unless the last completed pass covered this same set."""
    erased = ds._index.erased()
    if not erased:
        return
    marker = _marker(ds)
    if marker is not None and await marker.get(_DONE) == _digest(erased):
        return
    await erase_blocks(ds, erased)


async def erase_blocks(ds: Dataset, keys: Iterable[str]) -> None:
    """Delete ``keys`` (new ERASEs' blocks), then record the whole erased set as done.

    Every earlier erasure is done by then: opening finished them, and each
    later one ran here (a failure raises before anything is recorded).
    """
    await delete_many(ds.store.blocks, keys)  # one call: Kubo checks pins once per block, not per call
    await ds.store.blocks.sync()
    marker = _marker(ds)
    if marker is not None:
        await marker.put(_DONE, _digest(ds._index.erased()))
        await marker.sync()
