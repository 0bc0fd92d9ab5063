"""verify_receipt's own checks (before any backend), and the reserved Substrate place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orbitstore.anchoring import LocalLedgerBackend, MerkleTree, Receipt, VerifyPolicy, load_receipt, verify_receipt
from orbitstore.anchoring.backends.ethtester import EthTesterBackend
from orbitstore.anchoring.backends.substrate import SubstrateBackend, SubstrateNotImplemented
from orbitstore.codec import encode
from orbitstore.errors import AnchorError, ConfigError, ReceiptInvalid
from orbitstore.identities import Identities, Identity
from orbitstore.storage.memory import MemoryStorage
from tests.anchoring.conftest import make_cids


@pytest.fixture
async def local_receipt(tmp_path: Path, identities: Identities, node_identity: Identity) -> tuple[Receipt, Path]:
    backend = await LocalLedgerBackend.open(tmp_path, identities=identities, identity=node_identity)
    try:
        cids = make_cids(6)
        tree = MerkleTree(cids)
        facts = await backend.anchor(tree.root, len(tree), "")
    finally:
        await backend.aclose()
    return Receipt(cids[4], tree.root, tuple(tree.proof(cids[4])), len(tree), facts), tmp_path


async def test_receipt_from_object_block_or_id(local_receipt: tuple[Receipt, Path]) -> None:
    receipt, directory = local_receipt
    storage = MemoryStorage()
    await storage.put(receipt.id, receipt.encode())
    backend = await LocalLedgerBackend.open_readonly(directory)
    try:
        for form in (receipt, receipt.encode(), receipt.id):
            assert await verify_receipt(form, backend=backend, storage=storage) == receipt
        with pytest.raises(ReceiptInvalid, match=r"not in the given storage"):
            await verify_receipt(make_cids(1)[0], backend=backend, storage=storage)
        with pytest.raises(ConfigError, match=r"needs a storage"):
            await load_receipt(receipt.id)
        with pytest.raises(ReceiptInvalid, match=r"malformed receipt"):
            await verify_receipt(encode({"v": 1}), backend=backend)
        await storage.put(receipt.id, replace(receipt, count=7).encode())  # stored under the wrong id
        with pytest.raises(ReceiptInvalid, match=r"malformed receipt: receipt block does not hash"):
            await verify_receipt(receipt.id, backend=backend, storage=storage)
    finally:
        await backend.aclose()


async def test_checks_before_the_backend(local_receipt: tuple[Receipt, Path]) -> None:
    receipt, directory = local_receipt
    backend = await LocalLedgerBackend.open_readonly(directory)
    try:
        too_long = replace(receipt, count=2)  # a 3-step path cannot come from a batch of 2
        with pytest.raises(ReceiptInvalid, match=r"too long"):
            await verify_receipt(too_long, backend=backend)
        with pytest.raises(ConfigError, match=r"needs a backend"):
            await verify_receipt(receipt)
        with pytest.raises(ReceiptInvalid, match=r"cannot be checked over JSON-RPC"):
            await verify_receipt(receipt, rpc="http://127.0.0.1:1")
    finally:
        await backend.aclose()
    chain = await EthTesterBackend.create()
    try:
        with pytest.raises(ReceiptInvalid, match=r"'local' receipt cannot be checked by a 'eth-tester'"):
            await verify_receipt(receipt, backend=chain)
    finally:
        await chain.aclose()


async def test_tampered_ledger_fails_the_verifier(local_receipt: tuple[Receipt, Path]) -> None:
    receipt, directory = local_receipt
    path = directory / "anchors.ledger"
    path.write_text(path.read_text().replace('"count":6', '"count":60'))
    with pytest.raises(AnchorError, match=r"tampered"):
        await LocalLedgerBackend.open_readonly(directory)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ConfigError):
        VerifyPolicy(min_confirmations=0)
    policy = VerifyPolicy.of(contracts=["0xABCdef"], senders=["0xAa"])
    assert policy.contracts == frozenset({"0xabcdef"}) and policy.senders == frozenset({"0xaa"})


def test_substrate_has_a_place_but_no_implementation() -> None:
    with pytest.raises(SubstrateNotImplemented, match=r"system.remark_with_event"):
        SubstrateBackend()
    assert issubclass(SubstrateNotImplemented, NotImplementedError)
    assert issubclass(SubstrateNotImplemented, AnchorError)
