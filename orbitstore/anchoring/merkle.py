"""A sha256 Merkle tree over CIDs, RFC 6962 style, with inclusion proofs.

* Leaves are the CIDs' **binary** forms, sorted bytewise and de-duplicated, so
  the same set of CIDs always gives the same root, whatever order they came in.
* A leaf hashes as ``sha256(0x00 || leaf)`` and an inner node as
  ``sha256(0x01 || left || right)``: the distinct prefixes stop an inner node
  from being passed off as a leaf (second pre-image).
* Shape as RFC 6962's ``MTH``: ``n`` leaves split at the largest power of two
  smaller than ``n``. Built level by level this is the same tree: pair nodes
  left to right and carry an unpaired last node up unchanged.
* A proof is the list of siblings from the leaf up, each tagged with the side
  the sibling sits on (``"L"`` or ``"R"``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, TypeAlias

from orbitstore.codec import CID
from orbitstore.errors import AnchorError, NotFound

__all__ = [
    "LEFT",
    "RIGHT",
    "MerkleTree",
    "ProofStep",
    "Side",
    "leaf_hash",
    "leaf_bytes",
    "node_hash",
    "root_from_proof",
    "verify_proof",
]

Side: TypeAlias = Literal["L", "R"]
ProofStep: TypeAlias = tuple[Side, bytes]
"""One proof step: the side the sibling sits on, and the sibling's 32-byte hash."""

LEFT: Side = "L"
RIGHT: Side = "R"

_LEAF = b"\x00"
_NODE = b"\x01"
_MAX_PROOF = 64  # a tree of 2**64 leaves is out of reach; longer "proofs" are garbage


def leaf_bytes(leaf: bytes | CID) -> bytes:
    """The bytes a leaf stands for: a CID's binary form, or the bytes given."""
    return leaf.to_bytes() if isinstance(leaf, CID) else bytes(leaf)


def leaf_hash(leaf: bytes) -> bytes:
    """``sha256(0x00 || leaf)``."""
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``sha256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE + left + right).digest()


class MerkleTree:
    """A Merkle tree over a non-empty set of leaves (CIDs or raw bytes).

    >>> tree = MerkleTree([b"a", b"b", b"c"])
    >>> verify_proof(b"b", tree.proof(b"b"), tree.root)
    True
    """

    __slots__ = ("_index", "_leaves", "_levels")

    def __init__(self, leaves: Iterable[bytes | CID]) -> None:
        unique = sorted({leaf_bytes(leaf) for leaf in leaves})
        if not unique:
            raise AnchorError("a Merkle tree needs at least one leaf")
        self._leaves: tuple[bytes, ...] = tuple(unique)
        self._index = {leaf: i for i, leaf in enumerate(unique)}
        level = [hashlib.sha256(_LEAF + leaf).digest() for leaf in unique]
        levels = [level]
        while len(level) > 1:
            paired = [hashlib.sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                paired.append(level[-1])  # carried up unchanged: RFC 6962's uneven split
            level = paired
            levels.append(level)
        self._levels: tuple[list[bytes], ...] = tuple(levels)

    @property
    def root(self) -> bytes:
        """The 32-byte root hash."""
        return self._levels[-1][0]

    @property
    def leaves(self) -> tuple[bytes, ...]:
        """The leaves, sorted and de-duplicated."""
        return self._leaves

    def __len__(self) -> int:
        return len(self._leaves)

    def __contains__(self, leaf: object) -> bool:
        if isinstance(leaf, CID | bytes):
            return leaf_bytes(leaf) in self._index
        return False

    def proof(self, leaf: bytes | CID) -> list[ProofStep]:
        """The inclusion proof of ``leaf``; :class:`~orbitstore.errors.NotFound` when it is not a leaf."""
        raw = leaf_bytes(leaf)
        try:
            index = self._index[raw]
        except KeyError:
            raise NotFound("not a leaf of this Merkle tree") from None
        return self._proof_at(index)

    def proofs(self) -> Iterator[tuple[bytes, list[ProofStep]]]:
        """Every ``(leaf, proof)`` pair, in leaf order."""
        for index, leaf in enumerate(self._leaves):
            yield leaf, self._proof_at(index)

    def _proof_at(self, index: int) -> list[ProofStep]:
        steps: list[ProofStep] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                steps.append((LEFT if sibling < index else RIGHT, level[sibling]))
            index >>= 1
        return steps


def root_from_proof(leaf: bytes | CID, proof: Sequence[ProofStep]) -> bytes | None:
    """The root that ``proof`` leads to from ``leaf``, or ``None`` when the proof is malformed."""
    if len(proof) > _MAX_PROOF:
        return None
    acc = leaf_hash(leaf_bytes(leaf))
    for step in proof:
        if not isinstance(step, tuple | list) or len(step) != 2:
            return None
        side, sibling = step
        if not isinstance(sibling, bytes) or len(sibling) != 32:
            return None
        if side == LEFT:
            acc = node_hash(sibling, acc)
        elif side == RIGHT:
            acc = node_hash(acc, sibling)
        else:
            return None
    return acc


def verify_proof(leaf: bytes | CID, proof: Sequence[ProofStep], root: bytes) -> bool:
    """True iff ``proof`` hashes ``leaf`` up to ``root``."""
    return root_from_proof(leaf, proof) == root
