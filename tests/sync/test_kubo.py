"""Replication on a real Kubo swarm: three daemons on loopback, gossipsub for heads, bitswap for blocks.

Each orbitstore peer keeps its blocks in its own Kubo node (``KuboStorage``) and
replicates through that node (``KuboPubSub``, ``KuboBlocks``); a database is
opened on the other peers by address alone: its manifest comes over bitswap.
The swarm is shared by the module (it starts in about a second); every test
uses fresh identities, hence fresh database addresses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import orbitstore
from orbitstore.errors import NotFound, StorageTimeout, SyncError
from orbitstore.kubo import KuboClient, KuboNode, KuboSwarm
from orbitstore.log import Clock, Entry
from orbitstore.storage.kubo import KuboStorage
from orbitstore.store import OrbitStore
from orbitstore.sync import DirectNode, KuboBlocks, KuboPubSub, Replicator
from tests.kubo.conftest import ipfs_processes_under, require_ipfs
from tests.sync.conftest import FAST, converged, log_hashes, until

pytestmark = [pytest.mark.kubo, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def swarm(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KuboSwarm]:
    """Three connected Kubo daemons for this module; none may outlive it."""
    binary = require_ipfs()
    root = tmp_path_factory.mktemp("sync-swarm")
    async with KuboSwarm(3, root, binary=binary, client_timeout=15.0) as started:
        yield started
    assert ipfs_processes_under(root) == [], "a Kubo daemon outlived the sync swarm"


@asynccontextmanager
async def peer(node: KuboNode, name: str, directory: Path | None = None) -> AsyncIterator[OrbitStore]:
    """An orbitstore node whose blocks live in Kubo ``node``."""
    async with orbitstore.open(directory, identity=name, blocks=KuboStorage(node.client, timeout=10)) as store:
        yield store


def replicator(db: Any, node: KuboNode, **options: Any) -> Replicator:
    """A replicator over ``node``'s gossipsub and bitswap."""
    pubsub, blocks = KuboPubSub(node.client), KuboBlocks(node.client, timeout=10)
    return Replicator(db, pubsub=pubsub, blocks=blocks, **{**FAST, **options})


def write_access(*stores: OrbitStore) -> dict[str, Any]:
    return {"type": "ipfs", "write": [s.identity.id for s in stores]}


async def test_two_peers_replicate_events_and_keyvalue_both_ways(swarm: KuboSwarm) -> None:
    n0, n1, _ = swarm
    async with peer(n0, "a") as sa, peer(n1, "b") as sb, AsyncExitStack() as stack:
        for kind in ("events", "keyvalue"):
            a = await sa.open(f"both-ways-{kind}", type=kind, access_controller=write_access(sa, sb))
            b = await sb.open(str(a.address))  # the manifest comes over bitswap
            ra = await stack.enter_async_context(replicator(a, n0))
            rb = await stack.enter_async_context(replicator(b, n1))
            for i in range(5):
                if kind == "events":
                    await a.add(f"a{i}")
                    await b.add(f"b{i}")
                else:
                    await a.put(f"key{i}", f"a{i}")
                    await b.put(f"key{i + 3}", f"b{i}")
            await until(lambda a=a, b=b: converged([a, b], 10), within=20)
            assert await ra.synced(timeout=10) and await rb.synced(timeout=10)
            assert await a.all() == await b.all()
            assert ra.stats().invalid == rb.stats().invalid == 0
            assert rb.stats().joined_entries >= 5 and ra.stats().joined_entries >= 5
        # What b joined is pinned in b's node (never lost to Kubo's garbage collector).
        pins = {p.cid for p in await n1.client.pin_ls(type="direct")} | {
            p.cid for p in await n1.client.pin_ls(type="recursive")
        }
        assert {e.hash for e in await a.log.values()} <= pins


async def test_three_writers_on_three_nodes_converge(swarm: KuboSwarm) -> None:
    nodes = list(swarm)
    async with AsyncExitStack() as stack:
        stores = [await stack.enter_async_context(peer(n, f"w{i}")) for i, n in enumerate(nodes)]
        first = await stores[0].open("three-writers", type="events", access_controller=write_access(*stores))
        dbs = [first] + [await s.open(str(first.address)) for s in stores[1:]]
        replicators = [await stack.enter_async_context(replicator(db, n)) for db, n in zip(dbs, nodes, strict=True)]

        async def write(db: Any, name: str) -> None:
            for i in range(8):
                await db.add(f"{name}-{i}")
                await asyncio.sleep(0.02)

        await asyncio.gather(*(write(db, f"w{i}") for i, db in enumerate(dbs)))
        await until(lambda: converged(dbs, 24), within=30)
        for r in replicators:
            assert await r.synced(timeout=10, min_peers=2)


