"""Pin batches: one small DAG that links many blocks, so that one recursive pin keeps them all.

Private to :mod:`orbitstore.storage.kubo`. Kubo spends about 2 ms on each
pin it adds (each is written to its pin store on its own), while importing a
CAR of 10,000 blocks takes about a second. A batch therefore links its
members from a two-level index and pins the index's root once:

* root: ``{"orbitstore": "pin-batch", "v": 1, "leaves": [link, …], "firsts": [multihash, …]}``
  (``firsts[i]``: the smallest member multihash of leaf ``i``);
* leaf: ``{"orbitstore": "pin-batch-leaf", "members": [raw link, …], "codecs": [int, …]}``
  with at most :data:`LINKS_PER_LEAF` members (about 200 KB, well under Kubo's
  1 MiB block limit), sorted by multihash across the whole batch.

Members are linked by **raw-codec CIDs of their multihash**, and their own
codecs are listed beside them. Kubo's blockstore and garbage collector key
blocks by multihash, so a raw link keeps the member's block whatever its
codec; but a raw block has no links by definition, so Kubo never loads a
member to follow its links. That matters three ways: pinning and Kubo's pin
checks (every ``block rm`` walks all recursive pins) read the index blocks
only; a member that links elsewhere (a dataset entry naming its record)
does not keep what it links to alive, so an erased record really goes; and
a member whose links point at blocks nobody has (a record its writer already
erased) does not stall the pin. The price: Kubo's pin commands do not count
a member as pinned (``pin ls <member>`` says "not pinned"), since they match
whole CIDs, not multihashes; :class:`~orbitstore.storage.kubo.KuboStorage`
reads its batches itself.

Removing members rewrites only the leaves holding them (:func:`without`),
found from ``firsts`` without reading the other leaves.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from orbitstore.codec import CID, RAW, block_cid, decode, encode
from orbitstore.errors import DecodeError

__all__ = ["LINKS_PER_LEAF", "BatchRoot", "Member", "build_batch", "parse_leaf", "parse_root", "without"]

LINKS_PER_LEAF = 4096
_ROOT = "pin-batch"
_LEAF = "pin-batch-leaf"


@dataclass(frozen=True, slots=True)
class Member:
    """One block of a batch: its multihash and the codec of its CID."""

    multihash: bytes
    codec: int

    @classmethod
    def of(cls, cid: str) -> Member:
        """The member for CID text ``cid``."""
        parsed = CID.parse(cid)
        return cls(parsed.multihash, parsed.codec)

    @property
    def cid(self) -> str:
        """The member's CID text (base58btc)."""
        return CID(1, self.codec, self.multihash).encode()


@dataclass(frozen=True, slots=True)
class BatchRoot:
    """A batch's root: its leaf CIDs and the smallest member multihash of each."""

    leaves: tuple[str, ...]
    firsts: tuple[bytes, ...]

    def leaf_for(self, multihash: bytes) -> int | None:
        """The index of the only leaf that may hold ``multihash``, or ``None`` when it sorts before them all."""
        i = bisect.bisect_right(self.firsts, multihash) - 1
        return i if i >= 0 else None


def _leaf(members: list[Member]) -> bytes:
    return encode(
        {
            "codecs": [m.codec for m in members],
            "members": [CID(1, RAW, m.multihash) for m in members],
            "orbitstore": _LEAF,
        }
    )


def _root(leaves: list[str], firsts: list[bytes]) -> bytes:
    return encode({"firsts": firsts, "leaves": [CID.parse(k) for k in leaves], "orbitstore": _ROOT, "v": 1})


def build_batch(members: Iterable[str]) -> tuple[str, dict[str, bytes]]:
    """The root CID and index blocks of a batch of ``members`` (CID text; one per multihash, sorted)."""
    unique: dict[bytes, Member] = {}
    for cid in members:
        member = Member.of(cid)
        unique.setdefault(member.multihash, member)
    ordered = [unique[h] for h in sorted(unique)]
    return _assemble([ordered[i : i + LINKS_PER_LEAF] for i in range(0, len(ordered), LINKS_PER_LEAF)])


