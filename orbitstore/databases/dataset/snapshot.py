"""Snapshots: a dataset frozen at a set of heads, named by the CID of one DAG-CBOR block.

Blocks (every one DAG-CBOR, with a ``v`` field; links are tag 42)::

    snapshot  {v: 1, type: 'snapshot', address, heads: [links, sorted], entries: n, records: n,
               schema: {…} | null, table?: link, missing?: [record ids]}
    table     {v: 1, type: 'table', rows: n, chunks: [links], columns: [names]}
    chunk     {v: 1, type: 'chunk', rows: n, ids: [record ids], columns: [column, …]}   (≤ 10,000 rows)
    column    {i64: bytes, nulls?: bytes}   int, timestamp: little-endian int64 (0 where null)
              {f64: bytes, nulls?: bytes}   float: little-endian float64 (0.0 where null)
              {values: [...]}               str, category, bool, bytes: values, null inline
    nulls     bit i (LSB first within each byte) set when row i is null

``heads`` are the maximal valid entries (the log's heads unless a revoke cut
some entries off); ``entries`` counts their causal past; ``missing`` lists live
records whose block was absent (erased or not replicated) and so left out.
Snapshots of encrypted datasets have no table (it would hold rows in clear):
reading one replays the log and decrypts with this node's keys.
Rows are in the order of their last write (see ``docs/snapshots.md``): anyone
holding the blocks recomputes the same table, hence the same CID.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cbor2

from orbitstore.codec import CID, block_cid, decode, encode
from orbitstore.databases.dataset.index import DatasetIndex, LiveRecord
from orbitstore.databases.dataset.ops import parse_op
from orbitstore.databases.dataset.records import decode_record
from orbitstore.databases.dataset.schema import Column, Schema
from orbitstore.encryption.access import ReadAccess
from orbitstore.encryption.reader_key import reader_private_key
from orbitstore.errors import DatabaseError, DecodeError, NotFound, VerifyError
from orbitstore.log import Entry
from orbitstore.storage.base import Storage

if TYPE_CHECKING:
    from orbitstore.store import OrbitStore

__all__ = [
    "CHUNK_ROWS",
    "SNAPSHOT_VERSION",
    "ColumnData",
    "Snapshot",
    "TableChunk",
    "open_snapshot",
    "replay",
]

SNAPSHOT_VERSION = 1
#: Rows per column chunk of a materialized table.
CHUNK_ROWS = 10_000
_BIG_ENDIAN = sys.byteorder == "big"


@dataclass(frozen=True, slots=True)
class ColumnData:
    """One column of a chunk, as stored: packed ``data`` (int64/float64 little-endian) or ``values``.

    ``nulls`` is the null bitmap of packed columns (``None`` when nothing is null).
    mlbridge can wrap ``data`` with ``numpy.frombuffer(data, '<i8' | '<f8')``.
    """

    name: str
    type: str
    rows: int
    data: bytes | None = None
    values: list[Any] | None = None
    nulls: bytes | None = None

    def to_list(self) -> list[Any]:
        """The column's values as Python objects (``None`` for null)."""
        if self.values is not None:
            return list(self.values)
        arr = array("d" if self.type == "float" else "q")
        arr.frombytes(self.data or b"")
        if _BIG_ENDIAN:
            arr.byteswap()
        out: list[Any] = arr.tolist()
        nulls = self.nulls
        if nulls is not None:
            for i in range(self.rows):
                if nulls[i >> 3] & (1 << (i & 7)):
                    out[i] = None
        return out


@dataclass(frozen=True, slots=True)
class TableChunk:
    """Up to :data:`CHUNK_ROWS` consecutive rows of a table: record ids and columns in schema order."""

    ids: list[str]
    columns: tuple[ColumnData, ...]

    @property
    def rows(self) -> int:
        """How many rows the chunk holds."""
        return len(self.ids)


# -- writing tables ---------------------------------------------------------------------------------


def _encode_column(column: Column, values: Sequence[Any]) -> dict[str, Any]:
    kind = column.type
    if kind in ("int", "timestamp", "float"):
        if kind == "float":
            clean: list[Any] = [float(v) if type(v) is float or type(v) is int else None for v in values]
            arr = array("d", [0.0 if v is None else v for v in clean])
        else:
            clean = [v if type(v) is int else None for v in values]
            arr = array("q", [0 if v is None else v for v in clean])
        if _BIG_ENDIAN:
            arr.byteswap()
        out: dict[str, Any] = {("f64" if kind == "float" else "i64"): arr.tobytes()}
        if None in clean:
            bitmap = bytearray((len(clean) + 7) >> 3)
            for i, v in enumerate(clean):
                if v is None:
                    bitmap[i >> 3] |= 1 << (i & 7)
            out["nulls"] = bytes(bitmap)
        return out
    wanted = {"bool": bool, "bytes": bytes}.get(kind, str)
    return {"values": [v if type(v) is wanted else None for v in values]}


