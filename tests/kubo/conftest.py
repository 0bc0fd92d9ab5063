"""Fixtures for tests against real Kubo daemons on loopback.

``swarm`` is one 2-node :class:`KuboSwarm` for the whole session (starting one
takes well under a second); tests that need their own nodes start them in
``tmp_path``. Every fixture checks that no daemon it started outlives it.

The session swarm's clients belong to the session event loop, so every Kubo
test module runs in it: ``pytest.mark.asyncio(loop_scope="session")``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from orbitstore.kubo import KuboNode, KuboSwarm, find_ipfs_binary
from tests.conftest import need


def ipfs_processes_under(root: Path) -> list[int]:
    """Pids of live processes whose ``IPFS_PATH`` lies under ``root`` (read from /proc)."""
    prefix = f"IPFS_PATH={root}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone, or not ours to read
        if state != "Z" and any(var.startswith(prefix) for var in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def require_ipfs() -> Path:
    """The ipfs binary, or skip/fail via :func:`tests.conftest.need`."""
    binary = find_ipfs_binary()
    if binary is None:
        need("kubo binary not found: run ipfs-config/install-kubo.sh")
        raise AssertionError("unreachable")
    return binary


@pytest.fixture(scope="session")
def ipfs_binary() -> Path:
    """Path of the ipfs binary (skips, or fails under ORBITSTORE_REQUIRE_ALL=1, when missing)."""
    return require_ipfs()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def swarm(ipfs_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KuboSwarm]:
    """Two connected Kubo nodes shared by the session's tests."""
    root = tmp_path_factory.mktemp("kubo-swarm")
    async with KuboSwarm(2, root, binary=ipfs_binary, client_timeout=10.0) as started:
        yield started
    assert ipfs_processes_under(root) == [], "a Kubo daemon outlived the session swarm"


@pytest.fixture
def no_leftover_daemons(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, checked after the test for Kubo daemons still running under it."""
    yield tmp_path
    leftover = ipfs_processes_under(tmp_path)
    for pid in leftover:  # clean up our own mess before failing
        os.kill(pid, 9)
    assert leftover == [], f"Kubo daemons left running: {leftover}"


@pytest_asyncio.fixture(loop_scope="session")
async def node(ipfs_binary: Path, no_leftover_daemons: Path) -> AsyncIterator[KuboNode]:
    """A fresh single node in this test's tmp dir."""
    async with KuboNode(no_leftover_daemons / "node", binary=ipfs_binary) as started:
        yield started
