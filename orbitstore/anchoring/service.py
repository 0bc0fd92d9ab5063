"""The anchor service: collect CIDs, anchor them in Merkle batches, hand out receipts.

::

    async with Anchorer(backend, storage=blocks, data_dir=path) as anchorer:
        handle = await anchorer.submit(snapshot_cid)   # durable once this returns
        receipt = await handle.wait()                  # or: await anchorer.flush()

A batch closes when it holds ``max_batch`` CIDs or its oldest CID has waited
``max_delay`` seconds (or on :meth:`Anchorer.flush`). One backend call anchors
the batch's Merkle root; every CID then gets a :class:`~orbitstore.anchoring.receipt.Receipt`,
stored as a block in ``storage`` under its id. Status is always one of
``pending``, ``anchored`` (with the receipt id) or ``failed`` (with the reason);
a failed backend call is retried ``retries`` times, and while it is retried the
reason shows in the pending status. Submissions are journalled (fsynced) in
``data_dir`` before :meth:`Anchorer.submit` returns, so what is still pending
when the process stops is anchored by the next anchorer on that directory.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeAlias

from orbitstore.anchoring._journal import PendingJournal
from orbitstore.anchoring.backends.base import AnchorBackend
from orbitstore.anchoring.merkle import MerkleTree
from orbitstore.anchoring.receipt import Receipt, batch_receipts
from orbitstore.codec import CID
from orbitstore.config import (
    DEFAULT_ANCHOR_MAX_BATCH,
    DEFAULT_ANCHOR_MAX_DELAY,
    DEFAULT_ANCHOR_RETRIES,
    DEFAULT_ANCHOR_RETRY_DELAY,
)
from orbitstore.errors import AnchorError, ConfigError, NotFound
from orbitstore.storage.base import Storage

__all__ = ["AnchorHandle", "AnchorState", "AnchorStatus", "Anchorer", "AnchorerOptions"]

AnchorState: TypeAlias = Literal["pending", "anchored", "failed"]


@dataclass(frozen=True, slots=True)
class AnchorerOptions:
    """Batching and retry options.

    ``max_batch``: CIDs per batch (one transaction each). ``max_delay``: seconds
    the oldest pending CID may wait before its batch closes. ``meta``: the text
    written with every root (the contract's ``meta``). ``retries``: extra
    attempts of a failed backend call, ``retry_delay`` seconds apart (doubling).
    """

    max_batch: int = DEFAULT_ANCHOR_MAX_BATCH
    max_delay: float = DEFAULT_ANCHOR_MAX_DELAY
    meta: str = "orbitstore/anchor v1"
    retries: int = DEFAULT_ANCHOR_RETRIES
    retry_delay: float = DEFAULT_ANCHOR_RETRY_DELAY

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_delay < 0 or self.retries < 0 or self.retry_delay < 0:
            raise ConfigError("invalid anchorer options")


@dataclass(frozen=True, slots=True)
class AnchorStatus:
    """Where one submitted CID stands.

    ``reason``: why it failed, or — while pending — why the last attempt did.
    ``receipt_id``: the receipt block's CID once anchored.
    """

    cid: CID
    state: AnchorState
    reason: str | None = None
    receipt_id: str | None = None


class _Item:
    __slots__ = ("cid", "done", "reason", "receipt", "receipt_id", "since", "state")

    def __init__(self, cid: CID, since: float) -> None:
        self.cid = cid
        self.since = since
        self.state: AnchorState = "pending"
        self.reason: str | None = None
        self.receipt: Receipt | None = None
        self.receipt_id: str | None = None
        self.done = asyncio.Event()

    def status(self) -> AnchorStatus:
        return AnchorStatus(self.cid, self.state, self.reason, self.receipt_id)


class AnchorHandle:
    """A submitted CID: its live :attr:`status`, and :meth:`wait` for the receipt."""

    __slots__ = ("_anchorer", "_item")

    def __init__(self, item: _Item, anchorer: Anchorer) -> None:
        self._item = item
        self._anchorer = anchorer

    @property
    def cid(self) -> CID:
        """The submitted CID."""
        return self._item.cid

    @property
    def status(self) -> AnchorStatus:
        """The current status (pending, anchored or failed with the reason)."""
        return self._item.status()

    async def wait(self) -> Receipt:
        """Wait until anchored and return the receipt.

        Raises :class:`~orbitstore.errors.AnchorError` with the reason when the
        anchor failed, or when the anchorer closed first (the CID then stays in
        the journal and is anchored after a restart).
        """
        await self._item.done.wait()
        item = self._item
        if item.state == "anchored" and item.receipt is not None:
            return item.receipt
        if item.state == "failed":
            raise AnchorError(f"anchoring {item.cid} failed: {item.reason}")
        raise AnchorError(
            f"the anchorer closed while {item.cid} was pending; it stays in {self._anchorer.journal_path} "
            "and is anchored when an anchorer next opens that directory"
        )

    def __repr__(self) -> str:
        return f"<AnchorHandle {self._item.cid} {self._item.state}>"


class Anchorer:
    """Batches submitted CIDs into Merkle trees and anchors each root with ``backend``.

    Owns one background task (started by ``async with`` or :meth:`start`,
    stopped by :meth:`aclose`). ``storage`` receives the receipt blocks;
    ``data_dir`` holds the journal of pending submissions.
    """

    def __init__(
        self,
        backend: AnchorBackend,
        *,
        storage: Storage,
        data_dir: str | os.PathLike[str],
        options: AnchorerOptions | None = None,
    ) -> None:
        self.backend = backend
        self.storage = storage
        self.options = options if options is not None else AnchorerOptions()
        self._journal = PendingJournal(Path(data_dir))
        self._items: dict[bytes, _Item] = {}
        self._queue: dict[bytes, _Item] = {}
        self._wake = asyncio.Event()
        self._flushing = False
        self._runner: asyncio.Task[None] | None = None
        self._state: Literal["new", "running", "closed"] = "new"
        self._crash: str | None = None
        self._journal_lock = asyncio.Lock()
        self._journal_buffer: list[bytes] = []
        self._journal_queued = 0  # lines ever queued
        self._journal_durable = 0  # lines ever fsynced

    # -- lifetime -------------------------------------------------------------------------------

    @property
    def journal_path(self) -> Path:
        """The file that holds pending submissions."""
        return self._journal.path

    async def start(self) -> None:
        """Replay the journal (re-queueing what was pending) and start the batching task."""
        if self._state != "new":
            raise AnchorError(f"the anchorer is {self._state}")
        pending = await asyncio.to_thread(self._journal.open)
        now = time.monotonic()
        for cid in pending:
            item = _Item(cid, now)
            self._items[cid.to_bytes()] = item
            self._queue[cid.to_bytes()] = item
        self._state = "running"
        self._runner = asyncio.create_task(self._run(), name="orbitstore-anchorer")
        if self._queue:
            self._wake.set()

    async def __aenter__(self) -> Anchorer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the batching task. Pending CIDs stay journalled for the next start. Safe to call twice."""
        if self._state == "closed":
            return
        self._state = "closed"
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            try:
                await runner
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            finally:
                self._release()
        else:
            self._release()

    def _release(self) -> None:
        self._journal.close()
        for item in self._items.values():
            item.done.set()  # waiters learn the anchorer closed (state stays "pending")

    # -- submitting -----------------------------------------------------------------------------

    async def submit(self, cid: CID | str) -> AnchorHandle:
        """Queue ``cid`` for anchoring; returns once the submission is durable."""
        return (await self.submit_many([cid]))[0]

    async def submit_many(self, cids: Iterable[CID | str]) -> list[AnchorHandle]:
        """Queue many CIDs with one journal write; one handle per CID, in order."""
        self._check_running()
        parsed = [cid if isinstance(cid, CID) else CID.parse(cid) for cid in cids]
        fresh: dict[bytes, CID] = {}
        for cid in parsed:
            key = cid.to_bytes()
            if not self._is_pending(key) and key not in fresh:
                fresh[key] = cid
        if fresh:
            await self._persist([PendingJournal.submit_line(cid) for cid in fresh.values()])
            self._check_running()
            now = time.monotonic()
            for key, cid in fresh.items():
                if not self._is_pending(key):  # a concurrent submit may have queued it meanwhile
                    item = _Item(cid, now)
                    self._items[key] = item
                    self._queue[key] = item
            self._wake.set()
        return [AnchorHandle(self._items[cid.to_bytes()], self) for cid in parsed]

    def _is_pending(self, key: bytes) -> bool:
        item = self._items.get(key)
        return item is not None and item.state == "pending"

    def status(self, cid: CID | str) -> AnchorStatus:
        """The status of the latest submission of ``cid`` in this process (or restored from the journal).

        Raises :class:`~orbitstore.errors.NotFound` for a CID never submitted here.
        """
        key = (cid if isinstance(cid, CID) else CID.parse(cid)).to_bytes()
        try:
            return self._items[key].status()
        except KeyError:
            raise NotFound(f"{cid} was not submitted to this anchorer") from None

    @property
    def pending(self) -> int:
        """How many CIDs wait for an anchor (queued or in a batch being anchored)."""
        return sum(1 for item in self._items.values() if item.state == "pending")

    async def flush(self) -> list[AnchorStatus]:
        """Close batches now and wait until every CID pending at the call is anchored or failed."""
        self._check_running()
        waiting = [item for item in self._items.values() if item.state == "pending"]
        if not waiting:
            return []
        self._flushing = True
        self._wake.set()
        for item in waiting:
            await item.done.wait()
        if self._crash is not None:
            raise AnchorError(self._crash)
        return [item.status() for item in waiting]

    def _check_running(self) -> None:
        if self._crash is not None:
            raise AnchorError(self._crash)
        if self._state != "running":
            raise AnchorError(f"the anchorer is {self._state}")

    async def _persist(self, lines: list[bytes]) -> None:
        """Append ``lines`` to the journal durably; concurrent callers share one fsync."""
        self._journal_buffer.extend(lines)
        self._journal_queued += len(lines)
        mine = self._journal_queued
        async with self._journal_lock:
            if self._journal_durable >= mine:
                return  # a caller before us wrote our lines too
            batch, self._journal_buffer = self._journal_buffer, []
            try:
                await asyncio.to_thread(self._journal.append, batch)
            except BaseException:
                self._journal_buffer[:0] = batch  # not durable: the next writer retries them
                raise
            self._journal_durable += len(batch)

    # -- batching -------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._loop()
        except Exception as exc:  # a bug must not leave anyone waiting in silence
            self._crash = f"the anchorer stopped: {type(exc).__name__}: {exc}"
            for item in self._items.values():
                if item.state == "pending":
                    item.reason = self._crash
                item.done.set()

    async def _loop(self) -> None:
        opts = self.options
        while True:
            if not self._queue:
                self._flushing = False
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._queue) < opts.max_batch and not self._flushing:
                oldest = next(iter(self._queue.values())).since
                delay = oldest + opts.max_delay - time.monotonic()
                if delay > 0:
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
                    continue
            keys = list(self._queue)[: opts.max_batch]
            batch = [self._queue.pop(key) for key in keys]
            await self._anchor(batch)

    async def _anchor(self, batch: list[_Item]) -> None:
        opts = self.options
        tree = MerkleTree(item.cid for item in batch)
        for attempt in range(opts.retries + 1):
            try:
                facts = await self.backend.anchor(tree.root, len(tree), opts.meta)
                break
            except Exception as exc:  # every backend failure becomes a visible status
                reason = f"{type(exc).__name__}: {exc}"
                if attempt == opts.retries:
                    await self._fail(batch, f"{reason} (after {attempt + 1} attempts)")
                    return
                for item in batch:
                    item.reason = f"attempt {attempt + 1} failed, retrying: {reason}"
                await asyncio.sleep(opts.retry_delay * 2**attempt)
        by_leaf = {item.cid.to_bytes(): item for item in batch}
        made: list[tuple[_Item, Receipt, str]] = []
        try:
            for receipt, block, receipt_id in batch_receipts(tree, (item.cid for item in batch), facts):
                await self.storage.put(receipt_id, block)
                made.append((by_leaf[receipt.cid.to_bytes()], receipt, receipt_id))
            await self.storage.sync()
        except Exception as exc:
            tx = f"0x{facts.tx_hash.hex()}"
            await self._fail(batch, f"anchored in {tx} (block {facts.block_number}) but storing receipts failed: {exc}")
            return
        await self._persist([PendingJournal.anchored_line(item.cid, rid) for item, _, rid in made])
        for item, receipt, receipt_id in made:
            item.state = "anchored"
            item.reason = None
            item.receipt = receipt
            item.receipt_id = receipt_id
            item.done.set()

    async def _fail(self, batch: list[_Item], reason: str) -> None:
        await self._persist([PendingJournal.failed_line(item.cid, reason) for item in batch])
        for item in batch:
            item.state = "failed"
            item.reason = reason
            item.done.set()
