"""Replication: keep a database in sync with its peers.

- :class:`Replicator` — joins the heads peers announce (with their verified
  history), publishes ours, re-announces, reports progress and ``synced()``;
- transports behind Protocols (:mod:`orbitstore.sync.transport`):
  :class:`PubSub`, :class:`BlockSource` and the :class:`DirectPath`;
- in memory for tests: :class:`MemoryHub` (with :class:`Faults`);
- over Kubo: :class:`KuboPubSub` (gossipsub, as OrbitDB) and :class:`KuboBlocks` (bitswap);
- the direct fast path between orbitstore peers: :class:`DirectNode` (TCP);
- :class:`PeerBudget` — what a peer may cost before it is dropped or cut off.

See ``docs/replication.md``.
"""

from orbitstore.sync.budget import Admission, PeerBudget, PeerLedger
from orbitstore.sync.direct import DirectNode, DirectStats, parse_endpoint
from orbitstore.sync.events import PeerStatus, Progress, ProgressKind, ReplicatorStatus, SyncStats
from orbitstore.sync.kubo import KuboBlocks, KuboPubSub, KuboSubscription
from orbitstore.sync.memory import Faults, MemoryBlocks, MemoryHub, MemoryPubSub, MemorySubscription
from orbitstore.sync.messages import Have, Hello, Refusal, hello_topic
from orbitstore.sync.plan import missing_entries
from orbitstore.sync.replicator import ProgressCallback, Replicator
from orbitstore.sync.transport import (
    BlockSource,
    DirectBlock,
    DirectDone,
    DirectItem,
    DirectPath,
    Message,
    PubSub,
    Subscription,
)

__all__ = [
    "Admission",
    "BlockSource",
    "DirectBlock",
    "DirectDone",
    "DirectItem",
    "DirectNode",
    "DirectPath",
    "DirectStats",
    "Faults",
    "Have",
    "Hello",
    "KuboBlocks",
    "KuboPubSub",
    "KuboSubscription",
    "MemoryBlocks",
    "MemoryHub",
    "MemoryPubSub",
    "MemorySubscription",
    "Message",
    "PeerBudget",
    "PeerLedger",
    "PeerStatus",
    "Progress",
    "ProgressCallback",
    "ProgressKind",
    "PubSub",
    "Refusal",
    "Replicator",
    "ReplicatorStatus",
    "Subscription",
    "SyncStats",
    "hello_topic",
    "missing_entries",
    "parse_endpoint",
]
