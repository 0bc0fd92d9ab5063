"""Two daemons on loopback replicate over the direct path (no Kubo); the CLI shows peers and sync status.

Opening a database only the peer has fetches its manifest over the direct path first."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from orbitstore.daemon import Daemon, DaemonClient, DaemonConfig
from orbitstore.daemon.server import free_port
from orbitstore.errors import NotFound

ROOT = Path(__file__).resolve().parents[2]


async def _until(condition, within: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.05)


async def test_a_write_on_one_daemon_appears_on_the_other(tmp_path: Path) -> None:
    port_a, port_b = free_port(), free_port()
    config_a = DaemonConfig(directory=tmp_path / "a", port=0, identity="a", direct_port=port_a,
                            peers=(f"127.0.0.1:{port_b}",))  # fmt: skip
    config_b = DaemonConfig(directory=tmp_path / "b", port=0, identity="b", direct_port=port_b,
                            peers=(f"127.0.0.1:{port_a}",))  # fmt: skip
    async with (
        Daemon(config_a) as a,
        Daemon(config_b) as b,
        DaemonClient(a.url, token=a.token) as api_a,
        DaemonClient(b.url, token=b.token) as api_b,
    ):
        assert (await api_a.node()).sync_endpoint == f"127.0.0.1:{port_a}"
        node_b = await api_b.node()
        access = {"type": "ipfs", "write": [(await api_a.node()).identity_id, node_b.identity_id]}
        info = await api_a.create("shared", type="events", access_controller=access)
        await api_a.add(info.address, {"text": "from a"})
        # B has never seen the database: opening it by address fetches the manifest and the
        # controller block from its static peer (a setup request on the direct path).
        manifest = info.address.split("/")[-1]
        assert await b.api.store.blocks.get(manifest) is None  # type: ignore[union-attr]
        await api_b.open(info.address)
        assert await b.api.store.blocks.get(manifest) is not None  # type: ignore[union-attr]

        async def b_has(n: int) -> bool:
            return len((await api_b.iterate(info.address)).items) == n

        await _until(lambda: b_has(1))
        await api_b.add(info.address, {"text": "from b"})

        async def a_has(n: int) -> bool:
            return len((await api_a.iterate(info.address)).items) == n

        await _until(lambda: a_has(2))
        await _until(lambda: _synced(api_b, info.address))
        status = await api_b.sync_status(info.address)
        assert status.mode == "direct" and status.peers == 1 and status.peer_ids == (f"127.0.0.1:{port_a}",)
        assert status.missing == 0 and status.joined_entries >= 1
        (peer,) = await api_b.peers()
        assert peer.peer_id == f"127.0.0.1:{port_a}" and peer.databases == (info.address,)

        # the CLI against the daemon (a subprocess: the CLI runs its own event loop)
        code, output = await _cli("--api", b.url, "--token", b.token, "--json", "sync", "status", info.address)
        assert code == 0 and json.loads(output)["peers"] == 1, output
        code, output = await _cli("--api", b.url, "--token", b.token, "peers")
        assert code == 0 and f"127.0.0.1:{port_a}" in output, output


async def _cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orbitstore.cli", *args,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def _synced(api: DaemonClient, address: str) -> bool:
    return (await api.sync_status(address)).synced


async def test_opening_an_address_no_static_peer_serves_says_so(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    config = DaemonConfig(directory=tmp_path / "a", port=0, identity="a", peers=(f"127.0.0.1:{port}",))
    async with Daemon(config) as a, DaemonClient(a.url, token=a.token) as api:
        address = "/orbitdb/zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"
        with pytest.raises(NotFound, match=f"no static peer served it: 127.0.0.1:{port}"):
            await api.open(address)
        assert await api.databases() == []
