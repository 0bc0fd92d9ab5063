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
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from types import TracebackType
from typing import TYPE_CHECKING, Self

from orbitstore.config import DEFAULT_SYNC_FETCH_CONCURRENCY, MAX_BLOCK_SIZE
from orbitstore.errors import (
    AccessDenied,
    ConfigError,
    DatabaseError,
    DecodeError,
    EncryptionError,
    KuboError,
    LogError,
    NotFound,
    PeerBudgetExceeded,
    StorageError,
    SyncError,
    VerifyError,
)
from orbitstore.log import Entry
from orbitstore.sync.budget import Admission, PeerBudget, PeerLedger
from orbitstore.sync.direct import parse_endpoint
from orbitstore.sync.events import PeerStatus, Progress, ReplicatorStatus, SyncStats
from orbitstore.sync.fetch import Fetcher
from orbitstore.sync.messages import MAX_HEADS, Hello, decode_hello, encode_message, hello_topic
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.stream import StreamJoin
from orbitstore.sync.transport import BlockSource, DirectPath, Message, PubSub, Subscription

if TYPE_CHECKING:
    from orbitstore.databases.base import Database, Update

__all__ = ["ProgressCallback", "Replicator"]

ProgressCallback = Callable[[Progress], Awaitable[None] | None]

#: Errors that mean "the peer sent something wrong" (counted against it); DatabaseError covers a
#: type's own checks, such as a dataset record that breaks the schema.
_INVALID = (VerifyError, AccessDenied, DecodeError, LogError, DatabaseError)
#: Errors that mean "could not get it now" (retried on the next announcement).
_UNAVAILABLE = (NotFound, StorageError, KuboError)
#: Errors of a transport that may heal (resubscribe, retry).
_TRANSIENT = (KuboError, StorageError, SyncError, DecodeError, OSError)
_PROGRESS_QUEUE = 1024


class _UseDirect(Exception):  # control flow only: never leaves this module
    """A peer's direct endpoint became known during a block-source join: abandon it, ask directly."""


@dataclass(slots=True, eq=False)
class _Job:
    """Work for the worker: join one head (an entry, or a CID to fetch) or run one direct exchange."""

    peer: str
    head: str | None = None
    entry: Entry | None = None
    direct: bool = False
    quiet: bool = False  # a direct-only poll: no known/joined events unless it brings entries
    fetched: int = 0
    known: int = 0


