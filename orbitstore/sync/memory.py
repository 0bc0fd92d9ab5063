"""In-memory transports for tests: a hub that peers publish through and fetch blocks from.

::

    hub = MemoryHub()
    a = hub.pubsub("peer-a")
    blocks_for_a = hub.blocks("peer-a", store_a.blocks)   # serves A's blocks, fetches others'
    ...
    hub.faults = Faults(drop=1.0)                           # lose every message from now on

Faults apply to each delivery (one publish to one subscriber): ``drop`` and
``duplicate`` are probabilities drawn from the hub's own seeded random
generator (deterministic for a seed), ``delay`` postpones delivery.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from orbitstore.errors import ConfigError, SyncError
from orbitstore.storage.base import Storage
from orbitstore.sync.transport import Message

__all__ = ["Faults", "MemoryBlocks", "MemoryHub", "MemoryPubSub", "MemorySubscription"]


@dataclass(frozen=True, slots=True)
class Faults:
    """Fault injection for a :class:`MemoryHub`: probabilities per delivery, delay in seconds."""

    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.drop <= 1.0 and 0.0 <= self.duplicate <= 1.0) or self.delay < 0:
            raise ConfigError("drop and duplicate are probabilities; delay is non-negative seconds")


class MemorySubscription:
    """A subscription to a :class:`MemoryHub` topic (implements the Subscription Protocol)."""

    def __init__(self, hub: MemoryHub, peer: str, topic: str) -> None:
        self.peer = peer
        self.topic = topic
        self._hub = hub
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._closed = False

    def _deliver(self, message: Message) -> None:
        if not self._closed:
            self._queue.put_nowait(message)

    def __aiter__(self) -> MemorySubscription:
        return self

    async def __anext__(self) -> Message:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Unsubscribe; a pending iteration ends. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._hub._unsubscribe(self)
        self._queue.put_nowait(None)


class MemoryHub:
    """Connects in-memory peers: pubsub topics and the block storages each peer serves."""

    def __init__(self, *, faults: Faults | None = None, seed: int = 0) -> None:
        self.faults = faults if faults is not None else Faults()
        self._random = random.Random(seed)
        self._topics: dict[str, list[MemorySubscription]] = {}
        self._storages: dict[str, Storage] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self.delivered = 0
        self.dropped = 0
        self._closed = False

    # -- peers -------------------------------------------------------------------------------------

    def pubsub(self, peer: str) -> MemoryPubSub:
        """The pubsub transport of ``peer``."""
        return MemoryPubSub(self, peer)

    def blocks(self, peer: str, storage: Storage) -> MemoryBlocks:
        """Make ``storage`` what ``peer`` serves, and return ``peer``'s source of the other peers' blocks."""
        self._storages[peer] = storage
        return MemoryBlocks(self, peer)

    def forget(self, peer: str) -> None:
        """Stop serving ``peer``'s blocks (it went offline)."""
        self._storages.pop(peer, None)

    # -- pubsub ------------------------------------------------------------------------------------

    def _subscribe(self, peer: str, topic: str) -> MemorySubscription:
        if self._closed:
            raise SyncError("the memory hub is closed")
        subscription = MemorySubscription(self, peer, topic)
        self._topics.setdefault(topic, []).append(subscription)
        return subscription

    def _unsubscribe(self, subscription: MemorySubscription) -> None:
        subs = self._topics.get(subscription.topic, [])
        if subscription in subs:
            subs.remove(subscription)

    def _publish(self, peer: str, topic: str, data: bytes) -> None:
        if self._closed:
            raise SyncError("the memory hub is closed")
        message = Message(peer, bytes(data))
        faults = self.faults
        for subscription in list(self._topics.get(topic, ())):
            if subscription.peer == peer:
                continue
            if faults.drop and self._random.random() < faults.drop:
                self.dropped += 1
                continue
            copies = 2 if faults.duplicate and self._random.random() < faults.duplicate else 1
            for _ in range(copies):
                self.delivered += 1
                if faults.delay:
                    self._later(faults.delay, subscription, message)
                else:
                    subscription._deliver(message)

    def _later(self, delay: float, subscription: MemorySubscription, message: Message) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            subscription._deliver(message)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _peers(self, peer: str, topic: str) -> list[str]:
        return sorted({s.peer for s in self._topics.get(topic, ()) if s.peer != peer})

    async def _get(self, peer: str, cid: str) -> bytes | None:
        for owner, storage in list(self._storages.items()):
            if owner == peer:
                continue
            block = await storage.get(cid)
            if block is not None:
                return block
        return None

    async def aclose(self) -> None:
        """Cancel delayed deliveries and end every subscription. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()
        for subs in list(self._topics.values()):
            for subscription in list(subs):
                await subscription.aclose()
        self._storages.clear()


class MemoryPubSub:
    """One peer's pubsub on a :class:`MemoryHub` (implements the PubSub Protocol)."""

    def __init__(self, hub: MemoryHub, peer: str) -> None:
        self._hub = hub
        self.peer = peer

    async def local_peer(self) -> str:
        """This peer's id."""
        return self.peer

    async def subscribe(self, topic: str) -> MemorySubscription:
        """Subscribe to ``topic`` (active at once)."""
        return self._hub._subscribe(self.peer, topic)

    async def publish(self, topic: str, data: bytes) -> None:
        """Deliver ``data`` to the other subscribers of ``topic``, subject to the hub's faults."""
        self._hub._publish(self.peer, topic, data)

    async def peers(self, topic: str) -> list[str]:
        """The other peers subscribed to ``topic``."""
        return self._hub._peers(self.peer, topic)


class MemoryBlocks:
    """A peer's view of the blocks the other peers on the hub serve (implements BlockSource)."""

    def __init__(self, hub: MemoryHub, peer: str) -> None:
        self._hub = hub
        self.peer = peer
        self.requests = 0

    async def get(self, cid: str) -> bytes | None:
        """The block ``cid`` from the first other peer that has it, or ``None``."""
        self.requests += 1
        return await self._hub._get(self.peer, cid)