async def test_heads_published_while_nobody_listened_are_reannounced(swarm: KuboSwarm) -> None:
    n0, n1, _ = swarm
    async with peer(n0, "a") as sa, peer(n1, "b") as sb:
        a = await sa.open("late-subscriber", type="events", access_controller=write_access(sa, sb))
        b = await sb.open(str(a.address))
        # a hears of new peers only once a minute: only its periodic re-announcement can reach b
        async with replicator(a, n0, announce_interval=0.3, peer_poll_interval=60):
            for i in range(6):
                await a.add(i)  # published to nobody
            async with replicator(b, n1) as rb:
                assert await rb.synced(timeout=15, fresh=True)
                assert await log_hashes(b) == await log_hashes(a)


async def test_a_late_joiner_catches_up_when_the_peers_see_it(swarm: KuboSwarm) -> None:
    n0, n1, n2 = swarm
    async with peer(n0, "a") as sa, peer(n1, "b") as sb, peer(n2, "c") as sc, AsyncExitStack() as stack:
        a = await sa.open("late-joiner", type="events", access_controller=write_access(sa, sb, sc))
        b = await sb.open(str(a.address))
        slow = {"announce_interval": 60.0}  # only the announcement to a new peer can reach c in time
        await stack.enter_async_context(replicator(a, n0, **slow))
        await stack.enter_async_context(replicator(b, n1, **slow))
        for i in range(6):
            await (a if i % 2 else b).add(i)
        await until(lambda: converged([a, b], 6), within=20)
        c = await sc.open(str(a.address))
        rc = await stack.enter_async_context(replicator(c, n2, **slow))
        assert await rc.synced(timeout=15, min_peers=2)
        assert await log_hashes(c) == await log_hashes(a)


async def test_a_peer_restarted_mid_sync_resumes(swarm: KuboSwarm, tmp_path: Path) -> None:
    n0, n1, _ = swarm
    total = 150
    async with peer(n0, "a") as sa, DirectNode() as direct_a:
        a = await sa.open("restart", type="events", access_controller={"type": "ipfs", "write": [sa.identity.id]})
        for i in range(total):
            await a.add({"n": i})
        async with replicator(a, n0, direct=direct_a):
            # b streams a's history over the direct path, 30 entries per chunk, and stops after the first
            async with peer(n1, "b", tmp_path / "b") as sb, DirectNode() as direct_b:
                b = await sb.open(str(a.address))
                async with replicator(b, n1, direct=direct_b, chunk_entries=30):
                    await until(b.heads, within=20, step=0.005)
                kept = len(await b.log.values())
            assert 30 <= kept < total
            async with peer(n1, "b", tmp_path / "b") as sb, DirectNode() as direct_b:
                b = await sb.open(str(a.address))
                assert len(await b.log.values()) == kept
                async with replicator(b, n1, direct=direct_b) as rb:
                    assert await rb.synced(timeout=20)
                    stats = rb.stats()
                assert await log_hashes(b) == await log_hashes(a)
    assert stats.direct_exchanges >= 1 and 0 < stats.joined_entries <= total - kept
    assert stats.fetched_blocks <= total - kept + 1  # only what was missing (and a's identity)


async def test_invalid_and_oversized_input_is_rejected_counted_and_not_stored(swarm: KuboSwarm) -> None:
    n0, n1, n2 = swarm
    async with peer(n0, "a") as sa, peer(n1, "b") as sb, peer(n2, "mallory") as sm:
        a = await sa.open("bad-input", type="events", access_controller=write_access(sa, sb))
        b = await sb.open(str(a.address))
        address = str(a.address)
        async with replicator(b, n1, max_block_size=2048) as rb:
            evil = KuboPubSub(n2.client)  # mallory publishes straight into the topic
            await until(lambda: _subscribed(n2.client, address), within=10)
            unauthorized = await Entry.create(
                sm.identities,
                sm.identity,
                address,
                {"op": "ADD", "key": None, "value": "x"},
                clock=Clock(sm.identity.public_key, 1),
            )  # mallory's identity block is in n2: only the access check can refuse it
            oversized = await Entry.create(
                sa.identities,
                sa.identity,
                address,
                {"op": "ADD", "key": None, "value": "y" * 4000},
                clock=Clock(sa.identity.public_key, 1),
            )
            for data in (unauthorized.bytes, b"\x00not an entry", oversized.bytes):
                await evil.publish(address, data)
            await until(lambda: rb.stats().invalid == 2 and rb.stats().oversized == 1, within=15)
            for bad in (unauthorized.hash, oversized.hash):
                assert not await b.log.has(bad)
                with pytest.raises(NotFound):
                    await n1.client.block_get(bad, offline=True)  # never reached b's node
            assert await b.all() == []