class Replicator:
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
        announce_interval: float = 10.0,
        peer_poll_interval: float = 1.0,
        budget: PeerBudget | None = None,
        fetch_concurrency: int = DEFAULT_SYNC_FETCH_CONCURRENCY,
        fetch_timeout: float = 30.0,
        max_block_size: int = MAX_BLOCK_SIZE,
        chunk_entries: int = 4096,
        chunk_bytes: int = 64 * 1024 * 1024,
        prefetch: int = 256,
        direct_retry: float = 60.0,
        progress_step: int = 256,
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
        self._counts = dict.fromkeys((f.name for f in fields(SyncStats)), 0)
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
        self._changed_event = asyncio.Event()
        # observers
        self._callbacks: list[ProgressCallback] = []
        self._queues: set[asyncio.Queue[Progress | None]] = set()
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
        self._runner.add_done_callback(lambda _: self._changed())  # wakes synced() to report a failure
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
        for queue in list(self._queues):
            queue.put_nowait(None)

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
            if not ready.done():
                if isinstance(exc, asyncio.CancelledError):
                    ready.cancel()
                else:
                    ready.set_exception(exc)
            raise
        finally:
            for undo in self._cleanup:
                undo()
            self._cleanup.clear()
            for subscription in self._subscriptions:
                await subscription.aclose()
            self._subscriptions.clear()

    async def _run_static(self, ready: asyncio.Future[None]) -> None:
        """Direct-only mode: serve our log, poll the static peers, join what they stream."""
        assert self._direct is not None
        try:
            self._me = self._direct.endpoint or "direct"
            self._cleanup.append(self._direct.serve(self.db.log))
            async with asyncio.TaskGroup() as group:
                group.create_task(self._work())
                group.create_task(self._poll_static())
                ready.set_result(None)
        except BaseException as exc:
            if not ready.done():
                if isinstance(exc, asyncio.CancelledError):
                    ready.cancel()
                else:
                    ready.set_exception(exc)
            raise
        finally:
            for undo in self._cleanup:
                undo()
            self._cleanup.clear()

    async def _poll_static(self) -> None:
        while True:
            now = self._clock()
            for endpoint in self._static:
                if self._ledger.is_cut_off(endpoint) or now < self._static_retry.get(endpoint, (0.0, 0.0))[0]:
                    continue
                self._table.set_endpoint(endpoint, endpoint, now=now)
                await self._queue_direct(endpoint, quiet=True)
            await asyncio.sleep(self._poll_interval)

    def _static_result(self, peer: str, *, ok: bool) -> None:
        """Direct-only mode: a static peer is present while its exchanges succeed; else back off."""
        present = set(self._table.present)
        if ok:
            self._static_retry.pop(peer, None)
            present.add(peer)
        else:
            backoff = min(
                max(self._static_retry.get(peer, (0.0, 0.0))[1] * 2, self._poll_interval), self._announce_interval
            )
            self._static_retry[peer] = (self._clock() + backoff, backoff)
            present.discard(peer)
            self._peer_heads.pop(peer, None)
        self._table.update_present(present)
        if ok:
            self._table.hear(peer)
        self._changed()

    async def _subscribe(self, topic: str) -> Subscription:
        assert self._pubsub is not None
        subscription = await self._pubsub.subscribe(topic)
        self._subscriptions.append(subscription)
        return subscription

    # -- what it tells ---------------------------------------------------------------------------

    def stats(self) -> SyncStats:
        """A snapshot of the counters (rejected input, traffic, joins)."""
        return SyncStats(**self._counts)

    def cut_offs(self) -> dict[str, PeerBudgetExceeded]:
        """The peers cut off now, each with the :class:`PeerBudgetExceeded` recorded for it."""
        return self._ledger.cut_offs()

    @property
    def peers(self) -> frozenset[str]:
        """The other peers on the topic, as last polled (direct-only: static peers whose last exchange succeeded)."""
        return self._table.present

    @property
    def endpoint(self) -> str | None:
        """Where our direct path listens (``host:port``), or ``None``."""
        return self._direct.endpoint if self._direct is not None else None

    async def status(self) -> ReplicatorStatus:
        """A snapshot of the replication state; never waits for sync (it only looks heads up in the log)."""
        table = self._table
        cut = self._ledger.cut_offs()
        peers: list[PeerStatus] = []
        known: set[str] = set()
        for peer in sorted(table.present | set(self._static)):
            heads = set(self._peer_heads.get(peer, ())) | set(table.announced(peer))
            missing = 0
            for head in heads:
                if not await self.db.log.has(head):
                    missing += 1
            known |= heads
            peers.append(
                PeerStatus(
                    peer=peer,
                    endpoint=table.endpoint(peer) or (peer if peer in self._static else None),
                    present=peer in table.present,
                    heard=table.heard_since(peer, 0),
                    cut_off=peer in cut,
                    heads=len(heads),
                    missing=missing,
                )
            )
        joined = 0
        for head in known:
            if await self.db.log.has(head):
                joined += 1
        running = self._runner is not None and not self._runner.done() and not self._closed
        return ReplicatorStatus(
            address=self.address,
            mode="pubsub" if self._pubsub is not None else "direct",
            endpoint=self.endpoint,
            running=running,
            synced=running and await self._is_synced(1, 0),
            peers=tuple(peers),
            heads_known=len(known),
            heads_joined=joined,
            pending_joins=self._pending_work(),
            stats=self.stats(),
        )

    def on_progress(self, callback: ProgressCallback) -> Callable[[], None]:
        """Call ``callback(progress)`` for every :class:`Progress` event; returns a function that unsubscribes."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    async def progress(self) -> AsyncIterator[Progress]:
        """Every :class:`Progress` event from now on (ends when the replicator closes).

        A consumer that lags more than 1024 events behind misses the newer ones
        (counted in ``stats().progress_dropped``).
        """
        queue: asyncio.Queue[Progress | None] = asyncio.Queue(_PROGRESS_QUEUE)
        self._queues.add(queue)
        try:
            while not self._closed:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            self._queues.discard(queue)

    async def synced(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - part of the API: answers False rather than raising
        min_peers: int = 1,
        fresh: bool = False,
    ) -> bool:
        """Wait until in sync with the current peers; False if ``timeout`` seconds pass first.

        In sync means: at least ``min_peers`` peers are on the topic (not
        counting cut-off peers); each of them has announced its heads since we
        subscribed — or, with ``fresh``, since this call began (so at least one
        of its announcement rounds has passed: use it after a partition) — by a
        head message or a hello (so a JS OrbitDB peer with an empty database
        never counts as heard); every head they announced is in our log; and no
        join is queued or running. It reflects what was heard: a head published
        but not yet received is not waited for.
        """
        since = self._table.mark() if fresh else 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._check_running()
                    changed = self._changed_event
                    if await self._is_synced(min_peers, since):
                        return True
                    await changed.wait()
        except TimeoutError:
            return False

    async def _is_synced(self, min_peers: int, since: int) -> bool:
        table = self._table
        peers = [p for p in table.present if not self._ledger.is_cut_off(p)]
        if len(peers) < min_peers or self._pending_work():
            return False
        for peer in peers:
            if not table.heard_since(peer, since):
                return False
            for head in self._peer_heads.get(peer, ()):
                if not await self.db.log.has(head):
                    return False
            announced = table.announced(peer)
            for head in list(announced):
                if not await self.db.log.has(head):
                    return False
                announced.pop(head, None)
        return True

    def _pending_work(self) -> int:
        """Jobs queued or running, not counting direct-only polls that have received nothing (yet)."""
        current = self._current
        running = current is not None and not (current.quiet and current.fetched == 0)
        return self._loud_jobs + (1 if running else 0)

    def _changed(self) -> None:
        self._changed_event.set()
        self._changed_event = asyncio.Event()

    def _count(self, name: str, amount: int = 1) -> None:
        self._counts[name] += amount

    async def _emit(self, event: Progress) -> None:
        for queue in list(self._queues):
            if queue.full():
                self._count("progress_dropped")
            else:
                queue.put_nowait(event)
        for callback in list(self._callbacks):
            result = callback(event)
            if inspect.isawaitable(result):
                await result

    # -- publishing ------------------------------------------------------------------------------

    async def announce(self) -> None:
        """Publish every head block and a hello now (also done periodically and for new peers)."""
        if self._pubsub is None:
            return  # direct-only: peers pull
        heads = await self.db.heads()
        self._count("announces")
        # The hello first: a peer that learns our endpoint asks the direct path for the heads that follow.
        endpoint = self._direct.endpoint if self._direct is not None else None
        hello = Hello(endpoint, tuple(h.hash for h in heads[:MAX_HEADS]))
        await self._publish(hello_topic(self.address), encode_message(hello))
        for head in heads:
            await self._publish(self.address, head.bytes)

    async def _publish(self, topic: str, data: bytes) -> None:
        assert self._pubsub is not None
        try:
            await self._pubsub.publish(topic, data)
        except _TRANSIENT:
            self._count("publish_failures")  # best effort: the next announcement repairs it
        else:
            self._count("published")

    def _on_update(self, update: Update) -> None:
        if update.kind == "update":
            self._dirty.set()

    async def _publish_updates(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            heads = await self.db.heads()
            for head in heads:
                if head.hash not in self._last_published:
                    await self._publish(self.address, head.bytes)
            self._last_published = {h.hash for h in heads}

    async def _announce_periodically(self) -> None:
        await self.announce()
        while True:
            await asyncio.sleep(self._announce_interval)
            await self.announce()

    async def _watch_peers(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                peers = set(await self._pubsub.peers(self.address))
            except _TRANSIENT:
                peers = set(self._table.present)
            peers.discard(self._me)
            if self._table.update_present(peers):  # someone new: tell it our heads now
                await self.announce()
            self._changed()
            await asyncio.sleep(self._poll_interval)

    # -- receiving -------------------------------------------------------------------------------

    async def _receive(
        self, topic: str, subscription: Subscription, handle: Callable[[Message], Awaitable[None]]
    ) -> None:
        """Feed ``topic``'s messages to ``handle``; subscribe again (with backoff) when the stream breaks."""
        delay = 0.1
        messages = aiter(subscription)
        while True:
            try:
                message = await anext(messages)
            except StopAsyncIteration:
                return  # the transport ended the subscription for good (closed)
            except _TRANSIENT:  # the stream broke (e.g. Kubo restarted): subscribe again
                await subscription.aclose()
                self._subscriptions.remove(subscription)
                while True:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    try:
                        subscription = await self._subscribe(topic)
                        break
                    except _TRANSIENT:
                        continue
                messages = aiter(subscription)
                continue
            delay = 0.1
            if message.peer != self._me:
                await handle(message)

    def _admit(self, peer: str, size: int) -> bool:
        self._count("received")
        admission = self._ledger.admit_message(peer, size)
        if admission is Admission.ADMIT:
            return True
        if admission is Admission.DROP:
            self._count("rate_limited")
        elif admission is Admission.CUT_OFF:
            self._cut(peer)
        else:
            self._count("dropped")
        return False

    def _cut(self, peer: str) -> None:
        self._count("cut_off")
        self._table.forget(peer)
        self._changed()

    async def _invalid(self, peer: str, reason: str, *, head: str | None = None) -> None:
        if self._ledger.invalid(peer, reason) is Admission.CUT_OFF:
            self._cut(peer)
        await self._emit(Progress("rejected", peer, head, detail=reason))

    def _oversized(self, size: int) -> bool:
        if size > self._max_block_size:
            self._count("oversized")
            return True
        return False

    async def _on_head_message(self, message: Message) -> None:
        peer, data = message.peer, message.data
        if not self._admit(peer, len(data)):
            return
        if self._oversized(len(data)):
            await self._invalid(peer, f"message of {len(data)} bytes exceeds {self._max_block_size}")
            return
        try:
            entry = await self.db.log.decode_entry(data)  # decrypts when the log has encryption
        except (DecodeError, EncryptionError) as exc:
            self._count("invalid")
            await self._invalid(peer, f"undecodable head: {exc}")
            return
        if entry.id != self._log_id:
            self._count("invalid")
            await self._invalid(peer, f"head {entry.hash} belongs to log {entry.id!r}", head=entry.hash)
            return
        self._table.hear(peer)
        await self._on_head(peer, entry.hash, entry)

    async def _on_hello(self, message: Message) -> None:
        peer, data = message.peer, message.data
        if not self._admit(peer, len(data)):
            return
        if self._oversized(len(data)):
            await self._invalid(peer, f"hello of {len(data)} bytes exceeds {self._max_block_size}")
            return
        try:
            hello = decode_hello(data)
        except DecodeError as exc:
            self._count("invalid")
            await self._invalid(peer, f"undecodable hello: {exc}")
            return
        self._table.hear(peer)
        self._peer_heads[peer] = hello.heads
        if hello.endpoint is not None and self._direct is not None:
            self._table.set_endpoint(peer, hello.endpoint, now=self._clock())
        for head in hello.heads:
            await self._on_head(peer, head, None)
        self._changed()

    async def _on_head(self, peer: str, head: str, entry: Entry | None) -> None:
        if await self.db.log.has(head):
            self._changed()
            return
        self._table.announce(peer, head, entry)
        if self._direct is not None and self._table.endpoint(peer) is not None:
            await self._queue_direct(peer)
        else:
            await self._queue_head(peer, head, entry)
        self._changed()

    async def _queue_head(self, peer: str, head: str, entry: Entry | None) -> None:
        if head in self._queued_heads:
            return
        if self._pending.get(peer, 0) >= self._ledger.budget.max_pending:
            self._count("dropped")
            return
        self._queued_heads.add(head)
        self._pending[peer] = self._pending.get(peer, 0) + 1
        self._jobs.put_nowait(_Job(peer, head=head, entry=entry))
        self._loud_jobs += 1
        await self._emit(Progress("known", peer, head, known=1))

    async def _queue_direct(self, peer: str, *, quiet: bool = False) -> None:
        if peer in self._direct_queued:
            return
        self._direct_queued.add(peer)
        self._jobs.put_nowait(_Job(peer, direct=True, quiet=quiet))
        if not quiet:
            self._loud_jobs += 1
        if not quiet:
            await self._emit(Progress("known", peer))

    # -- joining ---------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            self._current = job
            if not job.quiet:
                self._loud_jobs -= 1
            try:
                if job.direct:
                    self._direct_queued.discard(job.peer)
                if not self._ledger.is_cut_off(job.peer):
                    await (self._run_direct(job) if job.direct else self._run_head(job))
            finally:
                self._current = None
                if job.head is not None:
                    self._queued_heads.discard(job.head)
                    self._pending[job.peer] = max(0, self._pending.get(job.peer, 0) - 1)
                self._changed()

    async def _fail(self, job: _Job, exc: Exception) -> None:
        """Account a failed job: the peer's fault (invalid) or not (unavailable, retried later)."""
        if getattr(self.db, "_closed", False):  # Database has no public "closed" yet
            raise SyncError(f"database {self.address} was closed before its replicator") from exc
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, PeerBudgetExceeded):
            await self._emit(Progress("rejected", job.peer, job.head, job.fetched, job.known, detail=reason))
        elif isinstance(exc, (*_INVALID, SyncError)):
            self._count("invalid")
            await self._invalid(job.peer, reason, head=job.head)
        else:
            self._count("failed_joins")
            await self._emit(Progress("rejected", job.peer, job.head, job.fetched, job.known, detail=reason))

    async def _run_head(self, job: _Job) -> None:
        assert job.head is not None
        if await self.db.log.has(job.head):
            return
        fetch = self._fetcher(job)
        try:
            await self._join_head(job, fetch)
        finally:
            await fetch.aclose()

    async def _join_head(self, job: _Job, fetch: Fetcher) -> None:
        assert job.head is not None
        try:
            entry = job.entry
            if entry is None:
                block = await fetch(job.head)
                if block is None:
                    raise NotFound(f"head {job.head} is not available")
                entry = await self.db.log.decode_entry(block, expected_hash=job.head)
                if entry.id != self._log_id:
                    raise LogError(f"head {entry.hash} belongs to log {entry.id!r}")
            added = await self.db.join_entry(entry, fetch=fetch)
        except _UseDirect:  # nothing was stored: the log stores only after the whole join
            await self._queue_direct(job.peer)
            return
        except (*_INVALID, *_UNAVAILABLE, SyncError) as exc:
            await self._fail(job, exc)
            return
        await self._joined(job, len(added))

    async def _joined(self, job: _Job, added: int) -> None:
        if added:
            self._count("joins")
            self._count("joined_entries", added)
        elif job.quiet:
            return
        await self._emit(Progress("joined", job.peer, job.head, job.fetched, job.known, added))

    def _fetcher(self, job: _Job, local: Mapping[str, bytes] | None = None) -> Fetcher:
        """The block fetcher for one job: ``local`` (streamed) blocks first, then the block source."""

        def check() -> None:
            if self._direct is not None and self._table.endpoint(job.peer) is not None:
                raise _UseDirect  # its hello arrived after its head: the direct path is faster

        async def account(block: bytes) -> None:
            job.known = max(job.known, fetcher.requested)
            await self._received_block(job, block)

        fetcher = Fetcher(
            self._blocks,
            log_id=self._log_id,
            limit=self._fetch_limit,
            timeout=self._fetch_timeout,
            has=self.db.log.has,
            account=account,
            local=local,
            window=0 if local is not None else self._prefetch,
            check=check if local is None else None,
        )
        return fetcher

    async def _received_block(self, job: _Job, block: bytes) -> None:
        """Account one fetched or streamed block against the job's peer."""
        size = len(block)
        if self._oversized(size):
            raise SyncError(f"block of {size} bytes exceeds {self._max_block_size}")
        admission = self._ledger.charge_bytes(job.peer, size)
        if admission is Admission.CUT_OFF:
            self._cut(job.peer)
        if admission in (Admission.CUT_OFF, Admission.IGNORED):
            raise PeerBudgetExceeded(f"peer {job.peer} is cut off")
        self._count("fetched_blocks")
        self._count("fetched_bytes", size)
        job.fetched += 1
        if job.fetched % self._progress_step == 0:
            await self._emit(Progress("fetched", job.peer, job.head, job.fetched, max(job.known, job.fetched)))

    async def _run_direct(self, job: _Job) -> None:
        endpoint = self._table.endpoint(job.peer)
        if self._direct is None or endpoint is None:
            await self._fall_back(job.peer)
            return

        async def received(block: bytes) -> None:
            job.known += 1
            await self._received_block(job, block)

        joiner = StreamJoin(
            self.db,
            chunk_entries=self._chunk_entries,
            chunk_bytes=self._chunk_bytes,
            received=received,
            fetcher=lambda local: self._fetcher(job, local),
        )
        # Our heads, then the peer's heads of its last answer that we hold (ancestors of ours): when the peer
        # has nothing new, its walk ends at once, even when it does not know our heads (we are ahead).
        # Also our heads' parents and skip references (ancestors at growing distances): a peer that lacks our
        # newest entries still knows some of them, so it sends little even before we know its heads.
        heads = await self.db.heads()
        have = list(dict.fromkeys([h.hash for h in heads]))
        extra = [*self._peer_heads.get(job.peer, ()), *(p for h in heads for p in (*h.next, *h.refs))]
        for cid in dict.fromkeys(extra):
            if len(have) >= MAX_HEADS:
                break
            if cid not in have and await self.db.log.has(cid):
                have.append(cid)
        try:
            async with self._direct.exchange(endpoint, address=self.address, heads=have) as stream:
                await joiner.run(stream)
        except (*_INVALID, *_UNAVAILABLE, SyncError, ConfigError, OSError, TimeoutError) as exc:
            self._count("direct_failures")
            self._count("joined_entries", joiner.added)
            if self._pubsub is None:  # direct-only: no block source to fall back on; poll again later
                self._static_result(job.peer, ok=False)
                if isinstance(exc, (OSError, TimeoutError, ConfigError)):
                    if not job.quiet or joiner.added:
                        detail = f"direct path: {type(exc).__name__}: {exc}"
                        await self._emit(
                            Progress("rejected", job.peer, None, job.fetched, job.known, joiner.added, detail)
                        )
                else:
                    await self._fail(job, exc)
                return
            # Kept: the chunks joined before the failure. Then the block source takes over.
            # Not again for a while, or a history longer than an announce interval would never finish
            # on the block source: every hello would interrupt it.
            self._table.endpoint_failed(job.peer, retry_at=self._clock() + self._direct_retry)
            if isinstance(exc, (OSError, TimeoutError, ConfigError)):  # unreachable, refused, cut short
                detail = f"direct path: {type(exc).__name__}: {exc}"
                await self._emit(Progress("rejected", job.peer, None, job.fetched, job.known, joiner.added, detail))
            else:
                await self._fail(job, exc)
            await self._fall_back(job.peer)
            return
        self._count("direct_exchanges")
        if joiner.done is not None:
            self._peer_heads[job.peer] = joiner.done.heads
        if self._pubsub is None:
            self._static_result(job.peer, ok=True)
        await self._joined(job, joiner.added)

    async def _fall_back(self, peer: str) -> None:
        """Join a peer's announced heads through the block source (its direct path failed)."""
        if self._ledger.is_cut_off(peer):
            return
        for head, entry in list(self._table.announced(peer).items()):
            if not await self.db.log.has(head):
                await self._queue_head(peer, head, entry)
