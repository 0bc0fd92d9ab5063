"""Announcing and peer tracking: publishing our heads and hellos, and watching who is on the topic."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from orbitstore.sync._jobs import _TRANSIENT
from orbitstore.sync._signals import Signals
from orbitstore.sync.messages import MAX_HEADS, Hello, encode_message, hello_topic
from orbitstore.sync.peers import PeerTable
from orbitstore.sync.transport import DirectPath, PubSub

if TYPE_CHECKING:
    from orbitstore.databases.base import Database, Update


class _Announcing:
    """The :class:`Replicator` part that publishes heads (after writes, periodically, to new peers) and lists peers."""

    db: Database
    address: str
    _pubsub: PubSub | None
    _direct: DirectPath | None
    _announce_interval: float
    _poll_interval: float
    _signals: Signals
    _me: str
    _table: PeerTable
    _dirty: asyncio.Event
    _last_published: set[str]

    async def announce(self) -> None:
        """Publish every head block and a hello now (also done periodically and for new peers)."""
        if self._pubsub is None:
            return  # direct-only: peers pull
        heads = await self.db.heads()
        self._signals.count("announces")
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
            self._signals.count("publish_failures")  # best effort: the next announcement repairs it
        else:
            self._signals.count("published")

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
            self._signals.changed()
            await asyncio.sleep(self._poll_interval)
