"""Pin batch index blocks (used by KuboStorage): layout, lookup of a member's leaf, and removal."""

from __future__ import annotations

import pytest

from orbitstore.codec import CID, RAW, block_cid, decode, encode
from orbitstore.errors import DecodeError
from orbitstore.storage._pin_batch import LINKS_PER_LEAF, Member, build_batch, parse_leaf, parse_root, without


def _cids(n: int) -> list[str]:
    return [block_cid(encode({"i": i})) for i in range(n)]


def _read(blocks: dict[str, bytes], root: str) -> tuple[list[list[Member]], list[str]]:
    index = parse_root(blocks[root])
    assert index is not None
    return [parse_leaf(blocks[leaf]) for leaf in index.leaves], list(index.leaves)


def test_members_are_raw_links_sorted_by_multihash_across_leaves() -> None:
    cids = _cids(LINKS_PER_LEAF + 10)
    root, blocks = build_batch([*cids, cids[0]])  # duplicates count once
    leaves, _ = _read(blocks, root)
    assert [len(leaf) for leaf in leaves] == [LINKS_PER_LEAF, 10]
    members = [m for leaf in leaves for m in leaf]
    assert [m.multihash for m in members] == sorted(CID.parse(c).multihash for c in cids)
    assert sorted(m.cid for m in members) == sorted(cids)  # the codec comes back with each member
    raw = decode(blocks[parse_root(blocks[root]).leaves[0]])  # type: ignore[union-attr]
    assert all(link.codec == RAW for link in raw["members"])  # Kubo never loads a raw block for its links
    assert build_batch(reversed(cids)) == (root, blocks)  # the same set gives the same root


def test_leaf_for_finds_the_only_leaf_that_may_hold_a_member() -> None:
    cids = _cids(3 * LINKS_PER_LEAF)
    root, blocks = build_batch(cids)
    index = parse_root(blocks[root])
    assert index is not None
    leaves, _ = _read(blocks, root)
    for number, leaf in enumerate(leaves):
        for member in (leaf[0], leaf[-1]):
            assert index.leaf_for(member.multihash) == number
    assert index.leaf_for(b"\x00") is None  # sorts before every member


def test_without_rewrites_only_the_leaves_that_held_them() -> None:
    cids = _cids(2 * LINKS_PER_LEAF + 5)
    root, blocks = build_batch(cids)
    index = parse_root(blocks[root])
    assert index is not None
    leaves, leaf_keys = _read(blocks, root)
    gone = {leaves[1][7].multihash, leaves[1][8].multihash}
    new_root, new_blocks, dropped = without(index, {1: leaves[1]}, gone)
    assert new_root is not None and dropped == [leaf_keys[1]]
    new_index = parse_root(new_blocks[new_root])
    assert new_index is not None
    assert set(new_blocks) == {new_root, new_index.leaves[1]}  # only the new root and the rewritten leaf
    merged = {**blocks, **new_blocks}
    after, after_keys = _read(merged, new_root)
    assert after_keys[0] == leaf_keys[0] and after_keys[2] == leaf_keys[2]  # untouched leaves are shared
    assert sum(len(leaf) for leaf in after) == len(cids) - 2
    assert not gone & {m.multihash for leaf in after for m in leaf}
    assert without(index, {1: leaves[1]}, {b"not a member"}) == (None, {}, [])  # nothing to remove


def test_without_the_last_members_leaves_nothing() -> None:
    cids = _cids(3)
    root, blocks = build_batch(cids)
    index = parse_root(blocks[root])
    assert index is not None
    leaves, leaf_keys = _read(blocks, root)
    assert without(index, {0: leaves[0]}, {m.multihash for m in leaves[0]}) == (None, {}, leaf_keys)


def test_other_blocks_are_not_batches() -> None:
    assert parse_root(encode({"name": "a manifest"})) is None
    assert parse_root(b"\xff not cbor") is None
    assert parse_root(encode({"orbitstore": "pin-batch", "v": 1, "leaves": [], "firsts": [b"\x02", b"\x01"]})) is None
    for bad in (
        encode({"orbitstore": "something else"}),
        encode({"orbitstore": "pin-batch-leaf", "members": [CID.parse(_cids(1)[0])], "codecs": [0x71]}),  # not raw
        encode({"orbitstore": "pin-batch-leaf", "members": [], "codecs": [0x71]}),  # lengths differ
    ):
        with pytest.raises(DecodeError):
            parse_leaf(bad)
