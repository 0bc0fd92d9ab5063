"""Log benchmark: signed appends (batch and durable), all(), reopen + all — at 10k and 100k entries.

Each scenario runs in a fresh process so its peak RSS is its own. Run::

    python benchmarks/bench_log.py                 # 10k and 100k, both modes
    python benchmarks/bench_log.py --sizes 10000   # one size

Targets (issue #3, 2-core machine): ≥ 10,000 appends/s batch, ≥ 2,000/s durable, all() ≥ 200,000
entries/s, reopen 10k + all ≤ 100 ms, ≤ 120 MiB peak RSS at 10k.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def scenario(size: int, durability: str, refs: int) -> dict[str, float]:
    from orbitstore.identities import Identities
    from orbitstore.log import Log
    from orbitstore.storage import EmbeddedStore

    directory = tempfile.mkdtemp(prefix="bench-log-")
    ids = await Identities.open()
    me = await ids.create_identity("bench")

    async def open_log(store: EmbeddedStore) -> Log:
        return await Log.open(
            me,
            identities=ids,
            log_id="bench",
            entry_storage=store.storage("entries"),
            heads_storage=store.storage("heads"),
            index_storage=store.storage("index"),
        )

    store = await EmbeddedStore.open(directory, durability=durability)  # type: ignore[arg-type]
    log = await open_log(store)
    started = time.perf_counter()
    for i in range(size):
        payload = {"op": "ADD", "key": None, "value": {"i": i, "text": "benchmark payload"}}
        await log.append(payload, references_count=refs)
    await store.flush()
    append_s = time.perf_counter() - started
    started = time.perf_counter()
    values = await log.values()
    all_s = time.perf_counter() - started
    assert len(values) == size
    await store.aclose()
    del log, values

    store = await EmbeddedStore.open(directory)
    started = time.perf_counter()
    log = await open_log(store)
    again = await log.values()
    reopen_s = time.perf_counter() - started
    assert len(again) == size
    await store.aclose()
    return {
        "append_per_s": size / append_s,
        "all_per_s": size / all_s,
        "reopen_all_ms": reopen_s * 1000,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--refs", type=int, default=16, help="references_count per append (databases use 16)")
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = asyncio.run(scenario(int(args.one[0]), args.one[1], args.refs))
        print(json.dumps(result))
        return
    print(f"log benchmark: signed appends with references_count={args.refs}, embedded LMDB store")
    for size in args.sizes:
        for mode in ("batch", "durable"):
            n = size if mode == "batch" else min(size, 20_000)
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), mode, "--refs", str(args.refs)],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"  {n:>7} entries {mode:<8} append {r['append_per_s']:>9,.0f}/s  "
                f"all() {r['all_per_s']:>10,.0f} entries/s  reopen+all {r['reopen_all_ms']:>8.1f} ms  "
                f"peak RSS {r['peak_rss_mib']:>6.1f} MiB"
            )


if __name__ == "__main__":
    main()
