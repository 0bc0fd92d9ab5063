"""Snapshots as pandas DataFrames, in the snapshot's order, with dtypes from its schema.

=========== ===================================== =====================================
schema type DataFrame dtype (non-null / nullable) as a model feature (float64 column)
=========== ===================================== =====================================
int         ``int64`` / ``Int64``                 the number; null → NaN
float       ``float64`` (null → NaN)              the number; null → NaN
bool        ``bool`` / ``boolean``                0 or 1; null → NaN
timestamp   ``datetime64[ms, UTC]`` (null → NaT)  milliseconds since the epoch; null → NaN
category    ``category`` (categories sorted)      ordinal code, or one-hot columns
str         ``string``                            only when named in ``features=``: as category
bytes       ``object``                            never
=========== ===================================== =====================================

The index holds the record ids. :func:`to_frame` reads the snapshot's columnar
chunks directly (no per-row Python objects for numeric columns);
:func:`iter_frames` yields one DataFrame per batch for snapshots larger than memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from orbitstore.errors import ModelError

if TYPE_CHECKING:
    from orbitstore.databases.dataset import ColumnData, Schema, Snapshot, TableChunk

__all__ = ["empty_frame", "iter_frames", "to_frame"]

_PACKED = ("int", "float", "timestamp")


def _null_mask(column: ColumnData) -> np.ndarray | None:
    if column.nulls is None:
        return None
    bits = np.unpackbits(np.frombuffer(column.nulls, dtype=np.uint8), bitorder="little")
    return bits[: column.rows].astype(bool)


class _ColumnBuffer:
    """Pieces of one column gathered chunk by chunk, turned into one Series at the end."""

    __slots__ = ("kind", "masks", "name", "nullable", "parts", "values")

    def __init__(self, name: str, kind: str, nullable: bool) -> None:
        self.name = name
        self.kind = kind
        self.nullable = nullable
        self.parts: list[np.ndarray] = []
        self.masks: list[np.ndarray | None] = []
        self.values: list[Any] = []

    def add(self, column: ColumnData, start: int, stop: int) -> None:
        if self.kind in _PACKED:
            dtype = "<f8" if self.kind == "float" else "<i8"
            self.parts.append(np.frombuffer(column.data or b"", dtype=dtype)[start:stop])
            mask = _null_mask(column)
            self.masks.append(mask[start:stop] if mask is not None else None)
        else:
            values = column.values if column.values is not None else column.to_list()
            self.values.extend(values if start == 0 and stop == len(values) else values[start:stop])

    def series(self, index: pd.Index) -> pd.Series:
        kind = self.kind
        if kind in _PACKED:
            data = np.concatenate(self.parts) if self.parts else np.empty(0, "<f8" if kind == "float" else "<i8")
            data = data.astype(np.float64 if kind == "float" else np.int64)  # native order, writable copy
            mask = None
            if any(m is not None for m in self.masks):
                mask = np.concatenate(
                    [
                        m if m is not None else np.zeros(len(p), bool)
                        for m, p in zip(self.masks, self.parts, strict=True)
                    ]
                )
            if kind == "float":
                if mask is not None:
                    data[mask] = np.nan
                return pd.Series(data, index=index, name=self.name, copy=False)
            if kind == "timestamp":
                stamps = data.astype("datetime64[ms]")
                if mask is not None:
                    stamps[mask] = np.datetime64("NaT")
                return pd.Series(stamps, index=index, name=self.name).dt.tz_localize("UTC")
            if mask is not None or self.nullable:
                array = pd.arrays.IntegerArray(data, mask if mask is not None else np.zeros(len(data), bool))
                return pd.Series(array, index=index, name=self.name)
            return pd.Series(data, index=index, name=self.name, copy=False)
        values = self.values
        if kind == "bool":
            if self.nullable or None in values:
                return pd.Series(pd.array(values, dtype="boolean"), index=index, name=self.name)
            return pd.Series(np.array(values, dtype=bool), index=index, name=self.name)
        if kind == "category":
            categories = sorted({v for v in values if v is not None})
            return pd.Series(pd.Categorical(values, categories=categories), index=index, name=self.name)
        if kind == "str":
            return pd.Series(pd.array(values, dtype="string"), index=index, name=self.name)
        return pd.Series(np.array(values, dtype=object), index=index, name=self.name)


def _buffers(schema: Schema, columns: Sequence[str] | None) -> list[tuple[int, _ColumnBuffer]]:
    wanted = schema.names if columns is None else tuple(columns)
    position = {name: i for i, name in enumerate(schema.names)}
    out = []
    for name in wanted:
        if name not in position:
            raise ModelError(f"no column {name!r} in the snapshot's schema ({', '.join(schema.names)})")
        column = schema.column(name)
        out.append((position[name], _ColumnBuffer(name, column.type, column.nullable)))
    return out


def _frame(ids: list[str], buffers: list[tuple[int, _ColumnBuffer]]) -> pd.DataFrame:
    index = pd.Index(ids, name="id")
    return pd.DataFrame({b.name: b.series(index) for _, b in buffers}, index=index)


def empty_frame(schema: Schema, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A frame with no rows and the schema's dtypes."""
    return _frame([], _buffers(schema, columns))


async def to_frame(snapshot: Snapshot, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The whole snapshot as a DataFrame: rows in the snapshot's order, index = record ids.

    ``columns`` limits (and orders) the columns read. A snapshot without a
    schema has no rows: :class:`~orbitstore.errors.ModelError`.
    """
    schema = _schema_of(snapshot)
    buffers = _buffers(schema, columns)
    ids: list[str] = []
    async for chunk in snapshot.chunks():
        _add(chunk, ids, buffers, 0, chunk.rows)
    return _frame(ids, buffers)


async def iter_frames(
    snapshot: Snapshot, *, batch_rows: int = 10_000, columns: Sequence[str] | None = None
) -> AsyncIterator[pd.DataFrame]:
    """The snapshot as consecutive DataFrames of at most ``batch_rows`` rows (for data larger than memory).

    Category columns of a batch hold only that batch's categories: encode
    features with a :class:`~mlbridge.features.FeatureSpec` built over the whole
    snapshot (:func:`~mlbridge.features.scan_spec`) so that every batch encodes alike.
    """
    if batch_rows < 1:
        raise ModelError("batch_rows must be positive")
    schema = _schema_of(snapshot)
    buffers = _buffers(schema, columns)
    ids: list[str] = []
    async for chunk in snapshot.chunks():
        position = 0
        while position < chunk.rows:
            stop = min(chunk.rows, position + batch_rows - len(ids))
            _add(chunk, ids, buffers, position, stop)
            position = stop
            if len(ids) >= batch_rows:
                yield _frame(ids, buffers)
                ids, buffers = [], _buffers(schema, columns)
    if ids:
        yield _frame(ids, buffers)


def _add(chunk: TableChunk, ids: list[str], buffers: list[tuple[int, _ColumnBuffer]], start: int, stop: int) -> None:
    ids.extend(chunk.ids[start:stop] if start or stop != chunk.rows else chunk.ids)
    for position, buffer in buffers:
        buffer.add(chunk.columns[position], start, stop)


def _schema_of(snapshot: Snapshot) -> Schema:
    if snapshot.schema is None:
        raise ModelError(f"snapshot {snapshot.cid} has no schema: there is nothing to train on")
    return snapshot.schema
