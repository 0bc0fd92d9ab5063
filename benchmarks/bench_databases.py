"""keyvalue put/get and documents put/query on the embedded store, at 10k and 100k.

Run ``python benchmarks/bench_databases.py [--sizes 10000 100000]``. Targets (issue #4):
keyvalue get ≥ 100,000 ops/s (JS OrbitDB 3.0.2 measured here: 0.8/s plain, 18.7k/s indexed);
documents put ≥ 5,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def run(size: int) -> None:
    import orbitstore

    directory = tempfile.mkdtemp(prefix="bench-db-")
    async with orbitstore.open(directory, identity="bench") as store:
        kv = await store.open("kv", type="keyvalue")
        started = time.perf_counter()
        for i in range(size):
            await kv.put(f"key-{i}", {"n": i, "text": "value"})
        put_s = time.perf_counter() - started
        keys = [f"key-{random.randrange(size)}" for _ in range(min(size, 100_000))]
        started = time.perf_counter()
        for key in keys:
            await kv.get(key)
        get_s = time.perf_counter() - started
        address = str(kv.address)

        docs = await store.open("docs", type="documents")
        started = time.perf_counter()
        for i in range(size):
            await docs.put({"_id": f"doc-{i}", "n": i, "group": i % 10})
        dput_s = time.perf_counter() - started
        started = time.perf_counter()
        found = await docs.query(lambda d: d["group"] == 3)
        query_s = time.perf_counter() - started
        assert len(found) == size // 10
        dget = [f"doc-{random.randrange(size)}" for _ in range(min(size, 100_000))]
        started = time.perf_counter()
        for key in dget:
            await docs.get(key)
        dget_s = time.perf_counter() - started

    async with orbitstore.open(directory, identity="bench") as store:
        started = time.perf_counter()
        kv = await store.open(address)
        await kv.get("key-0")
        reopen_s = time.perf_counter() - started
        started = time.perf_counter()
        for key in keys:
            await kv.get(key)
        cold_s = time.perf_counter() - started

    print(
        f"  {size:>7} | kv put {size / put_s:>8,.0f}/s | kv get {len(keys) / get_s:>9,.0f}/s "
        f"(after reopen {len(keys) / cold_s:>9,.0f}/s, reopen {reopen_s * 1000:.0f} ms) | "
        f"docs put {size / dput_s:>8,.0f}/s | docs get {len(dget) / dget_s:>9,.0f}/s | "
        f"docs query over {size} docs {query_s * 1000:.0f} ms ({size / query_s:,.0f} docs/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    print("databases benchmark: embedded store, batch durability, references_count=16")
    for size in args.sizes:
        asyncio.run(run(size))


if __name__ == "__main__":
    main()
