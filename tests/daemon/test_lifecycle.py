"""The daemon process: SIGTERM drains in-flight writes and flushes them; daemon.json while it runs."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp

from orbitstore.api import open_local
from orbitstore.daemon import API_FILE, DaemonClient, read_api_file, read_token
from orbitstore.errors import OrbitStoreError
from tests.daemon.conftest import daemon_process


async def test_sigterm_drains_and_flushes(tmp_path: Path) -> None:
    directory = tmp_path / "node"
    with daemon_process(directory, "--durability", "durable") as (process, url, log):
        assert read_api_file(directory) == url
        token = read_token(directory)
        async with DaemonClient(url, token=token) as client:
            info = await client.create("burst", type="events")

            done = 0
            fifty = asyncio.Event()

            async def write(i: int) -> str | None:
                nonlocal done
                try:
                    return await client.add(info.address, {"i": i})
                except (OrbitStoreError, aiohttp.ClientError, OSError):
                    return None  # refused after the listener closed: never acknowledged
                finally:
                    done += 1
                    if done >= 50:
                        fifty.set()

            tasks = [asyncio.create_task(write(i)) for i in range(300)]
            await fifty.wait()  # some done, some in flight, some not sent yet
            process.send_signal(signal.SIGTERM)
            results = await asyncio.gather(*tasks)
        code = await asyncio.to_thread(process.wait, 20)
        assert code == 0, log.read_text()[-2000:]
        stdout = process.stdout.read() if process.stdout else ""
        assert "orbitstore daemon stopped" in stdout
        stderr = log.read_text()
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [r["msg"] for r in logs]
    assert "stopping: draining requests" in messages and messages[-1] == "stopped"
    assert token is not None and token not in stderr and token not in stdout
    acknowledged = [h for h in results if h is not None]
    assert len(acknowledged) >= 50
    assert not (directory / API_FILE).exists()
    async with open_local(directory) as api:  # every acknowledged write survived the exit
        page = await api.iterate(info.address, limit=1000)
        stored = {item.hash for item in page.items}
    assert set(acknowledged) <= stored


async def test_api_file_points_at_a_live_daemon_only(tmp_path: Path) -> None:
    directory = tmp_path / "node"
    directory.mkdir()
    assert read_api_file(directory) is None
    (directory / API_FILE).write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": 2**22 + 12345}))
    assert read_api_file(directory) is None  # stale: that pid does not exist
    (directory / API_FILE).write_text("not json")
    assert read_api_file(directory) is None


async def test_print_token_url_on_the_terminal_only(tmp_path: Path) -> None:
    directory = tmp_path / "node"
    with daemon_process(directory, "--print-token-url") as (process, url, log):
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        token = read_token(directory)
        assert token is not None and line.strip() == f"web page: {url}/#token={token}"
        async with aiohttp.ClientSession() as http, http.get(url + "/health") as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    assert token not in log.read_text()
