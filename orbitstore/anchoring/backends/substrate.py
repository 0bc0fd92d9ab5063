"""Reserved: a Substrate backend anchoring with ``system.remark_with_event``. NOT IMPLEMENTED.

The original proposal ran on a Substrate chain; this is where its backend goes.
The plan, so that receipts and the verifier need no change beyond a new kind:

* ``anchor(root, count, meta)`` submits one extrinsic
  ``system.remark_with_event(remark)`` with ``remark = b"orbitstore/1" || root ||
  count (u64, big-endian) || meta``, signed by the node's sr25519 or ecdsa key,
  and waits for finality (GRANDPA), not mere inclusion.
* :class:`~orbitstore.anchoring.receipt.AnchorFacts` maps as: ``kind``
  ``"substrate"``; ``chain_id`` a number derived from the genesis hash (or a new
  text field); ``contract`` the pallet call ``"system.remark_with_event"``;
  ``tx_hash`` the extrinsic hash; ``block_number``/``block_hash`` the block that
  includes it; ``timestamp`` from ``timestamp.set`` in that block; ``sender``
  the SS58 account.
* ``verify`` checks the genesis hash, that the block is still canonical (finalized
  head descends from it), that the extrinsic at its index succeeded
  (``system.ExtrinsicSuccess``) and that ``system.Remarked(sender, hash)`` carries
  ``blake2_256(remark)``; confirmations count finalized blocks.

It needs a Substrate RPC client (e.g. ``substrate-interface``) and a test node;
neither is a dependency yet. Adding ``"substrate"`` to
:data:`orbitstore.anchoring.receipt.KINDS` is part of that work.
"""

from __future__ import annotations

from typing import NoReturn

from orbitstore.errors import AnchorError

__all__ = ["SubstrateBackend", "SubstrateNotImplemented"]


class SubstrateNotImplemented(AnchorError, NotImplementedError):
    """The Substrate backend is not written yet."""


class SubstrateBackend:
    """Placeholder for the Substrate (``system.remark_with_event``) backend: not implemented."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        _not_implemented()

    @property
    def kind(self) -> str:
        """Would be ``"substrate"``."""
        return "substrate"


def _not_implemented() -> NoReturn:
    raise SubstrateNotImplemented(
        "the Substrate anchor backend (system.remark_with_event) is not implemented yet; "
        "use the 'local' or 'evm' backend (see docs/anchoring.md, 'Backends')"
    )
