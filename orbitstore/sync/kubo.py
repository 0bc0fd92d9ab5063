"""Replication transports over a Kubo node: gossipsub for heads, bitswap for blocks.

The pubsub topic is the database address and a message is the raw head
block, exactly as OrbitDB sends it, so JS OrbitDB peers on the same swarm
see our heads and we see theirs (mind the Kubo ≥ 0.40 caveat in
``docs/replication.md``). Kubo pubsub is best effort: a publish can be lost
(a peer not yet in the mesh, a full queue), so :class:`KuboPubSub` retries
failed publishes, serializes them per node, and the replicator re-announces.
"""

from __future__ import annotations

import asyncio

from orbitstore.config import DEFAULT_KUBO_TIMEOUT
from orbitstore.errors import KuboError, NotFound, StorageTimeout, SyncError
from orbitstore.kubo.client import KuboClient
from orbitstore.kubo.subscription import Subscription as KuboStream
from orbitstore.sync.transport import Message

__all__ = ["KuboBlocks", "KuboPubSub", "KuboSubscription"]


class KuboSubscription:
    """A Kubo ``pubsub/sub`` stream seen as :class:`~orbitstore.sync.transport.Subscription`."""

    def __init__(self, stream: KuboStream) -> None:
        self._stream = stream

    def __aiter__(self) -> KuboSubscription:
        return self

    async def __anext__(self) -> Message:
        message = await self._stream.__anext__()
        return Message(message.from_peer, message.data)

    async def aclose(self) -> None:
        """Unsubscribe (Kubo unsubscribes when the request ends). Safe to call twice."""
        await self._stream.aclose()


class KuboPubSub:
    """Implements :class:`~orbitstore.sync.transport.PubSub` with a Kubo node's gossipsub.

    Publishes go out one at a time per transport (an ``asyncio.Lock``): Kubo
    answers each publish only once it is queued, and serializing keeps the
    order of heads. A failed publish is retried ``retries`` times with
    exponential backoff from ``retry_delay``; then :class:`SyncError` is raised.
    The client is borrowed, not closed.
    """

    def __init__(self, client: KuboClient, *, retries: int = 3, retry_delay: float = 0.1) -> None:
        self.client = client
        self._retries = retries
        self._retry_delay = retry_delay
        self._lock = asyncio.Lock()
        self._peer_id: str | None = None

    async def local_peer(self) -> str:
        """The node's peer id (asked once)."""
        if self._peer_id is None:
            self._peer_id = (await self.client.id()).peer_id
        return self._peer_id

    async def subscribe(self, topic: str) -> KuboSubscription:
        """Subscribe to ``topic``; returns once Kubo has subscribed."""
        stream = self.client.pubsub_sub(topic)
        try:
            await stream.start()
        except BaseException:
            await stream.aclose()
            raise
        return KuboSubscription(stream)

    async def publish(self, topic: str, data: bytes) -> None:
        """Publish ``data`` on ``topic``, retrying failures; :class:`SyncError` when every attempt failed."""
        async with self._lock:
            failure: Exception | None = None
            for attempt in range(self._retries + 1):
                try:
                    await self.client.pubsub_pub(topic, data)
                    return
                except (KuboError, StorageTimeout) as exc:
                    failure = exc
                if attempt < self._retries:
                    await asyncio.sleep(self._retry_delay * 2**attempt)
            raise SyncError(f"publish on {topic!r} failed {self._retries + 1} times: {failure}") from failure

    async def peers(self, topic: str) -> list[str]:
        """The peers Kubo knows to be subscribed to ``topic``."""
        return await self.client.pubsub_peers(topic)


class KuboBlocks:
    """Implements :class:`~orbitstore.sync.transport.BlockSource` with ``block/get`` (bitswap).

    A block no connected peer delivers within ``timeout`` seconds raises
    :class:`~orbitstore.errors.StorageTimeout`; Kubo keeps fetched blocks in
    its blockstore, so a retried join finds them locally.
    """

    def __init__(self, client: KuboClient, *, timeout: float = DEFAULT_KUBO_TIMEOUT) -> None:
        self.client = client
        self._timeout = timeout

    async def get(self, cid: str) -> bytes | None:
        """The block ``cid`` from this node or its peers; ``None`` when Kubo says it is not found."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self.client.block_get(cid)
        except NotFound:
            return None
        except StorageTimeout:
            raise
        except TimeoutError as exc:
            raise StorageTimeout(f"block {cid} did not arrive within {self._timeout:g} s") from exc
