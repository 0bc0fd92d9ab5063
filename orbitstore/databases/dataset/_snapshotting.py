"""Freezing a dataset into a snapshot block (``Dataset.snapshot``).

Private to :mod:`orbitstore.databases.dataset`. The snapshot format, its
columnar table and reading a snapshot back are in
:mod:`~orbitstore.databases.dataset.snapshot`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orbitstore.databases.dataset.index import DatasetIndex, LiveRecord
from orbitstore.databases.dataset.snapshot import Snapshot, count_present, snapshot_block, write_table

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = ["take_snapshot"]


async def take_snapshot(ds: Dataset, *, materialize: bool = True) -> Snapshot:
    """Freeze the dataset at its current heads; the snapshot's CID is the dataset version.

    With ``materialize`` the snapshot links a columnar table of every row
    (deterministic bytes). Records whose block is missing are left out and
    listed in the snapshot. The same heads give the same CID on any peer.
    An encrypted dataset is never materialized (the table would hold rows in
    clear): its snapshot is read by replaying and decrypting the records.
    """
    from orbitstore.databases.dataset.snapshot import open_snapshot

    ds._check_open()
    async with ds._lock:
        acl = ds._index.acl
        heads, entries = acl.effective_heads(h.hash for h in await ds.log.heads())
        index = ds._index
        if acl.invalid():
            index = DatasetIndex(acl.genesis.acl)
            keep = acl.ancestors(heads)
            index.load(sorted(keep.values(), key=lambda n: n.order))
        schema = index.state().schema
        live: list[LiveRecord] = index.live()
        table: str | None = None
        if schema is not None and materialize and ds._read is None:
            table, records, missing = await write_table(ds.store.blocks, live, schema)
        else:
            records, missing = await count_present(ds.store.blocks, live)
        block = snapshot_block(
            address=str(ds.address),
            heads=heads,
            entries=entries,
            records=records,
            schema=schema,
            table=table,
            missing=missing,
        )
        from orbitstore.codec import block_cid

        cid = block_cid(block)
        await ds.store.blocks.put(cid, block)
        await ds.store.blocks.sync()
    return await open_snapshot(ds.store, cid)
