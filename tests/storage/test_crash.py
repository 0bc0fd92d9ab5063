"""Crash safety: a child process writes, is SIGKILLed mid-stream, and the store is reopened.

Each child prints a line only after the write it names has returned, so every
printed line is a promise the store must keep after the kill.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from orbitstore.storage import EmbeddedStore

ROOT = Path(__file__).resolve().parents[2]

DURABLE_CHILD = """
import asyncio, sys
from orbitstore.storage import EmbeddedStore

async def main(path):
    store = await EmbeddedStore.open(path, durability="durable")
    entries, heads = store.storage("entries"), store.storage("heads")
    i = 0
    while True:
        key = f"entry-{i:06d}"
        await entries.put(key, key.encode() * 50)
        await heads.put("heads", key.encode())
        await heads.sync()
        print(key, flush=True)
        i += 1

asyncio.run(main(sys.argv[1]))
"""

BATCH_CHILD = """
import asyncio, sys
from orbitstore.storage import EmbeddedStore

async def main(path):
    # Only batch_size triggers commits: 10 writes = 5 iterations of (entry, heads).
    store = await EmbeddedStore.open(path, batch_size=10, batch_interval=3600)
    entries, heads = store.storage("entries"), store.storage("heads")
    i = 0
    while True:
        key = f"entry-{i:06d}"
        await entries.put(key, key.encode() * 50)
        await heads.put("heads", key.encode())
        print(key, flush=True)
        i += 1

asyncio.run(main(sys.argv[1]))
"""


async def run_and_kill(script: str, path: Path, lines_before_kill: int) -> list[str]:
    """Run ``script`` on ``path``, SIGKILL it once it printed enough, return every complete line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    printed = b""
    try:
        async with asyncio.timeout(30):
            while printed.count(b"\n") < lines_before_kill:
                chunk = await proc.stdout.read(4096)
                if not chunk:
                    error = await proc.stderr.read()
                    raise AssertionError(f"child exited early:\n{error.decode()}")
                printed += chunk
        await asyncio.sleep(random.uniform(0, 0.01))  # land somewhere inside a commit
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        printed += await proc.stdout.read()  # lines printed before the kill landed count too
        await proc.stderr.read()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    complete, _, _partial = printed.decode().rpartition("\n")
    return complete.split("\n")


def index(key: str) -> int:
    return int(key.removeprefix("entry-"))


async def reopen(path: Path) -> tuple[dict[str, bytes], bytes | None]:
    async with await EmbeddedStore.open(path) as store:
        entries = {key: value async for key, value in store.storage("entries").items()}
        head = await store.storage("heads").get("heads")
    return entries, head


async def test_durable_keeps_everything_synced_before_a_kill(tmp_path: Path) -> None:
    for round_ in range(2):  # the second round reopens a store that was killed once already
        printed = await run_and_kill(DURABLE_CHILD, tmp_path, lines_before_kill=25 * (round_ + 1))
        entries, head = await reopen(tmp_path)
        missing = [key for key in printed if key not in entries]
        assert not missing, f"synced before the kill, lost after it: {missing}"
        # The store holds a prefix of the writes, and heads never point past it.
        assert sorted(entries) == [f"entry-{i:06d}" for i in range(len(entries))]
        assert head is not None and head.decode() in entries
        assert index(head.decode()) >= index(printed[-1])
        assert all(value == key.encode() * 50 for key, value in entries.items())


async def test_batch_loses_at_most_the_unflushed_tail(tmp_path: Path) -> None:
    printed = await run_and_kill(BATCH_CHILD, tmp_path, lines_before_kill=60)
    entries, head = await reopen(tmp_path)
    committed = len(entries)
    # A prefix of the writes, whole batches only (5 iterations of 2 writes each)...
    assert sorted(entries) == [f"entry-{i:06d}" for i in range(committed)]
    assert committed % 5 == 0
    # ...whose heads point at its last entry (never at a missing one)...
    assert head == f"entry-{committed - 1:06d}".encode()
    # ...losing only what was still pending: fewer than batch_size writes.
    lost = len(printed) - committed
    assert -1 <= lost <= 4, (len(printed), committed)
