"""The API's anchor service: the embedded default (a local ledger) behind an :class:`Anchorer`.

Everything lives in ``<data dir>/anchors``: the ledger file and the journal of
pending submissions. Every answer names the backend, and for the local ledger
that text says plainly that it is not a public chain.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from orbitstore.anchoring import (
    Anchorer,
    AnchorerOptions,
    AnchorHandle,
    AnchorStatus,
    LocalLedgerBackend,
    load_receipt,
)
from orbitstore.anchoring import verify_receipt as _verify_receipt
from orbitstore.api.models import AnchorInfo, VerifyResult
from orbitstore.codec import CID
from orbitstore.errors import AnchorError, NotFound, ReceiptInvalid
from orbitstore.store import OrbitStore

__all__ = ["ANCHOR_DIRECTORY", "Anchoring"]

ANCHOR_DIRECTORY = "anchors"
_RECEIPTS = "api/anchor-receipts"

_log = logging.getLogger("orbitstore.api")
#: An API node closes a batch this many seconds after its first CID (``wait=True`` closes it at once).
DEFAULT_MAX_DELAY = 5.0


class Anchoring:
    """A started :class:`Anchorer` over a :class:`LocalLedgerBackend`, owned by the API that uses it.

    The anchorer knows what it anchored while it runs; this keeps CID → receipt
    in the store (``api/anchor-receipts``) so that status and verify keep
    working in later processes (the CLI is one process per command).
    """

    def __init__(
        self,
        store: OrbitStore,
        anchorer: Anchorer | None,
        backend: LocalLedgerBackend | None,
        *,
        broken: str | None = None,
    ) -> None:
        self.store = store
        self._anchorer = anchorer
        self._backend = backend
        self.broken = broken
        self._receipts = store.storage(_RECEIPTS)
        self._waiting: set[asyncio.Task[None]] = set()

    @property
    def anchorer(self) -> Anchorer:
        """The running anchorer; :class:`AnchorError` when the ledger could not be opened."""
        if self._anchorer is None:
            raise AnchorError(self.broken or "anchoring is closed")
        return self._anchorer

    @property
    def backend(self) -> LocalLedgerBackend:
        """The ledger backend; :class:`AnchorError` when it could not be opened."""
        if self._backend is None:
            raise AnchorError(self.broken or "anchoring is closed")
        return self._backend

    @classmethod
    async def open(cls, store: OrbitStore, *, max_delay: float = DEFAULT_MAX_DELAY) -> Anchoring | None:
        """Open the node's anchoring in ``<store.directory>/anchors``; ``None`` for an in-memory store."""
        if store.directory is None:
            return None
        directory = Path(store.directory) / ANCHOR_DIRECTORY
        try:
            backend = await LocalLedgerBackend.open(
                directory / "ledger", identities=store.identities, identity=store.identity
            )
        except AnchorError as exc:
            # A tampered (or foreign) ledger must not stop the node: anchoring reports it instead.
            _log.warning("anchoring unavailable", extra={"reason": str(exc)})
            return cls(store, None, None, broken=f"the local ledger cannot be used: {exc}")
        anchorer = Anchorer(
            backend, storage=store.blocks, data_dir=directory, options=AnchorerOptions(max_delay=max_delay)
        )
        try:
            await anchorer.start()
        except BaseException:
            await backend.aclose()
            raise
        return cls(store, anchorer, backend)

    def _info(self, status: AnchorStatus) -> AnchorInfo:
        return AnchorInfo(
            cid=status.cid.encode(),
            status=status.state,
            receipt=status.receipt_id,
            reason=status.reason,
            backend=str(self.backend),
        )

    async def _remember(self, status: AnchorStatus) -> None:
        if status.state == "anchored" and status.receipt_id is not None:
            await self._receipts.put(status.cid.encode(), status.receipt_id.encode())
            await self._receipts.sync()

    async def _remember_when_done(self, handle: AnchorHandle) -> None:
        try:
            await handle.wait()
        except AnchorError:
            return  # failed, or the anchorer closed first: the status says which
        await self._remember(handle.status)

    async def submit(self, cid: str, *, wait: bool) -> AnchorInfo:
        """Queue ``cid``; with ``wait``, close the batch now and return once it is anchored or failed."""
        handle = await self.anchorer.submit(CID.parse(cid))
        if wait:
            await self.anchorer.flush()
            await self._remember(handle.status)
        else:
            task = asyncio.create_task(self._remember_when_done(handle), name=f"anchor-receipt {cid}")
            self._waiting.add(task)
            task.add_done_callback(self._waiting.discard)
        return self._info(handle.status)

    async def status(self, cid: str) -> AnchorInfo:
        """Where anchoring ``cid`` stands (:class:`NotFound` when this node never anchored it)."""
        parsed = CID.parse(cid)
        try:
            return self._info(self.anchorer.status(parsed))
        except NotFound:
            receipt = await self._receipts.get(parsed.encode())
            if receipt is None:
                raise
        return AnchorInfo(cid=parsed.encode(), status="anchored", receipt=receipt.decode(), backend=str(self.backend))

    async def verify(self, subject: str) -> VerifyResult:
        """Verify a receipt (by its id), or the receipt of a CID anchored here.

        A receipt that does not verify is a result (``ok=False`` naming the
        failed check), not an error; so is a ledger that cannot be trusted.
        """
        CID.parse(subject)  # malformed text is a bad request
        if self.broken is not None:
            return VerifyResult(ok=False, subject=subject, failed=self.broken)
        receipt_id = subject
        try:
            await load_receipt(subject, storage=self.store.blocks)
        except ReceiptInvalid:
            try:
                status = await self.status(subject)
            except NotFound:
                raise NotFound(f"{subject} is neither a receipt nor a CID anchored by this node") from None
            if status.status != "anchored" or status.receipt is None:
                reason = f" ({status.reason})" if status.reason else ""
                return VerifyResult(
                    ok=False,
                    subject=subject,
                    failed=f"not anchored: {status.status}{reason}",
                    backend=str(self.backend),
                )
            receipt_id = status.receipt
        checks = ("receipt block", "merkle path to the root", f"{self.backend.kind} anchor record")
        try:
            receipt = await _verify_receipt(receipt_id, backend=self.backend, storage=self.store.blocks)
        except AnchorError as exc:  # ReceiptInvalid names the failed check; a tampered ledger is one too
            return VerifyResult(ok=False, subject=subject, failed=str(exc), backend=str(self.backend))
        return VerifyResult(
            ok=True,
            subject=subject,
            checks=checks,
            receipt=receipt_id,
            cid=receipt.cid.encode(),
            description=receipt.describe(),
            backend=str(self.backend),
        )

    async def aclose(self) -> None:
        """Stop the anchorer (pending CIDs stay journalled) and release the ledger. Safe to call twice."""
        try:
            if self._anchorer is not None:
                await self._anchorer.aclose()  # wakes every handle: the receipt keepers finish
            if self._waiting:
                await asyncio.wait(list(self._waiting))
        finally:
            if self._backend is not None:
                await self._backend.aclose()
