"""Fixtures for the anchoring tests: a real anvil chain, the in-process chain, identities, CIDs.

anvil comes from npm (``tools/anvil``: ``@foundry-rs/anvil-linux-amd64``, pinned),
or from ``$ORBITSTORE_ANVIL_BIN``. One anvil process serves the session, on
127.0.0.1 and a free port; every test gets the chain as it was at the start
(``evm_snapshot`` before, ``evm_revert`` after) with automine on and an empty
pool. Missing anvil: :func:`tests.conftest.need` skips (by hand) or fails (CI).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orbitstore.codec import CID, encode
from orbitstore.identities import Identities, Identity
from tests.conftest import ROOT, need

TOOLS = ROOT / "tools" / "anvil"
ANVIL_NPM_BIN = TOOLS / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"

# anvil's well-known development keys (test mnemonic): funded on every fresh anvil chain only.
ANVIL_KEYS = (
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
)


def anvil_binary() -> Path | None:
    """The anvil binary: ``$ORBITSTORE_ANVIL_BIN``, the npm install under tools/anvil, or PATH."""
    env = os.environ.get("ORBITSTORE_ANVIL_BIN")
    if env:
        return Path(env) if os.access(env, os.X_OK) else None
    if os.access(ANVIL_NPM_BIN, os.X_OK):
        return ANVIL_NPM_BIN
    found = shutil.which("anvil")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rpc(url: str, method: str, params: list[Any] | None = None, *, timeout: float = 5.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass(frozen=True, slots=True)
class Anvil:
    """A running anvil: its URL and a blocking JSON-RPC helper."""

    url: str
    port: int

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call (blocking; anvil answers in well under a millisecond)."""
        return _rpc(self.url, method, params)

    def key(self, index: int) -> bytes:
        """Funded development key ``index``."""
        return bytes.fromhex(ANVIL_KEYS[index])


def start_anvil(binary: Path) -> tuple[subprocess.Popen[bytes], Anvil]:
    """Start anvil on 127.0.0.1 and a free port; return the process and a handle once it answers."""
    last_error = ""
    for _ in range(3):  # the free port can be taken between probing and binding
        port = _free_port()
        proc = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", "--chain-id", "31337"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        node = Anvil(f"http://127.0.0.1:{port}", port)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                node.rpc("eth_chainId")
                return proc, node
            except (OSError, urllib.error.URLError, RuntimeError):
                time.sleep(0.05)
        stop_anvil(proc)
        last_error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    raise RuntimeError(f"anvil did not start: {last_error.strip()[-500:]}")


def stop_anvil(proc: subprocess.Popen[bytes]) -> None:
    """Stop anvil (terminate, then kill after 5 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()


@pytest.fixture(scope="session")
def anvil_process() -> Iterator[Anvil]:
    """One anvil for the session, stopped at its end."""
    binary = anvil_binary()
    if binary is None:
        need("anvil not installed: run make test (npm ci in tools/anvil) or set ORBITSTORE_ANVIL_BIN")
    assert binary is not None
    proc, node = start_anvil(binary)
    try:
        yield node
    finally:
        stop_anvil(proc)


@pytest.fixture
def anvil(anvil_process: Anvil) -> Iterator[Anvil]:
    """The session's anvil, reset to its state before the test when the test ends."""
    snapshot = anvil_process.rpc("evm_snapshot")
    try:
        yield anvil_process
    finally:
        anvil_process.rpc("evm_setAutomine", [True])
        anvil_process.rpc("anvil_dropAllTransactions")
        anvil_process.rpc("evm_revert", [snapshot])


@pytest.fixture
async def identities() -> Identities:
    """An identity service with an in-memory keystore."""
    return await Identities.open()


@pytest.fixture
async def node_identity(identities: Identities) -> Identity:
    """The node identity that signs local ledger records."""
    return await identities.create_identity("node")


def make_cids(count: int, *, salt: str = "") -> list[CID]:
    """``count`` distinct dag-cbor CIDs (of small made-up snapshot blocks)."""
    return [CID.of(encode({"snapshot": i, "salt": salt})) for i in range(count)]


@pytest.fixture
async def eth_tester_backend() -> AsyncIterator[Any]:
    """A fresh in-process chain with the Anchor contract deployed."""
    from orbitstore.anchoring.backends.ethtester import EthTesterBackend

    backend = await EthTesterBackend.create()
    try:
        yield backend
    finally:
        await backend.aclose()


async def wait_until(predicate: Callable[[], bool], *, within: float = 10.0, step: float = 0.01) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(step)
