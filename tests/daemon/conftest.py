"""Daemon fixtures: an in-process daemon on 127.0.0.1 and a free port, raw HTTP, and a daemon subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orbitstore.daemon import Daemon, DaemonConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    """A daemon over a fresh data directory (small limits so size tests stay small)."""
    config = DaemonConfig(directory=tmp_path / "node", port=0, max_body=64 * 1024, max_upload=256 * 1024)
    async with Daemon(config) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP session (no token unless a test sends one)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


def auth(daemon: Daemon) -> dict[str, str]:
    """The Authorization header for ``daemon``."""
    return {"Authorization": f"Bearer {daemon.token}"}


async def call(
    session: aiohttp.ClientSession, daemon: Daemon, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    """``(status, JSON body)`` of one authorized request."""
    headers = {**auth(daemon), **kwargs.pop("headers", {})}
    async with session.request(method, daemon.url + path, headers=headers, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body


@contextmanager
def daemon_process(directory: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """``orbitstore --dir DIRECTORY daemon --port 0 ARGS…`` as a subprocess; yields it, its URL and its log file.

    Its logs (stderr) go to a file next to ``directory``: a pipe nobody reads
    would fill up and block the daemon. The process is always stopped
    (SIGTERM, then SIGKILL) when the block exits.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log_path = directory.parent / f"{directory.name}.log"
    directory.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "orbitstore.cli", "--dir", str(directory), "daemon", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    try:
        url = ""
        deadline = time.monotonic() + 20
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if "listening on " in line:
                url = line.strip().rsplit(" ", 1)[1]
                break
        if not url:
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(f"daemon did not start: {log_path.read_text()[-2000:]}")
        yield process, url, log_path
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
        log.close()
