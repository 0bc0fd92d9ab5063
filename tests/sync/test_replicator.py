"""The replicator on the in-memory hub: convergence, healing, restarts, bad input, budgets, events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import orbitstore
from orbitstore.codec import encode
from orbitstore.errors import KuboError, PeerBudgetExceeded, SyncError
from orbitstore.log import Clock, Entry, Log
from orbitstore.store import OrbitStore
from orbitstore.sync import (
    DirectBlock,
    DirectDone,
    DirectItem,
    DirectNode,
    DirectPath,
    Faults,
    MemoryHub,
    PeerBudget,
    Progress,
    Replicator,
)
from tests.sync.conftest import FAST, MemoryCluster, converged, log_hashes, open_replica, until


async def shared(
    cluster: MemoryCluster, kind: str, *names: str, directory: Path | None = None
) -> tuple[list[OrbitStore], list[Any]]:
    """Stores ``names`` and one ``kind`` database all of them may write, created by the first, opened by the rest."""
    stores = await cluster.stores(*names, directory=directory)
    access = {"type": "ipfs", "write": [s.identity.id for s in stores]}
    first = await stores[0].open("shared", type=kind, access_controller=access)
    for name, store in zip(names, stores, strict=True):
        cluster.hub.blocks(name, store.blocks)
    dbs = [first]
    for name, store in zip(names[1:], stores[1:], strict=True):
        dbs.append(await open_replica(store, str(first.address), cluster.hub.blocks(name, store.blocks)))
    return stores, dbs


# -- convergence -----------------------------------------------------------------------------------


async def test_events_replicate_both_ways(cluster: MemoryCluster) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    for i in range(5):
        await a.add(f"a{i}")
    ra = await cluster.replicate("a", a)
    rb = await cluster.replicate("b", b)
    assert await rb.synced(timeout=5)
    assert [x["value"] for x in await b.all()] == [f"a{i}" for i in range(5)]
    for i in range(5):
        await b.add(f"b{i}")
    await until(lambda: converged([a, b], 10))
    assert await ra.synced(timeout=5) and await rb.synced(timeout=5)
    assert [x["value"] for x in await a.all()] == [x["value"] for x in await b.all()]
    assert ra.stats().invalid == rb.stats().invalid == 0
    assert rb.stats().joined_entries == 5 and ra.stats().joined_entries == 5


async def test_keyvalue_and_documents_replicate_both_ways(cluster: MemoryCluster) -> None:
    for kind in ("keyvalue", "documents"):
        _, (a, b) = await shared(cluster, kind, f"{kind}-a", f"{kind}-b")
        await cluster.replicate(f"{kind}-a", a)
        await cluster.replicate(f"{kind}-b", b)
        if kind == "keyvalue":
            await a.put("x", 1)
            await b.put("y", [2])
            await a.put("z", {"three": 3})
            await until(lambda a=a, b=b: converged([a, b], 3))
            await b.delete("x")
            await b.put("z", "changed by b")
        else:
            await a.put({"_id": "doc1", "text": "hello"})
            await b.put({"_id": "doc2", "text": "world"})
            await until(lambda a=a, b=b: converged([a, b], 2))
            await b.delete("doc1")
            await a.put({"_id": "doc2", "text": "edited by a"})
        total = 5 if kind == "keyvalue" else 4
        await until(lambda a=a, b=b, total=total: converged([a, b], total))
        assert await a.all() == await b.all()
        if kind == "keyvalue":
            assert await b.get("x") is None and await a.get("z") == "changed by b"
        else:
            assert await a.get("doc1") is None and (await b.get("doc2"))["value"]["text"] == "edited by a"  # type: ignore[index]


async def test_three_concurrent_writers_converge(cluster: MemoryCluster) -> None:
    names = ("w1", "w2", "w3")
    _, dbs = await shared(cluster, "events", *names)
    replicators = [await cluster.replicate(n, db) for n, db in zip(names, dbs, strict=True)]

    async def write(db: Any, name: str) -> None:
        for i in range(30):
            await db.add(f"{name}-{i}")
            if i % 5 == 0:
                await asyncio.sleep(0.01)  # let the others' heads arrive: real forks and merges

    await asyncio.gather(*(write(db, n) for db, n in zip(dbs, names, strict=True)))
    await until(lambda: converged(dbs, 90))
    for r in replicators:
        assert await r.synced(timeout=5, min_peers=2)
    values = [[x["value"] for x in await db.all()] for db in dbs]
    assert values[0] == values[1] == values[2] and len(set(values[0])) == 90


async def test_late_joiner_catches_up_when_peers_see_it(cluster: MemoryCluster) -> None:
    _, (a, b, c) = await shared(cluster, "events", "a", "b", "c")
    slow = {"announce_interval": 60.0}  # only the announcement to a new peer can reach c in time
    await cluster.replicate("a", a, **slow)
    rb = await cluster.replicate("b", b, **slow)
    for i in range(20):
        await (a if i % 2 else b).add(i)
    await until(lambda: converged([a, b], 20))
    assert await rb.synced(timeout=5)
    rc = await cluster.replicate("c", c, **slow)
    assert await rc.synced(timeout=5, min_peers=2)
    assert await log_hashes(c) == await log_hashes(a)


# -- pubsub is best effort -------------------------------------------------------------------------


async def test_dropped_messages_are_healed_by_reannouncement(cluster: MemoryCluster, hub: MemoryHub) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    await cluster.replicate("a", a)
    rb = await cluster.replicate("b", b)
    assert await rb.synced(timeout=5)  # both heard each other (empty heads)
    hub.faults = Faults(drop=1.0)
    for i in range(10):
        await a.add(i)
    await asyncio.sleep(0.5)  # two announce intervals: everything published was lost
    assert hub.dropped > 0 and await b.all() == []
    assert await rb.synced(timeout=1)  # as far as b knows: nothing it heard is missing
    hub.faults = Faults()
    assert await rb.synced(timeout=5, fresh=True)  # wait for a's next announcement
    assert await log_hashes(b) == await log_hashes(a)


async def test_duplicated_delayed_and_randomly_dropped_messages(cluster: MemoryCluster, hub: MemoryHub) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    ra = await cluster.replicate("a", a)
    rb = await cluster.replicate("b", b)
    hub.faults = Faults(drop=0.5, duplicate=0.5, delay=0.02)
    for i in range(20):
        await (a if i % 3 else b).add(i)
        await asyncio.sleep(0.005)
    await until(lambda: converged([a, b], 20))
    hub.faults = Faults()
    assert await ra.synced(timeout=5) and await rb.synced(timeout=5)
    assert ra.stats().invalid == rb.stats().invalid == 0


# -- restarts --------------------------------------------------------------------------------------


async def test_a_peer_restarted_mid_sync_resumes(cluster: MemoryCluster, hub: MemoryHub, tmp_path: Path) -> None:
    _, (a,) = await shared(cluster, "events", "a")
    for i in range(1500):
        await a.add({"n": i})
    address = str(a.address)
    await cluster.replicate("a", a, direct=await cluster._stack.enter_async_context(DirectNode()))

    def replicator_for(b: Any, direct: DirectNode, **options: Any) -> Replicator:
        return Replicator(b, pubsub=hub.pubsub("b"), blocks=hub.blocks("b", b.store.blocks), direct=direct, **options)

    # b (on disk) joins the stream in chunks of 200 entries, and goes down after a few chunks.
    async with orbitstore.open(tmp_path / "b", identity="b") as b_store, DirectNode() as direct:
        b = await open_replica(b_store, address, hub.blocks("b", b_store.blocks))
        async with replicator_for(b, direct, chunk_entries=200, **FAST):
            await until(lambda: b.heads(), step=0.001)
        kept = len(await b.log.values())
    assert 200 <= kept < 1500

    async with orbitstore.open(tmp_path / "b", identity="b") as b_store, DirectNode() as direct:
        b = await b_store.open(address)
        assert len(await b.log.values()) == kept  # what was joined survived the restart
        async with replicator_for(b, direct, **FAST) as replicator:
            assert await replicator.synced(timeout=10)
            stats = replicator.stats()
        assert await log_hashes(b) == await log_hashes(a)
    # Only what was missing is sent (and the identity). (Fewer may be joined: a join cut short by the
    # shutdown can leave entries in the log's index that no head reaches yet; a later join links them.)
    assert stats.direct_exchanges >= 1 and 0 < stats.joined_entries <= 1500 - kept
    assert stats.fetched_blocks <= 1500 - kept + 1


# -- bad input -------------------------------------------------------------------------------------


async def rogue_entry(store: OrbitStore, log_id: str, payload: Any, *, time: int = 1) -> Entry:
    """An entry signed by ``store``'s own identity for ``log_id`` (its identity may not be allowed to write)."""
    return await Entry.create(
        store.identities, store.identity, log_id, payload, clock=Clock(store.identity.public_key, time)
    )


