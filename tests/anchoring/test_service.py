"""The anchor service: batching on size, time and flush; statuses; failures; surviving a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orbitstore.anchoring import (
    Anchorer,
    AnchorerOptions,
    AnchorFacts,
    LocalLedgerBackend,
    Receipt,
    VerifyPolicy,
    verify_receipt,
)
from orbitstore.anchoring.backends.ethtester import EthTesterBackend
from orbitstore.errors import AnchorError, NotFound, ReceiptInvalid
from orbitstore.identities import Identities, Identity
from orbitstore.storage.memory import MemoryStorage
from tests.anchoring.conftest import make_cids, wait_until


class CountingBackend:
    """Wraps a backend: counts anchor calls; can be told to fail or to hold."""

    def __init__(self, inner: LocalLedgerBackend) -> None:
        self.inner = inner
        self.calls: list[int] = []
        self.failures = 0
        self.gate: asyncio.Event | None = None

    @property
    def kind(self) -> str:
        return self.inner.kind

    async def anchor(self, root: bytes, count: int, meta: str) -> AnchorFacts:
        self.calls.append(count)
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise AnchorError("node unreachable")
        return await self.inner.anchor(root, count, meta)

    async def verify(self, facts: AnchorFacts, root: bytes, policy: VerifyPolicy, *, count: int | None = None) -> None:
        await self.inner.verify(facts, root, policy, count=count)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def ledger(tmp_path: Path, identities: Identities, node_identity: Identity) -> AsyncIterator[CountingBackend]:
    backend = await LocalLedgerBackend.open(tmp_path / "ledger", identities=identities, identity=node_identity)
    counting = CountingBackend(backend)
    yield counting
    await backend.aclose()


async def test_submit_flush_and_receipts_in_storage(tmp_path: Path, ledger: CountingBackend) -> None:
    storage = MemoryStorage()
    cids = make_cids(50)
    async with Anchorer(ledger, storage=storage, data_dir=tmp_path / "data") as anchorer:
        handles = [await anchorer.submit(cid) for cid in cids[:10]]
        handles += await anchorer.submit_many([str(c) for c in cids[10:]])
        assert {h.status.state for h in handles} == {"pending"}
        assert anchorer.pending == 50
        statuses = await anchorer.flush()
        assert [s.state for s in statuses] == ["anchored"] * 50
        assert ledger.calls == [50]  # one anchor for the whole batch
        receipts = [await h.wait() for h in handles]
        assert len({r.root for r in receipts}) == 1
        for handle, receipt in zip(handles, receipts, strict=True):
            assert handle.status.receipt_id == receipt.id
            block = await storage.get(receipt.id)
            assert block is not None and Receipt.decode(block) == receipt
        verified = await verify_receipt(receipts[7].id, storage=storage, backend=ledger, expect_cid=cids[7])
        assert verified == receipts[7]
        with pytest.raises(ReceiptInvalid, match=r"is for"):
            await verify_receipt(receipts[7].id, storage=storage, backend=ledger, expect_cid=cids[8])
        assert anchorer.status(cids[3]).state == "anchored"
        with pytest.raises(NotFound):
            anchorer.status(make_cids(1, salt="never")[0])


async def test_batches_close_on_size(tmp_path: Path, ledger: CountingBackend) -> None:
    options = AnchorerOptions(max_batch=4, max_delay=3600)
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path, options=options) as anchorer:
        handles = await anchorer.submit_many(make_cids(10))
        async with asyncio.timeout(5):
            await handles[7].wait()
        assert ledger.calls == [4, 4]
        assert [h.status.state for h in handles[8:]] == ["pending", "pending"]
        await anchorer.flush()
        assert ledger.calls == [4, 4, 2]


async def test_batches_close_on_time(tmp_path: Path, ledger: CountingBackend) -> None:
    options = AnchorerOptions(max_delay=0.1)
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path, options=options) as anchorer:
        handle = await anchorer.submit(make_cids(1)[0])
        async with asyncio.timeout(5):
            receipt = await handle.wait()
        assert receipt.count == 1 and receipt.path == ()
        assert ledger.calls == [1]


async def test_failure_is_reported_with_its_reason(tmp_path: Path, ledger: CountingBackend) -> None:
    ledger.failures = 10
    options = AnchorerOptions(retries=2, retry_delay=0.01)
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path, options=options) as anchorer:
        handle = await anchorer.submit(make_cids(1)[0])
        statuses = await anchorer.flush()
        assert statuses[0].state == "failed"
        assert "node unreachable" in (statuses[0].reason or "") and "after 3 attempts" in (statuses[0].reason or "")
        with pytest.raises(AnchorError, match=r"failed: AnchorError: node unreachable"):
            await handle.wait()
        assert len(ledger.calls) == 3
    # A failure is final and journalled: it is not retried after a restart.
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path) as again:
        assert again.pending == 0


async def test_retrying_shows_in_the_pending_status(tmp_path: Path, ledger: CountingBackend) -> None:
    ledger.failures = 1
    options = AnchorerOptions(retries=1, retry_delay=0.2)
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path, options=options) as anchorer:
        handle = await anchorer.submit(make_cids(1)[0])
        flushing = asyncio.create_task(anchorer.flush())
        await wait_until(lambda: bool(handle.status.reason))
        assert handle.status.state == "pending"
        assert "retrying: AnchorError: node unreachable" in (handle.status.reason or "")
        await flushing
        final = handle.status
        assert final.state == "anchored" and final.reason is None


async def test_pending_work_survives_a_restart(tmp_path: Path, ledger: CountingBackend) -> None:
    storage = MemoryStorage()
    cids = make_cids(5)
    options = AnchorerOptions(max_delay=3600)
    first = Anchorer(ledger, storage=storage, data_dir=tmp_path, options=options)
    await first.start()
    handles = await first.submit_many(cids)
    journal = first.journal_path
    await first.aclose()
    await first.aclose()  # idempotent
    with pytest.raises(AnchorError, match=r"closed while .* was pending"):
        await handles[0].wait()
    assert handles[0].status.state == "pending"
    assert [json.loads(line)["cid"] for line in journal.read_text().splitlines()] == [str(c) for c in cids]
    assert ledger.calls == []
    with pytest.raises(AnchorError, match=r"closed"):
        await first.submit(cids[0])

    async with Anchorer(ledger, storage=storage, data_dir=tmp_path, options=options) as second:
        assert second.pending == 5
        statuses = await second.flush()
        assert {s.state for s in statuses} == {"anchored"}
        for status in statuses:
            assert status.receipt_id is not None
            await verify_receipt(status.receipt_id, storage=storage, backend=ledger)
    # Nothing is pending any more: a third start finds an empty journal.
    async with Anchorer(ledger, storage=storage, data_dir=tmp_path) as third:
        assert third.pending == 0
    assert journal.read_text() == ""


async def test_a_torn_journal_line_is_ignored(tmp_path: Path, ledger: CountingBackend) -> None:
    cids = make_cids(2)
    async with Anchorer(
        ledger, storage=MemoryStorage(), data_dir=tmp_path, options=AnchorerOptions(max_delay=3600)
    ) as a:
        await a.submit(cids[0])
        journal = a.journal_path
    with journal.open("a") as f:
        f.write('{"cid":"' + str(cids[1])[:10])  # crash mid-write: never acknowledged
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path) as again:
        assert again.pending == 1
        assert again.status(cids[0]).state == "pending"


async def test_duplicates_share_one_pending_submission(tmp_path: Path, ledger: CountingBackend) -> None:
    cid = make_cids(1)[0]
    async with Anchorer(
        ledger, storage=MemoryStorage(), data_dir=tmp_path, options=AnchorerOptions(max_delay=3600)
    ) as a:
        first, second = await asyncio.gather(a.submit(cid), a.submit(cid.encode("base32")))
        again = (await a.submit_many([cid, cid]))[1]
        assert a.pending == 1
        await a.flush()
        assert (await first.wait()) == (await second.wait()) == (await again.wait())
        assert ledger.calls == [1]
        # Submitting an anchored CID again anchors it again, in a new batch.
        later = await a.submit(cid)
        assert later.status.state == "pending"
        await a.flush()
        assert ledger.calls == [1, 1]


async def test_one_anchorer_per_directory(tmp_path: Path, ledger: CountingBackend) -> None:
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path):
        with pytest.raises(AnchorError, match=r"another anchorer"):
            await Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path).start()


async def test_closing_mid_batch_keeps_the_batch_pending(tmp_path: Path, ledger: CountingBackend) -> None:
    ledger.gate = asyncio.Event()
    anchorer = Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path, options=AnchorerOptions(max_delay=0))
    await anchorer.start()
    handle = await anchorer.submit(make_cids(1)[0])
    await wait_until(lambda: bool(ledger.calls))
    await anchorer.aclose()  # cancels the in-flight anchor
    assert handle.status.state == "pending"
    ledger.gate = None
    async with Anchorer(ledger, storage=MemoryStorage(), data_dir=tmp_path) as again:
        assert again.pending == 1
        assert (await again.flush())[0].state == "anchored"


async def test_end_to_end_on_the_in_process_chain(tmp_path: Path) -> None:
    chain = await EthTesterBackend.create()
    storage = MemoryStorage()
    try:
        async with Anchorer(chain, storage=storage, data_dir=tmp_path) as anchorer:
            handles = await anchorer.submit_many(make_cids(300))
            await anchorer.flush()
            receipts = [await h.wait() for h in handles]
        assert len({r.facts.tx_hash for r in receipts}) == 1
        for receipt in receipts[::60]:
            await verify_receipt(receipt.id, storage=storage, backend=chain.verifier())
    finally:
        await chain.aclose()
