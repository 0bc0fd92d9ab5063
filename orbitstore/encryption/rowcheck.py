"""The reader-side schema check of decrypted rows, fused with reading them.

Readers of an encrypted dataset check every record they decrypt (peers without
the key cannot). :func:`row_reader` precomputes, per column, the allowed value
types and integer range, then checks a decoded wire row and builds the row as
reads return it (``Schema.read_row``) in one loop. Its verdicts are those of
``Schema.check_wire_row``; on any failure it calls that method, so the error names
the column and value exactly as at join.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orbitstore.errors import SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset.schema import Schema

__all__ = ["RowReader", "row_reader"]

#: Checks a decoded wire row and returns it as reads return it; :class:`SchemaError` when it breaks the schema.
RowReader = Callable[[Any], dict[str, Any]]

_INT64 = (-(2**63), 2**63 - 1)
_SAFE = (-(2**53 - 1), 2**53 - 1)
_RULES: dict[str, tuple[frozenset[type], tuple[int, int]]] = {
    "int": (frozenset((int,)), _INT64),
    "timestamp": (frozenset((int,)), _INT64),
    "float": (frozenset((float, int)), _SAFE),
    "str": (frozenset((str,)), _INT64),
    "category": (frozenset((str,)), _INT64),
    "bool": (frozenset((bool,)), _INT64),
    "bytes": (frozenset((bytes,)), _INT64),
}
_MISSING = object()


def row_reader(schema: Schema) -> RowReader:
    """``schema.check_wire_row(row)`` then ``schema.read_row(row)``, in one pass."""
    columns = [(c.name, *_RULES[c.type], c.nullable, c.type == "float") for c in schema.columns]

    def fail(row: Any) -> dict[str, Any]:
        schema.check_wire_row(row)  # raises with the precise message
        raise SchemaError("record breaks the schema")  # pragma: no cover - the two checks agree

    def read(row: Any) -> dict[str, Any]:
        if type(row) is not dict:
            return fail(row)
        get = row.get
        out: dict[str, Any] = {}
        present = 0
        for name, types, (lo, hi), nullable, is_float in columns:
            value = get(name, _MISSING)
            if value is _MISSING or value is None:
                if not nullable:
                    return fail(row)
                present += value is None
                out[name] = None
                continue
            present += 1
            t = type(value)
            if t not in types or (t is int and not lo <= value <= hi):
                return fail(row)
            out[name] = float(value) if is_float else value
        if present != len(row):
            return fail(row)  # a column the schema does not have
        return out

    return read