async def test_invalid_entries_are_rejected_counted_and_never_stored(cluster: MemoryCluster, hub: MemoryHub) -> None:
    (store_a, store_b), (a, b) = await shared(cluster, "events", "a", "b")
    (mallory,) = await cluster.stores("mallory")
    hub.blocks("mallory", mallory.blocks)  # serves its identity block, so only access can fail
    rb = await cluster.replicate("b", b, budget=PeerBudget(max_invalid=3))
    evil = hub.pubsub("mallory")
    address = str(a.address)
    await until(lambda: "mallory" not in rb.peers)  # not subscribed: messages still arrive

    unauthorized = await rogue_entry(mallory, address, {"op": "ADD", "key": None, "value": "spam"})
    valid = await rogue_entry(store_a, address, {"op": "ADD", "key": None, "value": "real"})
    forged = dict(_decoded(valid.bytes), payload={"op": "ADD", "key": None, "value": "forged"})
    other_log = await rogue_entry(store_a, "/orbitdb/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP", "x")
    for data in (unauthorized.bytes, encode(forged), other_log.bytes, b"\xff not cbor"):
        await evil.publish(address, data)
    await until(lambda: rb.stats().invalid == 4)
    assert "mallory" in rb.cut_offs() and isinstance(rb.cut_offs()["mallory"], PeerBudgetExceeded)
    assert rb.stats().cut_off == 1
    await evil.publish(address, valid.bytes)  # ignored now: the peer is cut off
    await until(lambda: rb.stats().dropped == 1)
    for bad in (unauthorized.hash, valid.hash, other_log.hash):
        assert not await b.log.has(bad) and await store_b.blocks.get(bad) is None
    assert await b.all() == []


