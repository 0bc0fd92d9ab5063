"""KuboNode and KuboSwarm: spawning, profile, restart, stop, private networks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from orbitstore.errors import ConfigError, KuboError, StorageTimeout
from orbitstore.kubo import (
    KuboClient,
    KuboNode,
    KuboSwarm,
    find_ipfs_binary,
    generate_swarm_key,
    kubo_version,
    profile_settings,
)
from orbitstore.kubo import node as node_module
from orbitstore.kubo.profile import get_key
from tests.kubo._helpers import cbor_block
from tests.kubo.conftest import ipfs_processes_under

pytestmark = [pytest.mark.kubo, pytest.mark.asyncio(loop_scope="session")]


async def test_binary_is_the_pinned_version(ipfs_binary: Path) -> None:
    assert await kubo_version(ipfs_binary) == "0.39.0"


async def test_node_profile_and_loopback_only(node: KuboNode) -> None:
    config = json.loads((node.path / "config").read_text())
    for key, value in profile_settings().items():
        assert get_key(config, key) == value, key
    assert node.api_url.startswith("http://127.0.0.1:")
    assert node.gateway_url is not None and node.gateway_url.startswith("http://127.0.0.1:")
    assert node.swarm_addrs and all(a.startswith("/ip4/127.0.0.1/tcp/") for a in node.swarm_addrs)
    assert (node.path / "config").stat().st_mode & 0o077 == 0  # it holds the private key
    assert ipfs_processes_under(node.path) == [node.pid]


async def test_restart_keeps_identity_and_pinned_blocks(ipfs_binary: Path, no_leftover_daemons: Path) -> None:
    path = no_leftover_daemons / "restart"
    cid, data = cbor_block(kind="restart")
    async with KuboNode(path, binary=ipfs_binary) as node:
        peer_id = node.peer_id
        await node.client.block_put(data, pin=True)
    assert ipfs_processes_under(path) == []
    async with KuboNode(path, binary=ipfs_binary) as node:
        assert node.peer_id == peer_id
        assert await node.client.block_get(cid, offline=True) == data


async def test_stop_is_idempotent_and_properties_need_a_running_node(
    ipfs_binary: Path, no_leftover_daemons: Path
) -> None:
    node = KuboNode(no_leftover_daemons / "n", binary=ipfs_binary)
    with pytest.raises(KuboError, match="not running"):
        _ = node.api_url
    await node.start()
    await node.start()  # already running: nothing happens
    assert node.running
    client = node.client
    await node.stop()
    await node.stop()
    assert not node.running
    assert client.closed
    with pytest.raises(KuboError, match="not running"):
        _ = node.peer_id


async def test_stop_kills_after_the_grace_period(ipfs_binary: Path, no_leftover_daemons: Path) -> None:
    node = KuboNode(no_leftover_daemons / "k", binary=ipfs_binary, stop_timeout=0)
    await node.start()
    await node.stop()  # no grace: SIGKILL at once
    assert ipfs_processes_under(no_leftover_daemons) == []


async def test_a_daemon_that_cannot_start_is_reported(ipfs_binary: Path, no_leftover_daemons: Path) -> None:
    path = no_leftover_daemons / "broken"
    async with KuboNode(path, binary=ipfs_binary):
        pass
    (path / "config").write_text("{ not json")
    with pytest.raises(KuboError, match="exited"):
        await KuboNode(path, binary=ipfs_binary, start_timeout=10).start()


async def test_missing_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(node_module, "_project_bin", lambda: tmp_path / "none" / "ipfs")
    monkeypatch.delenv("ORBITSTORE_KUBO_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_ipfs_binary() is None
    with pytest.raises(KuboError, match=r"install-kubo\.sh"):
        await KuboNode(tmp_path / "n").start()
    with pytest.raises(KuboError, match="cannot run"):
        await KuboNode(tmp_path / "n", binary=tmp_path / "no-such-ipfs").start()


async def test_find_ipfs_binary_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ipfs_binary: Path) -> None:
    local = tmp_path / "tools" / "ipfs"
    configured = tmp_path / "configured" / "ipfs"
    on_path = tmp_path / "path" / "ipfs"
    for fake in (local, configured, on_path):
        fake.parent.mkdir()
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    monkeypatch.setattr(node_module, "_project_bin", lambda: local)
    monkeypatch.setenv("ORBITSTORE_KUBO_BIN", str(configured))
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_ipfs_binary() == configured  # an explicit setting wins
    monkeypatch.delenv("ORBITSTORE_KUBO_BIN")
    assert find_ipfs_binary() == local
    local.unlink()
    assert find_ipfs_binary() == on_path


async def test_swarm_in_a_temporary_directory(ipfs_binary: Path) -> None:
    swarm = KuboSwarm(3, binary=ipfs_binary)
    async with swarm:
        assert len(swarm) == 3
        root = swarm[0].path.parent
        for node in swarm:
            peers = {p.peer_id for p in await node.client.swarm_peers()}
            assert peers >= {other.peer_id for other in swarm if other is not node}
        assert len(set(swarm.api_urls)) == 3
    assert not root.exists()
    assert len(swarm) == 0
    with pytest.raises(ConfigError):
        KuboSwarm(0)


async def test_private_network(ipfs_binary: Path, no_leftover_daemons: Path) -> None:
    key = generate_swarm_key()
    async with (
        KuboSwarm(2, no_leftover_daemons / "private", binary=ipfs_binary, swarm_key=key) as swarm,
        KuboNode(no_leftover_daemons / "outsider", binary=ipfs_binary) as outsider,
    ):
        a, b = swarm
        assert (a.path / "swarm.key").read_text() == key
        assert os.stat(a.path / "swarm.key").st_mode & 0o777 == 0o600
        cid, data = cbor_block(kind="private")
        await a.client.block_put(data)
        assert await b.client.block_get(cid) == data
        # The outsider has no key: the handshake fails (or, on a loaded machine, the dial times out).
        with pytest.raises((KuboError, StorageTimeout), match=r"failed to negotiate security protocol|dial"):
            await outsider.client.swarm_connect(a.swarm_addrs[0])
        assert a.peer_id not in {p.peer_id for p in await outsider.client.swarm_peers()}
    with pytest.raises(ConfigError, match="different swarm key"):
        await KuboNode(a.path, binary=ipfs_binary, swarm_key=generate_swarm_key()).start()
    with pytest.raises(ConfigError):
        KuboNode(a.path, swarm_key="not a key")


async def test_subscription_fails_loudly_when_the_daemon_dies(node: KuboNode) -> None:
    async with KuboClient(node.api_url) as client, client.pubsub_sub("crash") as sub:
        assert node.pid is not None
        os.kill(node.pid, signal.SIGKILL)  # a crash; a graceful stop would wait for the open stream
        with pytest.raises(KuboError, match="crash"):
            async with asyncio.timeout(10):
                await anext(sub)
    await node.stop()  # reaps the dead daemon
