"""What replication runs over: three Protocols, each with an in-memory and a real implementation.

* :class:`PubSub` carries heads (best effort, like gossipsub): a message on the
  database's topic is the raw block of one head entry, exactly as OrbitDB
  sends it. Implemented by :class:`~orbitstore.sync.memory.MemoryPubSub` and
  :class:`~orbitstore.sync.kubo.KuboPubSub`.
* :class:`BlockSource` fetches a missing block by CID (bitswap through Kubo,
  or another peer's storage in memory). Implemented by
  :class:`~orbitstore.sync.memory.MemoryBlocks` and
  :class:`~orbitstore.sync.kubo.KuboBlocks`.
* :class:`DirectPath` is the fast path between orbitstore peers: send our
  heads, receive only the missing blocks in one stream. Implemented over TCP
  by :class:`~orbitstore.sync.direct.DirectNode`.

Peers appear and leave silently on pubsub; the replicator notices by polling
:meth:`PubSub.peers`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from orbitstore.log import Log

__all__ = [
    "BlockSource",
    "DirectBlock",
    "DirectDone",
    "DirectItem",
    "DirectPath",
    "Message",
    "PubSub",
    "Subscription",
]


@dataclass(frozen=True, slots=True)
class Message:
    """One pubsub message: who sent it (a peer id) and its raw bytes."""

    peer: str
    data: bytes


@runtime_checkable
class Subscription(Protocol):
    """A live subscription: iterate for messages; :meth:`aclose` ends it (idempotent)."""

    def __aiter__(self) -> AsyncIterator[Message]:
        """Messages in arrival order; the iteration ends after :meth:`aclose`."""
        ...

    async def aclose(self) -> None:
        """Unsubscribe. Safe to call twice."""
        ...


@runtime_checkable
class PubSub(Protocol):
    """Best-effort publish/subscribe between peers (Kubo's gossipsub, or the memory hub)."""

    async def local_peer(self) -> str:
        """This node's peer id (its own messages carry it)."""
        ...

    async def subscribe(self, topic: str) -> Subscription:
        """Subscribe to ``topic``; the subscription is active when this returns."""
        ...

    async def publish(self, topic: str, data: bytes) -> None:
        """Send ``data`` to the peers subscribed to ``topic`` (no delivery guarantee)."""
        ...

    async def peers(self, topic: str) -> list[str]:
        """The other peers currently subscribed to ``topic``."""
        ...


@runtime_checkable
class BlockSource(Protocol):
    """Fetches blocks other peers hold, by CID."""

    async def get(self, cid: str) -> bytes | None:
        """The block ``cid``, or ``None`` when no peer has it.

        May raise :class:`~orbitstore.errors.StorageTimeout` when peers do not
        deliver in time. The caller verifies what it gets (hash, signature).
        """
        ...


@dataclass(frozen=True, slots=True)
class DirectBlock:
    """A block sent on the direct path. ``cid`` is what the sender claims; the log checks it."""

    cid: str
    data: bytes


@dataclass(frozen=True, slots=True)
class DirectDone:
    """The end of a direct stream: the sender's heads and how many blocks it sent."""

    heads: tuple[str, ...]
    blocks: int


DirectItem = DirectBlock | DirectDone


@runtime_checkable
class DirectPath(Protocol):
    """The fast path between orbitstore peers.

    A client sends the heads it has for a database; the server answers with
    every block the client lacks (identity blocks first, then entries parents
    first), then :class:`DirectDone` with its heads.
    """

    @property
    def endpoint(self) -> str | None:
        """Where other peers reach this node's server (``host:port``), or ``None`` (client only)."""
        ...

    def serve(self, log: Log) -> Callable[[], None]:
        """Serve ``log`` (keyed by its id, the database address); returns a function that stops serving it."""
        ...

    def exchange(
        self, endpoint: str, *, address: str, heads: Sequence[str]
    ) -> AbstractAsyncContextManager[AsyncIterator[DirectItem]]:
        """Ask ``endpoint`` for what we lack of ``address`` given our ``heads``; use with ``async with``."""
        ...
