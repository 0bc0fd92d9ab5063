"""The daemon's lifetime: open the store (embedded or on Kubo), serve, drain on SIGTERM, flush, exit.

::

    async with Daemon(DaemonConfig(directory=Path("data"), port=0)) as daemon:
        print(daemon.url)                 # http://127.0.0.1:<free port>
        ...                               # leaving the block drains and closes

:func:`serve` runs one until SIGTERM or SIGINT. Stopping: the listening socket
closes, live event streams end, in-flight requests finish (up to
``drain_timeout``), then the store is closed, which commits what is pending.
While running, ``<directory>/daemon.json`` tells clients (the CLI) where the
daemon listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

import orbitstore
from orbitstore.api._anchoring import Anchoring
from orbitstore.api._sync import SyncService
from orbitstore.api.local import LocalAPI
from orbitstore.daemon.app import create_app
from orbitstore.daemon.auth import load_or_create_token
from orbitstore.daemon.config import DaemonConfig
from orbitstore.daemon.logs import JsonAccessLogger
from orbitstore.errors import ConfigError
from orbitstore.storage.base import Storage

if TYPE_CHECKING:
    from orbitstore.kubo import KuboClient

__all__ = ["API_FILE", "Daemon", "free_port", "read_api_file", "serve"]

API_FILE = "daemon.json"

_log = logging.getLogger("orbitstore.daemon")


def read_api_file(directory: str | os.PathLike[str]) -> str | None:
    """The URL of the daemon serving ``directory``, when one is running (its pid is alive)."""
    try:
        info = json.loads((Path(directory) / API_FILE).read_text())
        pid, url = int(info["pid"]), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return url


async def _kubo_blocks(config: DaemonConfig, stack: AsyncExitStack) -> tuple[Storage, KuboClient] | None:
    """Block storage on Kubo (and its client) for ``--kubo URL`` or ``--kubo spawn``; ``None`` for embedded."""
    if config.kubo is None:
        return None
    from orbitstore.kubo import KuboClient, KuboNode, find_ipfs_binary
    from orbitstore.storage.kubo import KuboStorage

    if config.kubo == "spawn":
        if config.directory is None:
            raise ConfigError("--kubo spawn needs a data directory")
        binary = find_ipfs_binary()
        if binary is None:
            raise ConfigError("--kubo spawn: no ipfs binary found (run ipfs-config/install-kubo.sh)")
        node = KuboNode(config.directory / "kubo", binary=binary)
        await node.start()
        stack.push_async_callback(node.aclose)
        client = node.client
        _log.info("kubo node started", extra={"kubo": node.api_url})
    else:
        client = KuboClient(config.kubo)
        stack.push_async_callback(client.aclose)
        version = await client.version()
        _log.info("kubo connected", extra={"kubo": config.kubo, "kubo_version": version.version})
    storage = KuboStorage(client)
    stack.push_async_callback(storage.aclose)
    return storage, client


def _sync_service(config: DaemonConfig, client: KuboClient | None) -> SyncService | None:
    """Replication: Kubo pubsub and bitswap (with the direct fast path) or, without Kubo, static direct peers."""
    if not config.sync:
        return None
    from orbitstore.sync import DirectNode, KuboBlocks, KuboPubSub

    direct = DirectNode(host=config.direct_host, port=config.direct_port)
    if client is not None:
        return SyncService(pubsub=KuboPubSub(client), blocks=KuboBlocks(client), direct=direct)
    return SyncService(direct=direct, peers=config.peers)


class Daemon:
    """One running daemon; ``async with`` starts it and stops it (drain, flush)."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.url = ""
        self.token = ""
        self.api: LocalAPI | None = None
        self.app: web.Application | None = None
        self._stack = AsyncExitStack()
        self._runner: web.AppRunner | None = None
        self._started = False
        self._stopped = False

    async def start(self) -> None:
        """Open the store, bind, serve."""
        if self._started:
            return
        self._started = True
        config = self.config
        try:
            self.token = config.token if config.token is not None else load_or_create_token(config.directory)  # type: ignore[arg-type]
            kubo = await _kubo_blocks(config, self._stack)
            blocks, client = kubo if kubo is not None else (None, None)
            store = await orbitstore.open(
                config.directory, identity=config.identity, blocks=blocks, durability=config.durability
            )
            self._stack.push_async_callback(store.aclose)
            anchoring = await Anchoring.open(store)
            sync = _sync_service(config, client)
            # The app closes the API on cleanup, and so the replicators (before the store), then the anchorer.
            self.api = LocalAPI(store, anchoring=anchoring, sync=sync)
            if anchoring is not None:
                self._stack.push_async_callback(anchoring.aclose)  # if start fails before the app exists
            if sync is not None:
                self._stack.push_async_callback(sync.aclose)  # idem (closing twice does nothing)
                await sync.start()
                await self.api.start_sync()
            app = create_app(
                self.api,
                token=self.token,
                max_body=config.max_body,
                max_upload=config.max_upload,
                keepalive=config.keepalive,
            )
            self.app = app
            runner = web.AppRunner(
                app,
                handle_signals=False,
                access_log_class=JsonAccessLogger,
                shutdown_timeout=config.drain_timeout,
            )
            await runner.setup()
            self._runner = runner
            site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
            await site.start()
            self.url = _bound_url(runner, config.host)
            self._write_api_file()
        except BaseException:
            await self.stop()
            raise
        sync_endpoint = self.api.sync.endpoint if self.api is not None and self.api.sync is not None else None
        _log.info(
            "listening",
            extra={"url": self.url, "directory": str(config.directory), "kubo": config.kubo, "sync": sync_endpoint},
        )

    def _write_api_file(self) -> None:
        if self.config.directory is None:
            return
        path = self.config.directory / API_FILE
        path.write_text(json.dumps({"url": self.url, "pid": os.getpid()}) + "\n")

    def _remove_api_file(self) -> None:
        if self.config.directory is None:
            return
        path = self.config.directory / API_FILE
        with contextlib.suppress(OSError, ValueError, KeyError):
            if json.loads(path.read_text())["pid"] == os.getpid():
                path.unlink()

    async def stop(self) -> None:
        """Stop listening, end streams, drain in-flight requests, close the store. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        _log.info("stopping: draining requests", extra={"url": self.url})
        try:
            if self._runner is not None:
                await self._runner.cleanup()  # sites stop, streams end, requests drain, API closes
        finally:
            self._remove_api_file()
            await self._stack.aclose()  # store (flush), then Kubo storage and node
        _log.info("stopped", extra={"url": self.url})

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def _bound_url(runner: web.AppRunner, host: str) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound_host, port = address[0], address[1]
            if ":" in str(bound_host):
                return f"http://[{bound_host}]:{port}"
            return f"http://{bound_host}:{port}"
    raise ConfigError(f"the daemon did not bind {host}")


async def serve(
    config: DaemonConfig,
    *,
    on_ready: Callable[[Daemon], Any] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a daemon until SIGTERM or SIGINT (or ``stop`` is set), then drain and close."""
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        async with Daemon(config) as daemon:
            if on_ready is not None:
                on_ready(daemon)
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