def _chunk_block(ids: list[str], schema: Schema, rows: list[tuple[Any, ...]]) -> bytes:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema.columns]
    encoded = [_encode_column(c, values) for c, values in zip(schema.columns, columns, strict=True)]
    # Keys in DAG-CBOR order (v, ids, rows, type, columns); every value canonical already.
    return cbor2.dumps({"v": SNAPSHOT_VERSION, "ids": ids, "rows": len(ids), "type": "chunk", "columns": encoded})


async def write_table(
    blocks: Storage, live: Sequence[LiveRecord], schema: Schema, *, chunk_rows: int = CHUNK_ROWS
) -> tuple[str, int, list[str]]:
    """Materialize ``live`` as a table; returns the table CID, the row count and the missing ids."""
    names = schema.names
    get = blocks.get
    chunk_links: list[CID] = []
    missing: list[str] = []
    ids: list[str] = []
    rows: list[tuple[Any, ...]] = []
    total = 0

    async def flush() -> None:
        block = _chunk_block(ids, schema, rows)
        key = block_cid(block)
        await blocks.put(key, block)
        chunk_links.append(CID.parse(key))

    for record in live:
        block = await get(record.key)
        if block is None:
            missing.append(record.id)
            continue
        row = cbor2.loads(block)["row"]  # our own block store: verified when written or joined
        ids.append(record.id)
        rows.append(tuple(map(row.get, names)))
        if len(ids) >= chunk_rows:
            await flush()
            total += len(ids)
            ids, rows = [], []
    if ids or not chunk_links:
        await flush()
        total += len(ids)
    table = encode(
        {"v": SNAPSHOT_VERSION, "rows": total, "type": "table", "chunks": chunk_links, "columns": list(names)}
    )
    key = block_cid(table)
    await blocks.put(key, table)
    return key, total, missing


async def count_present(blocks: Storage, live: Sequence[LiveRecord]) -> tuple[int, list[str]]:
    """How many of ``live`` have their block here, and the ids of those that do not."""
    missing = [r.id for r in live if await blocks.get(r.key) is None]
    return len(live) - len(missing), missing


def snapshot_block(
    *,
    address: str,
    heads: Sequence[str],
    entries: int,
    records: int,
    schema: Schema | None,
    table: str | None,
    missing: Sequence[str],
) -> bytes:
    """Encode a snapshot block."""
    value: dict[str, Any] = {
        "v": SNAPSHOT_VERSION,
        "type": "snapshot",
        "address": address,
        "heads": [CID.parse(h) for h in sorted(heads)],
        "entries": entries,
        "records": records,
        "schema": schema.to_wire() if schema is not None else None,
    }
    if table is not None:
        value["table"] = CID.parse(table)
    if missing:
        value["missing"] = sorted(missing)
    return encode(value)


# -- replaying a log from blocks --------------------------------------------------------------------


async def replay(store: OrbitStore, address: str, heads: Sequence[str]) -> DatasetIndex:
    """Rebuild a dataset index from the blocks reachable from ``heads``, verifying every entry.

    Needs the manifest, the access-controller manifest, the entries and their
    identities in ``store.blocks``; :class:`NotFound` names the first one missing.
    """
    from orbitstore.access.dataset import DatasetAccessController
    from orbitstore.databases.manifest import Address, Manifest

    parsed = Address.parse(address)
    manifest_block = await store.blocks.get(parsed.manifest_hash)
    if manifest_block is None:
        raise NotFound(f"manifest of {address} not found")
    manifest = Manifest.decode(manifest_block)
    if manifest.type != "dataset":
        raise DatabaseError(f"{address} is a {manifest.type!r} database, not a dataset")
    access = await DatasetAccessController.load(store, manifest.access_controller, name=manifest.name)
    entries: dict[str, Entry] = {}
    stack = list(heads)
    while stack:
        h = stack.pop()
        if h in entries:
            continue
        block = await store.blocks.get(h)
        if block is None:
            raise NotFound(f"entry {h} of {address} not found")
        entry = Entry.decode(block, expected_hash=h)
        if entry.id != address:
            raise DatabaseError(f"entry {h} belongs to {entry.id}, not {address}")
        entries[h] = entry
        stack.extend(entry.next)
    writers: dict[str, str] = {}
    for entry in entries.values():
        if entry.identity not in writers:
            writers[entry.identity] = (await entry.verify(store.identities)).id
        else:
            entry.verify_signature(store.identities)
    index = DatasetIndex(access.genesis())
    ordered = sorted(entries.values(), key=lambda e: (e.clock.time, e.clock.id, e.hash))
    acl = index.acl
    index.load(
        acl.node(e.hash, writers[e.identity], e.clock.time, e.clock.id, e.next, parse_op(e.payload)) for e in ordered
    )
    return index


