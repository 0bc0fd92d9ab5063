"""Direct-only replication: static peers given as endpoints, no pubsub, no Kubo."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
import pytest_asyncio

import orbitstore
from orbitstore.databases.base import Database
from orbitstore.errors import ConfigError
from orbitstore.sync import DirectNode, Replicator, ReplicatorStatus

from .conftest import converged, until

FAST = {"announce_interval": 0.2, "peer_poll_interval": 0.05}


@pytest_asyncio.fixture
async def two() -> AsyncIterator[tuple[AsyncExitStack, Database, Database, DirectNode, DirectNode]]:
    """Two in-memory stores with one events database both may write, and a direct node each."""
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(orbitstore.open(identity="a"))
        b = await stack.enter_async_context(orbitstore.open(identity="b"))
        access = {"type": "ipfs", "write": [a.identity.id, b.identity.id]}
        db_a = await a.open("static", type="events", access_controller=access)
        async for key, value in a.blocks.items():
            await b.blocks.put(key, value)
        db_b = await b.open(str(db_a.address))
        node_a = await stack.enter_async_context(DirectNode())
        node_b = await stack.enter_async_context(DirectNode())
        yield stack, db_a, db_b, node_a, node_b
    await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert left == [], f"tasks left running: {left}"


async def test_two_stores_replicate_both_ways_over_the_direct_path(two) -> None:  # type: ignore[no-untyped-def]
    stack, db_a, db_b, node_a, node_b = two
    assert node_a.endpoint is not None and node_b.endpoint is not None
    ra = await stack.enter_async_context(Replicator(db_a, direct=node_a, direct_peers=[node_b.endpoint], **FAST))
    rb = await stack.enter_async_context(Replicator(db_b, direct=node_b, direct_peers=[node_a.endpoint], **FAST))
    for i in range(50):
        await db_a.add(f"a{i}")  # type: ignore[attr-defined]
    await until(lambda: converged([db_a, db_b], 50))
    for i in range(30):
        await db_b.add(f"b{i}")  # type: ignore[attr-defined]
    await until(lambda: converged([db_a, db_b], 80))
    assert await ra.synced(timeout=5) and await rb.synced(timeout=5)
    status = await rb.status()
    assert isinstance(status, ReplicatorStatus)
    assert status.mode == "direct" and status.running and status.synced
    assert status.endpoint == node_b.endpoint
    assert [p.peer for p in status.peers] == [node_a.endpoint]
    (peer,) = status.peers
    assert peer.present and peer.heard and not peer.cut_off and peer.missing == 0 and peer.heads == 1
    assert status.heads_known == 1 and status.heads_joined == 1 and status.pending_joins == 0
    assert status.stats.joined_entries == 50 and status.stats.direct_exchanges > 0
    assert (await ra.status()).stats.joined_entries == 30
    assert ra.peers == frozenset({node_b.endpoint})


async def test_idle_polls_send_nothing_even_when_the_poller_is_ahead(two) -> None:  # type: ignore[no-untyped-def]
    stack, db_a, db_b, node_a, node_b = two
    for i in range(200):
        await db_a.add(i)  # type: ignore[attr-defined]
    ra = await stack.enter_async_context(Replicator(db_a, direct=node_a, direct_peers=[node_b.endpoint], **FAST))
    rb = await stack.enter_async_context(Replicator(db_b, direct=node_b, direct_peers=[node_a.endpoint], **FAST))
    await until(lambda: converged([db_a, db_b], 200))
    await until(lambda: ra.synced(timeout=0.01))
    await db_a.add("one more")  # type: ignore[attr-defined]
    await until(lambda: converged([db_a, db_b], 201))
    sent = node_b.stats().blocks_sent
    await asyncio.sleep(0.5)  # ~10 polls each way: A is ahead of nothing, B knows A's heads
    assert node_b.stats().blocks_sent == sent
    assert (await ra.status()).stats.fetched_blocks == 0  # B never streamed A anything
    assert (await rb.status()).synced


async def test_an_unreachable_static_peer_is_absent_then_found(two) -> None:  # type: ignore[no-untyped-def]
    stack, db_a, db_b, node_a, node_b = two
    endpoint = node_a.endpoint
    assert endpoint is not None
    await node_a.aclose()  # A is down: B polls with backoff
    rb = await stack.enter_async_context(Replicator(db_b, direct=node_b, direct_peers=[endpoint], **FAST))
    assert not await rb.synced(timeout=0.3)
    status = await rb.status()
    assert not status.synced and status.peers[0].peer == endpoint and not status.peers[0].present
    assert status.stats.direct_failures >= 1
    host, port = endpoint.rsplit(":", 1)
    node_a2 = await stack.enter_async_context(DirectNode(port=int(port)))
    await stack.enter_async_context(Replicator(db_a, direct=node_a2, direct_peers=[node_b.endpoint], **FAST))
    await db_a.add("back")  # type: ignore[attr-defined]
    await until(lambda: converged([db_a, db_b], 1), within=5)
    assert await rb.synced(timeout=5)
    assert (await rb.status()).peers[0].present


async def test_one_way_configuration_pulls_only(two) -> None:  # type: ignore[no-untyped-def]
    stack, db_a, db_b, node_a, node_b = two
    await stack.enter_async_context(Replicator(db_b, direct=node_b, direct_peers=[node_a.endpoint], **FAST))
    node_a.serve(db_a.log)  # A serves without a replicator of its own
    await db_a.add("x")  # type: ignore[attr-defined]
    await until(lambda: converged([db_a, db_b], 1))
    await db_b.add("y")  # type: ignore[attr-defined]
    await asyncio.sleep(0.3)
    assert len(await db_a.log.values()) == 1  # nobody pulls from B


async def test_direct_only_options_are_checked(two) -> None:  # type: ignore[no-untyped-def]
    stack, db_a, db_b, node_a, node_b = two
    with pytest.raises(ConfigError):
        Replicator(db_a)
    Replicator(db_a, direct=node_a)  # no peers: it only serves (others pull from it)
    with pytest.raises(ConfigError):
        Replicator(db_a, direct=node_a, direct_peers=["nonsense"])


async def test_status_does_not_wait(two) -> None:  # type: ignore[no-untyped-def]
    stack, db_a, db_b, node_a, node_b = two
    rb = Replicator(db_b, direct=node_b, direct_peers=["127.0.0.1:9"], **FAST)
    before = await rb.status()
    assert not before.running and not before.synced
    await stack.enter_async_context(rb)
    started = time.monotonic()
    status = await rb.status()
    assert time.monotonic() - started < 0.5 and status.running and not status.synced


async def test_encrypted_database_replicates_over_the_direct_path() -> None:
    """Heads and history of a database with OrbitDB's replication encryption go through the log's keys."""
    from orbitstore.encryption import SimpleEncryption

    async with AsyncExitStack() as stack:
        enc = {"replication": SimpleEncryption(password="shared secret")}
        a = await stack.enter_async_context(orbitstore.open(identity="a"))
        b = await stack.enter_async_context(orbitstore.open(identity="b"))
        access = {"type": "ipfs", "write": [a.identity.id, b.identity.id]}
        db_a = await a.open("secret", type="keyvalue", access_controller=access, encryption=enc)
        async for key, value in a.blocks.items():
            await b.blocks.put(key, value)
        db_b = await b.open(str(db_a.address), encryption=enc)
        node_a = await stack.enter_async_context(DirectNode())
        node_b = await stack.enter_async_context(DirectNode())
        assert node_a.endpoint is not None and node_b.endpoint is not None
        await stack.enter_async_context(Replicator(db_a, direct=node_a, direct_peers=[node_b.endpoint], **FAST))
        await stack.enter_async_context(Replicator(db_b, direct=node_b, direct_peers=[node_a.endpoint], **FAST))
        for i in range(20):
            await db_a.put(f"k{i}", i)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while await db_b.get("k19") != 19:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "encrypted entries did not replicate"
            await asyncio.sleep(0.05)
        assert await db_b.all() == await db_a.all()  # type: ignore[attr-defined]
