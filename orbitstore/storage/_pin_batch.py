"""Pin batches: one small DAG that links many blocks, so that one recursive pin keeps them all.

Private to :mod:`orbitstore.storage.kubo`. Kubo spends about 2 ms on each
pin it adds (each is written to its pin store on its own), while importing a
CAR of 10,000 blocks takes about a second. A batch therefore links its
members from a two-level index and pins the index's root once:

* root: ``{"orbitstore": "pin-batch", "v": 1, "leaves": [link, …]}``
* leaf: ``{"orbitstore": "pin-batch-leaf", "members": [link, …]}`` with at most
  :data:`LINKS_PER_LEAF` links (about 340 KB, under Kubo's 1 MiB block limit).

Members are sorted, so the same set always gives the same root. Only blocks
that link to nothing may be members: a recursive pin also holds, and first
fetches, whatever its members link to, which would keep an erased record
alive through the entry that names it, or stall the pin on a block the peer
no longer has. :func:`may_link` decides that conservatively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orbitstore.codec import CID, DAG_CBOR, RAW, block_cid, decode, encode
from orbitstore.errors import DecodeError

__all__ = ["LINKS_PER_LEAF", "PinBatch", "build_batch", "may_link", "parse_leaf", "parse_root"]

LINKS_PER_LEAF = 8192
_ROOT = "pin-batch"
_LEAF = "pin-batch-leaf"
_TAG_42 = b"\xd8\x2a"  # CBOR tag 42, the only way DAG-CBOR encodes a link


def may_link(codec: int, block: bytes) -> bool:
    """False only when ``block`` certainly links to no other block.

    Raw blocks never link; a DAG-CBOR block links only through tag 42, whose
    two header bytes are searched for (they may also occur inside a byte
    string: then the block counts as linking, which is safe). Any other codec
    counts as linking.
    """
    if codec == RAW:
        return False
    if codec == DAG_CBOR:
        return _TAG_42 in block
    return True


@dataclass(frozen=True, slots=True)
class PinBatch:
    """The index of one batch: its blocks (CID text → bytes), its root and its members (base58btc, sorted)."""

    blocks: dict[str, bytes]
    root: str
    members: tuple[str, ...]


def build_batch(members: Sequence[str]) -> PinBatch:
    """The index linking every CID of ``members`` (base58btc text; deduplicated and sorted here)."""
    ordered = sorted(set(members))
    blocks: dict[str, bytes] = {}
    leaves: list[CID] = []
    for start in range(0, len(ordered), LINKS_PER_LEAF):
        links = [CID.parse(c) for c in ordered[start : start + LINKS_PER_LEAF]]
        leaf = encode({"members": links, "orbitstore": _LEAF})
        key = block_cid(leaf)
        blocks[key] = leaf
        leaves.append(CID.parse(key))
    root = encode({"leaves": leaves, "orbitstore": _ROOT, "v": 1})
    root_key = block_cid(root)
    blocks[root_key] = root
    return PinBatch(blocks, root_key, tuple(ordered))


def _decode_map(block: bytes) -> dict[str, Any] | None:
    try:
        value = decode(block)
    except DecodeError:
        return None
    return value if isinstance(value, dict) else None


def parse_root(block: bytes) -> list[str] | None:
    """The leaf CIDs when ``block`` is a batch root, else ``None`` (any other block)."""
    value = _decode_map(block)
    if value is None or value.get("orbitstore") != _ROOT or value.get("v") != 1:
        return None
    leaves = value.get("leaves")
    if not isinstance(leaves, list) or not all(isinstance(c, CID) for c in leaves):
        return None
    return [str(c) for c in leaves]


def parse_leaf(block: bytes) -> list[str]:
    """The member CIDs of a batch leaf; :class:`DecodeError` when ``block`` is not one."""
    value = _decode_map(block)
    members = None if value is None or value.get("orbitstore") != _LEAF else value.get("members")
    if not isinstance(members, list) or not all(isinstance(c, CID) for c in members):
        raise DecodeError("not an orbitstore pin-batch leaf")
    return [str(c) for c in members]
