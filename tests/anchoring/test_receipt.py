"""Receipts: the DAG-CBOR block, its id, strict decoding."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from orbitstore.anchoring.merkle import MerkleTree
from orbitstore.anchoring.receipt import AnchorFacts, Receipt, batch_receipts
from orbitstore.codec import CID, block_cid, decode, encode
from orbitstore.errors import AnchorError, DecodeError
from tests.anchoring.conftest import make_cids

FACTS = AnchorFacts(
    kind="evm",
    chain_id=31337,
    contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    tx_hash=bytes(range(32)),
    block_number=7,
    block_hash=bytes(range(32, 64)),
    timestamp=1_700_000_000,
    sender="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
)


def make_receipt(index: int = 3, count: int = 10) -> Receipt:
    cids = make_cids(count)
    tree = MerkleTree(cids)
    return Receipt(cids[index], tree.root, tuple(tree.proof(cids[index])), len(tree), FACTS)


def test_round_trip_and_id() -> None:
    receipt = make_receipt()
    block = receipt.encode()
    assert Receipt.decode(block) == receipt
    assert receipt.id == block_cid(block)
    assert Receipt.decode(block, expected_id=receipt.id) == receipt
    assert receipt.proves_inclusion()


def test_block_layout() -> None:
    receipt = make_receipt()
    value = decode(receipt.encode())
    assert set(value) == {"v", "cid", "root", "path", "count", "anchor"}
    assert value["v"] == 1
    assert isinstance(value["cid"], CID)  # a real tag-42 link, so Kubo can pin the receipt with its target
    assert b"\xd8\x2a" in receipt.encode()
    assert value["anchor"] == {
        "kind": "evm",
        "chainId": 31337,
        "contract": FACTS.contract,
        "tx": FACTS.tx_hash,
        "block": 7,
        "blockHash": FACTS.block_hash,
        "time": 1_700_000_000,
        "sender": FACTS.sender,
    }
    assert all(step[0] in ("L", "R") and len(step[1]) == 32 for step in value["path"])


def test_wrong_expected_id() -> None:
    with pytest.raises(DecodeError, match=r"does not hash"):
        Receipt.decode(make_receipt().encode(), expected_id=make_receipt(index=4).id)


def _mutate(change: Any) -> bytes:
    value = decode(make_receipt().encode())
    change(value)
    return encode(value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.update(v=2), "version"),
        (lambda v: v.pop("count"), "fields"),
        (lambda v: v.update(extra=1), "fields"),
        (lambda v: v.update(cid=str(v["cid"])), "link"),
        (lambda v: v.update(root=v["root"][:31]), "root"),
        (lambda v: v.update(count=0), "count"),
        (lambda v: v["path"].append(["X", bytes(32)]), "path step"),
        (lambda v: v["path"].append(["L", bytes(31)]), "path step"),
        (lambda v: v.update(path=[["L", bytes(32)]] * 65), "at most"),
        (lambda v: v["anchor"].update(kind="bitcoin"), "kind"),
        (lambda v: v["anchor"].update(block=-1), "block"),
        (lambda v: v["anchor"].update(tx=b"short"), "tx"),
        (lambda v: v["anchor"].update(sender=""), "sender"),
        (lambda v: v["anchor"].pop("time"), "fields"),
    ],
)
def test_malformed_receipts_are_refused(change: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        Receipt.decode(_mutate(change))


def test_not_cbor_is_refused() -> None:
    with pytest.raises(DecodeError):
        Receipt.decode(b"\xff\x00")
    with pytest.raises(DecodeError):
        Receipt.decode(encode([1, 2]))


def test_describe_is_honest_about_the_local_ledger() -> None:
    local = replace(make_receipt(), facts=replace(FACTS, kind="local", chain_id=0, contract="ab" * 32))
    assert "NOT A PUBLIC CHAIN" in local.describe()
    assert "NOT A PUBLIC CHAIN" not in make_receipt().describe()
    assert "chain 31337" in make_receipt().describe()


def test_single_leaf_batch_has_an_empty_path() -> None:
    receipt = make_receipt(index=0, count=1)
    assert receipt.path == ()
    assert Receipt.decode(receipt.encode()).proves_inclusion()


@pytest.mark.parametrize("n", [1, 2, 3, 24, 25, 100, 1000])
def test_batch_receipts_are_the_same_bytes_as_encode(n: int) -> None:
    cids = make_cids(n, salt=str(n))
    tree = MerkleTree(cids)
    made = list(batch_receipts(tree, reversed(cids), FACTS))
    assert len(made) == n
    for receipt, block, receipt_id in made:
        assert block == receipt.encode()
        assert receipt_id == receipt.id == block_cid(block)
        assert Receipt.decode(block) == receipt and receipt.proves_inclusion()


def test_batch_receipts_needs_the_trees_cids() -> None:
    cids = make_cids(4)
    with pytest.raises(AnchorError):
        list(batch_receipts(MerkleTree(cids), cids[:3], FACTS))


def test_path_array_heads_match_the_codec() -> None:
    from orbitstore.anchoring.receipt import _array_head

    for length in range(65):
        assert _array_head(length) == encode([0] * length)[: len(_array_head(length))]
        assert encode([0] * length) == _array_head(length) + b"\x00" * length
