"""Spawn and stop Kubo daemons on loopback: one :class:`KuboNode`, or a :class:`KuboSwarm` of them.

A node lives in its own repository directory (``IPFS_PATH``), initialised with
``ipfs init --profile=test`` plus :mod:`orbitstore.kubo.profile` (loopback
only, no bootstrap, no DHT, pubsub on). Its ports are chosen by the kernel
(port 0), so nodes started in parallel never race for a port; the API address
is read back from the repository's ``api`` file once the daemon is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from orbitstore.errors import ConfigError, KuboError
from orbitstore.kubo.client import KuboClient, api_url_from_multiaddr
from orbitstore.kubo.profile import profile_settings, update_config_file
from orbitstore.kubo.swarmkey import parse_swarm_key, write_swarm_key

__all__ = ["KuboNode", "KuboSwarm", "find_ipfs_binary", "kubo_version"]

_BINARY_ENV = "ORBITSTORE_KUBO_BIN"
_GATEWAY_LINE = re.compile(r"Gateway server listening on (\S+)")


def _project_bin() -> Path:
    # orbitstore/kubo/node.py -> the repository root holds .tools/bin
    return Path(__file__).resolve().parents[2] / ".tools" / "bin" / "ipfs"


def find_ipfs_binary() -> Path | None:
    """Find the ``ipfs`` binary: ``$ORBITSTORE_KUBO_BIN``, then ``<repo>/.tools/bin``, then ``PATH``.

    Returns ``None`` when there is none (run ``ipfs-config/install-kubo.sh``).
    """
    configured = os.environ.get(_BINARY_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
    local = _project_bin()
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("ipfs")
    return Path(found) if found else None


async def _run(binary: str | os.PathLike[str], *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``binary args…`` to completion; return its output or raise :class:`KuboError`."""
    try:
        proc = await asyncio.create_subprocess_exec(
            os.fspath(binary),
            *args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as exc:
        raise KuboError(f"cannot run {binary}: {exc}") from exc
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise KuboError(f"{binary} {' '.join(args)} failed with {proc.returncode}: {text}")
    return text


async def kubo_version(binary: str | os.PathLike[str]) -> str:
    """Return the version number a Kubo binary reports (e.g. ``"0.39.0"``)."""
    return await _run(binary, "version", "--number")


class KuboNode:
    """One Kubo daemon in repository ``path``, listening on 127.0.0.1 only.

    The repository is initialised on first start (kept and reused afterwards,
    so a node can be restarted with its blocks and identity). ``swarm_key`` (the
    text of a ``swarm.key``) makes the node join only that private network.
    ``settings`` are extra ``{dotted config key: value}`` applied at init.

    ::

        async with KuboNode(tmp_path / "a") as node:
            print(node.api_url, node.peer_id, node.swarm_addrs)
            await node.client.block_put(block)

    Stopping sends SIGTERM, then SIGKILL after ``stop_timeout`` seconds.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        binary: str | os.PathLike[str] | None = None,
        swarm_key: str | None = None,
        settings: Mapping[str, Any] | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        client_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self._binary = Path(binary) if binary is not None else None
        if swarm_key is not None:
            parse_swarm_key(swarm_key)
        self._swarm_key = swarm_key
        self._settings = dict(settings or {})
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._client_timeout = client_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._client: KuboClient | None = None
        self._api_url: str | None = None
        self._peer_id: str | None = None
        self._swarm_addrs: tuple[str, ...] = ()
        self._gateway_url: str | None = None

    def __repr__(self) -> str:
        return f"KuboNode({str(self.path)!r}, api_url={self._api_url!r})"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what a running node exposes ---------------------------------------

    def _require_running(self) -> None:
        if self._process is None:
            raise KuboError(f"{self!r} is not running")

    @property
    def running(self) -> bool:
        """True between a successful :meth:`start` and :meth:`stop`."""
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        """The daemon's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def api_url(self) -> str:
        """The RPC API base URL, ``http://127.0.0.1:<port>``."""
        self._require_running()
        assert self._api_url is not None
        return self._api_url

    @property
    def peer_id(self) -> str:
        """The node's libp2p peer id."""
        self._require_running()
        assert self._peer_id is not None
        return self._peer_id

    @property
    def swarm_addrs(self) -> tuple[str, ...]:
        """Loopback swarm multiaddrs, each ending in ``/p2p/<peer id>`` (ready for ``swarm_connect``)."""
        self._require_running()
        return self._swarm_addrs

    @property
    def gateway_url(self) -> str | None:
        """The loopback HTTP gateway URL, when the daemon reported one."""
        self._require_running()
        return self._gateway_url

    @property
    def client(self) -> KuboClient:
        """A :class:`KuboClient` for this node, owned by the node (closed by :meth:`stop`)."""
        self._require_running()
        assert self._client is not None
        return self._client

    # -- lifecycle ------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.path)
        env["IPFS_TELEMETRY"] = "off"
        if self._swarm_key is not None:
            env["LIBP2P_FORCE_PNET"] = "1"  # refuse to start without the key
        return env

    async def _init_repo(self, binary: Path) -> None:
        if not await asyncio.to_thread(self._prepare_directory):
            await _run(binary, "init", "--profile=test", "--empty-repo", env=self._env())
            await asyncio.to_thread(update_config_file, self.path, profile_settings() | self._settings)
        await asyncio.to_thread(self._install_swarm_key)

    def _prepare_directory(self) -> bool:
        """Create the directory, drop a stale ``api`` file; True if the repo is initialised."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "api").unlink(missing_ok=True)  # left by a crash; the daemon writes a fresh one
        return (self.path / "config").exists()

    def _install_swarm_key(self) -> None:
        if self._swarm_key is None:
            return
        key_file = self.path / "swarm.key"
        if not key_file.exists():
            write_swarm_key(key_file, self._swarm_key)
        elif parse_swarm_key(key_file.read_text()) != parse_swarm_key(self._swarm_key):
            raise ConfigError(f"{key_file} holds a different swarm key")

    async def start(self) -> None:
        """Initialise the repository if needed, spawn the daemon and wait until its API answers ``id``."""
        if self._process is not None:
            return
        binary = self._binary or find_ipfs_binary()
        if binary is None:
            raise KuboError("kubo binary not found: run ipfs-config/install-kubo.sh")
        await self._init_repo(binary)
        api_file = self.path / "api"
        log_path = self.path / "daemon.log"
        log = await asyncio.to_thread(open, log_path, "ab")
        try:  # the child gets its own copy of the descriptor
            process = await asyncio.create_subprocess_exec(
                str(binary),
                "daemon",
                env=self._env(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C goes to us, and we stop the daemon
            )
        except OSError as exc:
            raise KuboError(f"cannot run {binary}: {exc}") from exc
        finally:
            log.close()
        self._process = process
        try:
            await self._wait_ready(api_file, log_path)
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self, api_file: Path, log_path: Path) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self._start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise KuboError(f"Kubo daemon in {self.path} exited with {process.returncode}: {_tail(log_path)}")
            if self._client is None:
                try:  # the daemon may not have written it yet, or be half-way through
                    self._api_url = api_url_from_multiaddr(await asyncio.to_thread(api_file.read_text))
                except (OSError, KuboError) as exc:
                    last_error = exc
                else:
                    self._client = KuboClient(self._api_url, timeout=self._client_timeout)
            if self._client is not None:
                try:
                    ident = await self._client.id()
                except KuboError as exc:  # not listening yet
                    last_error = exc
                else:
                    self._peer_id = ident.peer_id
                    self._swarm_addrs = tuple(
                        addr if "/p2p/" in addr else f"{addr}/p2p/{ident.peer_id}"
                        for addr in ident.addresses
                        if addr.startswith("/ip4/127.0.0.1/")
                    )
                    log_text = await asyncio.to_thread(log_path.read_text, errors="replace")
                    match = _GATEWAY_LINE.search(log_text)
                    self._gateway_url = api_url_from_multiaddr(match.group(1)) if match else None
                    return
            await asyncio.sleep(0.05)
        raise KuboError(
            f"Kubo daemon in {self.path} did not answer within {self._start_timeout:g} s "
            f"({last_error}): {_tail(log_path)}"
        )

    async def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL after ``stop_timeout``). Safe to call twice.

        Kubo's graceful shutdown waits for open streaming requests: close
        pubsub subscriptions on this node first, or stopping takes the whole
        ``stop_timeout`` and ends with SIGKILL.
        """
        process, self._process = self._process, None
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self._stop_timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()

    async def aclose(self) -> None:
        """Same as :meth:`stop`."""
        await self.stop()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no daemon log)"
    return " | ".join(text.strip().splitlines()[-lines:])


