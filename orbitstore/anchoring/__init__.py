"""Anchoring: Merkle-batched CIDs, receipts, backends (local ledger, EVM, eth-tester) and the verifier.

Only hashes go on chain, batched: :class:`Anchorer` collects CIDs, anchors one
Merkle root per batch through an :class:`AnchorBackend`, and stores one
:class:`Receipt` block per CID; :func:`verify_receipt` checks a receipt's path
offline and its anchor against the backend. See ``docs/anchoring.md``.

The EVM backends import web3 (the ``evm`` extra) and are imported from
:mod:`orbitstore.anchoring.backends.evm` / ``.ethtester`` when needed.
"""

from orbitstore.anchoring.backends.base import AnchorBackend
from orbitstore.anchoring.backends.local import LocalLedgerBackend
from orbitstore.anchoring.merkle import MerkleTree, ProofStep, verify_proof
from orbitstore.anchoring.policy import VerifyPolicy
from orbitstore.anchoring.receipt import AnchorFacts, Receipt
from orbitstore.anchoring.service import Anchorer, AnchorerOptions, AnchorHandle, AnchorStatus
from orbitstore.anchoring.verifier import load_receipt, verify_receipt

__all__ = [
    "AnchorBackend",
    "AnchorFacts",
    "AnchorHandle",
    "AnchorStatus",
    "Anchorer",
    "AnchorerOptions",
    "LocalLedgerBackend",
    "MerkleTree",
    "ProofStep",
    "Receipt",
    "VerifyPolicy",
    "load_receipt",
    "verify_proof",
    "verify_receipt",
]
