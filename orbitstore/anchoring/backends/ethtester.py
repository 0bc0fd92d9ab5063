"""The ``eth-tester`` anchor backend: the EVM backend over an in-process py-evm chain.

For fast tests only. The chain lives in memory, starts empty on every
:meth:`EthTesterBackend.create`, mines each transaction at once, and its log
queries slow down as it grows: it is no ledger. Receipts it writes say
``kind: "eth-tester"`` and verify only against the same in-memory chain.
"""

from __future__ import annotations

from typing import Any

from web3 import AsyncEthereumTesterProvider, AsyncWeb3

from orbitstore.anchoring.backends.contract import deploy_anchor_contract
from orbitstore.anchoring.backends.evm import EvmBackend, EvmOptions

__all__ = ["EthTesterBackend"]


class EthTesterBackend(EvmBackend):
    """An :class:`~orbitstore.anchoring.backends.evm.EvmBackend` on a fresh in-process chain.

    ``tester`` is the underlying ``eth_tester.EthereumTester`` (snapshots,
    mining, auto-mine switch) for tests that need to steer the chain.
    """

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        *,
        contract: str,
        private_key: bytes,
        tester: Any,
        options: EvmOptions | None = None,
    ) -> None:
        super().__init__(w3, contract=contract, private_key=private_key, options=options, kind="eth-tester")
        self.tester = tester

    @classmethod
    async def create(cls, *, options: EvmOptions | None = None) -> EthTesterBackend:
        """Start a new in-memory chain, deploy ``Anchor`` with its first funded account, return the backend."""
        provider = AsyncEthereumTesterProvider()
        tester = provider.ethereum_tester
        w3: AsyncWeb3[Any] = AsyncWeb3(provider)
        private_key = bytes(tester.backend.account_keys[0].to_bytes())
        opts = options if options is not None else EvmOptions()
        contract = await deploy_anchor_contract(w3, private_key, gas_margin=opts.gas_margin, tip=opts.default_tip)
        return cls(w3, contract=contract, private_key=private_key, tester=tester, options=options)

    @property
    def private_key(self) -> bytes:
        """The funded test key that signs anchors (a well-known test key: never use it on a real chain)."""
        return bytes(self.tester.backend.account_keys[0].to_bytes())

    def verifier(self) -> EvmBackend:
        """A verify-only backend on the same in-process chain (no key)."""
        return EvmBackend(self.w3, contract=self.contract, kind="eth-tester", owns_provider=False)
