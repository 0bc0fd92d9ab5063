"""Provenance: verify passes end to end (with an anchor) and names the link that fails; reproduce."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

import mlbridge
import mlbridge.reproduction as reproduce_module
from mlbridge.artifacts import read_model_index
from mlbridge.card import Fingerprint
from orbitstore.anchoring import Anchorer, AnchorerOptions, LocalLedgerBackend
from orbitstore.errors import ModelError
from orbitstore.store import OrbitStore
from tests.mlbridge.conftest import Table

SMALL = {"n_estimators": 10}


@pytest.fixture
async def ledger(store: OrbitStore, tmp_path: Path) -> AsyncIterator[LocalLedgerBackend]:
    backend = await LocalLedgerBackend.open(tmp_path / "ledger", identities=store.identities, identity=store.identity)
    yield backend
    await backend.aclose()


async def anchored(store: OrbitStore, ledger: LocalLedgerBackend, tmp_path: Path, cid: str) -> str:
    """Anchor ``cid`` in the local ledger; the receipt's id."""
    async with Anchorer(
        ledger, storage=store.blocks, data_dir=tmp_path / "anchorer", options=AnchorerOptions(max_delay=0)
    ) as anchorer:
        handle = await anchorer.submit(cid)
        receipt = await handle.wait()
    return receipt.id


def statuses(report: mlbridge.VerifyReport) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


async def test_verify_passes_end_to_end_with_anchor(
    store: OrbitStore, cancer: Table, ledger: LocalLedgerBackend, tmp_path: Path
) -> None:
    receipt = await anchored(store, ledger, tmp_path, cancer.snapshot.cid)
    await cancer.db.record_anchor(cancer.snapshot.cid, receipt)
    anchor = str((await cancer.db.anchors())[cancer.snapshot.cid])
    result = await mlbridge.train(cancer.snapshot, store=store, params=SMALL, cv=0, anchor=anchor)
    assert result.card.anchor == receipt
    report = await mlbridge.verify(result.card_cid, store=store, backend=ledger)
    assert report.ok, report.describe()
    assert list(statuses(report)) == [
        "card",
        "signature",
        "model-blocks",
        "model-load",
        "model-card",
        "snapshot",
        "records",
        "training-data",
        "anchor-path",
        "anchor-chain",
    ]
    offline = await mlbridge.verify(result.card_cid, store=store)
    assert offline.ok and offline.check("anchor-chain").status == "skip"

    # The card itself can be anchored too.
    async with Anchorer(
        ledger, storage=store.blocks, data_dir=tmp_path / "cards", options=AnchorerOptions(max_delay=0)
    ) as anchorer:
        handle = await mlbridge.anchor_card(result.card_cid, anchorer=anchorer)
        card_receipt = await handle.wait()
    assert str(card_receipt.cid) == result.card_cid

    with pytest.raises(ModelError, match="receipt for"):
        await mlbridge.train(cancer.snapshot, store=store, anchor=card_receipt.id)


async def test_a_tampered_card_fails(store: OrbitStore, cancer: Table) -> None:
    result = await mlbridge.train(cancer.snapshot, store=store, params=SMALL, cv=0)
    card = result.card
    # Better metrics claimed, old signature kept: a new block, a new CID, and a signature that does not match.
    boasting = replace(card, metrics={"holdout": {"accuracy": 1.0}, "cv": {}})
    await store.blocks.put(boasting.cid, boasting.encode())
    report = await mlbridge.verify(boasting.cid, store=store)
    assert not report.ok and report.failed is not None and report.failed.name == "signature"
    # Bytes changed under the card's own CID: the card link itself fails.
    block = card.encode()
    await store.blocks.put(result.card_cid, block.replace(b"model-card", b"model-cart"))
    report = await mlbridge.verify(result.card_cid, store=store)
    assert report.failed is not None and report.failed.name == "card" and "does not hash" in report.failed.detail
    assert statuses(report)["signature"] == "skip"
    with pytest.raises(ModelError):
        await mlbridge.verify("not-a-cid", store=store)


async def test_a_swapped_snapshot_fails(store: OrbitStore, cancer: Table) -> None:
    first = cancer.snapshot
    result = await mlbridge.train(first, store=store, params=SMALL, cv=0)
    await cancer.db.delete(cancer.ids[0])
    other = await cancer.db.snapshot()
    # The trainer (or whoever holds the key) re-signs a card that points at another version of the data.
    swapped = await replace(result.card, snapshot=other.cid).signed(store)
    await store.blocks.put(swapped.cid, swapped.encode())
    report = await mlbridge.verify(swapped.cid, store=store)
    assert statuses(report)["signature"] == "pass" and statuses(report)["records"] == "pass"
    assert report.failed is not None and report.failed.name == "training-data"
    # Another snapshot's bytes stored under the card's snapshot CID: the snapshot link fails.
    other_block = await store.blocks.get(other.cid)
    assert other_block is not None
    await store.blocks.put(first.cid, other_block)
    report = await mlbridge.verify(result.card_cid, store=store)
    assert report.failed is not None and report.failed.name == "snapshot"
    assert statuses(report)["records"] == "skip"


async def test_a_corrupted_model_block_fails(store: OrbitStore, cancer: Table) -> None:
    result = await mlbridge.train(cancer.snapshot, store=store, params=SMALL, cv=0)
    index = await read_model_index(store.blocks, result.model_cid)
    chunk = str(index["chunks"][0])
    data = await store.blocks.get(chunk)
    assert data is not None
    await store.blocks.put(chunk, data[:-1] + bytes([data[-1] ^ 0xFF]))
    report = await mlbridge.verify(result.card_cid, store=store)
    assert report.failed is not None and report.failed.name == "model-blocks"
    assert "corrupted" in report.failed.detail
    assert statuses(report)["model-load"] == "skip" and statuses(report)["records"] == "pass"


async def test_reproduce_matches_and_reports_versions_and_mismatches(
    store: OrbitStore, diabetes: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await mlbridge.train(diabetes.snapshot, store=store, params=SMALL, cv=2)
    again = await mlbridge.reproduce(result.card_cid, store=store)
    assert again.status == "match" and again.ok, again.details
    assert again.actual == result.card.fingerprint

    wrong = replace(result.card, fingerprint=Fingerprint("0" * 64, result.card.fingerprint.probe, 64))
    wrong = await wrong.signed(store)
    await store.blocks.put(wrong.cid, wrong.encode())
    assert (await mlbridge.reproduce(wrong.cid, store=store)).status == "mismatch"

    real = reproduce_module.library_versions

    def older() -> dict[str, str]:
        return {**real(), "sklearn": "1.5.0"}

    monkeypatch.setattr(reproduce_module, "library_versions", older)
    differs = await mlbridge.reproduce(result.card_cid, store=store)
    assert differs.status == "version-differs" and not differs.ok  # never a match, even though it agrees
    assert differs.versions["sklearn"][1] == "1.5.0"
    assert any("fitted-state hash matches" in d for d in differs.details)
