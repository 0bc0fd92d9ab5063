"""The ``evm`` anchor backend: one transaction per batch through the ``Anchor`` contract, over JSON-RPC.

The contract (``orbitstore/anchoring/contracts/Anchor.sol``, compiled once with
solc-js into ``Anchor.json``; nothing is compiled at run time) only emits
``Anchored(bytes32 indexed root, address indexed by, uint256 count, string meta)``.

Sending: transactions are signed locally (the key comes from the keystore or
``ORBITSTORE_EVM_KEY``, see :func:`load_evm_key`) and sent raw, with the nonce
tracked here (re-read from the node after any nonce error) and EIP-1559 fees
(``maxFee = 2 × baseFee + tip``; legacy ``gasPrice`` on chains without a base
fee). A transaction not mined within ``stuck_after`` seconds is re-sent with the
same nonce and fees raised by ``fee_bump``, up to ``max_resends`` times; the
first of the sent versions to be mined wins.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientTimeout
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import BlockNotFound, TransactionNotFound, Web3Exception

from orbitstore.anchoring.backends.contract import (
    ANCHORED_EVENT,
    anchor_artifact,
    anchor_calldata,
    anchored_topic,
    deploy_anchor_contract,
)
from orbitstore.anchoring.policy import VerifyPolicy, check_confirmations, check_policy
from orbitstore.anchoring.receipt import AnchorFacts
from orbitstore.errors import AnchorError, ConfigError, NotFound, ReceiptInvalid
from orbitstore.identities import KeyStore, MemoryKeyStore

__all__ = [
    "ANCHORED_EVENT",
    "ENV_KEY",
    "EvmBackend",
    "EvmOptions",
    "anchor_artifact",
    "deploy_anchor_contract",
    "load_evm_key",
]

ENV_KEY = "ORBITSTORE_EVM_KEY"
_GWEI = 10**9


@dataclass(frozen=True, slots=True)
class EvmOptions:
    """Sending options.

    ``gas_margin``: multiplier on the node's gas estimate. ``stuck_after``:
    seconds to wait for a transaction before re-sending it with higher fees.
    ``max_resends``: re-sends before giving up. ``fee_bump``: fractional fee raise
    per re-send (nodes demand ≥ 10 %). ``default_tip``: priority fee (wei) when
    the node cannot suggest one. ``max_fee_cap``: never offer more than this
    per gas (wei), ``None`` for no cap. ``poll_interval``: seconds between
    receipt polls. ``rpc_timeout``: seconds for one JSON-RPC call.
    """

    gas_margin: float = 1.25
    stuck_after: float = 60.0
    max_resends: int = 3
    fee_bump: float = 0.125
    default_tip: int = 1 * _GWEI
    max_fee_cap: int | None = None
    poll_interval: float = 0.25
    rpc_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.gas_margin < 1 or self.stuck_after <= 0 or self.max_resends < 0 or self.poll_interval <= 0:
            raise ConfigError("invalid EVM options")
        if self.fee_bump < 0.1:
            raise ConfigError("fee_bump must be at least 0.1: nodes refuse smaller replacement bumps")


@dataclass(frozen=True, slots=True)
class _Fees:
    max_fee: int
    tip: int
    legacy: bool = False

    def bumped(self, bump: float, cap: int | None) -> _Fees:
        fees = _Fees(math.ceil(self.max_fee * (1 + bump)) + 1, math.ceil(self.tip * (1 + bump)) + 1, self.legacy)
        if cap is not None and fees.max_fee > cap:
            raise AnchorError(f"re-sending would offer {fees.max_fee} wei per gas, over the cap of {cap}")
        return fees


@dataclass(slots=True)
class _Sending:
    """The versions of one transaction sent so far (same nonce, rising fees)."""

    nonce: int
    hashes: list[bytes] = field(default_factory=list)


async def load_evm_key(
    *,
    keystore: KeyStore | MemoryKeyStore | None = None,
    name: str = "orbitstore-evm",
    environ: Mapping[str, str] | None = None,
) -> bytes:
    """The EVM signing key: keystore key ``name`` if the keystore holds it, else ``$ORBITSTORE_EVM_KEY`` (hex).

    Raises :class:`~orbitstore.errors.ConfigError` when neither has one.
    """
    if keystore is not None:
        try:
            return await keystore.get_key(name)
        except NotFound:
            pass
    env = os.environ if environ is None else environ
    text = env.get(ENV_KEY, "").strip()
    if not text:
        raise ConfigError(f"no EVM key: put one in the keystore as {name!r} or set {ENV_KEY} (hex)")
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise ConfigError(f"{ENV_KEY} is not hex") from None
    if len(raw) != 32:
        raise ConfigError(f"{ENV_KEY} must be a 32-byte key, got {len(raw)} bytes")
    return raw


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message if message else exc)


class EvmBackend:
    """Anchors roots through an ``Anchor`` contract on any EVM chain; verifies receipts against it.

    Build it with :meth:`connect` (an RPC URL); without a ``private_key`` it can
    only verify. ``contract`` is the deployed ``Anchor`` address (see
    :func:`deploy_anchor_contract`); it is also the contract trusted by default
    when verifying.
    """

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        *,
        contract: str,
        private_key: bytes | None = None,
        options: EvmOptions | None = None,
        kind: str = "evm",
        owns_provider: bool = True,
    ) -> None:
        self._w3 = w3
        self._contract = to_checksum_address(contract)
        self._account = Account.from_key(private_key) if private_key is not None else None
        self._options = options if options is not None else EvmOptions()
        self._kind = kind
        self._owns_provider = owns_provider
        self._lock = asyncio.Lock()  # one sender at a time: nonces are sequential
        self._nonce: int | None = None
        self._chain_id: int | None = None
        self._last_sent: tuple[bytes, ...] = ()
        self._closed = False

    @classmethod
    async def connect(
        cls,
        rpc_url: str,
        *,
        contract: str,
        private_key: bytes | None = None,
        options: EvmOptions | None = None,
    ) -> EvmBackend:
        """Connect to ``rpc_url`` and check it answers; the backend owns (and closes) the connection."""
        opts = options if options is not None else EvmOptions()
        provider = AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": ClientTimeout(total=opts.rpc_timeout)})
        backend = cls(AsyncWeb3(provider), contract=contract, private_key=private_key, options=opts)
        try:
            await backend.chain_id()
        except BaseException:
            await backend.aclose()
            raise
        return backend

    @classmethod
    async def deploy(cls, rpc_url: str, *, private_key: bytes, options: EvmOptions | None = None) -> EvmBackend:
        """Deploy a new ``Anchor`` contract with ``private_key`` and return a backend anchoring through it."""
        opts = options if options is not None else EvmOptions()
        provider = AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": ClientTimeout(total=opts.rpc_timeout)})
        w3: AsyncWeb3[Any] = AsyncWeb3(provider)
        try:
            contract = await deploy_anchor_contract(w3, private_key, gas_margin=opts.gas_margin, tip=opts.default_tip)
            backend = cls(w3, contract=contract, private_key=private_key, options=opts)
            await backend.chain_id()
        except BaseException:
            await provider.disconnect()
            raise
        return backend

    # -- facts about this backend ---------------------------------------------------------------

    @property
    def kind(self) -> str:
        """``"evm"`` (``"eth-tester"`` for the in-process chain)."""
        return self._kind

    @property
    def contract(self) -> str:
        """The ``Anchor`` contract address (EIP-55)."""
        return self._contract

    @property
    def address(self) -> str | None:
        """The sending address, or ``None`` for a verify-only backend."""
        return self._account.address if self._account is not None else None

    @property
    def w3(self) -> AsyncWeb3[Any]:
        """The web3 connection (for tests and tools)."""
        return self._w3

    @property
    def last_sent(self) -> tuple[bytes, ...]:
        """Hashes of every version sent for the latest anchor (the first, then each re-send)."""
        return self._last_sent

    async def chain_id(self) -> int:
        """The endpoint's chain id (asked once per backend)."""
        if self._chain_id is None:
            self._chain_id = int(await self._call(self._w3.eth.chain_id))
        return self._chain_id

    def __str__(self) -> str:
        return f"{self._kind} backend, contract {self._contract}, chain {self._chain_id}"

    async def _call(self, awaitable: Any) -> Any:
        try:
            async with asyncio.timeout(self._options.rpc_timeout):
                return await awaitable
        except TimeoutError:
            raise AnchorError(f"the EVM node did not answer within {self._options.rpc_timeout} s") from None

    # -- anchoring ------------------------------------------------------------------------------

    def calldata(self, root: bytes, count: int, meta: str) -> bytes:
        """ABI-encoded call ``anchor(root, count, meta)``."""
        return anchor_calldata(root, count, meta)

    async def anchor(self, root: bytes, count: int, meta: str) -> AnchorFacts:
        """Send one ``anchor`` transaction and wait until it is mined; return its facts."""
        if self._closed:
            raise AnchorError("the EVM backend is closed")
        if self._account is None:
            raise AnchorError("this EVM backend has no key: it can verify, not anchor")
        if len(root) != 32 or root == bytes(32) or count < 1:
            raise AnchorError("anchor needs a non-zero 32-byte root and a count of at least 1")
        data = self.calldata(root, count, meta)
        async with self._lock:
            chain_id = await self.chain_id()
            sender = self._account.address
            try:
                gas_estimate = await self._call(
                    self._w3.eth.estimate_gas({"from": sender, "to": self._contract, "data": data})
                )
            except Web3Exception as exc:
                raise AnchorError(f"the anchor call would fail: {_error_text(exc)}") from exc
            gas = math.ceil(int(gas_estimate) * self._options.gas_margin)
            receipt = await self._send(data, gas=gas, chain_id=chain_id)
        if receipt["status"] != 1:
            raise AnchorError(
                f"anchor transaction 0x{bytes(receipt['transactionHash']).hex()} reverted "
                f"in block {receipt['blockNumber']}"
            )
        block = await self._call(self._w3.eth.get_block(receipt["blockNumber"]))
        return AnchorFacts(
            kind=self._kind,
            chain_id=chain_id,
            contract=self._contract,
            tx_hash=bytes(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=bytes(receipt["blockHash"]),
            timestamp=int(block["timestamp"]),
            sender=sender,
        )

    async def _fees(self) -> _Fees:
        latest = await self._call(self._w3.eth.get_block("latest"))
        base = latest.get("baseFeePerGas")
        if base is None:
            price = int(await self._call(self._w3.eth.gas_price))
            return _Fees(price, price, legacy=True)
        try:
            tip = int(await self._call(self._w3.eth.max_priority_fee))
        except Web3Exception:
            tip = self._options.default_tip
        fees = _Fees(2 * int(base) + tip, tip)
        cap = self._options.max_fee_cap
        if cap is not None and fees.max_fee > cap:
            if cap <= int(base):
                raise AnchorError(f"the base fee {base} is over the cap of {cap} wei per gas")
            fees = _Fees(cap, min(tip, cap - int(base)))
        return fees

    async def _pending_nonce(self) -> int:
        assert self._account is not None
        return int(await self._call(self._w3.eth.get_transaction_count(self._account.address, "pending")))

    async def _send(self, data: bytes, *, gas: int, chain_id: int) -> Any:
        """Send, wait, re-send with bumped fees while stuck; return the first mined version's receipt."""
        assert self._account is not None
        if self._nonce is None:
            self._nonce = await self._pending_nonce()
        sending = _Sending(self._nonce)
        self._last_sent = ()
        fees = await self._fees()
        opts = self._options
        resends = nonce_retries = 0
        while True:
            tx: dict[str, Any] = {
                "chainId": chain_id,
                "nonce": sending.nonce,
                "to": self._contract,
                "data": data,
                "gas": gas,
                "value": 0,
            }
            if fees.legacy:
                tx["gasPrice"] = fees.max_fee
            else:
                tx.update(type=2, maxFeePerGas=fees.max_fee, maxPriorityFeePerGas=fees.tip)
            signed = self._account.sign_transaction(tx)
            try:
                await self._call(self._w3.eth.send_raw_transaction(signed.raw_transaction))
            except Web3Exception as exc:
                text = _error_text(exc).lower()
                if "already known" in text:
                    sending.hashes.append(bytes(signed.hash))  # this very version is pooled already
                elif "nonce" in text and not sending.hashes and nonce_retries < 3:
                    # Someone else used this key: start again from the node's pending nonce.
                    nonce_retries += 1
                    fresh = await self._pending_nonce()
                    if fresh == sending.nonce:
                        self._nonce = None
                        raise AnchorError(f"the node refused the anchor transaction: {_error_text(exc)}") from exc
                    self._nonce = sending.nonce = fresh
                    continue
                elif "nonce" in text and sending.hashes:
                    pass  # an earlier version was mined meanwhile: wait for its receipt
                elif "underpriced" in text and resends < opts.max_resends:
                    resends += 1
                    fees = fees.bumped(opts.fee_bump, opts.max_fee_cap)
                    continue
                else:
                    self._nonce = None
                    raise AnchorError(f"the node refused the anchor transaction: {_error_text(exc)}") from exc
            else:
                sending.hashes.append(bytes(signed.hash))
            self._last_sent = tuple(sending.hashes)
            receipt = await self._wait_mined(sending.hashes, opts.stuck_after)
            if receipt is not None:
                self._nonce = sending.nonce + 1
                return receipt
            if resends >= opts.max_resends:
                break
            resends += 1
            fees = fees.bumped(opts.fee_bump, opts.max_fee_cap)
        self._nonce = None  # unknown: one of the versions may still be mined later
        sent = ", ".join("0x" + h.hex() for h in sending.hashes) or "none accepted"
        raise AnchorError(
            f"anchor transaction stuck: not mined after {opts.max_resends} re-sends "
            f"({opts.stuck_after:g} s each); nonce {sending.nonce}, sent {sent}"
        )

    async def _wait_mined(self, hashes: list[bytes], within: float) -> Any | None:
        deadline = time.monotonic() + within
        while True:
            for tx_hash in hashes:
                try:
                    receipt = await self._call(self._w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
                except TransactionNotFound:
                    continue
                if receipt is not None and receipt.get("blockNumber") is not None:
                    return receipt
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(self._options.poll_interval)

    # -- verifying ------------------------------------------------------------------------------

    async def verify(self, facts: AnchorFacts, root: bytes, policy: VerifyPolicy, *, count: int | None = None) -> None:
        """Check chain, contract, sender, block, transaction, event and confirmations for ``facts``."""
        if facts.kind != self._kind:
            raise ReceiptInvalid(f"a {facts.kind!r} receipt cannot be checked by an {self._kind!r} backend")
        check_policy(facts, policy, chain_id=await self.chain_id(), contract=self._contract)
        results: tuple[Any, ...] = await asyncio.gather(
            self._call(self._w3.eth.get_block(facts.block_number)),
            self._call(self._w3.eth.get_transaction_receipt(HexBytes(facts.tx_hash))),
            self._call(self._w3.eth.block_number),
            return_exceptions=True,
        )
        block, receipt, head = results
        for result in (block, receipt, head):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancellation and friends pass through
        if isinstance(block, BlockNotFound):
            raise ReceiptInvalid(f"block {facts.block_number} does not exist on this chain (rewound?)")
        if isinstance(receipt, TransactionNotFound):
            raise ReceiptInvalid(f"transaction 0x{facts.tx_hash.hex()} is not on the chain (dropped, or re-orged away)")
        for result in (block, receipt, head):
            if isinstance(result, AnchorError):
                raise result
            if isinstance(result, Exception):
                raise AnchorError(f"the EVM node failed while verifying: {_error_text(result)}") from result
        if bytes(block["hash"]) != facts.block_hash:
            raise ReceiptInvalid(
                f"re-orged: block {facts.block_number} is now 0x{bytes(block['hash']).hex()}, "
                f"not 0x{facts.block_hash.hex()}"
            )
        if bytes(receipt["blockHash"]) != facts.block_hash:
            raise ReceiptInvalid(
                f"re-orged: transaction 0x{facts.tx_hash.hex()} is now in block {receipt['blockNumber']}"
            )
        if receipt["status"] != 1:
            raise ReceiptInvalid(f"transaction 0x{facts.tx_hash.hex()} reverted")
        if int(block["timestamp"]) != facts.timestamp:
            raise ReceiptInvalid(f"block {facts.block_number} is dated {block['timestamp']}, not {facts.timestamp}")
        if (receipt.get("to") or "").lower() != facts.contract.lower():
            raise ReceiptInvalid(f"transaction 0x{facts.tx_hash.hex()} did not call {facts.contract}")
        if str(receipt["from"]).lower() != facts.sender.lower():
            raise ReceiptInvalid(f"transaction 0x{facts.tx_hash.hex()} was sent by {receipt['from']}")
        anchored = self._find_event(receipt["logs"], facts, root)
        if anchored is None:
            raise ReceiptInvalid(
                f"transaction 0x{facts.tx_hash.hex()} has no Anchored event from {facts.contract} "
                f"for root {root.hex()} by {facts.sender}"
            )
        if count is not None and anchored != count:
            raise ReceiptInvalid(f"the Anchored event counts {anchored} leaves, the receipt {count}")
        check_confirmations(block_number=facts.block_number, head=int(head), policy=policy)

    def _find_event(self, logs: Any, facts: AnchorFacts, root: bytes) -> int | None:
        """The ``count`` of the matching ``Anchored`` log, or ``None``."""
        topic0 = anchored_topic()
        by = bytes(12) + bytes.fromhex(facts.sender.lower().removeprefix("0x"))
        for log in logs:
            topics = [bytes(t) for t in log["topics"]]
            if (
                str(log["address"]).lower() == facts.contract.lower()
                and len(topics) == 3
                and topics[0] == topic0
                and topics[1] == root
                and topics[2] == by
            ):
                try:
                    count, _meta = abi_decode(["uint256", "string"], bytes(log["data"]))
                except Exception:  # eth_abi raises several decoding errors for malformed data
                    continue
                return int(count)
        return None

    async def aclose(self) -> None:
        """Close the RPC connection if this backend opened it. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        provider = self._w3.provider
        if self._owns_provider and isinstance(provider, AsyncHTTPProvider):
            await provider.disconnect()