def _decoded(block: bytes) -> dict[str, Any]:
    from orbitstore.codec import decode

    value = decode(block)
    assert isinstance(value, dict)
    return value


async def test_oversized_messages_are_rejected_and_counted(cluster: MemoryCluster, hub: MemoryHub) -> None:
    (store_a, store_b), (a, b) = await shared(cluster, "events", "a", "b")
    rb = await cluster.replicate("b", b, max_block_size=2048)
    big = await rogue_entry(store_a, str(a.address), {"op": "ADD", "key": None, "value": "x" * 4000})
    await hub.pubsub("a").publish(str(a.address), big.bytes)
    await until(lambda: rb.stats().oversized == 1)
    assert not await b.log.has(big.hash) and await store_b.blocks.get(big.hash) is None


async def test_a_flooding_peer_is_cut_off_and_others_still_replicate(cluster: MemoryCluster, hub: MemoryHub) -> None:
    (store_a, _), (a, b) = await shared(cluster, "events", "a", "b")
    (mallory,) = await cluster.stores("mallory")
    budget = PeerBudget(messages_per_second=20, message_burst=10, cooldown=60)
    await cluster.replicate("a", a)
    rb = await cluster.replicate("b", b, budget=budget)
    evil = hub.pubsub("mallory")
    spam = await rogue_entry(mallory, str(a.address), {"op": "ADD", "key": None, "value": "spam"})
    for _ in range(200):
        await evil.publish(str(a.address), spam.bytes)
    await until(lambda: rb.stats().received >= 200)
    stats = rb.stats()
    assert "mallory" in rb.cut_offs()
    assert stats.rate_limited == 10 and stats.cut_off == 1 and stats.dropped == 200 - 10 - 11
    assert stats.invalid <= 10  # at most the admitted messages were even decoded
    await a.add("still works")
    await until(lambda: converged([a, b], 1))


# -- reporting -------------------------------------------------------------------------------------


