"""Encryption benchmarks: encrypted append and read throughput next to plaintext, on the embedded store.

Run: ``.venv/bin/python benchmarks/bench_encryption.py [records...]`` (default 2000 20000).
Target (issue 9): encrypted throughput ≥ 70 % of plaintext. Each case runs plaintext and
encrypted alternately, :data:`REPEAT` times, on fresh stores, and reports the best of each.
Times are this process's CPU time (``time.process_time``): on a shared machine wall-clock
figures swing by 2× with other load, CPU time much less (the embedded store runs in batch
mode, so waiting on the disk is not part of either figure).

Scenarios, each plaintext vs encrypted on a fresh store:

* dataset ``put`` (one signed entry per record) and ``put_many`` (1000 records per entry);
  reads: ``rows()`` over every record and ``get`` of each id. Encrypted = records sealed with
  AES-256-GCM under the epoch key; reads decrypt and check the schema.
* keyvalue ``put`` / ``all()`` / ``get`` with OrbitDB's ``encryption={"data": …}`` and
  ``{"data": …, "replication": …}`` (:class:`SimpleEncryption`: PBKDF2 once per key, AES-128-GCM,
  a fresh iv per entry). Reads go through a reopened store, so every entry is decrypted from disk.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orbitstore
from orbitstore.encryption import SimpleEncryption

SCHEMA = {"age": "int", "bmi": "float", "sex": "category", "name": "str", "sick": "bool"}
REPEAT = 5


def make_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(9)
    return [
        {
            "age": rng.randint(18, 90),
            "bmi": round(rng.uniform(15, 45), 3),
            "sex": rng.choice("MF"),
            "name": f"patient {i:06d}",
            "sick": rng.random() < 0.3,
        }
        for i in range(n)
    ]


async def timed(fn: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    t0 = time.process_time()
    n = await fn()
    return time.process_time() - t0, n


def report(what: str, n: int, plain: float, enc: float) -> None:
    p, e = n / plain, n / enc
    print(f"{what:<34} {n:>7}  plaintext {p:>10,.0f}/s  encrypted {e:>10,.0f}/s  ratio {e / p:6.1%}")


async def dataset_case(root: Path, n: int, *, encrypted: bool, bulk: bool) -> dict[str, float]:
    rows = make_rows(n)
    out: dict[str, float] = {}
    ac = {"type": "dataset", "encrypted": encrypted}
    async with orbitstore.open(root, identity="bench") as store:
        db = await store.open("ds", type="dataset", access_controller=ac)
        await db.set_schema(SCHEMA)
        if encrypted:
            await db.grant("read", store.identity.id)  # epoch 1, outside the timing

        async def write() -> int:
            if bulk:
                return int(await db.put_many(rows, batch_size=1000))
            for i, row in enumerate(rows):
                await db.put(f"r{i}", row)
            return n

        out["write"], _ = await timed(write)
        address = str(db.address)
    async with orbitstore.open(root, identity="bench") as store:
        db = await store.open(address)

        async def scan() -> int:
            count = 0
            async for _row in db.rows():
                count += 1
            return count

        out["rows"], count = await timed(scan)
        assert count == n, (count, n)
        ids = [r.id for r in await db.all()]

        async def gets() -> int:
            for rid in ids:
                await db.get(rid)
            return len(ids)

        out["get"], _ = await timed(gets)
    return out


async def keyvalue_case(root: Path, n: int, layers: str) -> dict[str, float]:
    def encryption() -> dict[str, SimpleEncryption] | None:
        if layers == "none":
            return None
        enc = {"data": SimpleEncryption(password="data")}
        if layers == "both":
            enc["replication"] = SimpleEncryption(password="replication")
        return enc

    out: dict[str, float] = {}
    rows = make_rows(n)
    async with orbitstore.open(root, identity="bench") as store:
        kv = await store.open("kv", type="keyvalue", encryption=encryption())
        await kv.put("warm-up", 0)  # PBKDF2 runs once per encrypter: keep it out of the timing

        async def write() -> int:
            for i, row in enumerate(rows):
                await kv.put(f"k{i}", row)
            return n

        out["write"], _ = await timed(write)
        address = str(kv.address)
    async with orbitstore.open(root, identity="bench") as store:
        kv = await store.open(address, encryption=encryption())
        await kv.get("warm-up")

        async def every() -> int:
            return len(await kv.all()) - 1

        out["all"], count = await timed(every)
        assert count == n

        async def gets() -> int:
            for i in range(n):
                await kv.get(f"k{i}")
            return n

        out["get"], _ = await timed(gets)
    return out


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: min(r[k] for r in runs) for k in runs[0]}


async def bench(n: int) -> None:
    print(f"-- {n} records (best of {REPEAT})")
    for bulk in (False, True):
        if not bulk and n > 5000:
            continue  # one signed entry per record: the small size says enough
        runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for _i in range(REPEAT):
            for encrypted in (False, True):
                with tempfile.TemporaryDirectory() as tmp:
                    runs[encrypted].append(await dataset_case(Path(tmp), n, encrypted=encrypted, bulk=bulk))
        plain, enc = best(runs[False]), best(runs[True])
        kind = "put_many (1000/entry)" if bulk else "put (1 entry/record)"
        report(f"dataset {kind}", n, plain["write"], enc["write"])
        report("dataset rows() after reopen", n, plain["rows"], enc["rows"])
        report("dataset get(id) after reopen", n, plain["get"], enc["get"])
    if n <= 5000:
        kv: dict[str, list[dict[str, float]]] = {"none": [], "data": [], "both": []}
        for _i in range(REPEAT):
            for layers in kv:
                with tempfile.TemporaryDirectory() as tmp:
                    kv[layers].append(await keyvalue_case(Path(tmp), n, layers))
        plain = best(kv["none"])
        for layers in ("data", "both"):
            enc = best(kv[layers])
            report(f"keyvalue put [{layers}]", n, plain["write"], enc["write"])
            report(f"keyvalue all() after reopen [{layers}]", n, plain["all"], enc["all"])
            report(f"keyvalue get after reopen [{layers}]", n, plain["get"], enc["get"])


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [2000, 20000]
    for n in sizes:
        asyncio.run(bench(n))


if __name__ == "__main__":
    main()
