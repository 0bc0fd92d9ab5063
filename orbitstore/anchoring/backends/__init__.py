"""Anchor backends behind :class:`~orbitstore.anchoring.backends.base.AnchorBackend`.

``local`` (:mod:`.local`, no extra dependencies), ``evm`` (:mod:`.evm`) and
``eth-tester`` (:mod:`.ethtester`) — the last two need the ``evm`` extra (web3,
eth-tester) and are imported on demand. :mod:`.substrate` is a reserved place.
"""

from orbitstore.anchoring.backends.base import AnchorBackend
from orbitstore.anchoring.backends.local import LocalLedgerBackend

__all__ = ["AnchorBackend", "LocalLedgerBackend"]