async def test_progress_events(cluster: MemoryCluster) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    for i in range(450):
        await a.add(i)
    seen: list[Progress] = []
    called: list[Progress] = []
    blocks = cluster.hub.blocks("b", b.store.blocks)
    rb = Replicator(b, pubsub=cluster.hub.pubsub("b"), blocks=blocks, progress_step=100, **FAST)
    async with rb:
        unsubscribe = rb.on_progress(called.append)

        async def collect() -> None:
            async for event in rb.progress():
                seen.append(event)
                if event.kind == "joined":
                    return

        collector = asyncio.create_task(collect())
        await cluster.replicate("a", a)
        await asyncio.wait_for(collector, 10)
        unsubscribe()
    kinds = [e.kind for e in seen]
    assert kinds[0] == "known" and kinds[-1] == "joined" and kinds.count("fetched") == 4
    fetched = [e.fetched for e in seen if e.kind == "fetched"]
    assert fetched == [100, 200, 300, 400]
    assert all(e.known >= e.fetched for e in seen)
    assert seen[-1].joined == 450 and seen[-1].peer == "a"
    assert called == seen[: len(called)] and len(called) >= len(seen)


async def test_synced_needs_peers_that_have_spoken(cluster: MemoryCluster) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    rb = await cluster.replicate("b", b)
    assert not await rb.synced(timeout=0.2)  # nobody there
    assert await rb.synced(timeout=0.2, min_peers=0)
    quiet = Replicator(a, pubsub=cluster.hub.pubsub("a"), announce_interval=60, peer_poll_interval=60)
    async with quiet:  # subscribed, but it announces only at start and when it sees b
        assert await rb.synced(timeout=5)
    with pytest.raises(SyncError, match="not running"):
        await quiet.synced(timeout=1)
    await quiet.aclose()  # again: nothing happens


