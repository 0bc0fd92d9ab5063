"""Admission of a joined entry's records: fetch its record blocks and check them before the join stores anything.

Private to :mod:`orbitstore.databases.dataset`. Plaintext records are checked
against the schema of the entry's causal past; sealed ones (encrypted dataset)
for shape and epochs only, since readers check the schema when they decrypt.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from orbitstore.codec import CID
from orbitstore.databases.dataset.acl import Node
from orbitstore.databases.dataset.records import decode_record
from orbitstore.errors import DatabaseError, SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = ["check_records"]

_FETCH_CONCURRENCY = 32


async def check_records(ds: Dataset, node: Node) -> None:
    """Fetch and validate a joined entry's record blocks against the schema of its causal past."""
    schema = ds._index.acl.state_of(node.past).schema
    if schema is None:
        raise SchemaError(f"entry {node.hash} writes records before the dataset has a schema")
    sem = asyncio.Semaphore(_FETCH_CONCURRENCY)
    index = ds._index

    async def load(key: str) -> bytes | None:
        if index.is_erased(key):
            return None  # erased here: never fetched or stored again
        async with sem:
            return await ds._load(key)

    pairs = [(rid, key) for rid, key in node.op.records if key is not None]
    blocks = await asyncio.gather(*(load(key) for _, key in pairs))
    read = ds._read
    for (record_id, key), block in zip(pairs, blocks, strict=True):
        if block is None:
            continue  # erased or not replicated: accepted, read as missing
        if read is not None:
            # Sealed: every peer checks the shape and epochs; readers check the schema when they read.
            read.check_record(block, link=CID.parse(key), record_id=record_id, past=node.past, entry=node.hash)
            ds._staged[key] = block
            continue
        found_id, row = decode_record(block, link=CID.parse(key))
        if found_id != record_id:
            raise DatabaseError(f"entry {node.hash}: block {key} holds record {found_id!r}, not {record_id!r}")
        try:
            schema.check_wire_row(row)
        except SchemaError as exc:
            raise SchemaError(f"record {record_id!r} (entry {node.hash}) breaks the schema: {exc}") from None
        ds._staged[key] = block
