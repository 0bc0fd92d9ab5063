"""Record blocks: one DAG-CBOR block per record, linked from the log so it can be erased later.

A record block is ``{v: 1, id: <record id>, row: {column: value, …}}`` with every
column of the writer's schema (nulls included), values in their wire form (see
:mod:`~orbitstore.databases.dataset.schema`). Entries hold only its CID, so
deleting the block (erasure) leaves every entry — and so the log's hashes and
signatures — intact; readers then see the record as missing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import cbor2

from orbitstore.codec import CID, DAG_CBOR, decode
from orbitstore.codec.multibase import b58encode
from orbitstore.errors import DecodeError

__all__ = ["RECORD_VERSION", "Record", "RecordBlock", "decode_record", "encode_record"]

RECORD_VERSION = 1
_MULTIHASH = bytes((0x12, 0x20))
_PREFIX = bytes((0x01, DAG_CBOR)) + _MULTIHASH


@dataclass(frozen=True, slots=True)
class RecordBlock:
    """An encoded record: its bytes, its link and its CID text (the block-store key)."""

    key: str
    link: CID
    bytes: bytes


@dataclass(frozen=True, slots=True)
class Record:
    """A live record as reads return it: ``id`` and ``row`` (column → value, schema order)."""

    id: str
    row: dict[str, Any]


def encode_record(record_id: str, wire_row: dict[str, Any]) -> RecordBlock:
    """Encode a record block. ``wire_row`` must come from :meth:`Schema.check_row` (canonical already)."""
    # Keys already in DAG-CBOR order (v, id, row) and values canonical: skip normalize().
    block = cbor2.dumps({"v": RECORD_VERSION, "id": record_id, "row": wire_row})
    digest = hashlib.sha256(block).digest()
    return RecordBlock("z" + b58encode(_PREFIX + digest), CID(1, DAG_CBOR, _MULTIHASH + digest), block)


def decode_record(block: bytes, *, link: CID | None = None, strict: bool = True) -> tuple[str, dict[str, Any]]:
    """Decode a record block into ``(id, wire row)``; checks the hash against ``link`` when given."""
    if link is not None and not link.verify(block):
        raise DecodeError(f"record block does not hash to {link}")
    value = decode(block, strict=strict) if strict else cbor2.loads(block)
    if (
        type(value) is not dict
        or value.keys() != {"v", "id", "row"}
        or value["v"] != RECORD_VERSION
        or type(value["id"]) is not str
        or type(value["row"]) is not dict
    ):
        raise DecodeError("not a record block {v: 1, id, row}")
    return value["id"], value["row"]