def _assemble(groups: list[list[Member]]) -> tuple[str, dict[str, bytes]]:
    blocks: dict[str, bytes] = {}
    leaves: list[str] = []
    for group in groups:
        leaf = _leaf(group)
        key = block_cid(leaf)
        blocks[key] = leaf
        leaves.append(key)
    root = _root(leaves, [g[0].multihash for g in groups])
    root_key = block_cid(root)
    blocks[root_key] = root
    return root_key, blocks


def without(
    root: BatchRoot, leaves: Mapping[int, list[Member]], gone: set[bytes]
) -> tuple[str | None, dict[str, bytes], list[str]]:
    """The batch ``root`` with the multihashes ``gone`` removed from the given (read) ``leaves``.

    Returns the new root CID (``None`` when nothing is left), the new index
    blocks to import, and the old index blocks no longer used. Leaves not
    given are kept as they are.
    """
    groups: list[tuple[str, bytes] | list[Member]] = []
    dropped: list[str] = []
    for i, (leaf, first) in enumerate(zip(root.leaves, root.firsts, strict=True)):
        if i not in leaves:
            groups.append((leaf, first))
            continue
        remaining = [m for m in leaves[i] if m.multihash not in gone]
        if len(remaining) == len(leaves[i]):
            groups.append((leaf, first))
            continue
        dropped.append(leaf)
        if remaining:
            groups.append(remaining)
    if not dropped:
        return None, {}, []  # nothing of ``gone`` was here
    blocks: dict[str, bytes] = {}
    keys: list[str] = []
    firsts: list[bytes] = []
    for group in groups:
        if isinstance(group, tuple):
            keys.append(group[0])
            firsts.append(group[1])
            continue
        encoded = _leaf(group)
        key = block_cid(encoded)
        blocks[key] = encoded
        keys.append(key)
        firsts.append(group[0].multihash)
    if not keys:
        return None, {}, [*dropped]
    new_root = _root(keys, firsts)
    new_key = block_cid(new_root)
    blocks[new_key] = new_root
    return new_key, blocks, [leaf for leaf in dropped if leaf not in blocks]


def _decode_map(block: bytes) -> dict[str, Any] | None:
    try:
        value = decode(block)
    except DecodeError:
        return None
    return value if isinstance(value, dict) else None


def parse_root(block: bytes) -> BatchRoot | None:
    """The batch root in ``block``, or ``None`` when it is any other block."""
    value = _decode_map(block)
    if value is None or value.get("orbitstore") != _ROOT or value.get("v") != 1:
        return None
    leaves, firsts = value.get("leaves"), value.get("firsts")
    if (
        not isinstance(leaves, list)
        or not isinstance(firsts, list)
        or len(leaves) != len(firsts)
        or not all(isinstance(c, CID) for c in leaves)
        or not all(type(f) is bytes for f in firsts)
        or firsts != sorted(firsts)
    ):
        return None
    return BatchRoot(tuple(str(c) for c in leaves), tuple(firsts))


def parse_leaf(block: bytes) -> list[Member]:
    """The members of a batch leaf; :class:`DecodeError` when ``block`` is not one."""
    value = _decode_map(block)
    if value is None or value.get("orbitstore") != _LEAF:
        raise DecodeError("not an orbitstore pin-batch leaf")
    links, codecs = value.get("members"), value.get("codecs")
    if (
        not isinstance(links, list)
        or not isinstance(codecs, list)
        or len(links) != len(codecs)
        or not all(isinstance(c, CID) and c.codec == RAW for c in links)
        or not all(type(codec) is int and codec >= 0 for codec in codecs)
    ):
        raise DecodeError("malformed orbitstore pin-batch leaf")
    return [Member(link.multihash, codec) for link, codec in zip(links, codecs, strict=True)]
