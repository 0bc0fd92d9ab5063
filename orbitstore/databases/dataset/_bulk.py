"""Bulk writes of a dataset: ``Dataset.put_many`` and the PUTS entries it and the CSV import write.

Private to :mod:`orbitstore.databases.dataset`: ``write_rows`` signs one PUTS
entry per batch of rows (checked against the schema, encoded or sealed).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orbitstore.databases.dataset._build import DEFAULT_IMPORT_BATCH, Built, Context, Progress, aiter_rows, report
from orbitstore.databases.dataset.ops import PUTS, Op, check_record_id, puts_payload
from orbitstore.databases.dataset.records import RecordBlock
from orbitstore.errors import DatabaseError, SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = ["put_many", "write_rows"]


async def put_many(
    ds: Dataset,
    rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    id_column: str | None = None,
    batch_size: int = DEFAULT_IMPORT_BATCH,
    progress: Progress | None = None,
    total: int | None = None,
) -> int:
    """Store many rows, ``batch_size`` per signed PUTS entry; returns how many.

    Record ids come from ``id_column`` (its value as text) or are generated
    (``<random 16 hex>-<row number, 8 digits>``). A row breaking the schema
    raises :class:`SchemaError` naming the row, column and value; the rows of
    that batch are not stored, earlier batches are.
    """
    if batch_size < 1:
        raise DatabaseError("batch_size must be positive")
    prefix = secrets.token_hex(8)
    done = 0
    batch: list[tuple[str, Mapping[str, Any]]] = []

    async def flush() -> None:
        nonlocal done
        await write_rows(ds, batch, base=done, wire=False)
        done += len(batch)
        batch.clear()
        await report(progress, done, total)

    async for row in aiter_rows(rows):
        if id_column is not None:
            if not isinstance(row, Mapping) or row.get(id_column) is None:
                raise SchemaError(f"row {done + len(batch)}: no value in id column {id_column!r}")
            record_id = str(row[id_column])
        else:
            record_id = f"{prefix}-{done + len(batch):08d}"
        batch.append((record_id, row))
        if len(batch) >= batch_size:
            await flush()
    if batch:
        await flush()
    return done


async def write_rows(ds: Dataset, batch: Sequence[tuple[str, Any]], *, base: int, wire: bool) -> None:
    """One PUTS entry for ``batch``; rows are Python rows, or wire rows already checked when ``wire``."""
    pairs = list(batch)

    def build(ctx: Context) -> Built:
        schema = ctx.schema
        if schema is None:
            raise SchemaError("the dataset has no schema yet: set one with set_schema() or pass schema=")
        blocks: list[RecordBlock] = []
        check = schema.check_row
        encode = ctx.encode
        for i, (record_id, row) in enumerate(pairs):
            try:
                check_record_id(record_id)
                blocks.append(encode(record_id, row if wire else check(row)))
            except SchemaError as exc:
                raise SchemaError(f"row {base + i} (record {record_id!r}): {exc}") from None
        ids = [rid for rid, _ in pairs]
        payload = puts_payload([(rid, b.link) for rid, b in zip(ids, blocks, strict=True)])
        op = Op(PUTS, records=tuple((rid, b.key) for rid, b in zip(ids, blocks, strict=True)))
        return payload, op, blocks

    await ds._ensure_epoch()
    await ds._append(build)
