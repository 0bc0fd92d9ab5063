"""CSV import and export of a dataset (``Dataset.import_csv`` / ``Dataset.export_csv``).

Private to :mod:`orbitstore.databases.dataset`; the field syntax (parsing,
formatting, schema inference) is in :mod:`~orbitstore.databases.dataset.csvio`.
"""

from __future__ import annotations

import asyncio
import csv
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from orbitstore.databases.dataset import csvio
from orbitstore.databases.dataset._build import DEFAULT_IMPORT_BATCH, Progress, report
from orbitstore.databases.dataset._bulk import write_rows
from orbitstore.databases.dataset.schema import Schema
from orbitstore.errors import DatabaseError, SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset

__all__ = ["export_csv", "import_csv", "import_lines"]


async def import_csv(
    ds: Dataset,
    source: csvio.CsvSource,
    *,
    schema: Schema | None = None,
    id_column: str | None = None,
    batch_size: int = DEFAULT_IMPORT_BATCH,
    progress: Progress | None = None,
    target: str | None = None,
    delimiter: str = ",",
) -> int:
    """Import a CSV file (a path or an open text file) with a header line; returns the row count.

    Without ``schema`` and without a schema on the dataset, one is inferred
    from the whole file (``target`` names its target column) and set first.
    Columns must match the schema's names. See ``docs/dataset.md`` for the
    field syntax; ``progress(done, total)`` is called after every batch.
    """
    with csvio.csv_reader(source, delimiter=delimiter) as reader:
        try:
            header = next(reader)
        except StopIteration:
            raise SchemaError("the CSV file is empty (no header line)") from None
        current = await ds.schema()
        lines: list[list[str]] | None = None
        if schema is None and current is None:
            lines = await asyncio.to_thread(list, reader)  # reading and parsing run off the event loop
            schema = await asyncio.to_thread(csvio.infer_schema, header, lines, target=target)
        if schema is not None and (current is None or schema != current):
            await ds.set_schema(schema)
        active = await ds.schema()
        assert active is not None
        return await import_lines(
            ds,
            header,
            lines if lines is not None else reader,
            active,
            id_column,
            batch_size,
            progress,
            len(lines) if lines is not None else None,
        )


async def import_lines(
    ds: Dataset,
    header: list[str],
    lines: Iterable[list[str]],
    schema: Schema,
    id_column: str | None,
    batch_size: int,
    progress: Progress | None,
    total: int | None,
) -> int:
    if batch_size < 1:
        raise DatabaseError("batch_size must be positive")
    for name in header:
        if name not in schema:
            raise SchemaError(f"CSV column {name!r} is not in the schema ({', '.join(schema.names)})")
    if id_column is not None and id_column not in header:
        raise SchemaError(f"id column {id_column!r} is not in the CSV header")
    positions = {name: i for i, name in enumerate(header)}
    slots = [(c.name, positions.get(c.name), csvio.parser_for(c)) for c in schema.wire_columns]
    for c in schema.columns:
        if c.name not in positions and not c.nullable:
            raise SchemaError(f"column {c.name!r} is not nullable but the CSV has no such column")
    id_at = positions[id_column] if id_column is not None else None
    batches = _parse_batches(iter(lines), slots, id_at, id_column, len(header), batch_size)
    nothing: list[tuple[str, dict[str, Any]]] = []  # what next() returns once the batches are over
    done = 0
    while True:
        batch = await asyncio.to_thread(next, batches, nothing)  # CSV reading and field parsing: off the loop
        if not batch:
            return done
        await write_rows(ds, batch, base=done, wire=True)
        done += len(batch)
        await report(progress, done, total)


def _parse_batches(
    lines: Iterator[list[str]],
    slots: list[tuple[str, int | None, Callable[[str], Any]]],
    id_at: int | None,
    id_column: str | None,
    width: int,
    size: int,
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Read and parse CSV lines into batches of ``(record id, wire row)``, ``size`` at most (run in a thread)."""
    prefix = secrets.token_hex(8)
    done = 0
    batch: list[tuple[str, dict[str, Any]]] = []
    for number, fields in enumerate(lines):
        if len(fields) != width:
            if not fields:
                continue
            raise SchemaError(f"CSV line {number + 2}: {len(fields)} fields, the header has {width}")
        try:
            row = {name: (parse(fields[at]) if at is not None else None) for name, at, parse in slots}
        except SchemaError as exc:
            raise SchemaError(f"CSV line {number + 2}: {exc}") from None
        if id_at is not None:
            record_id = fields[id_at]
            if not record_id:
                raise SchemaError(f"CSV line {number + 2}: empty id column {id_column!r}")
        else:
            record_id = f"{prefix}-{done + len(batch):08d}"
        batch.append((record_id, row))
        if len(batch) >= size:
            yield batch
            done += len(batch)
            batch = []
    if batch:
        yield batch


async def export_csv(ds: Dataset, target: csvio.CsvSource, *, id_header: str | None = None) -> int:
    """Write every live row to a CSV file (a path or an open text file); returns the row count.

    ``id_header`` adds the record id as a first column under that name.
    """
    schema = await ds.schema()
    if schema is None:
        raise SchemaError("the dataset has no schema: nothing to export")
    handle, opened = csvio.open_text_for_write(target)
    try:
        writer = csv.writer(handle, lineterminator="\n")
        columns = schema.columns
        writer.writerow(([id_header] if id_header else []) + list(schema.names))
        count = 0
        async for record in ds.records():
            fields = [csvio.format_value(c, record.row[c.name]) for c in columns]
            writer.writerow(([record.id] if id_header else []) + fields)
            count += 1
        return count
    finally:
        if opened:
            handle.close()
