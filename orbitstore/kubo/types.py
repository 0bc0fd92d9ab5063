"""Typed results of Kubo RPC calls (frozen, slotted dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BlockStat",
    "CarImport",
    "NodeId",
    "Pin",
    "PubsubMessage",
    "SwarmPeer",
    "VersionInfo",
]


@dataclass(frozen=True, slots=True)
class NodeId:
    """The answer to ``id``: who a node is and where it listens."""

    peer_id: str
    public_key: str
    addresses: tuple[str, ...]
    agent_version: str
    protocols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """The answer to ``version``."""

    version: str
    commit: str
    repo: str
    system: str
    golang: str


@dataclass(frozen=True, slots=True)
class BlockStat:
    """A block's CID (base58btc text for CIDv1) and size in bytes."""

    cid: str
    size: int


@dataclass(frozen=True, slots=True)
class Pin:
    """One pin: a CID (base58btc text for CIDv1) and its type.

    ``type`` is ``recursive``, ``direct`` or ``indirect``; listing one CID, Kubo
    may say ``indirect through <cid>``.
    """

    cid: str
    type: str


@dataclass(frozen=True, slots=True)
class PubsubMessage:
    """A message received on a pubsub subscription.

    ``from_peer`` is the sender's peer id; ``data`` and ``seqno`` are the raw
    bytes (decoded from Kubo's multibase); ``topics`` are the topic names.
    """

    from_peer: str
    data: bytes
    seqno: bytes
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SwarmPeer:
    """A connected peer and the multiaddr of the connection."""

    peer_id: str
    addr: str


@dataclass(frozen=True, slots=True)
class CarImport:
    """The result of ``dag import``: the pinned roots and, when known, block counts."""

    roots: tuple[str, ...]
    block_count: int | None
    block_bytes: int | None
