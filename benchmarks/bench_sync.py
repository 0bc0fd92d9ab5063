"""Replication benchmark: one peer writes N entries, another replicates them; prints entries/s and seconds.

    .venv/bin/python benchmarks/bench_sync.py                       # 10k and 100k, every scenario
    .venv/bin/python benchmarks/bench_sync.py --sizes 10000 --only direct-memory,kubo-direct

Scenarios (peer A writes into memory, untimed; the clock runs from B's
replicator start until B is synced and holds all N entries):

==========================  =========================================================================
direct-memory               both stores in memory; heads on the memory hub; history on the direct path
direct-disk                 the same with the embedded on-disk store (LMDB), the default store
direct-two-processes        peer A in its own process (on-disk store, serving the direct path), peer B
                            here (on-disk store), A given as a static peer: two peers as they run, each
                            with its own interpreter; B opens the database by address (setup request)
kubo-bitswap                A's blocks in Kubo node 0, B's in node 1 through ``KuboStorage`` (a join is
                            stored with one ``dag import`` and pinned by one pin batch); heads on
                            gossipsub, history over bitswap
kubo-direct                 the same, history on the direct path
==========================  =========================================================================

Except in ``direct-two-processes``, both peers run in this one process (one
event loop, two cores): the figures include the sender's work. A Kubo scenario whose 10k run is slower
than ``--kubo-budget`` seconds is not run at 100k; its 100k time is
estimated from the 10k one (and marked so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orbitstore
from orbitstore.kubo import KuboSwarm, find_ipfs_binary
from orbitstore.storage.kubo import KuboStorage
from orbitstore.store import OrbitStore
from orbitstore.sync import DirectNode, KuboBlocks, KuboPubSub, MemoryHub, Replicator

SCENARIOS = ("direct-memory", "direct-disk", "direct-two-processes", "kubo-bitswap", "kubo-direct")
_cpu_seconds: list[float] = []  # CPU time of the last timed run (the machine may be shared: wall time is noisy)


# -- scenarios -------------------------------------------------------------------------------------


async def write(store: OrbitStore, n: int, *, reader: OrbitStore) -> Any:
    db = await store.open(
        "bench", type="events", access_controller={"type": "ipfs", "write": [store.identity.id, reader.identity.id]}
    )
    for i in range(n):
        await db.add(f"hello{i}")
    return db


async def copy_blocks(source: OrbitStore, target: OrbitStore, keys: list[str]) -> None:
    for key in keys:
        block = await source.blocks.get(key)
        assert block is not None
        await target.blocks.put(key, block)


async def timed(replicator: Replicator, db: Any, source: Any) -> float:
    """Seconds from starting ``replicator`` until it is synced, ``db`` has ``source``'s heads and they are stored."""
    heads = [h.hash for h in await source.heads()]
    start, cpu = time.perf_counter(), time.process_time()
    async with replicator:
        while True:
            assert await replicator.synced(timeout=3600)
            if all([await db.log.has(h) for h in heads]):
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        _cpu_seconds.append(time.process_time() - cpu)
        stats = replicator.stats()
    assert stats.invalid == 0, stats
    assert [e.hash for e in await db.log.values()] == [e.hash for e in await source.log.values()]
    return elapsed


async def run_direct(n: int, *, disk: bool) -> float:
    hub = MemoryHub()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        async with AsyncExitStack() as stack:
            path_a = Path(tmp) / "a" if disk else None
            path_b = Path(tmp) / "b" if disk else None
            a = await stack.enter_async_context(orbitstore.open(path_a, identity="a"))
            b = await stack.enter_async_context(orbitstore.open(path_b, identity="b"))
            db_a = await write(a, n, reader=b)
            ac = db_a.manifest.access_controller.split("/")[-1]
            await copy_blocks(a, b, [db_a.address.manifest_hash, ac])
            db_b = await b.open(str(db_a.address))
            direct_a = await stack.enter_async_context(DirectNode())
            direct_b = await stack.enter_async_context(DirectNode())
            options: dict[str, Any] = {"announce_interval": 1.0, "peer_poll_interval": 0.05}
            blocks_a = hub.blocks("a", a.blocks)
            await stack.enter_async_context(
                Replicator(db_a, pubsub=hub.pubsub("a"), blocks=blocks_a, direct=direct_a, **options)
            )
            rb = Replicator(db_b, pubsub=hub.pubsub("b"), blocks=hub.blocks("b", b.blocks), direct=direct_b, **options)
            elapsed = await timed(rb, db_b, db_a)
    await hub.aclose()
    return elapsed


