"""The ipfs-config scripts and the swarm.key generator."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

from orbitstore.errors import ConfigError
from orbitstore.kubo import (
    KuboClient,
    KuboNode,
    generate_swarm_key,
    parse_swarm_key,
    profile_settings,
    write_swarm_key,
)
from orbitstore.kubo.profile import get_key
from tests.conftest import ROOT
from tests.kubo.conftest import ipfs_processes_under

pytestmark = [pytest.mark.asyncio(loop_scope="session")]

SCRIPTS = ROOT / "ipfs-config"
SWARM_KEY = re.compile(r"\A/key/swarm/psk/1\.0\.0/\n/base16/\n[0-9a-f]{64}\n\Z")


async def _run(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *map(str, args),
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_python_swarm_key_format(tmp_path: Path) -> None:
    key = generate_swarm_key()
    assert SWARM_KEY.match(key)
    assert len(parse_swarm_key(key)) == 32
    assert generate_swarm_key() != key
    path = tmp_path / "swarm.key"
    assert write_swarm_key(path) == path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="exists"):
        write_swarm_key(path)
    for bad in ("", "/key/swarm/psk/1.0.0/\n/base16/\nabc\n", key.replace("base16", "base64")):
        with pytest.raises(ConfigError):
            parse_swarm_key(bad)


async def test_shell_swarm_key_format(tmp_path: Path) -> None:
    rc, out = await _run(SCRIPTS / "swarm-key.sh")
    assert rc == 0 and SWARM_KEY.match(out), out
    path = tmp_path / "swarm.key"
    rc, _ = await _run(SCRIPTS / "swarm-key.sh", path)
    assert rc == 0
    assert SWARM_KEY.match(path.read_text())
    assert path.stat().st_mode & 0o777 == 0o600
    rc, out = await _run(SCRIPTS / "swarm-key.sh", path)
    assert rc != 0 and "exists" in out


@pytest.mark.kubo
async def test_init_node_sh_matches_the_python_profile(ipfs_binary: Path, tmp_path: Path) -> None:
    key = tmp_path / "swarm.key"
    write_swarm_key(key)
    rc, out = await _run(SCRIPTS / "init-node.sh", tmp_path / "sh", "--swarm-key", key)
    assert rc == 0, out
    shell = json.loads((tmp_path / "sh" / "config").read_text())
    for name, value in profile_settings().items():
        assert get_key(shell, name) == value, name
    assert (tmp_path / "sh" / "swarm.key").read_text() == key.read_text()
    async with KuboNode(tmp_path / "py", binary=ipfs_binary):
        python = json.loads((tmp_path / "py" / "config").read_text())
    for name in profile_settings():
        assert get_key(python, name) == get_key(shell, name), name
    rc, out = await _run(SCRIPTS / "init-node.sh", tmp_path / "sh")
    assert rc == 0 and "already initialised" in out


@pytest.mark.kubo
async def test_start_and_stop_swarm_sh(ipfs_binary: Path, tmp_path: Path) -> None:
    swarm_dir = tmp_path / "swarm"
    try:
        rc, out = await _run(SCRIPTS / "start-swarm.sh", "2", swarm_dir, env={"IPFS_BIN": str(ipfs_binary)})
        assert rc == 0, out
        lines = [line.split() for line in out.splitlines() if line.startswith("node")]
        assert [line[0] for line in lines] == ["node0", "node1"]
        urls = (swarm_dir / "api-urls").read_text().split()
        assert urls == [line[1] for line in lines]
        assert len(ipfs_processes_under(swarm_dir)) == 2
        async with KuboClient(urls[0]) as first:
            assert (await first.id()).peer_id == lines[0][2]
            assert lines[1][2] in {peer.peer_id for peer in await first.swarm_peers()}
    finally:
        rc, out = await _run(SCRIPTS / "stop-swarm.sh", swarm_dir)
    assert rc == 0 and "stopped 2 node(s)" in out, out
    assert ipfs_processes_under(swarm_dir) == []


@pytest.mark.kubo
async def test_install_kubo_reuses_the_right_version(ipfs_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "ipfs").symlink_to(ipfs_binary)
    rc, out = await _run(SCRIPTS / "install-kubo.sh", env={"KUBO_BIN_DIR": str(tmp_path)})
    assert rc == 0 and "already installed" in out, out


async def test_install_kubo_says_when_go_is_missing(tmp_path: Path) -> None:
    rc, out = await _run(SCRIPTS / "install-kubo.sh", env={"KUBO_BIN_DIR": str(tmp_path), "GO": "/nonexistent/go"})
    assert rc == 1
    assert "Go is not installed" in out
