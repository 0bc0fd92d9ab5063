"""Storage benchmark: puts/s and gets/s for each storage, and what an fsynced commit costs.

Run on demand, not a test::

    python benchmarks/bench_storage.py            # 10k and 100k values
    python benchmarks/bench_storage.py --quick    # 10k only

Values are ~600 random bytes under CID-like keys (random order, like entry
hashes). Durable mode syncs after every put, so it runs fewer puts, and once
more with concurrent writers (their syncs share commits). The last section
measures the numbers behind running commits in a worker thread: an fsynced
LMDB commit on the event loop thread vs the cost of the thread hop, and the
longest event-loop stall seen while the embedded store commits in batch mode.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import lmdb  # noqa: E402

from orbitstore.storage import EmbeddedStore, LRUStorage, MemoryStorage, Storage  # noqa: E402

VALUE_SIZE = 600
DURABLE_PUTS = 1000
WRITERS = 32


@dataclass(frozen=True, slots=True)
class Result:
    """One line of the report."""

    storage: str
    count: int
    puts_per_s: float
    gets_per_s: float | None = None
    note: str = ""


def make_pairs(count: int, seed: int = 1) -> list[tuple[str, bytes]]:
    """``count`` (CID-like key, random 600-byte value) pairs."""
    rng = random.Random(seed)
    return [
        ("zdpu" + hashlib.sha256(str(i).encode()).hexdigest()[:45], rng.randbytes(VALUE_SIZE)) for i in range(count)
    ]


async def measure_storage(name: str, storage: Storage, pairs: list[tuple[str, bytes]]) -> Result:
    """Put every pair, sync once, then get every key in another random order."""
    start = time.perf_counter()
    for key, value in pairs:
        await storage.put(key, value)
    await storage.sync()
    put_seconds = time.perf_counter() - start
    keys = [key for key, _ in pairs]
    random.Random(2).shuffle(keys)
    start = time.perf_counter()
    for key in keys:
        if await storage.get(key) is None:
            raise AssertionError(f"{name}: lost {key}")
    get_seconds = time.perf_counter() - start
    return Result(name, len(pairs), len(pairs) / put_seconds, len(keys) / get_seconds)


async def with_store(durability: str, work: Callable[[EmbeddedStore], Awaitable[Result]], **options: object) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as directory:
        store = await EmbeddedStore.open(directory, durability=durability, **options)  # type: ignore[arg-type]
        try:
            return await work(store)
        finally:
            await store.aclose()


async def bench_sizes(count: int) -> list[Result]:
    pairs = make_pairs(count)
    results = [
        await measure_storage("memory", MemoryStorage(), pairs),
        await measure_storage("lru (size = count)", LRUStorage(size=count), pairs),
    ]

    async def batch(store: EmbeddedStore) -> Result:
        return await measure_storage("embedded batch (1000/commit)", store.storage("entries"), pairs)

    results.append(await with_store("batch", batch))

    async def bulk(store: EmbeddedStore) -> Result:
        start = time.perf_counter()
        await store.storage("entries").load(pairs)
        seconds = time.perf_counter() - start
        return Result("embedded load (10k/commit)", count, count / seconds)

    results.append(await with_store("batch", bulk))
    return results


async def bench_durable() -> list[Result]:
    pairs = make_pairs(DURABLE_PUTS, seed=3)

    async def one_by_one(store: EmbeddedStore) -> Result:
        storage = store.storage("entries")
        latencies = []
        for key, value in pairs:
            start = time.perf_counter()
            await storage.put(key, value)
            await storage.sync()
            latencies.append(time.perf_counter() - start)
        total = sum(latencies)
        p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
        note = f"put+sync p50 {statistics.median(latencies) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"
        return Result("embedded durable (sync/put)", len(pairs), len(pairs) / total, note=note)

    async def concurrent(store: EmbeddedStore) -> Result:
        storage = store.storage("entries")
        queue = list(pairs)

        async def writer() -> None:
            while queue:
                key, value = queue.pop()
                await storage.put(key, value)
                await storage.sync()

        start = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        seconds = time.perf_counter() - start
        commits = store.stats().commits
        note = f"sync per put, {commits} commits ({len(pairs) / commits:.1f} puts/commit)"
        return Result(f"embedded durable, {WRITERS} writers", len(pairs), len(pairs) / seconds, note=note)

    return [await with_store("durable", one_by_one), await with_store("durable", concurrent)]


def commit_costs() -> list[str]:
    """fsynced LMDB commits timed on this thread, and the to_thread round trip."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-commit-") as directory:
        env = lmdb.open(os.path.join(directory, "c.lmdb"), subdir=False, map_size=1 << 30, max_dbs=2)
        try:
            db = env.open_db(b"entries")
            for size, rounds in ((1, 200), (1000, 30)):
                pairs = make_pairs(size * rounds, seed=size)
                times = []
                for r in range(rounds):
                    start = time.perf_counter()
                    with env.begin(write=True, db=db) as txn:
                        for key, value in pairs[r * size : (r + 1) * size]:
                            txn.put(key.encode(), value)
                    times.append(time.perf_counter() - start)
                p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
                lines.append(
                    f"fsynced commit of {size:>4} puts on the loop thread: "
                    f"p50 {statistics.median(times) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"
                )
        finally:
            env.close()

    async def hop() -> float:
        rounds = 2000
        start = time.perf_counter()
        for _ in range(rounds):
            await asyncio.to_thread(int)
        return (time.perf_counter() - start) / rounds

    lines.append(f"asyncio.to_thread round trip: {asyncio.run(hop()) * 1e6:.0f} µs")
    return lines