class KuboSwarm:
    """``n`` Kubo nodes on loopback, started in parallel and all connected to each other.

    Each node's repository is ``<directory>/node<i>``; with no ``directory`` a
    temporary one is made and removed by :meth:`stop`. A ``swarm_key`` makes
    it a private network; ``settings`` are applied to every node (see
    :class:`KuboNode`). ::

        async with KuboSwarm(3) as swarm:
            a, b, c = swarm
            cid = await a.client.block_put(block)
            assert await c.client.block_get(cid) == block
    """

    def __init__(
        self,
        n: int,
        directory: str | os.PathLike[str] | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        swarm_key: str | None = None,
        settings: Mapping[str, Any] | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        client_timeout: float = 30.0,
    ) -> None:
        if n < 1:
            raise ConfigError(f"a swarm needs at least one node, not {n}")
        self._n = n
        self._directory = Path(directory) if directory is not None else None
        self._owns_directory = False
        self._node_options: dict[str, Any] = {
            "binary": binary,
            "swarm_key": swarm_key,
            "settings": settings,
            "start_timeout": start_timeout,
            "stop_timeout": stop_timeout,
            "client_timeout": client_timeout,
        }
        self._start_timeout = start_timeout
        self.nodes: list[KuboNode] = []

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[KuboNode]:
        return iter(self.nodes)

    def __getitem__(self, index: int) -> KuboNode:
        return self.nodes[index]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_urls(self) -> list[str]:
        """Each node's RPC API URL, in node order."""
        return [node.api_url for node in self.nodes]

    async def start(self) -> None:
        """Start every node, connect each pair, and wait until every node sees all the others."""
        if self.nodes:
            return
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="orbitstore-kubo-"))
            self._owns_directory = True
        self.nodes = [KuboNode(self._directory / f"node{i}", **self._node_options) for i in range(self._n)]
        try:
            async with asyncio.TaskGroup() as group:
                for node in self.nodes:
                    group.create_task(node.start())
            await self.connect_all()
        except BaseException:
            await self.stop()
            raise

    async def connect_all(self) -> None:
        """Connect every pair of nodes and wait until each lists the others as swarm peers."""
        async with asyncio.TaskGroup() as group:
            for i, node in enumerate(self.nodes):
                for other in self.nodes[i + 1 :]:
                    group.create_task(node.client.swarm_connect(other.swarm_addrs[0]))
        deadline = time.monotonic() + self._start_timeout
        for node in self.nodes:
            expected = {other.peer_id for other in self.nodes if other is not node}
            while True:
                peers = {peer.peer_id for peer in await node.client.swarm_peers()}
                if expected <= peers:
                    break
                if time.monotonic() > deadline:
                    raise KuboError(f"{node!r} is connected to {sorted(peers)}, expected {sorted(expected)}")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop every node (in parallel) and remove a temporary directory. Safe to call twice."""
        nodes, self.nodes = self.nodes, []
        results = await asyncio.gather(*(node.stop() for node in nodes), return_exceptions=True)
        if self._owns_directory and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
            self._owns_directory = False
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def aclose(self) -> None:
        """Same as :meth:`stop`."""
        await self.stop()
