"""The anchor backend Protocol: put one Merkle root somewhere durable, and check it is still there."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from orbitstore.anchoring.policy import VerifyPolicy
from orbitstore.anchoring.receipt import AnchorFacts

__all__ = ["AnchorBackend"]


@runtime_checkable
class AnchorBackend(Protocol):
    """Anchors Merkle roots and verifies what it reported.

    Implementations: :class:`~orbitstore.anchoring.backends.local.LocalLedgerBackend`
    (``"local"``), :class:`~orbitstore.anchoring.backends.evm.EvmBackend` (``"evm"``)
    and :class:`~orbitstore.anchoring.backends.ethtester.EthTesterBackend`
    (``"eth-tester"``). A Substrate backend has its place reserved in
    :mod:`orbitstore.anchoring.backends.substrate`.
    """

    @property
    def kind(self) -> str:
        """The ``anchor.kind`` this backend writes into receipts."""
        ...

    async def anchor(self, root: bytes, count: int, meta: str) -> AnchorFacts:
        """Anchor ``root`` (32 bytes) of a batch of ``count`` leaves, with free text ``meta``.

        Returns once the root is durably recorded (a mined, successful
        transaction; an fsynced ledger record). Raises
        :class:`~orbitstore.errors.AnchorError` with the reason otherwise.
        """
        ...

    async def verify(self, facts: AnchorFacts, root: bytes, policy: VerifyPolicy, *, count: int | None = None) -> None:
        """Check that ``facts`` still hold for ``root`` under ``policy``.

        Raises :class:`~orbitstore.errors.ReceiptInvalid` naming the failed check.
        ``count``, when given, must match the leaf count that was anchored.
        """
        ...

    async def aclose(self) -> None:
        """Release connections and files. Safe to call twice."""
        ...
