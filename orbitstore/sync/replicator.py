"""The replicator: keeps one database in sync with the peers on its pubsub topic.

::

    async with Replicator(db, pubsub=KuboPubSub(client), blocks=KuboBlocks(client)) as replicator:
        await db.add("hello")                  # published to the peers at once
        await replicator.synced(timeout=10)    # every head the peers announced is here

What it does (``docs/replication.md`` has the protocol):

* subscribes to the database topic (its address) and to the hello topic;
* publishes the head block after every local write (coalesced when writes
  come faster than publishes), and re-announces all heads — plus a ``hello``
  with its direct endpoint — every ``announce_interval`` seconds and when a
  new peer appears;
* for every head received: budget check, size check, strict decode, then
  ``db.join_entry`` with a fetcher that gets missing blocks from ``blocks``
  with bounded concurrency (the log verifies every entry before storing any);
  a peer that announced a direct endpoint is asked over ``direct`` instead,
  and its stream is joined chunk by chunk;
* one worker joins, in arrival order, so joins never race;
* a :class:`~orbitstore.sync.budget.PeerLedger` drops or cuts off peers that
  flood or lie.

The parts live in sibling modules, one concept each: ``_intake`` (subscriptions, message checks,
queueing), ``_joining`` (the worker and its jobs), ``_direct_client`` (direct exchanges, static
peers), ``_announce`` (publishing, peer tracking), ``_status`` (what it reports) and ``_signals``
(counters, progress events).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from orbitstore.config import (
    DEFAULT_ANNOUNCE_INTERVAL,
    DEFAULT_DIRECT_RETRY,
    DEFAULT_PEER_POLL_INTERVAL,
    DEFAULT_PROGRESS_STEP,
    DEFAULT_SYNC_CHUNK_BYTES,
    DEFAULT_SYNC_CHUNK_ENTRIES,
    DEFAULT_SYNC_FETCH_CONCURRENCY,
    DEFAULT_SYNC_FETCH_TIMEOUT,
    DEFAULT_SYNC_PREFETCH,
    MAX_BLOCK_SIZE,
)
from orbitstore.errors import ConfigError, SyncError
from orbitstore.sync._announce import _Announcing
from orbitstore.sync._direct_client import _DirectClient
from orbitstore.sync._intake import _Intake
from orbitstore.sync._jobs import _Job, fail_start, undo_all
from orbitstore.sync._joining import _Joining
from orbitstore.sync._signals import ProgressCallback, Signals
from orbitstore.sync._status import _Status
from orbitstore.sync.budget import PeerBudget, PeerLedger
from orbitstore.sync.direct import parse_endpoint
from orbitstore.sync.messages import hello_topic
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.transport import BlockSource, DirectPath, PubSub, Subscription

if TYPE_CHECKING:
    from orbitstore.databases.base import Database

__all__ = ["ProgressCallback", "Replicator"]


class Replicator(_Intake, _Joining, _DirectClient, _Announcing, _Status):
    """Replicates ``db`` with the peers on ``pubsub``, or with static direct peers; an async context manager.

    Direct-only mode (no Kubo): ``pubsub=None``, a ``direct`` node and
    ``direct_peers`` (endpoints ``host:port``). Each static peer is polled
    every ``peer_poll_interval`` seconds with a direct exchange (what it has
    that we lack; an exchange with nothing to send is one short round trip),
    an unreachable one with backoff up to ``announce_interval``. A peer is
    present while its last exchange succeeded. Our side is pulled by peers
    that list us: replication both ways needs each side to list the other.

    ``blocks`` fetches missing history (without it, the database's own block
    storage is asked, e.g. a Kubo storage that fetches by bitswap); ``direct``
    enables the fast path with orbitstore peers that announce an endpoint.
    Options: ``announce_interval`` (seconds between re-announcements),
    ``peer_poll_interval`` (how often the topic's peers are listed),
    ``budget`` (per-peer limits), ``fetch_concurrency`` and ``fetch_timeout``
    (blocks fetched at once, seconds per block), ``max_block_size`` (larger
    messages and blocks are rejected), ``chunk_entries`` and ``chunk_bytes``
    (direct-path entries, or bytes, received before they are joined: bounds
    memory, and what a restart keeps), ``prefetch`` (blocks fetched ahead of
    the log along ``next``/``refs`` from the block source; 0 turns it off),
    ``direct_retry`` (seconds before a peer's failed direct endpoint is tried
    again), ``progress_step`` (blocks between ``fetched`` events).
    """

    def __init__(
        self,
        db: Database,
        *,
        pubsub: PubSub | None = None,
        blocks: BlockSource | None = None,
        direct: DirectPath | None = None,
        direct_peers: Sequence[str] = (),
        announce_interval: float = DEFAULT_ANNOUNCE_INTERVAL,
        peer_poll_interval: float = DEFAULT_PEER_POLL_INTERVAL,
        budget: PeerBudget | None = None,
        fetch_concurrency: int = DEFAULT_SYNC_FETCH_CONCURRENCY,
        fetch_timeout: float = DEFAULT_SYNC_FETCH_TIMEOUT,
        max_block_size: int = MAX_BLOCK_SIZE,
        chunk_entries: int = DEFAULT_SYNC_CHUNK_ENTRIES,
        chunk_bytes: int = DEFAULT_SYNC_CHUNK_BYTES,
        prefetch: int = DEFAULT_SYNC_PREFETCH,
        direct_retry: float = DEFAULT_DIRECT_RETRY,
        progress_step: int = DEFAULT_PROGRESS_STEP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if announce_interval <= 0 or peer_poll_interval <= 0 or fetch_timeout <= 0:
            raise ConfigError("intervals and timeouts must be positive")
        if prefetch < 0 or min(fetch_concurrency, chunk_entries, chunk_bytes, progress_step, max_block_size) < 1:
            raise ConfigError("prefetch cannot be negative; the other sizes and counts must be positive")
        if pubsub is None and direct is None:
            raise ConfigError("without pubsub, a replicator needs a direct node (and direct_peers to pull from)")
        if pubsub is not None and direct_peers:
            raise ConfigError("direct_peers are for the direct-only mode (pubsub=None)")
        for endpoint in direct_peers:
            parse_endpoint(endpoint)
        self.db = db
        self.address = str(db.address)
        self._log_id = db.log.id
        self._pubsub = pubsub
        self._blocks = blocks
        self._direct = direct
        self._static = tuple(dict.fromkeys(direct_peers))
        self._static_retry: dict[str, tuple[float, float]] = {}  # endpoint -> (retry at, backoff)
        self._peer_heads: dict[str, tuple[str, ...]] = {}  # the heads each peer last told us
        self._announce_interval = announce_interval
        self._poll_interval = peer_poll_interval
        self._ledger = PeerLedger(budget if budget is not None else PeerBudget(), clock=clock)
        self._fetch_limit = asyncio.Semaphore(fetch_concurrency)
        self._fetch_timeout = fetch_timeout
        self._max_block_size = max_block_size
        self._chunk_entries = chunk_entries
        self._chunk_bytes = chunk_bytes
        self._prefetch = prefetch
        self._direct_retry = direct_retry
        self._clock = clock
        self._progress_step = progress_step
        self._signals = Signals()  # counters, progress events, change notification
        # peer state
        self._me = ""
        self._table = PeerTable(max_heads=self._ledger.budget.max_pending)
        # work
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued_heads: set[str] = set()
        self._pending: dict[str, int] = {}
        self._direct_queued: set[str] = set()
        self._current: _Job | None = None
        self._loud_jobs = 0  # queued jobs that are not direct-only polls
        self._dirty = asyncio.Event()
        self._last_published: set[str] = set()
        # lifetime
        self._runner: asyncio.Task[None] | None = None
        self._subscriptions: list[Subscription] = []
        self._cleanup: list[Callable[[], None]] = []
        self._closed = False

    # -- lifetime --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe and start the background tasks; returns once subscribed. Calling it again does nothing."""
        if self._closed:
            raise SyncError("the replicator is closed")
        if self._runner is not None:
            return
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(ready), name=f"replicator {self.address}")
        self._runner.add_done_callback(lambda _: self._signals.changed())  # wakes synced() to report a failure
        try:
            await ready
        except BaseException:
            await self._stop()
            self._failure()  # the same exception is raised here: mark the runner's as seen
            raise

    async def aclose(self) -> None:
        """Stop replicating (the database stays open). Safe to call twice.

        Raises :class:`SyncError` if a background task had failed.
        """
        if self._closed:
            return
        await self._stop()
        failure = self._failure()
        if failure is not None:
            raise failure

    async def _stop(self) -> None:
        self._closed = True
        runner = self._runner
        if runner is not None:
            runner.cancel()
            await asyncio.wait([runner])
        self._signals.close()

    def _failure(self) -> SyncError | None:
        runner = self._runner
        if runner is None or not runner.done() or runner.cancelled():
            return None
        exc = runner.exception()
        if exc is None:
            return None
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        error = SyncError(f"replicator of {self.address} stopped: {exc!r}")
        error.__cause__ = exc
        return error

    def _check_running(self) -> None:
        failure = self._failure()
        if failure is not None:
            raise failure
        if self._runner is None or self._closed:
            raise SyncError("the replicator is not running (use it with async with, or call start())")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            await self.aclose()
        else:
            await self._stop()  # the exception in flight wins over a background failure
            self._failure()

    async def _run(self, ready: asyncio.Future[None]) -> None:
        if self._pubsub is None:
            await self._run_static(ready)
            return
        try:
            self._me = await self._pubsub.local_peer()
            main = await self._subscribe(self.address)
            hello = await self._subscribe(hello_topic(self.address))
            if self._direct is not None:
                self._cleanup.append(self._direct.serve(self.db.log))
            self._cleanup.append(self.db.on_update(self._on_update))
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive(self.address, main, self._on_head_message))
                group.create_task(self._receive(hello_topic(self.address), hello, self._on_hello))
                group.create_task(self._work())
                group.create_task(self._publish_updates())
                group.create_task(self._announce_periodically())
                group.create_task(self._watch_peers())
                ready.set_result(None)
        except BaseException as exc:
            fail_start(ready, exc)
            raise
        finally:
            undo_all(self._cleanup)
            for subscription in self._subscriptions:
                await subscription.aclose()
            self._subscriptions.clear()