async def loop_stall(count: int, *, embedded: bool) -> str:
    """Event-loop stalls seen by a 1 ms ticker while ``count`` puts go to memory or embedded batch.

    The memory run is the noise floor (GC, other processes); the embedded run
    adds commits, which run in the worker thread.
    """
    pairs = make_pairs(count, seed=5)
    stalls: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.001)
            stalls.append(loop.time() - before - 0.001)

    async def writes(storage: Storage) -> Result:
        for i, (key, value) in enumerate(pairs):
            await storage.put(key, value)
            if i % 100 == 0:
                await asyncio.sleep(0)  # a writer that lets others run, as a daemon's would
        return Result("", count, 0.0)

    async def embedded_writes(store: EmbeddedStore) -> Result:
        result = await writes(store.storage("entries"))
        await store.flush()
        return result

    tick = asyncio.create_task(ticker())
    if embedded:
        await with_store("batch", embedded_writes)
    else:
        await writes(MemoryStorage())
    stop.set()
    await tick
    p99 = statistics.quantiles(stalls, n=100, method="inclusive")[98]
    what = "embedded batch (commits in the worker)" if embedded else "memory (noise floor)"
    return (
        f"event-loop stall, {count} puts to {what}: "
        f"p99 {p99 * 1e3:.1f} ms, max {max(stalls) * 1e3:.1f} ms, {len(stalls)} ticks"
    )


def report(results: list[Result]) -> None:
    print(f"{'storage':<32} {'values':>8} {'puts/s':>10} {'µs/put':>8} {'gets/s':>10} {'µs/get':>8}  note")
    for r in results:
        gets = f"{r.gets_per_s:>10,.0f} {1e6 / r.gets_per_s:>8.2f}" if r.gets_per_s else f"{'':>10} {'':>8}"
        print(f"{r.storage:<32} {r.count:>8,} {r.puts_per_s:>10,.0f} {1e6 / r.puts_per_s:>8.2f} {gets}  {r.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k values only")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [10_000, 100_000]
    print(f"values: {VALUE_SIZE} bytes, CID-like keys; python {sys.version.split()[0]}, lmdb {lmdb.__version__}")
    results: list[Result] = []
    for count in sizes:
        results += asyncio.run(bench_sizes(count))
    results += asyncio.run(bench_durable())
    report(results)
    print()
    for line in commit_costs():
        print(line)
    for embedded in (False, True):
        print(asyncio.run(loop_stall(sizes[-1], embedded=embedded)))


if __name__ == "__main__":
    main()
