"""``make demo``: the main job, end to end, on embedded defaults.

Run with ``python -m orbitstore.demo [--dir DIR]``. Each step prints one line;
the last lines are a summary. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import orbitstore
from orbitstore.log import Entry

__all__ = ["main", "run"]


def _say(step: str, detail: str) -> None:
    print(f"  {step:<24} {detail}", flush=True)


async def run(directory: Path) -> dict[str, object]:
    """Run the demo in ``directory``; return the summary it prints."""
    started = time.perf_counter()
    summary: dict[str, object] = {}
    async with orbitstore.open(directory, identity="demo-alice") as store:
        _say("identity", f"{store.identity.id[:20]}… (hash {store.identity.hash[:16]}…)")
        events = await store.open("demo-events", type="events")
        for i in range(1000):
            await events.add({"n": i, "text": f"event {i}"})
        _say("log append", f"1000 signed entries in {events.address}")
        address = str(events.address)
        heads = [h.hash for h in await events.heads()]
    async with orbitstore.open(directory, identity="demo-alice") as store:
        events = await store.open(address)
        values = await events.all()
        assert [h.hash for h in await events.heads()] == heads
        verified = 0
        for entry in await events.log.values():
            again = Entry.decode(entry.bytes)  # strict decoding, as for a peer's block
            await again.verify(store.identities)
            verified += 1
        _say("reopen + verify", f"{len(values)} values back, {verified} signatures and identities verified")
        summary["entries"] = len(values)
        summary["verified"] = verified
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m orbitstore.demo``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=None, help="data directory (default: a fresh temporary one)")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="orbitstore-demo-"))
    print(f"orbitstore demo in {directory}")
    try:
        summary = asyncio.run(run(directory))
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
