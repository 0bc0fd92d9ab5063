"""KuboStorage benchmark: blocks/s for put, put_many (pin batches and direct pins), get, and what erasing costs.

Run on demand, not a test (needs the Kubo binary: ``ipfs-config/install-kubo.sh``)::

    .venv/bin/python benchmarks/bench_kubo_storage.py              # 10k blocks
    .venv/bin/python benchmarks/bench_kubo_storage.py --size 50000

Blocks are DAG-CBOR maps of ~1.2 KB (an OrbitDB entry's size). "Linking"
blocks carry one IPLD link, as a dataset entry does (a pin batch holds them
without following it). Erasing deletes blocks that sit in a pin batch of
``--size`` members, with ``--batches`` such batches pinned on the node: each
delete rewrites the batch, and Kubo checks the pins of every block it removes
by walking all recursive pins (the batches' index blocks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orbitstore.codec import CID, block_cid, encode
from orbitstore.kubo import KuboNode, find_ipfs_binary
from orbitstore.storage.kubo import KuboStorage

SINGLE_PUTS = 500
ERASURES = 20


def blocks(count: int, tag: str, *, link: CID | None = None) -> dict[str, bytes]:
    """``count`` blocks of ~1.2 KB, with one IPLD link each when ``link`` is given."""
    out = {}
    for i in range(count):
        value: dict[str, object] = {"tag": tag, "i": i, "pad": os.urandom(1200)}
        if link is not None:
            value["link"] = link
        block = encode(value)
        out[block_cid(block)] = block
    return out


def report(what: str, count: int, seconds: float) -> None:
    print(f"{what:<44} {count:>7} blocks  {seconds:7.2f} s  {count / seconds:9.0f} blocks/s", flush=True)


async def main(size: int, batches: int) -> None:
    binary = find_ipfs_binary()
    if binary is None:
        print("skipped: no ipfs binary (run ipfs-config/install-kubo.sh)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-kubo-storage-") as tmp:
        async with KuboNode(Path(tmp) / "node", binary=binary, client_timeout=600) as node:
            storage = KuboStorage(node.client, timeout=60, offline=True)

            single = blocks(SINGLE_PUTS, "single")
            start = time.perf_counter()
            for key, value in single.items():
                await storage.put(key, value)
            report("put, block/put + direct pin each", len(single), time.perf_counter() - start)

            batch_sets = [blocks(size, f"batch{b}") for b in range(batches)]
            start = time.perf_counter()
            await storage.put_many(batch_sets[0].items())
            report("put_many, link-free (one CAR, one pin batch)", size, time.perf_counter() - start)
            for more in batch_sets[1:]:
                await storage.put_many(more.items())

            linking = blocks(max(1, size // 10), "linking", link=CID.parse(next(iter(single))))
            start = time.perf_counter()
            await storage.put_many(linking.items())
            report("put_many, linking (one CAR, one pin batch)", len(linking), time.perf_counter() - start)

            keys = list(batch_sets[0])[:1000]
            start = time.perf_counter()
            for key in keys:
                await storage.get(key)
            report("get, local", len(keys), time.perf_counter() - start)

            times = []
            for key in list(batch_sets[-1])[:ERASURES]:
                start = time.perf_counter()
                await storage.delete(key)
                times.append(time.perf_counter() - start)
            print(
                f"delete of a pin batch member ({size} members, {batches} batches, {size * batches} blocks): "
                f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms",
                flush=True,
            )
            await storage.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="blocks per put_many batch")
    parser.add_argument("--batches", type=int, default=3, help="pin batches on the node when erasing")
    args = parser.parse_args()
    asyncio.run(main(args.size, args.batches))
