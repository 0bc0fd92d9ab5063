"""Storage fixtures: every storage kind behind one parametrized fixture.

The contract suite in ``test_contract.py`` runs once per kind listed in
:data:`KINDS`; a new storage joins the contract by adding a kind here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orbitstore.storage import (
    ComposedStorage,
    EmbeddedStore,
    LRUStorage,
    MemoryStorage,
    Storage,
)

KINDS = [
    "memory",
    "lru",
    "composed-memory-memory",
    "composed-lru-embedded",
    "embedded-batch",
    "embedded-durable",
]


async def make_storage(kind: str, directory: Path) -> tuple[Storage, EmbeddedStore | None]:
    """A fresh storage of ``kind`` and the embedded store behind it, if any (to close after)."""
    if kind == "memory":
        return MemoryStorage(), None
    if kind == "lru":
        return LRUStorage(size=10_000), None
    if kind == "composed-memory-memory":
        return ComposedStorage(MemoryStorage(), MemoryStorage()), None
    if kind == "composed-lru-embedded":
        store = await EmbeddedStore.open(directory, batch_size=7)
        return ComposedStorage(LRUStorage(size=10_000), store.storage("blocks")), store
    if kind == "embedded-batch":
        # A small batch so that tests cross commit boundaries.
        store = await EmbeddedStore.open(directory, durability="batch", batch_size=7)
        return store.storage("entries"), store
    if kind == "embedded-durable":
        store = await EmbeddedStore.open(directory, durability="durable")
        return store.storage("entries"), store
    raise AssertionError(kind)


@pytest.fixture(params=KINDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """One storage of each kind, closed (with its store) after the test."""
    made, store = await make_storage(request.param, tmp_path / "store")
    try:
        yield made
    finally:
        await made.aclose()
        if store is not None:
            await store.aclose()
