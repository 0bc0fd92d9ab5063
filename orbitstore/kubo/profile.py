"""The isolated Kubo profile orbitstore uses for local swarms and tests.

Applied on top of ``ipfs init --profile=test`` (loopback addresses on port 0,
no bootstrap, no mDNS, AutoConf and AutoTLS off). ``ipfs-config/init-node.sh``
sets the same keys with ``ipfs config``; a test checks that both agree.

What each setting is for:

* ``Addresses.API`` / ``Addresses.Gateway`` = ``/ip4/127.0.0.1/tcp/<port>``: the RPC
  API gives full control of the node, so it never listens beyond loopback;
* ``Addresses.Swarm`` = ``/ip4/127.0.0.1/tcp/<port>``: peers are local, and TCP is
  the one transport a private network (``swarm.key``) supports;
* ``Bootstrap`` = ``[]``: the network is closed, no public peers;
* ``Routing.Type`` = ``none``: no DHT; blocks move by bitswap between connected peers;
* ``Pubsub.Enabled`` = ``true``: heads travel on pubsub (gossipsub);
* ``Discovery.MDNS.Enabled`` = ``false``: peers are connected explicitly;
* ``AutoConf.Enabled`` / ``AutoTLS.Enabled`` = ``false``: both reach the internet;
* ``AutoNAT.ServiceMode`` = ``disabled``: nothing to learn about NAT on loopback;
* ``Swarm.RelayClient.Enabled`` / ``Swarm.RelayService.Enabled`` = ``false``: no relays;
* ``Swarm.Transports.Network.{QUIC,WebTransport,WebRTCDirect,Websocket}`` = ``false``:
  TCP only (pnet-compatible, no UDP sockets);
* ``Plugins.Plugins.telemetry.Config.Mode`` = ``off``: no usage reports (the node
  also runs with ``IPFS_TELEMETRY=off``);
* ``Internal.Bitswap.WantHaveReplaceSize`` = ``WANT_HAVE_REPLACE_SIZE`` (64 KiB): a
  peer asked whether it has a block this small sends the block at once, instead
  of "have" and then the block on a second request. Kubo's default (1 KiB) is
  below a typical OrbitDB entry (1–2 KiB), so each entry fetched over bitswap
  cost two round trips, each at least 20 ms (bitswap waits that long between
  two messages to one peer).

Ports default to 0: the kernel picks free ones when the daemon starts, and the
API address is then in ``$IPFS_PATH/api``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orbitstore.errors import ConfigError

__all__ = ["WANT_HAVE_REPLACE_SIZE", "apply_profile", "get_key", "profile_settings", "update_config_file"]

#: blocks up to this size are sent in answer to a want-have (see the module doc)
WANT_HAVE_REPLACE_SIZE = 65536


def profile_settings(*, api_port: int = 0, gateway_port: int = 0, swarm_port: int = 0) -> dict[str, Any]:
    """Return the profile as ``{dotted key: value}``; port 0 lets the kernel pick a free port."""
    return {
        "Addresses.API": f"/ip4/127.0.0.1/tcp/{api_port}",
        "Addresses.Gateway": f"/ip4/127.0.0.1/tcp/{gateway_port}",
        "Addresses.Swarm": [f"/ip4/127.0.0.1/tcp/{swarm_port}"],
        "Bootstrap": [],
        "Routing.Type": "none",
        "Pubsub.Enabled": True,
        "Discovery.MDNS.Enabled": False,
        "AutoConf.Enabled": False,
        "AutoTLS.Enabled": False,
        "AutoNAT.ServiceMode": "disabled",
        "Swarm.RelayClient.Enabled": False,
        "Swarm.RelayService.Enabled": False,
        "Swarm.Transports.Network.QUIC": False,
        "Swarm.Transports.Network.WebTransport": False,
        "Swarm.Transports.Network.WebRTCDirect": False,
        "Swarm.Transports.Network.Websocket": False,
        "Plugins.Plugins.telemetry.Config.Mode": "off",
        "Internal.Bitswap.WantHaveReplaceSize": WANT_HAVE_REPLACE_SIZE,
    }


def get_key(config: Mapping[str, Any], dotted: str) -> Any:
    """Return the value at ``dotted`` (e.g. ``"Routing.Type"``) in a Kubo config, or ``None``."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def apply_profile(config: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Set every ``{dotted key: value}`` of ``settings`` in ``config`` (in place); return it."""
    for dotted, value in settings.items():
        node = config
        *parents, last = dotted.split(".")
        for part in parents:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"cannot set {dotted}: {part} is not an object in the Kubo config")
            node = child
        node[last] = value
    return config


def update_config_file(repo: Path, settings: Mapping[str, Any]) -> None:
    """Apply ``settings`` to the ``config`` file of the Kubo repository at ``repo``."""
    path = repo / "config"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read Kubo config {path}: {exc}") from exc
    apply_profile(config, settings)
    # The config holds the node's private key: keep it 0600, and replace it atomically.
    tmp = path.with_name("config.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(config, indent=2) + "\n")
    tmp.replace(path)
