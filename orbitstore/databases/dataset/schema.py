"""Dataset schemas: typed, nullable columns, an optional ML target, and the rules for changing them.

A schema is an ordered tuple of :class:`Column` s. Column types and their
values, in Python and on the wire (DAG-CBOR):

=========== ======================================= =====================================
type        Python values accepted by ``put``       wire value (and what reads return)
=========== ======================================= =====================================
int         int (not bool), numpy integers          int, signed 64-bit range
float       int or float, numpy floats; finite      float64, or int when integral (JS
                                                    rule); reads always return float
str         str                                     text
category    str                                     text
bool        bool, numpy bool                        bool
bytes       bytes, bytearray, memoryview            bytes
timestamp   int (ms since epoch), datetime (naive   int: milliseconds since the Unix
            = UTC), ISO-8601 text                   epoch, UTC
=========== ======================================= =====================================

``None`` is null; a non-nullable column refuses it. NaN and ±Infinity are
refused (store ``None`` instead). Every failure is a :class:`SchemaError`
naming the column and the value.

Evolution (checked for each ``SCHEMA`` operation against the schema in its
causal past): existing columns keep their name, type, nullability and position;
new columns are appended and must be nullable; the target may change to any
column. Concurrent schema changes (on forks) merge: see :meth:`Schema.merge`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orbitstore.codec import sort_keys
from orbitstore.errors import SchemaError

__all__ = ["COLUMN_TYPES", "SCHEMA_VERSION", "Column", "Schema", "parse_timestamp"]

SCHEMA_VERSION = 1
COLUMN_TYPES = ("int", "float", "str", "bool", "bytes", "category", "timestamp")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SAFE = 2**53 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_NAME = 256


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_timestamp(value: Any, column: str = "?") -> int:
    """Milliseconds since the Unix epoch from an int, a datetime (naive = UTC) or ISO-8601 text."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        ms = int(value)
    elif isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        delta = moment - _EPOCH
        ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise SchemaError(f"column {column!r}: {_show(value)} is not an ISO-8601 timestamp") from None
        return parse_timestamp(parsed, column)
    else:
        raise SchemaError(f"column {column!r}: {_show(value)} is not a timestamp")
    if not _INT64_MIN <= ms <= _INT64_MAX:
        raise SchemaError(f"column {column!r}: timestamp {_show(value)} is out of range")
    return ms


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``name``, ``type`` (one of :data:`COLUMN_TYPES`) and whether it may be null."""

    name: str
    type: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or len(self.name) > _MAX_NAME:
            raise SchemaError(f"a column name must be non-empty text of at most {_MAX_NAME} characters")
        if self.type not in COLUMN_TYPES:
            raise SchemaError(f"column {self.name!r}: unknown type {self.type!r} (known: {', '.join(COLUMN_TYPES)})")
        if not isinstance(self.nullable, bool):
            raise SchemaError(f"column {self.name!r}: nullable must be true or false")

    def to_wire(self) -> dict[str, Any]:
        """The column as stored in a ``SCHEMA`` operation (keys in DAG-CBOR order)."""
        return {"name": self.name, "type": self.type, "nullable": self.nullable}

    def check(self, value: Any) -> Any:
        """Validate a Python value for this column; return its wire form (raises :class:`SchemaError`)."""
        if value is None:
            if not self.nullable:
                raise SchemaError(f"column {self.name!r} is not nullable: a value is required")
            return None
        kind = self.type
        t = type(value)
        if kind == "float":
            if t is float or (isinstance(value, numbers.Real) and not isinstance(value, bool)):
                number = float(value)
                if not math.isfinite(number):
                    raise SchemaError(f"column {self.name!r}: {_show(value)} is not allowed (use None for missing)")
                if number.is_integer() and -_SAFE <= number <= _SAFE:
                    return int(number)
                return number
        elif kind == "int":
            if t is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
                number = int(value)
                if _INT64_MIN <= number <= _INT64_MAX:
                    return number
                raise SchemaError(f"column {self.name!r}: {_show(value)} does not fit in 64 bits")
        elif kind == "str" or kind == "category":
            if t is str:
                return value
            if isinstance(value, str):
                return str(value)
        elif kind == "bool":
            if value is True or value is False:
                return value
            if t.__name__ == "bool_":  # numpy.bool_ is not a bool subclass
                return bool(value)
        elif kind == "bytes":
            if t is bytes:
                return value
            if isinstance(value, (bytearray, memoryview)):
                return bytes(value)
        elif kind == "timestamp":
            return parse_timestamp(value, self.name)
        raise SchemaError(f"column {self.name!r}: {_show(value)} is not a valid {kind}")

    def check_wire(self, value: Any) -> None:
        """Validate a decoded wire value (from a peer) for this column."""
        if value is None:
            if not self.nullable:
                raise SchemaError(f"column {self.name!r} is not nullable but the record has null")
            return
        kind = self.type
        t = type(value)
        ok = (
            (kind == "int" and t is int and _INT64_MIN <= value <= _INT64_MAX)
            or (kind == "float" and (t is float or (t is int and -_SAFE <= value <= _SAFE)))
            or (kind in ("str", "category") and t is str)
            or (kind == "bool" and t is bool)
            or (kind == "bytes" and t is bytes)
            or (kind == "timestamp" and t is int and _INT64_MIN <= value <= _INT64_MAX)
        )
        if not ok:
            raise SchemaError(f"column {self.name!r}: {_show(value)} is not a valid {kind}")

    def read(self, value: Any) -> Any:
        """A wire value as reads return it: floats back to float; a value of the wrong type reads as null."""
        if value is None:
            return None
        kind = self.type
        t = type(value)
        if kind == "float":
            return float(value) if t is int or t is float else None
        if kind == "int" or kind == "timestamp":
            return value if t is int else None
        if kind == "bool":
            return value if t is bool else None
        if kind == "bytes":
            return value if t is bytes else None
        return value if t is str else None


@dataclass(frozen=True, slots=True)
class Schema:
    """An ordered set of columns and an optional ``target`` column (what a model predicts)."""

    columns: tuple[Column, ...]
    target: str | None = None
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False, hash=False)
    _wire_order: tuple[Column, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.columns, tuple) or not self.columns:
            raise SchemaError("a schema needs at least one column")
        by_name: dict[str, Column] = {}
        for column in self.columns:
            if not isinstance(column, Column):
                raise SchemaError(f"schema columns must be Column objects, not {type(column).__name__}")
            if column.name in by_name:
                raise SchemaError(f"column {column.name!r} appears twice")
            by_name[column.name] = column
        if self.target is not None and self.target not in by_name:
            raise SchemaError(f"target {self.target!r} is not a column")
        object.__setattr__(self, "_by_name", by_name)
        order = sort_keys(list(by_name))
        object.__setattr__(self, "_wire_order", tuple(by_name[n] for n in order))

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def of(
        cls,
        columns: Mapping[str, str | Mapping[str, Any]] | Sequence[Column | Mapping[str, Any] | tuple[Any, ...]],
        *,
        target: str | None = None,
    ) -> Schema:
        """Build a schema from ``{"age": "int", "name": {"type": "str", "nullable": False}}`` or a list.

        List items may be :class:`Column` s, ``{"name", "type", "nullable"}`` maps or
        ``(name, type[, nullable])`` tuples. Columns are nullable unless said otherwise.
        """
        out: list[Column] = []
        if isinstance(columns, Mapping):
            for name, spec in columns.items():
                if isinstance(spec, str):
                    out.append(Column(name, spec))
                elif isinstance(spec, Mapping):
                    out.append(Column(name, spec.get("type", ""), spec.get("nullable", True)))
                else:
                    raise SchemaError(f"column {name!r}: give a type name or a map")
        else:
            for item in columns:
                if isinstance(item, Column):
                    out.append(item)
                elif isinstance(item, Mapping):
                    out.append(Column(item.get("name", ""), item.get("type", ""), item.get("nullable", True)))
                elif isinstance(item, tuple) and 2 <= len(item) <= 3:
                    out.append(Column(*item))
                else:
                    raise SchemaError(f"cannot make a column of {_show(item)}")
        return cls(tuple(out), target)

    @classmethod
    def from_wire(cls, value: Any) -> Schema:
        """Parse the wire map ``{v, columns: [{name, type, nullable}], target?}``."""
        if not isinstance(value, dict) or value.get("v") != SCHEMA_VERSION:
            raise SchemaError(f"a schema must be a map with v={SCHEMA_VERSION}")
        extra = set(value) - {"v", "columns", "target"}
        if extra:
            raise SchemaError(f"unknown schema fields {sorted(extra)}")
        columns = value.get("columns")
        if not isinstance(columns, list):
            raise SchemaError("schema columns must be a list")
        parsed: list[Column] = []
        for item in columns:
            if not isinstance(item, dict) or set(item) != {"name", "type", "nullable"}:
                raise SchemaError("each schema column must be a map of name, type and nullable")
            parsed.append(Column(item["name"], item["type"], item["nullable"]))
        target = value.get("target")
        if "target" in value and not isinstance(target, str):
            raise SchemaError("schema target must be a column name")
        return cls(tuple(parsed), target)

    def to_wire(self) -> dict[str, Any]:
        """The schema as stored in ``SCHEMA`` operations and snapshots (keys in DAG-CBOR order)."""
        out: dict[str, Any] = {"v": SCHEMA_VERSION}
        if self.target is not None:
            out["target"] = self.target
        out["columns"] = [c.to_wire() for c in self.columns]
        return out

    # -- views -----------------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in schema order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column ``name`` (:class:`SchemaError` when absent)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise SchemaError(f"no column {name!r} in the schema") from None

    @property
    def wire_columns(self) -> tuple[Column, ...]:
        """Columns in the order their names sort in DAG-CBOR (the key order of wire rows)."""
        return self._wire_order

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def features(self) -> tuple[str, ...]:
        """Every column but the target, in schema order."""
        return tuple(c.name for c in self.columns if c.name != self.target)

    # -- records ---------------------------------------------------------------------------------

    def check_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a Python row; return its wire form: every column, keys in DAG-CBOR order.

        Missing columns are null. Raises :class:`SchemaError` naming the column and value.
        """
        if not isinstance(row, Mapping):
            raise SchemaError(f"a row must be a map of column to value, not {type(row).__name__}")
        by_name = self._by_name
        for name in row:
            if name not in by_name:
                raise SchemaError(f"unknown column {name!r} (value {_show(row[name])})")
        get = row.get
        return {c.name: c.check(get(c.name)) for c in self._wire_order}

    def check_wire_row(self, row: Any) -> None:
        """Validate a decoded wire row (a peer's record): known columns, types, nullability."""
        if not isinstance(row, dict):
            raise SchemaError("a record row must be a map")
        by_name = self._by_name
        for name, value in row.items():
            column = by_name.get(name)
            if column is None:
                raise SchemaError(f"unknown column {name!r} (value {_show(value)})")
            column.check_wire(value)
        for column in self.columns:
            if not column.nullable and row.get(column.name) is None:
                raise SchemaError(f"column {column.name!r} is not nullable but the record has no value")

    def read_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A wire row as reads return it: schema order, floats as float, missing columns as None."""
        get = row.get
        return {c.name: c.read(get(c.name)) for c in self.columns}

    # -- evolution -------------------------------------------------------------------------------

    def check_evolution(self, new: Schema) -> None:
        """Raise :class:`SchemaError` unless ``new`` is an allowed evolution of this schema."""
        for i, old in enumerate(self.columns):
            if old.name not in new:
                raise SchemaError(f"column {old.name!r} cannot be dropped or renamed")
            now = new.column(old.name)
            if now.type != old.type:
                raise SchemaError(f"column {old.name!r} cannot change type from {old.type} to {now.type}")
            if now.nullable != old.nullable:
                raise SchemaError(f"column {old.name!r} cannot change nullability")
            if new.columns[i].name != old.name:
                raise SchemaError(f"column {old.name!r} cannot move: new columns are appended")
        for column in new.columns[len(self.columns) :]:
            if not column.nullable:
                raise SchemaError(f"new column {column.name!r} must be nullable (existing records have no value)")

    def merge(self, other: Schema) -> Schema:
        """Merge a concurrent schema (one that did not see this one) into this one.

        Columns are the union, this schema's first; a column not defined
        identically by both becomes nullable; on a type conflict this schema's
        type wins (values of the other type then read as null). The target is
        ``other``'s when it has one, else this one's.
        """
        columns: list[Column] = []
        for column in self.columns:
            theirs = other._by_name.get(column.name)
            same = theirs is not None and theirs.type == column.type and theirs.nullable == column.nullable
            columns.append(column if same else Column(column.name, column.type, True))
        for column in other.columns:
            if column.name not in self._by_name:
                columns.append(Column(column.name, column.type, True))
        return Schema(tuple(columns), other.target if other.target is not None else self.target)

    def with_columns(self, columns: Iterable[Column | tuple[Any, ...]], *, target: str | None = None) -> Schema:
        """This schema with nullable columns appended (and optionally another target)."""
        added = [c if isinstance(c, Column) else Column(*c) for c in columns]
        return Schema((*self.columns, *added), target if target is not None else self.target)
