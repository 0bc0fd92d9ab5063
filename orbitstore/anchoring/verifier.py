"""Verify an anchor receipt: its Merkle path offline, then its anchor against the backend.

Checks, in order (each failure raises :class:`~orbitstore.errors.ReceiptInvalid`
naming it): the block decodes and is a well-formed receipt (and hashes to the
id it was fetched by); ``expect_cid``, if given, is the anchored CID; the path
hashes the CID up to the root; the receipt's kind is the backend's; then the
backend checks chain id, trusted contract (and sender), that the transaction
succeeded and is still in the block it names, that its ``Anchored`` event
carries the root and the leaf count, and the confirmations.
"""

from __future__ import annotations

from orbitstore.anchoring.backends.base import AnchorBackend
from orbitstore.anchoring.policy import VerifyPolicy
from orbitstore.anchoring.receipt import Receipt
from orbitstore.codec import CID
from orbitstore.errors import ConfigError, DecodeError, ReceiptInvalid
from orbitstore.storage.base import Storage

__all__ = ["load_receipt", "verify_receipt"]


async def load_receipt(receipt: Receipt | bytes | CID | str, *, storage: Storage | None = None) -> Receipt:
    """A :class:`Receipt` from itself, its block bytes, or its id (looked up in ``storage``).

    Raises :class:`~orbitstore.errors.ReceiptInvalid` when the block is missing or malformed.
    """
    if isinstance(receipt, Receipt):
        return receipt
    try:
        if isinstance(receipt, bytes):
            return Receipt.decode(receipt)
        receipt_id = str(receipt) if isinstance(receipt, CID) else str(CID.parse(receipt))
        if storage is None:
            raise ConfigError("a receipt id needs a storage to load the receipt block from")
        block = await storage.get(receipt_id)
        if block is None:
            raise ReceiptInvalid(f"receipt {receipt_id} is not in the given storage")
        return Receipt.decode(block, expected_id=receipt_id)
    except DecodeError as exc:
        raise ReceiptInvalid(f"malformed receipt: {exc}") from None


async def verify_receipt(
    receipt: Receipt | bytes | CID | str,
    *,
    backend: AnchorBackend | None = None,
    rpc: str | None = None,
    policy: VerifyPolicy | None = None,
    storage: Storage | None = None,
    expect_cid: CID | str | None = None,
) -> Receipt:
    """Verify ``receipt`` and return it; raise :class:`~orbitstore.errors.ReceiptInvalid` with the failed check.

    ``receipt`` is a :class:`Receipt`, its block, or its id (then ``storage``
    holds the block). Check the anchor with ``backend``; or, for an ``evm``
    receipt, give ``rpc`` (a JSON-RPC URL) and a verify-only connection is
    opened (and closed) for the call, trusting the receipt's contract only if
    ``policy.contracts`` names it. ``policy`` defaults to :class:`VerifyPolicy()`.
    """
    loaded = await load_receipt(receipt, storage=storage)
    if expect_cid is not None:
        wanted = expect_cid if isinstance(expect_cid, CID) else CID.parse(expect_cid)
        if wanted.to_bytes() != loaded.cid.to_bytes():
            raise ReceiptInvalid(f"the receipt is for {loaded.cid}, not {wanted}")
    if not loaded.proves_inclusion():
        raise ReceiptInvalid(f"wrong path: the path does not hash {loaded.cid} up to root {loaded.root.hex()}")
    if len(loaded.path) > max(loaded.count - 1, 0).bit_length():
        raise ReceiptInvalid(f"wrong path: {len(loaded.path)} steps is too long for a batch of {loaded.count}")
    rules = policy if policy is not None else VerifyPolicy()
    if backend is not None:
        await _check_anchor(backend, loaded, rules)
        return loaded
    if rpc is None:
        raise ConfigError("verify_receipt needs a backend, or an rpc URL for an evm receipt")
    if loaded.kind != "evm":
        raise ReceiptInvalid(f"a {loaded.kind!r} receipt cannot be checked over JSON-RPC; pass its backend")
    if not rules.contracts:
        raise ConfigError("verifying over rpc needs policy.contracts: the Anchor contracts you trust")
    from orbitstore.anchoring.backends.evm import EvmBackend  # web3 is the optional 'evm' extra

    checker = await EvmBackend.connect(rpc, contract=loaded.facts.contract)
    try:
        await _check_anchor(checker, loaded, rules)
    finally:
        await checker.aclose()
    return loaded


async def _check_anchor(backend: AnchorBackend, receipt: Receipt, policy: VerifyPolicy) -> None:
    if receipt.kind != backend.kind:
        raise ReceiptInvalid(f"a {receipt.kind!r} receipt cannot be checked by a {backend.kind!r} backend")
    await backend.verify(receipt.facts, receipt.root, policy, count=receipt.count)
