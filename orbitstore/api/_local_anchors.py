"""The anchoring part of :class:`~orbitstore.api.local.LocalAPI`: submit, status, verify."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orbitstore.api._anchoring import Anchoring
from orbitstore.api._validate import check_text
from orbitstore.api.errors import NotAvailable
from orbitstore.api.models import AnchorInfo, VerifyResult


class _Anchors:
    """Anchor calls, served by the API's :class:`Anchoring`; :class:`NotAvailable` without one."""

    anchoring: Anchoring | None

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        def _check_open(self) -> None: ...

    def _anchoring(self) -> Anchoring:
        self._check_open()
        if self.anchoring is None:
            raise NotAvailable("anchoring", "this node has no data directory, so no ledger")
        return self.anchoring

    async def anchor(self, cid: str, *, wait: bool = False) -> AnchorInfo:
        """Submit ``cid`` for anchoring; with ``wait``, close its batch now and wait for it."""
        anchoring = self._anchoring()
        return await anchoring.submit(check_text(cid, "cid", max_length=256), wait=wait is True)

    async def anchor_status(self, cid: str) -> AnchorInfo:
        """Where anchoring ``cid`` stands."""
        return await self._anchoring().status(check_text(cid, "cid", max_length=256))

    async def verify(self, subject: str) -> VerifyResult:
        """Verify a receipt, or the receipt of a CID anchored here."""
        return await self._anchoring().verify(check_text(subject, "subject", max_length=256))
