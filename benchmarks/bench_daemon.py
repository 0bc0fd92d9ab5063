"""Daemon load on loopback: many concurrent readers and writers against a daemon this script starts.

The daemon runs in its own process (``orbitstore daemon`` on a free port, in a
temporary directory); this process generates the load with one aiohttp
session. Every worker loops until the deadline (and at most ``--max-ops``
requests), so the run always stops by itself. Readers alternate between a
page of the events database and a keyvalue ``get``; writers ``add`` to the
events database. Run::

    python benchmarks/bench_daemon.py                    # 1,000 readers, 100 writers, 30 s
    python benchmarks/bench_daemon.py --seconds 5        # a quick check

Reports p50/p99 latency and throughput for reads and writes, and the error
count (the target: none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_daemon(directory: Path) -> tuple[subprocess.Popen[str], str]:
    """``orbitstore daemon --port 0`` in ``directory``; returns the process and its URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (directory.parent / "daemon.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "orbitstore.cli", "--dir", str(directory), "daemon", "--port", "0",
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env,
    )  # fmt: skip
    log.close()
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "listening on " in line:
            return process, line.strip().rsplit(" ", 1)[1]
        if not line:
            break
    process.kill()
    raise SystemExit(f"the daemon did not start; see {directory.parent / 'daemon.log'}")


def stop_daemon(process: subprocess.Popen[str]) -> float:
    """SIGTERM, wait; returns the seconds it took to drain and exit."""
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) of ``values`` in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index] * 1000


async def load(url: str, token: str, *, readers: int, writers: int, seconds: float, max_ops: int) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=readers + writers + 10, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as http:

        async def call(method: str, path: str, **kwargs: object) -> dict[str, object]:
            async with http.request(method, url + path, **kwargs) as response:  # type: ignore[arg-type]
                body = await response.json()
                if response.status >= 400:
                    raise RuntimeError(f"{method} {path}: {response.status} {body}")
                return body  # type: ignore[no-any-return]

        events = str((await call("POST", "/api/v0/db", json={"name": "bench-events", "type": "events"}))["address"])
        kv = str((await call("POST", "/api/v0/db", json={"name": "bench-kv", "type": "keyvalue"}))["address"])
        events_path = "/api/v0/db/" + events.removeprefix("/orbitdb/")
        kv_path = "/api/v0/db/" + kv.removeprefix("/orbitdb/")
        for i in range(200):
            await call("POST", f"{events_path}/add", json={"value": {"seed": i}})
            await call("POST", f"{kv_path}/put", json={"key": f"k{i}", "value": {"n": i}})

        read_latency: list[float] = []
        write_latency: list[float] = []
        errors: list[str] = []
        start = time.perf_counter()
        deadline = start + seconds

        async def reader(n: int) -> None:
            rng = random.Random(n)
            for _ in range(max_ops):
                if time.perf_counter() >= deadline:
                    return
                if rng.random() < 0.5:
                    path, params = f"{events_path}/entries", {"limit": "20"}
                else:
                    path, params = f"{kv_path}/get", {"key": f"k{rng.randrange(200)}"}
                t0 = time.perf_counter()
                try:
                    await call("GET", path, params=params)
                except Exception as exc:  # counted and reported, never hidden
                    errors.append(f"read: {type(exc).__name__}: {exc}"[:200])
                    continue
                read_latency.append(time.perf_counter() - t0)

        async def writer(n: int) -> None:
            for i in range(max_ops):
                if time.perf_counter() >= deadline:
                    return
                t0 = time.perf_counter()
                try:
                    await call("POST", f"{events_path}/add", json={"value": {"writer": n, "i": i}})
                except Exception as exc:
                    errors.append(f"write: {type(exc).__name__}: {exc}"[:200])
                    continue
                write_latency.append(time.perf_counter() - t0)

        async with asyncio.TaskGroup() as group:
            for n in range(readers):
                group.create_task(reader(n))
            for n in range(writers):
                group.create_task(writer(n))
        elapsed = time.perf_counter() - start
        heads = await call("GET", f"{events_path}/heads")
        page = await call("GET", f"{events_path}/entries", params={"limit": "1"})

    return {
        "readers": readers,
        "writers": writers,
        "seconds": round(elapsed, 2),
        "reads": len(read_latency),
        "writes": len(write_latency),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "reads_per_s": round(len(read_latency) / elapsed, 1),
        "writes_per_s": round(len(write_latency) / elapsed, 1),
        "read_p50_ms": round(percentile(read_latency, 50), 2),
        "read_p99_ms": round(percentile(read_latency, 99), 2),
        "write_p50_ms": round(percentile(write_latency, 50), 2),
        "write_p99_ms": round(percentile(write_latency, 99), 2),
        "read_mean_ms": round(statistics.fmean(read_latency) * 1000, 2) if read_latency else None,
        "heads_after": len(heads["heads"]),  # type: ignore[arg-type]
        "newest_entry": page["items"][0]["hash"] if page["items"] else None,  # type: ignore[index]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="load duration (default 30)")
    parser.add_argument("--readers", type=int, default=1000, help="concurrent readers (default 1000)")
    parser.add_argument("--writers", type=int, default=100, help="concurrent writers (default 100)")
    parser.add_argument("--max-ops", type=int, default=1_000_000, help="cap on requests per worker")
    args = parser.parse_args()

    wanted = args.readers + args.writers + 256  # both ends of every connection live on this machine
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    work = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    directory = work / "node"
    process, url = start_daemon(directory)
    try:
        token = (directory / "daemon-token").read_text().strip()
        result = asyncio.run(
            load(url, token, readers=args.readers, writers=args.writers, seconds=args.seconds, max_ops=args.max_ops)
        )
    finally:
        drain = stop_daemon(process)
        shutil.rmtree(work, ignore_errors=True)
    result["shutdown_s"] = round(drain, 2)
    print(
        f"{result['readers']} readers + {result['writers']} writers, {result['seconds']} s on loopback:\n"
        f"  reads   {result['reads']:>8}  {result['reads_per_s']:>9}/s  "
        f"p50 {result['read_p50_ms']} ms  p99 {result['read_p99_ms']} ms\n"
        f"  writes  {result['writes']:>8}  {result['writes_per_s']:>9}/s  "
        f"p50 {result['write_p50_ms']} ms  p99 {result['write_p99_ms']} ms\n"
        f"  errors  {result['errors']}   shutdown (drain + flush) {result['shutdown_s']} s"
    )
    print(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