# -- reading snapshots ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A frozen dataset version. Open one with ``await store.open_snapshot(cid)``.

    Reads come from the materialized table when there is one, otherwise from
    replaying the log from ``heads`` (the result is the same).
    """

    cid: str
    address: str
    heads: tuple[str, ...]
    entries: int
    records: int
    schema: Schema | None
    table: str | None
    missing: tuple[str, ...]
    store: OrbitStore = field(repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def version(self) -> str:
        """The dataset version: the snapshot's CID."""
        return self.cid

    # -- reading ---------------------------------------------------------------------------------

    async def chunks(self) -> AsyncIterator[TableChunk]:
        """The table chunk by chunk (the fast path for columnar consumers)."""
        if self.schema is None:
            return
        if self.table is None:
            async for chunk in self._replayed_chunks():
                yield chunk
            return
        table = await self._block(self.table)
        if not isinstance(table, dict) or table.get("type") != "table":
            raise DecodeError(f"block {self.table} is not a snapshot table")
        for link in table["chunks"]:
            yield self._decode_chunk(await self._block(str(link)))

    def _decode_chunk(self, value: Any) -> TableChunk:
        assert self.schema is not None
        if not isinstance(value, dict) or value.get("type") != "chunk":
            raise DecodeError("not a snapshot table chunk")
        n = value["rows"]
        columns = []
        for column, data in zip(self.schema.columns, value["columns"], strict=True):
            packed = data.get("f64", data.get("i64"))
            columns.append(ColumnData(column.name, column.type, n, packed, data.get("values"), data.get("nulls")))
        return TableChunk(list(value["ids"]), tuple(columns))

    async def _replayed_chunks(self) -> AsyncIterator[TableChunk]:
        schema = self.schema
        assert schema is not None
        live = await self._live()
        read = await self._read_access()
        names = schema.names
        for start in range(0, len(live), CHUNK_ROWS):
            ids: list[str] = []
            rows: list[tuple[Any, ...]] = []
            for record in live[start : start + CHUNK_ROWS]:
                block = await self.store.blocks.get(record.key)
                if block is None:
                    raise NotFound(f"record {record.id!r} of snapshot {self.cid}: block {record.key} is missing")
                if read is not None:
                    row = read.open_record(block, record_id=record.id)  # NotAuthorizedToRead without the key
                    read.read_row(schema, row)  # the reader-side schema check
                else:
                    _, row = decode_record(block, strict=False)
                ids.append(record.id)
                rows.append(tuple(map(row.get, names)))
            yield self._decode_chunk(cbor2.loads(_chunk_block(ids, schema, rows)))

    async def _index(self) -> DatasetIndex:
        got = self._cache.get("index")
        if got is None:
            got = self._cache["index"] = await replay(self.store, self.address, self.heads)
        return got

    async def _read_access(self) -> ReadAccess | None:
        """This node's keys for the snapshot's dataset, when it is encrypted."""
        if "read" not in self._cache:
            from orbitstore.access.dataset import DatasetAccessController
            from orbitstore.databases.manifest import Address, Manifest

            block = await self.store.blocks.get(Address.parse(self.address).manifest_hash)
            if block is None:
                raise NotFound(f"manifest of {self.address} not found")
            manifest = Manifest.decode(block)
            access = await DatasetAccessController.load(self.store, manifest.access_controller, name=manifest.name)
            read: ReadAccess | None = None
            if access.encrypted:
                index = await self._index()
                read = ReadAccess.from_nodes(
                    address=self.address,
                    identity_id=self.store.identity.id,
                    private_key=await reader_private_key(self.store.identities.keystore, self.store.identity),
                    acl=index.acl,
                    nodes=index.acl.nodes.values(),
                )
            self._cache["read"] = read
        return self._cache["read"]  # type: ignore[no-any-return]

    async def _live(self) -> list[LiveRecord]:
        got = self._cache.get("live")
        if got is None:
            index = await self._index()
            skip = set(self.missing)
            got = [r for r in index.live() if r.id not in skip]
            self._cache["live"] = got
        return list(got)

    async def _block(self, key: str) -> Any:
        block = await self.store.blocks.get(key)
        if block is None:
            raise NotFound(f"block {key} of snapshot {self.cid} not found")
        return decode(block, strict=False)

    async def batches(self, size: int = CHUNK_ROWS) -> AsyncIterator[dict[str, list[Any]]]:
        """Columns (name → values) of at most ``size`` consecutive rows at a time."""
        if size < 1:
            raise DatabaseError("batch size must be positive")
        schema = self.schema
        if schema is None:
            return
        pending: dict[str, list[Any]] = {n: [] for n in schema.names}
        have = 0
        async for chunk in self.chunks():
            for column in chunk.columns:
                pending[column.name].extend(column.to_list())
            have += chunk.rows
            while have >= size:
                yield {n: values[:size] for n, values in pending.items()}
                pending = {n: values[size:] for n, values in pending.items()}
                have -= size
        if have:
            yield pending

    async def columns(self) -> dict[str, list[Any]]:
        """The whole table, column-wise (name → values in row order)."""
        out: dict[str, list[Any]] = {n: [] for n in (self.schema.names if self.schema else ())}
        async for chunk in self.chunks():
            for column in chunk.columns:
                out[column.name].extend(column.to_list())
        return out

    async def ids(self) -> list[str]:
        """Record ids in row order."""
        out: list[str] = []
        async for chunk in self.chunks():
            out.extend(chunk.ids)
        return out

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        """Every row as ``{column: value}``, in the snapshot's order."""
        async for chunk in self.chunks():
            names = [c.name for c in chunk.columns]
            for values in zip(*(c.to_list() for c in chunk.columns), strict=True):
                yield dict(zip(names, values, strict=True))

    async def verify(self) -> None:
        """Recompute the snapshot from its heads and check it matches; :class:`VerifyError` if not."""
        index = await replay(self.store, self.address, self.heads)
        state = index.state()
        schema = state.schema
        if (schema.to_wire() if schema else None) != (self.schema.to_wire() if self.schema else None):
            raise VerifyError(f"snapshot {self.cid}: its schema is not the one its heads give")
        skip = set(self.missing)
        live = [r for r in index.live() if r.id not in skip]
        if self.table is not None and schema is not None:
            key, total, missing = await write_table(self.store.blocks, live, schema)
            if missing:
                raise VerifyError(f"snapshot {self.cid}: record blocks missing here: {missing[:5]}")
            if key != self.table or total != self.records:
                raise VerifyError(f"snapshot {self.cid}: its table does not match the records its heads give")
        elif len(live) != self.records:
            raise VerifyError(f"snapshot {self.cid}: {self.records} records claimed, heads give {len(live)}")
        if len(index.acl.nodes) != self.entries:
            raise VerifyError(
                f"snapshot {self.cid}: {self.entries} entries claimed, heads reach {len(index.acl.nodes)}"
            )


async def open_snapshot(store: OrbitStore, cid: str) -> Snapshot:
    """Read the snapshot block ``cid`` from ``store.blocks``; :class:`NotFound` when absent."""
    block = await store.blocks.get(cid)
    if block is None:
        raise NotFound(f"snapshot {cid} not found")
    if block_cid(block) != cid:
        raise DecodeError(f"block does not hash to {cid}")
    value = decode(block)
    if not isinstance(value, dict) or value.get("type") != "snapshot" or value.get("v") != SNAPSHOT_VERSION:
        raise DecodeError(f"block {cid} is not a snapshot (v={SNAPSHOT_VERSION})")
    try:
        schema = Schema.from_wire(value["schema"]) if value["schema"] is not None else None
        table = value.get("table")
        return Snapshot(
            cid=cid,
            address=str(value["address"]),
            heads=tuple(str(h) for h in value["heads"]),
            entries=int(value["entries"]),
            records=int(value["records"]),
            schema=schema,
            table=str(table) if table is not None else None,
            missing=tuple(value.get("missing", ())),
            store=store,
        )
    except (KeyError, TypeError) as exc:
        raise DecodeError(f"snapshot {cid} is malformed: {exc}") from None
