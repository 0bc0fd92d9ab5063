"""Helpers for replication tests: peers on an in-memory hub, replicas opened by address.

Replicators in tests announce every 0.2 s and poll peers every 0.05 s (``FAST``),
so healing by re-announcement takes a fraction of a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest_asyncio

import orbitstore
from orbitstore.access.base import split_address
from orbitstore.databases.base import Database
from orbitstore.databases.manifest import Address, Manifest
from orbitstore.errors import NotFound
from orbitstore.store import OrbitStore
from orbitstore.sync import BlockSource, MemoryHub, Replicator

FAST: dict[str, Any] = {"announce_interval": 0.2, "peer_poll_interval": 0.05}


async def open_replica(store: OrbitStore, address: str, source: BlockSource, **options: Any) -> Any:
    """Open ``address`` on ``store`` after fetching its manifest and access-controller blocks from ``source``.

    (A Kubo-backed store needs none of this: its block storage fetches them by bitswap.)
    """
    parsed = Address.parse(address)
    for cid in (parsed.manifest_hash,):
        block = await source.get(cid)
        if block is None:
            raise NotFound(f"manifest {cid} not found on any peer")
        await store.blocks.put(cid, block)
        manifest = Manifest.decode(block)
        kind, ac = split_address(manifest.access_controller)
        if kind in ("ipfs", "dataset"):  # a manifest block (an "orbitdb" controller is a database)
            ac_block = await source.get(ac)
            if ac_block is None:
                raise NotFound(f"access controller {ac} not found on any peer")
            await store.blocks.put(ac, ac_block)
    return await store.open(address, **options)


async def log_hashes(db: Database) -> list[str]:
    """The hashes of every entry of ``db``, oldest first (the order every replica must agree on)."""
    return [e.hash for e in await db.log.values()]


async def converged(dbs: Sequence[Database], count: int) -> bool:
    """True when every database holds ``count`` entries in the same order."""
    orders = [await log_hashes(db) for db in dbs]
    return len(orders[0]) == count and all(order == orders[0] for order in orders)


async def until(condition: Callable[[], Any], *, within: float = 10.0, step: float = 0.02) -> None:
    """Wait until ``condition()`` (awaited when it returns an awaitable) is true; TimeoutError after ``within`` s."""
    async with asyncio.timeout(within):
        while True:
            result = condition()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            if result:
                return
            await asyncio.sleep(step)


class MemoryCluster:
    """Stores, databases and replicators on one :class:`MemoryHub`; closes everything it opened."""

    def __init__(self, hub: MemoryHub, stack: AsyncExitStack) -> None:
        self.hub = hub
        self._stack = stack

    async def stores(self, *names: str, directory: Path | None = None) -> list[OrbitStore]:
        """Open one in-memory store (or on-disk under ``directory/name``) per name, each with its identity."""
        out = []
        for name in names:
            path = directory / name if directory is not None else None
            out.append(await self._stack.enter_async_context(orbitstore.open(path, identity=name)))
        return out

    async def replicate(self, name: str, db: Database, **options: Any) -> Replicator:
        """Start a replicator for ``db`` as peer ``name`` (memory pubsub and blocks, FAST intervals)."""
        blocks = self.hub.blocks(name, db.store.blocks)
        replicator = Replicator(db, pubsub=self.hub.pubsub(name), blocks=blocks, **{**FAST, **options})
        return await self._stack.enter_async_context(replicator)


@pytest_asyncio.fixture
async def hub() -> AsyncIterator[MemoryHub]:
    """A fresh in-memory hub, closed after the test."""
    hub = MemoryHub(seed=7)
    yield hub
    await hub.aclose()


@pytest_asyncio.fixture
async def cluster(hub: MemoryHub) -> AsyncIterator[MemoryCluster]:
    """A :class:`MemoryCluster`; everything it opened is closed (replicators before stores) after the test.

    No task may outlive it: replicators, direct nodes and fetchers stop what they start.
    """
    async with AsyncExitStack() as stack:
        yield MemoryCluster(hub, stack)
    await asyncio.sleep(0)  # let cancelled tasks finish
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert left == [], f"tasks left running: {left}"
