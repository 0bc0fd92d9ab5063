"""The only code that talks to a Kubo (go-ipfs) daemon.

* :class:`KuboClient`: an asyncio client for the Kubo RPC API (blocks, pins,
  pubsub, swarm, DAG import/export, routing), errors translated into
  :mod:`orbitstore.errors`;
* :class:`KuboNode` / :class:`KuboSwarm`: spawn and stop isolated daemons on
  loopback (tests, local swarms);
* :mod:`orbitstore.kubo.profile` and :mod:`orbitstore.kubo.swarmkey`: the
  isolated config profile and private-network keys.

The block storage built on the client is :class:`orbitstore.storage.kubo.KuboStorage`.
See ``docs/kubo.md``.
"""

from __future__ import annotations

from orbitstore.kubo.client import KuboClient, api_url_from_multiaddr
from orbitstore.kubo.node import KuboNode, KuboSwarm, find_ipfs_binary, kubo_version
from orbitstore.kubo.profile import apply_profile, profile_settings
from orbitstore.kubo.subscription import Subscription
from orbitstore.kubo.swarmkey import generate_swarm_key, parse_swarm_key, write_swarm_key
from orbitstore.kubo.types import (
    BlockStat,
    CarImport,
    NodeId,
    Pin,
    PubsubMessage,
    SwarmPeer,
    VersionInfo,
)

__all__ = [
    "BlockStat",
    "CarImport",
    "KuboClient",
    "KuboNode",
    "KuboSwarm",
    "NodeId",
    "Pin",
    "PubsubMessage",
    "Subscription",
    "SwarmPeer",
    "VersionInfo",
    "api_url_from_multiaddr",
    "apply_profile",
    "find_ipfs_binary",
    "generate_swarm_key",
    "kubo_version",
    "parse_swarm_key",
    "profile_settings",
    "write_swarm_key",
]
