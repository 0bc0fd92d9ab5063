"""Replication benchmark: one peer writes N entries, another replicates them; prints entries/s and seconds.

    .venv/bin/python benchmarks/bench_sync.py                       # 10k and 100k, every scenario
    .venv/bin/python benchmarks/bench_sync.py --sizes 10000 --only direct-memory,kubo-batched-direct

Scenarios (peer A writes into memory, untimed; the clock runs from B's
replicator start until B is synced and holds all N entries):

==========================  =========================================================================
direct-memory               both stores in memory; heads on the memory hub; history on the direct path
direct-disk                 the same with the embedded on-disk store (LMDB), the default store
kubo-bitswap                A's blocks in Kubo node 0, B's in node 1 through ``KuboStorage`` (as the
                            library wires Kubo today); heads on gossipsub, history over bitswap
kubo-direct                 the same, history on the direct path
kubo-batched-bitswap        B's blocks through a write-batching Kubo layer (a prototype defined here:
kubo-batched-direct         one ``dag import`` and one recursive pin per join instead of one pinned
                            ``block/put`` per block), history over bitswap / the direct path
==========================  =========================================================================

Both peers run in this one process (one event loop, two cores): the
figures include the sender's work. A Kubo scenario whose 10k run is slower
than ``--kubo-budget`` seconds is not run at 100k; its 100k time is
estimated from the 10k one (and marked so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orbitstore
from orbitstore.codec import CID, encode
from orbitstore.errors import NotFound
from orbitstore.kubo import KuboClient, KuboSwarm, find_ipfs_binary
from orbitstore.storage import MemoryStorage, Storage
from orbitstore.storage.kubo import KuboStorage
from orbitstore.store import OrbitStore
from orbitstore.sync import DirectNode, KuboBlocks, KuboPubSub, MemoryHub, Replicator

SCENARIOS = (
    "direct-memory",
    "direct-disk",
    "kubo-bitswap",
    "kubo-direct",
    "kubo-batched-bitswap",
    "kubo-batched-direct",
)
_cpu_seconds: list[float] = []  # CPU time of the last timed run (the machine may be shared: wall time is noisy)
_LINKS_PER_NODE = 20_000  # links per pin-index block (well under Kubo's 1 MiB block limit ... ~0.8 MB)


# -- a prototype: Kubo storage with batched writes ---------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def car(blocks: dict[str, bytes], roots: list[str]) -> bytes:
    """A CARv1 file holding ``blocks`` with ``roots``."""
    header = encode({"roots": [CID.parse(r) for r in roots], "version": 1})
    out = bytearray(_varint(len(header)) + header)
    for cid, block in blocks.items():
        raw = CID.parse(cid).to_bytes()
        out += _varint(len(raw) + len(block)) + raw + block
    return bytes(out)


def pin_index(cids: list[str]) -> tuple[dict[str, bytes], str]:
    """Blocks of a two-level index linking every CID (tag 42), and its root: one recursive pin holds all."""
    from orbitstore.codec import block_cid

    nodes: dict[str, bytes] = {}
    leaves = []
    for i in range(0, len(cids), _LINKS_PER_NODE):
        block = encode([CID.parse(c) for c in cids[i : i + _LINKS_PER_NODE]])
        nodes[block_cid(block)] = block
        leaves.append(block_cid(block))
    root = encode({"v": 1, "pins": [CID.parse(c) for c in leaves]})
    nodes[block_cid(root)] = root
    return nodes, block_cid(root)


class BatchedKuboStorage:
    """PROTOTYPE, benchmark only: blocks go to a local storage at once and to Kubo at ``sync()``.

    ``sync()`` (the log calls it once per append or join) sends everything put
    since the last one in one ``dag import`` whose root is a small index
    linking every block, pinned recursively in the same call, so Kubo pins N
    blocks with one pin instead of N. The import runs while the log goes on
    (one at a time); the benchmark's clock stops only once the last one is done. Reads look locally first, then ask Kubo
    (bitswap) and keep what it returns. Not the production storage: it shows
    what batching gains.
    """

    def __init__(self, client: KuboClient, local: Storage) -> None:
        self.client = client
        self.local = local
        self.pending: dict[str, bytes] = {}
        self.imports = 0
        self._import: asyncio.Task[None] | None = None

    async def put(self, key: str, value: bytes) -> None:
        await self.local.put(key, value)
        if key.startswith("zdpu"):
            self.pending[key] = value

    async def get(self, key: str) -> bytes | None:
        value = await self.local.get(key)
        if value is not None:
            return value
        try:
            value = await self.client.block_get(key)
        except NotFound:
            return None
        await self.local.put(key, value)  # read through: the log asks for an entry's identity every time
        return value

    async def delete(self, key: str) -> None:
        await self.local.delete(key)

    async def items(self) -> AsyncIterator[tuple[str, bytes]]:
        async for pair in self.local.items():
            yield pair

    async def merge(self, other: Storage) -> None:
        async for key, value in other.items():
            await self.put(key, value)

    async def clear(self) -> None:
        await self.local.clear()

    async def sync(self) -> None:
        """Commit locally; send what was put since the last sync to Kubo (in the background)."""
        await self.local.sync()
        if self.pending:
            await self.flush()  # at most one import in flight: Kubo imports while the log verifies
            blocks, self.pending = self.pending, {}
            self._import = asyncio.create_task(self._send(blocks))

    async def _send(self, blocks: dict[str, bytes]) -> None:
        index, root = pin_index(list(blocks))
        await self.client.dag_import(car({**blocks, **index}, [root]), pin_roots=True)
        self.imports += 1

    async def flush(self) -> None:
        """Wait until Kubo holds (and has pinned) everything synced so far."""
        task, self._import = self._import, None
        if task is not None:
            await task

    async def aclose(self) -> None:
        await self.sync()
        await self.flush()
        await self.local.aclose()


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
        flush = getattr(db.store.blocks, "flush", None)
        if flush is not None:
            await flush()  # batched Kubo storage: the last import is part of the work
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


async def import_into_kubo(store: OrbitStore, client: KuboClient) -> None:
    """Put every block of ``store`` into a Kubo node (setup: A's node serves them over bitswap)."""
    blocks = {key: value async for key, value in store.blocks.items() if key.startswith("zdpu")}
    index, root = pin_index(list(blocks))
    await client.dag_import(car({**blocks, **index}, [root]), pin_roots=True)


async def run_kubo(n: int, swarm: KuboSwarm, *, direct: bool, batched: bool) -> float:
    n0, n1 = swarm[0], swarm[1]
    async with AsyncExitStack() as stack:
        if batched:
            blocks_b: Storage = BatchedKuboStorage(n1.client, MemoryStorage())
        else:
            blocks_b = KuboStorage(n1.client, timeout=30)
        a = await stack.enter_async_context(orbitstore.open(identity="a"))
        b = await stack.enter_async_context(orbitstore.open(identity="b", blocks=blocks_b))
        db_a = await write(a, n, reader=b)
        await import_into_kubo(a, n0.client)
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
        if not batched:  # KuboStorage pins every block it stores (recursive pins of link-less blocks)
            pins = {p.cid for p in await n1.client.pin_ls(type="recursive")}
            assert {e.hash for e in await db_b.log.values()} <= pins
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
                for name in SCENARIOS[2:]:
                    direct, batched = name.endswith("direct"), "batched" in name
                    runners[name] = lambda n, d=direct, b=batched: run_kubo(n, swarm, direct=d, batched=b)
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
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main([int(s) for s in args.sizes.split(",")], set(args.only.split(",")), args.kubo_budget))
