"""The EVM backend against a real chain (anvil from npm): anchoring, fees, nonces, stuck transactions, reorgs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from orbitstore.anchoring import MerkleTree, Receipt, VerifyPolicy, verify_receipt
from orbitstore.anchoring.backends.evm import EvmBackend, EvmOptions, load_evm_key
from orbitstore.errors import AnchorError, ConfigError, ReceiptInvalid
from orbitstore.identities import MemoryKeyStore
from tests.anchoring.conftest import Anvil, make_cids, wait_until
from tests.anchoring.test_ethtester import reverted_facts

pytestmark = pytest.mark.anvil


@pytest.fixture
async def backend(anvil: Anvil) -> AsyncIterator[EvmBackend]:
    evm = await EvmBackend.deploy(anvil.url, private_key=anvil.key(0))
    try:
        yield evm
    finally:
        await evm.aclose()


@pytest.fixture
async def verifier(anvil: Anvil, backend: EvmBackend) -> AsyncIterator[EvmBackend]:
    evm = await EvmBackend.connect(anvil.url, contract=backend.contract)
    try:
        yield evm
    finally:
        await evm.aclose()


async def anchor_batch(backend: EvmBackend, n: int = 16, salt: str = "") -> list[Receipt]:
    cids = make_cids(n, salt=salt)
    tree = MerkleTree(cids)
    facts = await backend.anchor(tree.root, len(tree), "orbitstore test")
    return [Receipt(c, tree.root, tuple(tree.proof(c)), len(tree), facts) for c in cids]


async def test_anchor_and_verify_on_anvil(anvil: Anvil, backend: EvmBackend, verifier: EvmBackend) -> None:
    receipts = await anchor_batch(backend, 1000)
    facts = receipts[0].facts
    assert facts.kind == "evm" and facts.chain_id == 31337
    assert facts.sender == Account.from_key(anvil.key(0)).address
    tx: Any = await backend.w3.eth.get_transaction(HexBytes(facts.tx_hash))
    assert tx["type"] == 2 and tx["to"] == backend.contract
    mined: Any = await backend.w3.eth.get_transaction_receipt(HexBytes(facts.tx_hash))
    assert mined["gasUsed"] < 40_000  # one small transaction, whatever the batch size
    for receipt in receipts[::250]:
        await verify_receipt(Receipt.decode(receipt.encode()), backend=verifier)
    # Verify over a bare RPC URL, trusting the contract explicitly.
    policy = VerifyPolicy.of(contracts=[backend.contract], chain_id=31337)
    await verify_receipt(receipts[1], rpc=anvil.url, policy=policy)
    with pytest.raises(ConfigError, match=r"policy.contracts"):
        await verify_receipt(receipts[1], rpc=anvil.url)


async def test_wrong_path_contract_chain(anvil: Anvil, backend: EvmBackend, verifier: EvmBackend) -> None:
    receipts = await anchor_batch(backend)
    receipt = receipts[5]
    side, sibling = receipt.path[-1]
    with pytest.raises(ReceiptInvalid, match=r"wrong path"):
        await verify_receipt(
            replace(receipt, path=(*receipt.path[:-1], ("L" if side == "R" else "R", sibling))), backend=verifier
        )
    other = await EvmBackend.deploy(anvil.url, private_key=anvil.key(1))
    try:
        with pytest.raises(ReceiptInvalid, match=r"untrusted contract"):
            await verify_receipt(receipt, backend=other)
        both = VerifyPolicy.of(contracts=[backend.contract, other.contract])
        claims_other = replace(receipt, facts=replace(receipt.facts, contract=other.contract))
        with pytest.raises(ReceiptInvalid, match=r"did not call"):
            await verify_receipt(claims_other, backend=other, policy=both)
    finally:
        await other.aclose()
    with pytest.raises(ReceiptInvalid, match=r"wrong chain"):
        await verify_receipt(receipt, backend=verifier, policy=VerifyPolicy(chain_id=1))
    with pytest.raises(ReceiptInvalid, match=r"wrong chain"):
        await verify_receipt(replace(receipt, facts=replace(receipt.facts, chain_id=10)), backend=verifier)


async def test_reverted_transaction(anvil: Anvil, backend: EvmBackend, verifier: EvmBackend) -> None:
    facts = await reverted_facts(backend, anvil.key(0), "evm")
    cid = make_cids(1)[0]
    receipt = Receipt(cid, MerkleTree([cid]).root, (), 1, facts)
    with pytest.raises(ReceiptInvalid, match=r"reverted"):
        await verify_receipt(receipt, backend=verifier)


async def test_reorged_block(anvil: Anvil, backend: EvmBackend, verifier: EvmBackend) -> None:
    snapshot = anvil.rpc("evm_snapshot")
    receipts = await anchor_batch(backend)
    facts = receipts[0].facts
    await verify_receipt(receipts[0], backend=verifier)
    anvil.rpc("evm_revert", [snapshot])
    anvil.rpc("evm_mine", [facts.timestamp + 60])  # a different block at the same height
    block: Any = await verifier.w3.eth.get_block(facts.block_number)
    assert bytes(block["hash"]) != facts.block_hash
    with pytest.raises(ReceiptInvalid, match=r"re-orged"):
        await verify_receipt(receipts[0], backend=verifier)


async def test_too_few_confirmations(anvil: Anvil, backend: EvmBackend, verifier: EvmBackend) -> None:
    receipts = await anchor_batch(backend)
    policy = VerifyPolicy(min_confirmations=4)
    with pytest.raises(ReceiptInvalid, match=r"too few confirmations: block .* has 1, policy needs 4"):
        await verify_receipt(receipts[0], backend=verifier, policy=policy)
    anvil.rpc("anvil_mine", [hex(3)])
    await verify_receipt(receipts[0], backend=verifier, policy=policy)


async def test_eip1559_fees_and_sequential_nonces(anvil: Anvil, backend: EvmBackend) -> None:
    facts = await asyncio.gather(*(backend.anchor(bytes([i]) * 32, 1, f"#{i}") for i in range(1, 6)))
    txs: list[Any] = [await backend.w3.eth.get_transaction(HexBytes(f.tx_hash)) for f in facts]
    assert sorted(tx["nonce"] for tx in txs) == list(range(txs[0]["nonce"], txs[0]["nonce"] + 5))
    for tx in txs:
        block: Any = await backend.w3.eth.get_block(tx["blockNumber"] - 1)
        assert tx["maxFeePerGas"] >= tx["maxPriorityFeePerGas"] > 0
        assert tx["maxFeePerGas"] >= block["baseFeePerGas"]


async def test_nonce_used_elsewhere_is_recovered(anvil: Anvil, backend: EvmBackend) -> None:
    await backend.anchor(b"\x01" * 32, 1, "")
    # Someone else sends with the same key: the backend's cached nonce is now stale.
    account = Account.from_key(anvil.key(0))
    w3 = backend.w3
    tx = {
        "chainId": 31337,
        "nonce": await w3.eth.get_transaction_count(account.address, "pending"),
        "to": account.address,
        "value": 1,
        "gas": 21_000,
        "maxFeePerGas": 10 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "type": 2,
    }
    await w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    facts = await backend.anchor(b"\x02" * 32, 1, "")
    mined: Any = await w3.eth.get_transaction(HexBytes(facts.tx_hash))
    assert mined["nonce"] == tx["nonce"] + 1


async def test_a_stuck_transaction_is_resent_with_higher_fees(anvil: Anvil) -> None:
    options = EvmOptions(stuck_after=0.3, poll_interval=0.05, max_resends=5)
    backend = await EvmBackend.deploy(anvil.url, private_key=anvil.key(2), options=options)
    try:
        anvil.rpc("evm_setAutomine", [False])
        task = asyncio.create_task(backend.anchor(b"\x07" * 32, 3, "stuck"))
        await wait_until(lambda: len(backend.last_sent) >= 2)
        anvil.rpc("evm_mine")
        facts = await asyncio.wait_for(task, 10)
        sent = backend.last_sent
        assert len(sent) >= 2 and facts.tx_hash in sent and facts.tx_hash != sent[0]
        mined: Any = await backend.w3.eth.get_transaction(HexBytes(facts.tx_hash))
        parent: Any = await backend.w3.eth.get_block(facts.block_number - 1)
        first_offer = 2 * parent["baseFeePerGas"] + 10**9  # what the first version offered
        assert mined["maxFeePerGas"] > first_offer and mined["maxPriorityFeePerGas"] > 10**9
        assert (
            mined["nonce"]
            == (await backend.w3.eth.get_transaction_count(to_checksum_address(backend.address or ""))) - 1
        )
        anvil.rpc("evm_setAutomine", [True])
        verifier = await EvmBackend.connect(anvil.url, contract=backend.contract)
        try:
            await verifier.verify(facts, b"\x07" * 32, VerifyPolicy(), count=3)
        finally:
            await verifier.aclose()
    finally:
        await backend.aclose()


async def test_a_transaction_stuck_for_good_fails_with_the_reason(anvil: Anvil) -> None:
    options = EvmOptions(stuck_after=0.15, poll_interval=0.05, max_resends=1)
    backend = await EvmBackend.deploy(anvil.url, private_key=anvil.key(3), options=options)
    try:
        anvil.rpc("evm_setAutomine", [False])
        with pytest.raises(AnchorError, match=r"stuck: not mined after 1 re-sends"):
            await backend.anchor(b"\x08" * 32, 1, "")
        assert len(backend.last_sent) == 2
    finally:
        await backend.aclose()


async def test_key_from_keystore_or_environment() -> None:
    key = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
    keystore = MemoryKeyStore()
    await keystore.add_key("orbitstore-evm", key)
    assert await load_evm_key(keystore=keystore, environ={}) == key
    assert await load_evm_key(environ={"ORBITSTORE_EVM_KEY": "0x" + key.hex()}) == key
    assert await load_evm_key(keystore=MemoryKeyStore(), environ={"ORBITSTORE_EVM_KEY": key.hex()}) == key
    with pytest.raises(ConfigError, match=r"no EVM key"):
        await load_evm_key(environ={})
    with pytest.raises(ConfigError, match=r"32-byte"):
        await load_evm_key(environ={"ORBITSTORE_EVM_KEY": "abcd"})
