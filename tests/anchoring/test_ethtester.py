"""The EVM backend on the in-process chain (eth-tester): fast checks of anchoring and every verifier rule."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from orbitstore.anchoring import MerkleTree, Receipt, VerifyPolicy, verify_receipt
from orbitstore.anchoring.backends.ethtester import EthTesterBackend
from orbitstore.anchoring.backends.evm import EvmBackend, deploy_anchor_contract
from orbitstore.anchoring.receipt import AnchorFacts
from orbitstore.errors import AnchorError, ReceiptInvalid
from tests.anchoring.conftest import make_cids


async def anchored(backend: EvmBackend, n: int = 8, salt: str = "") -> tuple[list[Receipt], MerkleTree]:
    cids = make_cids(n, salt=salt)
    tree = MerkleTree(cids)
    facts = await backend.anchor(tree.root, len(tree), "test")
    return [Receipt(c, tree.root, tuple(tree.proof(c)), len(tree), facts) for c in cids], tree


async def reverted_facts(backend: EvmBackend, key: bytes, kind: str) -> AnchorFacts:
    """Mine a transaction to the contract that reverts (zero root), and describe it as if it anchored."""
    w3 = backend.w3
    account = Account.from_key(key)
    tx = {
        "chainId": await w3.eth.chain_id,
        "nonce": await w3.eth.get_transaction_count(account.address, "pending"),
        "to": backend.contract,
        "data": backend.calldata(bytes(32), 1, "bad"),
        "gas": 100_000,
        "maxFeePerGas": 10 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "type": 2,
        "value": 0,
    }
    tx_hash = await w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt: Any = await w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.02)
    assert receipt["status"] == 0
    block: Any = await w3.eth.get_block(receipt["blockNumber"])
    return AnchorFacts(
        kind=kind,
        chain_id=await w3.eth.chain_id,
        contract=backend.contract,
        tx_hash=bytes(tx_hash),
        block_number=receipt["blockNumber"],
        block_hash=bytes(receipt["blockHash"]),
        timestamp=block["timestamp"],
        sender=account.address,
    )


async def test_one_transaction_per_batch_and_receipts_verify(eth_tester_backend: EthTesterBackend) -> None:
    backend = eth_tester_backend
    before = await backend.w3.eth.block_number
    receipts, _ = await anchored(backend, 200)
    assert await backend.w3.eth.block_number == before + 1
    verifier = backend.verifier()
    for receipt in receipts[:5]:
        assert await verify_receipt(receipt, backend=verifier) == receipt
    code = await backend.w3.eth.get_code(to_checksum_address(backend.contract))
    from orbitstore.anchoring.backends.contract import anchor_artifact

    assert HexBytes(code) == HexBytes(anchor_artifact()["deployedBytecode"])


async def test_wrong_path(eth_tester_backend: EthTesterBackend) -> None:
    receipts, _ = await anchored(eth_tester_backend)
    receipt = receipts[2]
    side, sibling = receipt.path[0]
    bad = replace(receipt, path=((side, bytes(32)), *receipt.path[1:]))
    with pytest.raises(ReceiptInvalid, match=r"wrong path"):
        await verify_receipt(bad, backend=eth_tester_backend)
    other = replace(receipt, cid=make_cids(1, salt="x")[0])
    with pytest.raises(ReceiptInvalid, match=r"wrong path"):
        await verify_receipt(other, backend=eth_tester_backend)


async def test_a_valid_path_to_an_unanchored_root(eth_tester_backend: EthTesterBackend) -> None:
    receipts, _ = await anchored(eth_tester_backend)
    forged_tree = MerkleTree(make_cids(8, salt="forged"))
    cid = make_cids(8, salt="forged")[0]
    forged = Receipt(cid, forged_tree.root, tuple(forged_tree.proof(cid)), 8, receipts[0].facts)
    with pytest.raises(ReceiptInvalid, match=r"no Anchored event"):
        await verify_receipt(forged, backend=eth_tester_backend)
    with pytest.raises(ReceiptInvalid, match=r"counts 8 leaves"):
        await verify_receipt(replace(receipts[0], count=9), backend=eth_tester_backend)


async def test_wrong_contract(eth_tester_backend: EthTesterBackend) -> None:
    receipts, _ = await anchored(eth_tester_backend)
    other = await deploy_anchor_contract(eth_tester_backend.w3, eth_tester_backend.private_key)
    elsewhere = EvmBackend(eth_tester_backend.w3, contract=other, kind="eth-tester", owns_provider=False)
    with pytest.raises(ReceiptInvalid, match=r"untrusted contract"):
        await verify_receipt(receipts[0], backend=elsewhere)
    # Trusting both, a receipt that claims the other contract fails on the transaction itself.
    both = VerifyPolicy.of(contracts=[other, eth_tester_backend.contract])
    await verify_receipt(receipts[0], backend=elsewhere, policy=both)
    claims_other = replace(receipts[0], facts=replace(receipts[0].facts, contract=other))
    with pytest.raises(ReceiptInvalid, match=r"did not call"):
        await verify_receipt(claims_other, backend=elsewhere, policy=both)


async def test_wrong_chain(eth_tester_backend: EthTesterBackend) -> None:
    receipts, _ = await anchored(eth_tester_backend)
    with pytest.raises(ReceiptInvalid, match=r"wrong chain.*policy requires 1"):
        await verify_receipt(receipts[0], backend=eth_tester_backend, policy=VerifyPolicy(chain_id=1))
    moved = replace(receipts[0], facts=replace(receipts[0].facts, chain_id=1))
    with pytest.raises(ReceiptInvalid, match=r"wrong chain.*backend serves"):
        await verify_receipt(moved, backend=eth_tester_backend)


async def test_wrong_sender(eth_tester_backend: EthTesterBackend) -> None:
    receipts, _ = await anchored(eth_tester_backend)
    stranger = Account.create().address
    with pytest.raises(ReceiptInvalid, match=r"untrusted sender"):
        await verify_receipt(receipts[0], backend=eth_tester_backend, policy=VerifyPolicy.of(senders=[stranger]))
    await verify_receipt(
        receipts[0], backend=eth_tester_backend, policy=VerifyPolicy.of(senders=[eth_tester_backend.address or ""])
    )
    forged = replace(receipts[0], facts=replace(receipts[0].facts, sender=stranger))
    with pytest.raises(ReceiptInvalid, match=r"was sent by"):
        await verify_receipt(forged, backend=eth_tester_backend)


async def test_reverted_transaction(eth_tester_backend: EthTesterBackend) -> None:
    facts = await reverted_facts(eth_tester_backend, eth_tester_backend.private_key, "eth-tester")
    cid = make_cids(1)[0]
    tree = MerkleTree([cid])
    receipt = Receipt(cid, tree.root, (), 1, facts)
    with pytest.raises(ReceiptInvalid, match=r"reverted"):
        await verify_receipt(receipt, backend=eth_tester_backend)


async def test_confirmations(eth_tester_backend: EthTesterBackend) -> None:
    receipts, _ = await anchored(eth_tester_backend)
    with pytest.raises(ReceiptInvalid, match=r"too few confirmations.*has 1, policy needs 3"):
        await verify_receipt(receipts[0], backend=eth_tester_backend, policy=VerifyPolicy(min_confirmations=3))
    eth_tester_backend.tester.mine_blocks(2)
    await verify_receipt(receipts[0], backend=eth_tester_backend, policy=VerifyPolicy(min_confirmations=3))


async def test_reorg(eth_tester_backend: EthTesterBackend) -> None:
    tester = eth_tester_backend.tester
    snapshot = tester.take_snapshot()
    receipts, _ = await anchored(eth_tester_backend)
    await verify_receipt(receipts[0], backend=eth_tester_backend)
    tester.revert_to_snapshot(snapshot)
    tester.mine_blocks(2)
    with pytest.raises(ReceiptInvalid, match=r"re-orged|not on the chain"):
        await verify_receipt(receipts[0], backend=eth_tester_backend)


async def test_anchor_refuses_bad_input_and_readonly(eth_tester_backend: EthTesterBackend) -> None:
    with pytest.raises(AnchorError, match=r"non-zero 32-byte root"):
        await eth_tester_backend.anchor(bytes(32), 1, "")
    with pytest.raises(AnchorError, match=r"no key"):
        await eth_tester_backend.verifier().anchor(b"\x01" * 32, 1, "")
    with pytest.raises(ReceiptInvalid, match=r"cannot be checked"):
        receipts, _ = await anchored(eth_tester_backend)
        await eth_tester_backend.verify(replace(receipts[0].facts, kind="evm"), receipts[0].root, VerifyPolicy())
