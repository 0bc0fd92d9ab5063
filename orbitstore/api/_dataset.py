"""The API over the ``dataset`` type: records as items, CSV streamed through a spool file, schema, access.

For a dataset, an :class:`~orbitstore.api.models.Item`'s ``hash`` is the
record block's CID (a record lives in its own block, so it can be erased),
its ``key`` the record id and its ``value`` the row.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import IO, Any

from orbitstore.api._validate import check_mapping
from orbitstore.api.errors import InvalidRequest
from orbitstore.api.models import AccessInfo, ImportResult, Item, SnapshotInfo
from orbitstore.api.protocol import ProgressCallback
from orbitstore.databases.dataset import Dataset, Schema
from orbitstore.errors import NotFound

__all__ = [
    "dataset_access",
    "dataset_get",
    "dataset_items",
    "dataset_page",
    "export_chunks",
    "import_csv",
    "parse_schema",
    "snapshot_info",
]

_CHUNK = 256 * 1024


async def _read(ds: Dataset, record_id: str) -> dict[str, Any] | None:
    """The row through the dataset's own read path (decrypting it when the dataset is encrypted)."""
    return await ds.get(record_id)


async def dataset_get(ds: Dataset, record_id: str) -> Item:
    """The live record ``record_id``."""
    located = await ds.locate(record_id)  # the block key too, which Dataset.get does not return
    if located is None:
        raise NotFound(f"no record {record_id!r} in {ds.address}")
    key = located.key
    if await ds.store.blocks.get(key) is None:
        raise NotFound(f"record {record_id!r}: its block {key} is missing (erased or not replicated)")
    value = await _read(ds, record_id)
    if value is None:
        raise NotFound(f"no record {record_id!r} in {ds.address}")
    return Item(hash=key, key=record_id, value=value)


async def dataset_page(ds: Dataset, *, offset: int, limit: int) -> tuple[list[Item], bool]:
    """Records ``offset`` … ``offset + limit`` in the dataset's order, and whether more follow.

    Slices the index rather than reading every earlier record, so a page costs
    its own size (records whose block is missing here are skipped).
    """
    live = await ds.live()
    items = []
    for record in live[offset : offset + limit]:
        if await ds.store.blocks.get(record.key) is not None:
            value = await _read(ds, record.id)
            if value is not None:
                items.append(Item(hash=record.key, key=record.id, value=value))
    return items, offset + limit < len(live)


async def dataset_items(ds: Dataset) -> AsyncIterator[Item]:
    """Every live record in the dataset's order."""
    for record in await ds.live():
        if await ds.store.blocks.get(record.key) is not None:
            value = await _read(ds, record.id)
            if value is not None:
                yield Item(hash=record.key, key=record.id, value=value)


def parse_schema(value: Mapping[str, Any]) -> Schema:
    """``{"columns": {...} | [...], "target"?}`` (or the stored form with ``v``) as a :class:`Schema`."""
    spec = check_mapping(value, "schema")
    if "v" in spec:
        return Schema.from_wire(dict(spec))
    unknown = set(spec) - {"columns", "target"}
    if unknown or "columns" not in spec:
        raise InvalidRequest('a schema is {"columns": {name: type} or [{name, type, nullable}], "target": name}')
    target = spec.get("target")
    if target is not None and not isinstance(target, str):
        raise InvalidRequest("schema target must be a column name")
    return Schema.of(spec["columns"], target=target)


async def _spool(
    source: bytes | AsyncIterable[bytes], directory: Path | None, progress: ProgressCallback | None
) -> Path:
    """Write ``source`` to a temporary file (reporting bytes); the caller deletes it."""
    fd, name = tempfile.mkstemp(prefix="import-", suffix=".csv", dir=directory)
    total = len(source) if isinstance(source, bytes) else None
    done = 0
    path = Path(name)
    handle: IO[bytes] = os.fdopen(fd, "wb")
    try:
        if isinstance(source, bytes):
            await asyncio.to_thread(handle.write, source)
            done = len(source)
            if progress is not None:
                progress(done, total)
        else:
            async for chunk in source:
                await asyncio.to_thread(handle.write, chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except BaseException:
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(path.unlink, missing_ok=True)  # a failed or cut-off upload leaves nothing
        raise
    await asyncio.to_thread(handle.close)
    return path


async def import_csv(
    ds: Dataset,
    source: bytes | AsyncIterable[bytes],
    *,
    progress: ProgressCallback | None,
    id_column: str | None,
    target: str | None,
    spool_directory: Path | None,
) -> ImportResult:
    """Spool the CSV to a file (it may be an upload stream), then import it; the file is always removed."""
    path = await _spool(source, spool_directory, progress)
    try:
        rows = await ds.import_csv(path, id_column=id_column, target=target)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return ImportResult(address=str(ds.address), rows=rows, heads=tuple(h.hash for h in await ds.heads()))


async def export_chunks(ds: Dataset, *, spool_directory: Path | None) -> AsyncIterator[bytes]:
    """The dataset as CSV, in chunks: the record id first, then the schema's columns.

    The id column is called ``id`` — or ``record_id`` when the schema has an
    ``id`` column of its own (then ``_record_id``, …), so names never clash.
    """
    schema = await ds.schema()
    names = set(schema.names) if schema is not None else set()
    id_header = "id"
    if id_header in names:
        id_header = "record_id"
    while id_header in names:
        id_header = "_" + id_header
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".csv", dir=spool_directory)
    os.close(fd)
    path = Path(name)
    try:
        await ds.export_csv(path, id_header=id_header)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, _CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def dataset_access(ds: Dataset) -> AccessInfo:
    """The dataset's causal capabilities as they stand now."""
    acl = await ds.acl()
    caps = {c: tuple(sorted(acl.holders(c))) for c in ("admin", "write", "read") if acl.holders(c)}
    return AccessInfo(type="dataset", address=ds.manifest.access_controller, mutable=True, capabilities=caps)


async def snapshot_info(ds: Dataset) -> SnapshotInfo:
    """Freeze the dataset; its CID is the dataset version."""
    snap = await ds.snapshot()
    return SnapshotInfo(
        cid=snap.cid, address=snap.address, heads=tuple(snap.heads), entries=snap.entries, records=snap.records
    )
