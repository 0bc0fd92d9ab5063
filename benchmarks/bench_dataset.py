"""Dataset benchmarks: CSV import, snapshot, snapshot → rows, on the embedded store.

Run: ``.venv/bin/python -m benchmarks.bench_dataset [sizes...]`` (default 10000 100000).
Targets (issue 4): import ≥ 20,000 rows/s; snapshot of 100k records ≤ 1 s.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import orbitstore

COLUMNS = "id,age,sex,bmi,bp,s1,s2,s3,glucose,smoker,label"


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with open(path, "w", encoding="utf-8") as out:
        out.write(COLUMNS + "\n")
        for i in range(rows):
            out.write(
                f"r{i},{rng.randint(18, 90)},{rng.choice('MF')},{rng.uniform(15, 45):.3f},"
                f"{rng.uniform(60, 140):.2f},{rng.gauss(0, 1):.6f},{rng.gauss(0, 1):.6f},{rng.gauss(0, 1):.6f},"
                f"{rng.randint(70, 200)},{rng.choice(['true', 'false'])},{rng.randint(0, 1)}\n"
            )


async def bench(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        write_csv(path, rows)
        async with orbitstore.open(directory=Path(tmp) / "store") as store:
            db = await store.open("bench", type="dataset", access_controller={"type": "dataset"})
            t0 = time.perf_counter()
            n = await db.import_csv(path, id_column="id", target="label")
            t1 = time.perf_counter()
            print(f"import_csv  {rows:>7} rows: {t1 - t0:7.3f} s  {n / (t1 - t0):>10,.0f} rows/s (schema inferred)")
            other = await store.open("bench-2", type="dataset", access_controller={"type": "dataset"})
            await other.set_schema(await db.schema())
            t0 = time.perf_counter()
            n = await other.import_csv(path, id_column="id")
            t1 = time.perf_counter()
            print(f"import_csv  {rows:>7} rows: {t1 - t0:7.3f} s  {n / (t1 - t0):>10,.0f} rows/s (schema given)")

            t0 = time.perf_counter()
            snap = await db.snapshot()
            t1 = time.perf_counter()
            print(f"snapshot    {rows:>7} rows: {t1 - t0:7.3f} s  {rows / (t1 - t0):>10,.0f} rows/s")

            opened = await store.open_snapshot(snap.cid)
            t0 = time.perf_counter()
            count = 0
            async for _row in opened.rows():
                count += 1
            t1 = time.perf_counter()
            print(f"snap.rows() {count:>7} rows: {t1 - t0:7.3f} s  {count / (t1 - t0):>10,.0f} rows/s")

            t0 = time.perf_counter()
            count = 0
            async for chunk in opened.chunks():
                count += chunk.rows
                for column in chunk.columns:
                    column.to_list()
            t1 = time.perf_counter()
            print(f"snap.chunks {count:>7} rows: {t1 - t0:7.3f} s  {count / (t1 - t0):>10,.0f} rows/s (columns)")

            t0 = time.perf_counter()
            count = 0
            async for _row in db.rows():
                count += 1
            t1 = time.perf_counter()
            print(f"db.rows()   {count:>7} rows: {t1 - t0:7.3f} s  {count / (t1 - t0):>10,.0f} rows/s")

        async with orbitstore.open(directory=Path(tmp) / "store") as store:
            t0 = time.perf_counter()
            db = await store.open(str(db.address))
            t1 = time.perf_counter()
            print(f"reopen      {rows:>7} rows: {t1 - t0:7.3f} s  (index rebuilt from the log)")


async def main(sizes: list[int]) -> None:
    for size in sizes:
        await bench(size)


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [10_000, 100_000]))