async def serve_writer(n: int) -> None:
    """``--serve N``: peer A of ``direct-two-processes``: write N entries, serve them, wait for stdin to close."""
    with tempfile.TemporaryDirectory(prefix="bench-sync-a-") as tmp:
        async with orbitstore.open(Path(tmp), identity="a") as a, DirectNode() as node:
            db = await a.open("bench", type="events")
            for i in range(n):
                await db.add(f"hello{i}")
            node.serve(db.log)
            heads = [h.hash for h in await db.heads()]
            print(json.dumps({"endpoint": node.endpoint, "address": str(db.address), "heads": heads}), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes it


async def run_two_processes(n: int) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", str(n), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        ready = json.loads(await process.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="bench-sync-b-") as tmp:
            async with orbitstore.open(Path(tmp), identity="b") as b, DirectNode(listen=False) as node:
                for cid, block in (await node.fetch_setup(ready["endpoint"], address=ready["address"])).items():
                    await b.blocks.put(cid, block)
                db = await b.open(ready["address"])
                replicator = Replicator(db, direct=node, direct_peers=[ready["endpoint"]], peer_poll_interval=0.05)
                start, cpu = time.perf_counter(), time.process_time()
                async with replicator:
                    while True:
                        if all([await db.log.has(h) for h in ready["heads"]]):
                            break
                        await asyncio.sleep(0.01)
                    elapsed = time.perf_counter() - start
                    _cpu_seconds.append(time.process_time() - cpu)
                assert len(await db.log.values()) == n
                assert replicator.stats().invalid == 0
        return elapsed
    finally:
        process.stdin.close()
        await process.wait()


async def run_kubo(n: int, swarm: KuboSwarm, *, direct: bool) -> float:
    n0, n1 = swarm[0], swarm[1]
    async with AsyncExitStack() as stack:
        blocks_b = KuboStorage(n1.client, timeout=30)
        a = await stack.enter_async_context(orbitstore.open(identity="a"))
        b = await stack.enter_async_context(orbitstore.open(identity="b", blocks=blocks_b))
        db_a = await write(a, n, reader=b)
        await KuboStorage(n0.client, timeout=30).merge(a.blocks)  # setup: A's node serves them over bitswap
        db_b = await b.open(str(db_a.address))  # the manifest comes over bitswap
        direct_a = await stack.enter_async_context(DirectNode()) if direct else None
        direct_b = await stack.enter_async_context(DirectNode()) if direct else None
        options: dict[str, Any] = {"announce_interval": 1.0, "peer_poll_interval": 0.05}
        await stack.enter_async_context(
            Replicator(db_a, pubsub=KuboPubSub(n0.client), blocks=KuboBlocks(n0.client), direct=direct_a, **options)
        )
        rb = Replicator(
            db_b, pubsub=KuboPubSub(n1.client), blocks=KuboBlocks(n1.client, timeout=30), direct=direct_b, **options
        )
        elapsed = await timed(rb, db_b, db_a)
        pinned = {cid async for cid, _ in blocks_b.items()}  # own pins and pin batch members
        assert {e.hash for e in await db_b.log.values()} <= pinned
    return elapsed


# -- main ------------------------------------------------------------------------------------------


def report(name: str, n: int, seconds: float, note: str = "") -> None:
    cpu = f"(this process: {_cpu_seconds.pop():.2f} s CPU)" if _cpu_seconds else ""
    print(f"{name:<22} {n:>7} entries  {seconds:8.2f} s  {n / seconds:9.0f} entries/s  {cpu}{note}", flush=True)


async def main(sizes: list[int], only: set[str], kubo_budget: float) -> None:
    print(f"replicating N entries from peer A to peer B (python {sys.version.split()[0]})")
    runners: dict[str, Callable[[int], Awaitable[float]]] = {
        "direct-memory": lambda n: run_direct(n, disk=False),
        "direct-disk": lambda n: run_direct(n, disk=True),
        "direct-two-processes": run_two_processes,
    }
    async with AsyncExitStack() as stack:
        if any(s.startswith("kubo") for s in only):
            binary = find_ipfs_binary()
            if binary is None:
                print("kubo scenarios skipped: no ipfs binary (run ipfs-config/install-kubo.sh)")
                only = {s for s in only if not s.startswith("kubo")}
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sync-kubo-"))
                swarm = await stack.enter_async_context(KuboSwarm(2, tmp, binary=binary, client_timeout=600))
                runners["kubo-bitswap"] = lambda n: run_kubo(n, swarm, direct=False)
                runners["kubo-direct"] = lambda n: run_kubo(n, swarm, direct=True)
        for name in SCENARIOS:
            if name not in only:
                continue
            first: tuple[int, float] | None = None
            for n in sizes:
                if name.startswith("kubo") and first is not None and first[1] > kubo_budget:
                    estimate = first[1] * n / first[0]
                    report(name, n, estimate, f"(estimated from {first[0]}: not run, over --kubo-budget)")
                    continue
                seconds = await runners[name](n)
                first = first or (n, seconds)
                report(name, n, seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated entry counts")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--kubo-budget", type=float, default=60.0, help="seconds a 10k Kubo run may take to go on")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # peer A of direct-two-processes
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve_writer(args.serve))
        sys.exit(0)
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main([int(s) for s in args.sizes.split(",")], set(args.only.split(",")), args.kubo_budget))
