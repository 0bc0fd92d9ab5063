"""Head intake: the pubsub subscriptions, the checks on every message, and the queueing of join jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from orbitstore.errors import DecodeError, EncryptionError
from orbitstore.log import Entry
from orbitstore.sync._jobs import _TRANSIENT, _Job
from orbitstore.sync._signals import Signals
from orbitstore.sync.budget import Admission, PeerLedger
from orbitstore.sync.events import Progress
from orbitstore.sync.messages import decode_hello
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.transport import DirectPath, Message, PubSub, Subscription

if TYPE_CHECKING:
    from orbitstore.databases.base import Database


class _Intake:
    """The :class:`Replicator` part that receives heads and hellos, checks them, and queues join jobs."""

    db: Database
    _log_id: str
    _pubsub: PubSub | None
    _direct: DirectPath | None
    _peer_heads: dict[str, tuple[str, ...]]
    _ledger: PeerLedger
    _max_block_size: int
    _clock: Callable[[], float]
    _signals: Signals
    _me: str
    _table: PeerTable
    _jobs: asyncio.Queue[_Job]
    _queued_heads: set[str]
    _pending: dict[str, int]
    _direct_queued: set[str]
    _loud_jobs: int
    _subscriptions: list[Subscription]

    async def _subscribe(self, topic: str) -> Subscription:
        assert self._pubsub is not None
        subscription = await self._pubsub.subscribe(topic)
        self._subscriptions.append(subscription)
        return subscription

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
        self._signals.count("received")
        admission = self._ledger.admit_message(peer, size)
        if admission is Admission.ADMIT:
            return True
        if admission is Admission.DROP:
            self._signals.count("rate_limited")
        elif admission is Admission.CUT_OFF:
            self._cut(peer)
        else:
            self._signals.count("dropped")
        return False

    def _cut(self, peer: str) -> None:
        self._signals.count("cut_off")
        self._table.forget(peer)
        self._signals.changed()

    async def _invalid(self, peer: str, reason: str, *, head: str | None = None) -> None:
        if self._ledger.invalid(peer, reason) is Admission.CUT_OFF:
            self._cut(peer)
        await self._signals.emit(Progress("rejected", peer, head, detail=reason))

    def _oversized(self, size: int) -> bool:
        if size > self._max_block_size:
            self._signals.count("oversized")
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
            self._signals.count("invalid")
            await self._invalid(peer, f"undecodable head: {exc}")
            return
        if entry.id != self._log_id:
            self._signals.count("invalid")
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
            self._signals.count("invalid")
            await self._invalid(peer, f"undecodable hello: {exc}")
            return
        self._table.hear(peer)
        self._peer_heads[peer] = hello.heads
        if hello.endpoint is not None and self._direct is not None:
            self._table.set_endpoint(peer, hello.endpoint, now=self._clock())
        for head in hello.heads:
            await self._on_head(peer, head, None)
        self._signals.changed()

    async def _on_head(self, peer: str, head: str, entry: Entry | None) -> None:
        if await self.db.log.has(head):
            self._signals.changed()
            return
        self._table.announce(peer, head, entry)
        if self._direct is not None and self._table.endpoint(peer) is not None:
            await self._queue_direct(peer)
        else:
            await self._queue_head(peer, head, entry)
        self._signals.changed()

    async def _queue_head(self, peer: str, head: str, entry: Entry | None) -> None:
        if head in self._queued_heads:
            return
        if self._pending.get(peer, 0) >= self._ledger.budget.max_pending:
            self._signals.count("dropped")
            return
        self._queued_heads.add(head)
        self._pending[peer] = self._pending.get(peer, 0) + 1
        self._jobs.put_nowait(_Job(peer, head=head, entry=entry))
        self._loud_jobs += 1
        await self._signals.emit(Progress("known", peer, head, known=1))

    async def _queue_direct(self, peer: str, *, quiet: bool = False) -> None:
        if peer in self._direct_queued:
            return
        self._direct_queued.add(peer)
        self._jobs.put_nowait(_Job(peer, direct=True, quiet=quiet))
        if not quiet:
            self._loud_jobs += 1
        if not quiet:
            await self._signals.emit(Progress("known", peer))

    async def _fall_back(self, peer: str) -> None:
        """Join a peer's announced heads through the block source (its direct path failed)."""
        if self._ledger.is_cut_off(peer):
            return
        for head, entry in list(self._table.announced(peer).items()):
            if not await self.db.log.has(head):
                await self._queue_head(peer, head, entry)