async def _subscribed(client: KuboClient, topic: str) -> bool:
    return len(await client.pubsub_peers(topic)) > 0


async def test_dataset_replicates_both_ways(swarm: KuboSwarm) -> None:
    n0, n1, _ = swarm
    async with peer(n0, "a") as sa, peer(n1, "b") as sb:
        if "dataset" not in sa.database_types:
            pytest.skip("the dataset database type is not available")
        access = {"type": "dataset", "admin": [sa.identity.id], "write": [sb.identity.id]}
        a = await sa.open("dataset-both-ways", type="dataset", access_controller=access)
        await a.set_schema({"age": "int", "sick": "bool"}, target="sick")
        b = await sb.open(str(a.address))
        async with replicator(a, n0) as ra, replicator(b, n1) as rb:
            await a.put("p1", {"age": 54, "sick": False})
            await until(lambda: b.count(), within=15)  # b can write once it has the schema
            await b.put("p2", {"age": 31, "sick": True})
            await a.put_many([{"age": i, "sick": i % 2 == 0} for i in range(20)])  # one entry, 20 record blocks
            await until(lambda: converged([a, b], 4), within=20)
            assert await ra.synced(timeout=10) and await rb.synced(timeout=10)
            assert await b.get("p1") == await a.get("p1") and await a.get("p2") == await b.get("p2")
            assert await a.count() == await b.count() == 22
            assert [r async for r in a.rows()] == [r async for r in b.rows()]


async def _in_blockstore(node: KuboNode, cid: str) -> bool:
    try:
        await node.client.block_stat(cid, offline=True)
    except NotFound:
        return False
    return True


async def test_erasure_removes_record_blocks_from_both_kubo_nodes(swarm: KuboSwarm) -> None:
    """Records stored by a pin batch (put_many) and by single puts are both dropped on ERASE, on both peers."""
    n0, n1, _ = swarm
    async with peer(n0, "a") as sa, peer(n1, "b") as sb:
        a = await sa.open("erase-on-kubo", type="dataset", access_controller={"type": "dataset"})
        await a.set_schema({"age": "int", "name": "str"})
        await a.put_many([{"age": i, "name": f"n{i}"} for i in range(40)], id_column="name")  # one pin batch
        await a.put("single", {"age": 99, "name": "single"})
        b = await sb.open(str(a.address))
        async with replicator(a, n0), replicator(b, n1):
            await until(lambda: converged([a, b], 3), within=20)
            erased = {name: a._index.lookup(name) for name in ("n7", "single")}
            kept = a._index.lookup("n8")
            assert None not in (*erased.values(), kept)
            assert [await _in_blockstore(n, k) for n in (n0, n1) for k in (*erased.values(), kept)] == [True] * 6
            for name in erased:
                await a.erase(name)
            await until(lambda: converged([a, b], 5), within=20)
            for node in (n0, n1):
                await node.client.repo_gc()  # runs cleanly: no pin holds (or needs) an erased block
                for key in erased.values():
                    assert key is not None and not await _in_blockstore(node, key)
                assert kept is not None and await _in_blockstore(node, kept)
            assert await a.count() == await b.count() == 39
            assert await b.get("n8") == {"age": 8, "name": "n8"}


async def test_kubo_blocks_and_pubsub_failures(swarm: KuboSwarm) -> None:
    blocks = KuboBlocks(swarm[0].client, timeout=0.3)
    with pytest.raises(StorageTimeout):
        await blocks.get("zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP")  # nobody has it
    async with KuboClient("http://127.0.0.1:9", timeout=1) as unreachable:
        with pytest.raises(SyncError, match="failed 3 times"):
            await KuboPubSub(unreachable, retries=2, retry_delay=0.01).publish("topic", b"x")
