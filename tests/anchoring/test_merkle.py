"""The Merkle tree: RFC 6962 vectors, a reference implementation, and proof properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbitstore.anchoring.merkle import (
    LEFT,
    RIGHT,
    MerkleTree,
    ProofStep,
    leaf_hash,
    node_hash,
    root_from_proof,
    verify_proof,
)
from orbitstore.codec import CID
from orbitstore.errors import AnchorError, NotFound
from tests.anchoring.conftest import make_cids

# Certificate Transparency's reference leaves (already in sorted order) and the roots of their prefixes.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH, written from the text (recursive split at the largest power of two < n)."""
    n = len(leaves)
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


leaf_sets = st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=70)


@pytest.mark.parametrize("n", range(1, 9))
def test_certificate_transparency_vectors(n: int) -> None:
    assert MerkleTree(CT_LEAVES[:n]).root.hex() == CT_ROOTS[n - 1]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 100])
def test_matches_rfc_6962_reference(n: int) -> None:
    leaves = sorted({hashlib.sha256(bytes([i])).digest() for i in range(n)})
    assert MerkleTree(leaves).root == reference_root(leaves)


@given(leaf_sets)
def test_matches_reference_on_any_set(leaves: list[bytes]) -> None:
    assert MerkleTree(leaves).root == reference_root(sorted(set(leaves)))


@given(leaf_sets, st.randoms(use_true_random=False))
def test_order_and_duplicates_do_not_matter(leaves: list[bytes], rnd: object) -> None:
    shuffled = leaves + leaves[: len(leaves) // 2]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert MerkleTree(shuffled).root == MerkleTree(leaves).root
    assert len(MerkleTree(shuffled)) == len(set(leaves))


@given(leaf_sets)
def test_every_leaf_proves(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    for leaf in set(leaves):
        proof = tree.proof(leaf)
        assert verify_proof(leaf, proof, tree.root)
        assert len(proof) <= (len(tree) - 1).bit_length()


@given(leaf_sets, st.binary(max_size=40))
def test_a_non_leaf_does_not_prove(leaves: list[bytes], other: bytes) -> None:
    tree = MerkleTree(leaves)
    if other in tree:
        return
    with pytest.raises(NotFound):
        tree.proof(other)
    for leaf in set(leaves):
        assert not verify_proof(other, tree.proof(leaf), tree.root)


def test_an_inner_node_is_not_a_leaf() -> None:
    leaves = [b"a", b"b", b"c", b"d"]
    tree = MerkleTree(leaves)
    inner = node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
    # The node's children as a "leaf": the prefixes keep it from proving.
    assert not verify_proof(leaf_hash(b"a") + leaf_hash(b"b"), tree.proof(b"c")[1:], tree.root)
    assert not verify_proof(inner, tree.proof(b"c")[1:], tree.root)


@given(leaf_sets, st.data())
def test_any_altered_step_fails(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree(leaves)
    leaf = data.draw(st.sampled_from(sorted(set(leaves))))
    proof = tree.proof(leaf)
    if not proof:
        # A one-leaf tree: any added step fails.
        assert not verify_proof(leaf, [(LEFT, bytes(32))], tree.root)
        return
    i = data.draw(st.integers(0, len(proof) - 1))
    side, sibling = proof[i]
    flipped: ProofStep = (RIGHT if side == LEFT else LEFT, sibling)
    byte = data.draw(st.integers(0, 31))
    changed: ProofStep = (side, sibling[:byte] + bytes([sibling[byte] ^ 0x01]) + sibling[byte + 1 :])
    for bad in (
        [*proof[:i], flipped, *proof[i + 1 :]],
        [*proof[:i], changed, *proof[i + 1 :]],
        proof[:i] + proof[i + 1 :],
        [*proof, (LEFT, sibling)],
        [*proof[:i], (side, sibling[:31]), *proof[i + 1 :]],
    ):
        assert not verify_proof(leaf, bad, tree.root)
    if len(proof) > 1 and proof[0] != proof[1]:
        assert not verify_proof(leaf, [proof[1], proof[0], *proof[2:]], tree.root)


def test_cids_are_leaves_by_their_binary_form() -> None:
    cids = make_cids(5)
    tree = MerkleTree(cids)
    assert tree.leaves == tuple(sorted(c.to_bytes() for c in cids))
    text_form = CID.parse(cids[2].encode("base32"))
    assert text_form in tree
    assert verify_proof(text_form, tree.proof(cids[2]), tree.root)
    assert dict(tree.proofs()) == {c.to_bytes(): tree.proof(c) for c in cids}


def test_malformed_proofs_are_rejected_not_crashed() -> None:
    tree = MerkleTree([b"a", b"b"])
    assert root_from_proof(b"a", [("X", bytes(32))]) is None  # type: ignore[list-item]
    assert root_from_proof(b"a", [(LEFT, "00" * 32)]) is None  # type: ignore[list-item]
    assert root_from_proof(b"a", [(LEFT, bytes(32))] * 65) is None
    assert not verify_proof(b"a", [("L",)], tree.root)  # type: ignore[list-item]


def test_an_empty_tree_is_refused() -> None:
    with pytest.raises(AnchorError):
        MerkleTree([])