class BrokenPeers:
    """A pubsub whose peer listing fails with an unexpected error."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def peers(self, topic: str) -> list[str]:
        raise RuntimeError("bug in a transport")


async def test_a_background_failure_is_raised_not_swallowed(cluster: MemoryCluster) -> None:
    _, (a,) = await shared(cluster, "events", "a")
    replicator = Replicator(a, pubsub=BrokenPeers(cluster.hub.pubsub("a")), **FAST)  # type: ignore[arg-type]
    await replicator.start()
    with pytest.raises(SyncError, match="bug in a transport"):
        await replicator.synced(timeout=5)
    with pytest.raises(SyncError, match="stopped"):
        await replicator.aclose()
    await replicator.aclose()


# -- the direct path inside the replicator ---------------------------------------------------------


async def test_direct_path_both_ways(cluster: MemoryCluster) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    nodes = [await cluster._stack.enter_async_context(DirectNode()) for _ in range(2)]
    for i in range(300):
        await a.add(i)
    ra = await cluster.replicate("a", a, direct=nodes[0])
    rb = await cluster.replicate("b", b, direct=nodes[1])
    assert await rb.synced(timeout=5)
    await b.add("from b")
    await until(lambda: converged([a, b], 301))
    assert rb.stats().direct_exchanges >= 1 and ra.stats().direct_exchanges >= 1
    assert rb.stats().fetched_blocks == 301  # 300 entries and a's identity, all streamed
    assert nodes[0].stats().served >= 1 and nodes[1].stats().served >= 1


class LyingDirect:
    """A direct path that streams a forged entry; its endpoint is announced by the lying peer."""

    def __init__(self, block: bytes, cid: str) -> None:
        self.block, self.cid = block, cid
        self.exchanges = 0

    @property
    def endpoint(self) -> str | None:
        return "127.0.0.1:9"

    def serve(self, log: Log) -> Callable[[], None]:
        return lambda: None

    def exchange(
        self, endpoint: str, *, address: str, heads: Sequence[str]
    ) -> AbstractAsyncContextManager[AsyncIterator[DirectItem]]:
        self.exchanges += 1

        @asynccontextmanager
        async def stream() -> AsyncIterator[AsyncIterator[DirectItem]]:
            async def items() -> AsyncIterator[DirectItem]:
                yield DirectBlock(self.cid, self.block)
                yield DirectDone((self.cid,), 1)

            yield items()

        return stream()


async def test_a_lying_direct_peer_is_caught_and_the_block_source_used(cluster: MemoryCluster) -> None:
    (store_a, store_b), (a, b) = await shared(cluster, "events", "a", "b")
    real = await a.add("real")
    entry = await a.log.get(real)
    assert entry is not None
    forged = encode(dict(_decoded(entry.bytes), payload={"op": "ADD", "key": None, "value": "forged"}))
    from orbitstore.codec import block_cid

    liar = LyingDirect(forged, block_cid(forged))
    assert isinstance(liar, DirectPath)
    await cluster.replicate("a", a, direct=liar)
    rb = await cluster.replicate("b", b, direct=liar)
    assert await rb.synced(timeout=5)
    assert [x["value"] for x in await b.all()] == ["real"]
    stats = rb.stats()
    assert liar.exchanges >= 1 and stats.direct_failures >= 1 and stats.invalid >= 1
    assert not await b.log.has(block_cid(forged)) and await store_b.blocks.get(block_cid(forged)) is None


async def test_dataset_records_travel_on_the_direct_path(cluster: MemoryCluster) -> None:
    stores = await cluster.stores("a", "b")
    if "dataset" not in stores[0].database_types:
        pytest.skip("the dataset database type is not available")
    access = {"type": "dataset", "admin": [stores[0].identity.id], "write": [stores[1].identity.id]}
    a = await stores[0].open("records", type="dataset", access_controller=access)
    await a.set_schema({"x": "int"})
    await a.put_many([{"x": i} for i in range(50)], batch_size=10)
    await a.put("one", {"x": -1})
    cluster.hub.blocks("a", stores[0].blocks)
    source = cluster.hub.blocks("b", stores[1].blocks)
    b = await open_replica(stores[1], str(a.address), source)
    asked = source.requests
    nodes = [await cluster._stack.enter_async_context(DirectNode()) for _ in range(2)]
    await cluster.replicate("a", a, direct=nodes[0])
    rb = await cluster.replicate("b", b, direct=nodes[1])
    assert await rb.synced(timeout=5)
    assert await b.count() == 51 and [r async for r in b.rows()] == [r async for r in a.rows()]
    assert source.requests == asked  # records, entries and identity all came in the stream
    assert rb.stats().fetched_blocks == 1 + 7 + 51  # identity, entries, records


class FlakyPubSub:
    """A pubsub whose first subscription to ``topic`` breaks (as when a Kubo daemon restarts)."""

    def __init__(self, inner: Any, topic: str) -> None:
        self.inner, self.topic, self.broken = inner, topic, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def subscribe(self, topic: str) -> Any:
        subscription = await self.inner.subscribe(topic)
        if topic != self.topic or self.broken:
            return subscription
        self.broken += 1
        pubsub = self

        class Broken:
            def __aiter__(self) -> Broken:
                return self

            async def __anext__(self) -> Any:
                raise KuboError("Kubo ended the pubsub subscription")

            async def aclose(self) -> None:
                await subscription.aclose()

        assert pubsub.broken == 1
        return Broken()


async def test_a_broken_subscription_is_reopened(cluster: MemoryCluster) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    await cluster.replicate("a", a)
    flaky = FlakyPubSub(cluster.hub.pubsub("b"), str(a.address))
    rb = Replicator(b, pubsub=flaky, blocks=cluster.hub.blocks("b", b.store.blocks), **FAST)  # type: ignore[arg-type]
    async with rb:
        await a.add("after the break")
        await until(lambda: converged([a, b], 1))
        assert flaky.broken == 1 and len(rb._subscriptions) == 2  # the broken one was replaced, not kept


class UnreachableDirect(LyingDirect):
    """A direct path whose peer cannot be reached."""

    def exchange(
        self, endpoint: str, *, address: str, heads: Sequence[str]
    ) -> AbstractAsyncContextManager[AsyncIterator[DirectItem]]:
        self.exchanges += 1
        raise ConnectionRefusedError(f"nobody listens on {endpoint}")


async def test_an_unreachable_direct_peer_is_left_alone_for_a_while(cluster: MemoryCluster) -> None:
    _, (a, b) = await shared(cluster, "events", "a", "b")
    for i in range(300):
        await a.add(i)
    unreachable = UnreachableDirect(b"", "")
    await cluster.replicate("a", a, direct=unreachable)
    rb = await cluster.replicate("b", b, direct=unreachable)
    assert await rb.synced(timeout=5)
    await asyncio.sleep(0.6)  # three more hellos with the same endpoint
    assert await log_hashes(b) == await log_hashes(a)
    assert unreachable.exchanges == 1 and rb.stats().direct_failures == 1
    assert rb.stats().invalid == 0  # not the peer's fault
