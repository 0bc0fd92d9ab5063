"""The committed ``Anchor`` contract: its artifact, call encoding, event topic, and deployment.

``contracts/Anchor.sol`` is compiled once with solc-js (``tools/anvil/compile-anchor.js``)
into ``contracts/Anchor.json``; only that artifact is used at run time.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import AsyncWeb3

from orbitstore.errors import AnchorError

__all__ = [
    "ANCHORED_EVENT",
    "ANCHOR_FUNCTION",
    "anchor_artifact",
    "anchor_calldata",
    "anchored_topic",
    "deploy_anchor_contract",
]

ANCHORED_EVENT = "Anchored(bytes32,address,uint256,string)"
ANCHOR_FUNCTION = "anchor(bytes32,uint256,string)"


def anchor_artifact() -> dict[str, Any]:
    """The committed compiled artifact of ``Anchor.sol`` (abi, bytecode, compiler and settings)."""
    text = resources.files("orbitstore.anchoring").joinpath("contracts", "Anchor.json").read_text("utf-8")
    artifact: dict[str, Any] = json.loads(text)
    return artifact


def anchored_topic() -> bytes:
    """``topics[0]`` of an ``Anchored`` log: keccak256 of the event signature."""
    return keccak(text=ANCHORED_EVENT)


def anchor_calldata(root: bytes, count: int, meta: str) -> bytes:
    """ABI-encoded call ``anchor(root, count, meta)``."""
    return keccak(text=ANCHOR_FUNCTION)[:4] + abi_encode(["bytes32", "uint256", "string"], [root, count, meta])


async def deploy_anchor_contract(
    w3: AsyncWeb3[Any], private_key: bytes, *, gas_margin: float = 1.25, tip: int = 10**9, wait: float = 60.0
) -> str:
    """Deploy the committed ``Anchor`` bytecode with ``private_key``; return the contract address (EIP-55)."""
    account = Account.from_key(private_key)
    bytecode = anchor_artifact()["bytecode"]
    chain_id = int(await w3.eth.chain_id)
    nonce = int(await w3.eth.get_transaction_count(account.address, "pending"))
    gas = math.ceil(int(await w3.eth.estimate_gas({"from": account.address, "data": bytecode})) * gas_margin)
    latest = await w3.eth.get_block("latest")
    base = latest.get("baseFeePerGas")
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "data": bytecode, "gas": gas, "value": 0}
    if base is None:
        tx["gasPrice"] = int(await w3.eth.gas_price)
    else:
        tx.update(type=2, maxFeePerGas=2 * int(base) + tip, maxPriorityFeePerGas=tip)
    signed = account.sign_transaction(tx)
    tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=wait, poll_latency=0.05)
    if receipt["status"] != 1 or not receipt.get("contractAddress"):
        raise AnchorError(f"deploying the Anchor contract failed in transaction 0x{bytes(tx_hash).hex()}")
    return to_checksum_address(str(receipt["contractAddress"]))
