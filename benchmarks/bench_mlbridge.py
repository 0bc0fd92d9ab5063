"""mlbridge benchmarks: snapshot → DataFrame, Random Forest training, prediction latency.

Run: ``.venv/bin/python -m benchmarks.bench_mlbridge [rows] [trees]`` (default 100000 100).
Target (issue 7): snapshot → DataFrame ≥ 100,000 rows/s at 100k records.

The dataset is synthetic health-like data (11 columns: ints, floats, a
category, a bool and a category target that depends on four of them, with 10%
label noise), imported from CSV into a ``dataset``
on the embedded (LMDB) store and snapshotted with its columnar table.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mlbridge
import orbitstore
from mlbridge.training import prepare

SCHEMA = {
    "id": "str",
    "age": "int",
    "sex": "category",
    "bmi": "float",
    "bp": "float",
    "s1": "float",
    "s2": "float",
    "s3": "float",
    "glucose": "int",
    "smoker": "bool",
    "label": "category",
}


def write_csv(path: Path, rows: int) -> None:
    """Synthetic patients; ``label`` depends on bmi, glucose, age and smoking, with 10% of labels flipped."""
    rng = random.Random(42)
    with open(path, "w", encoding="utf-8") as out:
        out.write(",".join(SCHEMA) + "\n")
        for i in range(rows):
            age, bmi, glucose, smoker = (
                rng.randint(18, 90),
                rng.uniform(15, 45),
                rng.randint(70, 200),
                rng.random() < 0.3,
            )
            risk = (bmi - 27) / 6 + (glucose - 120) / 30 + (age - 50) / 25 + (0.8 if smoker else 0)
            sick = (risk + rng.gauss(0, 0.5) > 0.5) != (rng.random() < 0.1)
            out.write(
                f"r{i},{age},{rng.choice('MF')},{bmi:.3f},{rng.uniform(60, 140):.2f},{rng.gauss(0, 1):.6f},"
                f"{rng.gauss(0, 1):.6f},{rng.gauss(0, 1):.6f},{glucose},{'true' if smoker else 'false'},"
                f"{'sick' if sick else 'well'}\n"
            )


def _best(times: list[float]) -> float:
    return min(times)


async def bench(rows: int, trees: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        write_csv(path, rows)
        async with orbitstore.open(directory=Path(tmp) / "store", identity="bench") as store:
            db = await store.open("bench", type="dataset", access_controller={"type": "dataset"})
            t0 = time.perf_counter()
            await db.set_schema(SCHEMA, target="label")
            await db.import_csv(path, id_column="id")
            snap = await db.snapshot()
            print(f"setup: {rows:,} records imported and snapshotted in {time.perf_counter() - t0:.1f} s")
            snap = await store.open_snapshot(snap.cid)

            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                frame = await mlbridge.to_frame(snap)
                times.append(time.perf_counter() - t0)
            best = _best(times)
            print(
                f"to_frame        {rows:>8,} rows x {frame.shape[1]} cols: {best * 1000:8.1f} ms  "
                f"{rows / best:>12,.0f} rows/s (best of 3)"
            )
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                count = 0
                async for part in mlbridge.iter_frames(snap, batch_rows=10_000):
                    count += len(part)
                times.append(time.perf_counter() - t0)
            best = _best(times)
            print(
                f"iter_frames     {count:>8,} rows in 10k batches: {best * 1000:8.1f} ms  {count / best:>12,.0f} rows/s"
            )
            t0 = time.perf_counter()
            _spec, X, _y, _ids = await prepare(snap, target="label")
            t1 = time.perf_counter()
            print(
                f"to X, y         {rows:>8,} rows -> {X.shape}: {(t1 - t0) * 1000:8.1f} ms  "
                f"{rows / (t1 - t0):>12,.0f} rows/s"
            )

            results = {}
            for n_jobs in (None, -1):
                t0 = time.perf_counter()
                result = await mlbridge.train(
                    snap,
                    store=store,
                    params={"n_estimators": trees, "n_jobs": n_jobs},
                    cv=0,
                    register=False,
                )
                t1 = time.perf_counter()
                results[n_jobs] = result
                size = len(await mlbridge.read_model_bytes(store.blocks, result.model_cid))
                print(
                    f"train RF        {trees} trees, n_jobs={n_jobs}, {result.card.training['train_rows']:,} rows "
                    f"(+{result.card.training['test_rows']:,} holdout): {t1 - t0:6.1f} s  "
                    f"accuracy {result.card.metrics['holdout']['accuracy']:.3f}, model {size / 1e6:.1f} MB"
                )
            result = results[None]  # n_jobs=-1 would spend ~20 ms per call starting joblib workers
            t0 = time.perf_counter()
            loaded = await mlbridge.load(result.card_cid, store=store)
            print(
                f"load model      {size / 1e6:.1f} MB (blocks checked, allow-list): "
                f"{(time.perf_counter() - t0) * 1000:8.1f} ms"
            )
            sample = frame.drop(columns=["label"]).head(1000).to_dict(orient="records")
            for n in (1, 1000):
                times = []
                for _ in range(30 if n == 1 else 10):
                    t0 = time.perf_counter()
                    await loaded.predict(sample[:n])
                    times.append(time.perf_counter() - t0)
                median = statistics.median(times)
                print(
                    f"predict         {n:>5} row(s), loaded model: {median * 1000:8.2f} ms median "
                    f"({n / median:,.0f} rows/s)"
                )
            t0 = time.perf_counter()
            await mlbridge.predict(result.card_cid, sample[:1], store=store)
            print(f"predict         1 row, load + predict:  {(time.perf_counter() - t0) * 1000:8.2f} ms")
            t0 = time.perf_counter()
            report = await mlbridge.verify(result.card_cid, store=store)
            print(f"verify          {rows:,} records, all links: {time.perf_counter() - t0:6.1f} s (ok={report.ok})")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    trees = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    asyncio.run(bench(rows, trees))


if __name__ == "__main__":
    main()
