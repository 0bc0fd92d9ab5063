"""The daemon with its blocks in a real Kubo node (``--kubo spawn`` and ``--kubo URL``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbitstore.daemon import Daemon, DaemonClient, DaemonConfig
from orbitstore.kubo import KuboNode, find_ipfs_binary
from tests.conftest import need

pytestmark = pytest.mark.kubo


def require_ipfs() -> Path:
    binary = find_ipfs_binary()
    if binary is None:
        need("kubo binary not found: run ipfs-config/install-kubo.sh")
        raise AssertionError("unreachable")
    return binary


async def test_kubo_spawn(tmp_path: Path) -> None:
    require_ipfs()
    directory = tmp_path / "node"
    async with Daemon(DaemonConfig(directory=directory, port=0, kubo="spawn")) as daemon:
        async with DaemonClient(daemon.url, token=daemon.token) as client:
            assert (await client.node()).storage == "kubo"
            info = await client.create("on-kubo", type="events")
            entry = await client.add(info.address, {"stored": "in kubo"})
            assert (await client.get(info.address, entry)).value == {"stored": "in kubo"}
        assert daemon.api is not None
        kubo_client = daemon.api.store.blocks.client  # type: ignore[attr-defined]
        assert await kubo_client.block_get(entry) is not None  # the entry block lives in Kubo
    assert (directory / "kubo").is_dir()


async def test_kubo_url(tmp_path: Path) -> None:
    binary = require_ipfs()
    async with KuboNode(tmp_path / "kubo", binary=binary) as node:
        config = DaemonConfig(directory=tmp_path / "node", port=0, kubo=node.api_url)
        async with Daemon(config) as daemon, DaemonClient(daemon.url, token=daemon.token) as client:
            assert (await client.node()).storage == "kubo"
            info = await client.create("kv-on-kubo", type="keyvalue")
            await client.put(info.address, [1, 2, 3], key="k")
            assert (await client.get(info.address, "k")).value == [1, 2, 3]
        assert node.running  # the daemon borrowed the node: it is still up
