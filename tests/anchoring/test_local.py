"""The local ledger backend: records, reopening, honesty, and tamper detection on open and on verify."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from orbitstore.anchoring import LocalLedgerBackend, VerifyPolicy
from orbitstore.anchoring.backends.local import LEDGER_FILE, NOTICE
from orbitstore.anchoring.receipt import AnchorFacts
from orbitstore.errors import AnchorError, ReceiptInvalid
from orbitstore.identities import Identities, Identity

ROOTS = [bytes([i]) * 32 for i in range(1, 5)]


async def fill(directory: Path, identities: Identities, identity: Identity) -> list[AnchorFacts]:
    backend = await LocalLedgerBackend.open(directory, identities=identities, identity=identity)
    try:
        return [await backend.anchor(root, i + 1, f"batch {i}") for i, root in enumerate(ROOTS)]
    finally:
        await backend.aclose()


def lines(directory: Path) -> list[str]:
    return (directory / LEDGER_FILE).read_text().splitlines(keepends=True)


def write(directory: Path, new_lines: list[str]) -> None:
    (directory / LEDGER_FILE).write_text("".join(new_lines))


async def test_anchor_and_verify(tmp_path: Path, identities: Identities, node_identity: Identity) -> None:
    backend = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        facts = [await backend.anchor(root, 3, "m") for root in ROOTS[:2]]
        assert [f.block_number for f in facts] == [0, 1]
        assert facts[0].kind == "local" and facts[0].chain_id == 0
        assert facts[0].contract == backend.ledger_id
        assert facts[0].sender == node_identity.public_key
        assert facts[0].tx_hash == facts[0].block_hash
        for f, root in zip(facts, ROOTS, strict=False):
            await backend.verify(f, root, VerifyPolicy(), count=3)
        await backend.verify(facts[0], ROOTS[0], VerifyPolicy(min_confirmations=2))
        with pytest.raises(ReceiptInvalid, match=r"too few confirmations"):
            await backend.verify(facts[1], ROOTS[1], VerifyPolicy(min_confirmations=2))
    finally:
        await backend.aclose()
        await backend.aclose()  # idempotent


async def test_reopen_keeps_records_and_verifies_read_only(
    tmp_path: Path, identities: Identities, node_identity: Identity
) -> None:
    facts = await fill(tmp_path, identities, node_identity)
    reader = await LocalLedgerBackend.open_readonly(tmp_path)
    try:
        assert len(reader.ledger.records) == len(ROOTS)
        for f, root in zip(facts, ROOTS, strict=True):
            await reader.verify(f, root, VerifyPolicy.of(senders=[node_identity.public_key]))
        with pytest.raises(AnchorError, match=r"read-only"):
            await reader.anchor(ROOTS[0], 1, "")
    finally:
        await reader.aclose()
    writer = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        more = await writer.anchor(bytes(32), 1, "after reopen")
        assert more.block_number == len(ROOTS)
    finally:
        await writer.aclose()


async def test_every_output_says_it_is_not_a_public_chain(
    tmp_path: Path, identities: Identities, node_identity: Identity
) -> None:
    await fill(tmp_path, identities, node_identity)
    header = json.loads(lines(tmp_path)[0])
    assert header["notice"] == NOTICE and "NOT A PUBLIC CHAIN" in NOTICE
    reader = await LocalLedgerBackend.open_readonly(tmp_path)
    try:
        assert "NOT A PUBLIC CHAIN" in str(reader)
        assert "NOT A PUBLIC CHAIN" in reader.notice
    finally:
        await reader.aclose()


def _edit_root(ls: list[str]) -> list[str]:
    record = json.loads(ls[2])
    record["root"] = "ff" * 32
    return [*ls[:2], json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n", *ls[3:]]


def _edit_count_and_rehash(ls: list[str]) -> list[str]:
    # Re-computing the hash does not help without the key: the signature breaks.
    record = json.loads(ls[2])
    record["count"] = 99
    return [*ls[:2], json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n", *ls[3:]]


def _edit_header(ls: list[str]) -> list[str]:
    header = json.loads(ls[0])
    header["created"] += 1
    return [json.dumps(header, sort_keys=True, separators=(",", ":")) + "\n", *ls[1:]]


TAMPERS: dict[str, Callable[[list[str]], list[str]]] = {
    "edited root": _edit_root,
    "edited count": _edit_count_and_rehash,
    "removed record": lambda ls: [*ls[:2], *ls[3:]],
    "swapped records": lambda ls: [ls[0], ls[2], ls[1], *ls[3:]],
    "duplicated record": lambda ls: [*ls[:3], ls[2], *ls[3:]],
    "edited header": _edit_header,
    "garbage line": lambda ls: [*ls[:2], "not json\n", *ls[2:]],
    "spaces added": lambda ls: [*ls[:2], ls[2].replace(",", ", ", 1), *ls[3:]],
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
async def test_tampering_is_detected_on_open(
    tmp_path: Path, identities: Identities, node_identity: Identity, tamper: str
) -> None:
    await fill(tmp_path, identities, node_identity)
    write(tmp_path, TAMPERS[tamper](lines(tmp_path)))
    with pytest.raises(AnchorError, match=r"tampered"):
        await LocalLedgerBackend.open_readonly(tmp_path)
    with pytest.raises(AnchorError, match=r"tampered"):
        await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
async def test_tampering_is_detected_on_verify(
    tmp_path: Path, identities: Identities, node_identity: Identity, tamper: str
) -> None:
    backend = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        facts = [await backend.anchor(root, 1, "") for root in ROOTS]
        write(tmp_path, TAMPERS[tamper](lines(tmp_path)))
        # Even a receipt whose own record is intact fails: the ledger as a whole no longer checks out.
        with pytest.raises(ReceiptInvalid, match=r"local ledger tampered"):
            await backend.verify(facts[3], ROOTS[3], VerifyPolicy())
    finally:
        await backend.aclose()


async def test_truncated_tail_is_caught_by_a_running_node_and_by_receipts(
    tmp_path: Path, identities: Identities, node_identity: Identity
) -> None:
    backend = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        facts = [await backend.anchor(root, 1, "") for root in ROOTS]
        write(tmp_path, lines(tmp_path)[:-1])
        with pytest.raises(ReceiptInvalid, match=r"shrank"):
            await backend.verify(facts[0], ROOTS[0], VerifyPolicy())
    finally:
        await backend.aclose()
    # A fresh reader sees a valid shorter ledger (an honest limit, see docs) — but the receipt for
    # the removed record no longer verifies.
    reader = await LocalLedgerBackend.open_readonly(tmp_path)
    try:
        with pytest.raises(ReceiptInvalid, match=r"no record #3"):
            await reader.verify(facts[3], ROOTS[3], VerifyPolicy())
    finally:
        await reader.aclose()


async def test_a_torn_last_line_is_cut_off_by_the_writer(
    tmp_path: Path, identities: Identities, node_identity: Identity
) -> None:
    await fill(tmp_path, identities, node_identity)
    intact = (tmp_path / LEDGER_FILE).read_bytes()
    (tmp_path / LEDGER_FILE).write_bytes(intact + b'{"count":1,"hash":"ab')  # crash mid-write
    reader = await LocalLedgerBackend.open_readonly(tmp_path)
    assert len(reader.ledger.records) == len(ROOTS) and reader.ledger.recovered_bytes > 0
    await reader.aclose()
    writer = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        assert (tmp_path / LEDGER_FILE).read_bytes() == intact
        await writer.anchor(ROOTS[0], 1, "")
    finally:
        await writer.aclose()


async def test_receipt_facts_must_match_the_record(
    tmp_path: Path, identities: Identities, node_identity: Identity
) -> None:
    backend = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        facts = await backend.anchor(ROOTS[0], 5, "")
        cases = {
            "another root": (facts, ROOTS[1], 5),
            "leaves, not": (facts, ROOTS[0], 6),
            "another hash": (replace(facts, block_hash=bytes(32)), ROOTS[0], 5),
            "dated": (replace(facts, timestamp=facts.timestamp + 1), ROOTS[0], 5),
            "no record #9": (replace(facts, block_number=9), ROOTS[0], 5),
            "untrusted contract": (replace(facts, contract="00" * 32), ROOTS[0], 5),
            "wrong chain": (replace(facts, chain_id=1), ROOTS[0], 5),
            "wrong sender": (replace(facts, sender="02" + "11" * 32), ROOTS[0], 5),
            "cannot be checked": (replace(facts, kind="evm"), ROOTS[0], 5),
        }
        for message, (f, root, count) in cases.items():
            with pytest.raises(ReceiptInvalid, match=message):
                await backend.verify(f, root, VerifyPolicy(), count=count)
        with pytest.raises(ReceiptInvalid, match=r"untrusted sender"):
            await backend.verify(facts, ROOTS[0], VerifyPolicy.of(senders=["02" + "11" * 32]))
    finally:
        await backend.aclose()


async def test_one_writer_and_one_key(tmp_path: Path, identities: Identities, node_identity: Identity) -> None:
    backend = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        with pytest.raises(AnchorError, match=r"open for writing elsewhere"):
            await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    finally:
        await backend.aclose()
    other = await identities.create_identity("someone else")
    with pytest.raises(AnchorError, match=r"belongs to key"):
        await LocalLedgerBackend.open(tmp_path, identities=identities, identity=other)
    with pytest.raises(AnchorError, match=r"no local ledger"):
        await LocalLedgerBackend.open_readonly(tmp_path / "missing")
