"""A writer killed with SIGKILL in durable mode loses nothing whose append returned."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orbitstore.identities import Identities, KeyStore
from orbitstore.log import Log
from orbitstore.storage import EmbeddedStore

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from orbitstore.identities import Identities, KeyStore
from orbitstore.log import Log
from orbitstore.storage import EmbeddedStore

async def main(path):
    ids = await Identities.open(keystore=KeyStore(path + "/keys"))
    me = await ids.create_identity("writer")
    store = await EmbeddedStore.open(path + "/db", durability="durable")
    log = await Log.open(me, identities=ids, log_id="crash", entry_storage=store.storage("entries"),
                         heads_storage=store.storage("heads"), index_storage=store.storage("index"))
    i = 0
    while True:
        entry = await log.append({"i": i, "pad": "x" * 200}, references_count=16)
        print(entry.hash, flush=True)   # printed only after append (and its commit) returned
        i += 1

asyncio.run(main(sys.argv[1]))
"""


def test_sigkill_during_durable_appends(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(ROOT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    returned: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while len(returned) < 150 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            returned.append(line.strip())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert len(returned) >= 150, "child did not append in time"
    # The child may have appended a few more entries whose lines we never read: that is fine.
    asyncio.run(_check_reopened(tmp_path, returned))


async def _check_reopened(tmp_path: Path, returned: list[str]) -> None:
    ids = await Identities.open(keystore=KeyStore(tmp_path / "keys"))
    me = await ids.create_identity("writer")
    store = await EmbeddedStore.open(tmp_path / "db", durability="durable")
    try:
        log = await Log.open(
            me,
            identities=ids,
            log_id="crash",
            entry_storage=store.storage("entries"),
            heads_storage=store.storage("heads"),
            index_storage=store.storage("index"),
        )
        hashes = [e.hash for e in await log.values()]
        assert hashes[: len(returned)] == returned
        for entry in await log.values():
            await entry.verify(ids)
        nxt = await log.append({"after": "crash"})
        assert nxt.clock.time == len(hashes) + 1
    finally:
        await store.aclose()
