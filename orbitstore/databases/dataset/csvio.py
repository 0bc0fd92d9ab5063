"""CSV in and out of datasets, without pandas.

Import reads text fields and converts them by column type; an empty field is
null. ``int``: decimal digits; ``float``: Python float syntax (``nan``/``inf``
refused); ``bool``: ``true``/``false``/``1``/``0``/``yes``/``no`` (any case);
``bytes``: base64; ``timestamp``: integer milliseconds or ISO-8601 text;
``str``/``category``: the text. Without a schema, one is inferred from the
whole file: per column the narrowest of int, float, bool, timestamp (ISO
dates) and str that fits every non-empty field; a column with an empty field
is nullable.

Export writes a header of column names, then one line per live record in the
dataset's order: null as an empty field, floats in shortest round-trip form,
bools as ``true``/``false``, bytes as base64, timestamps as ISO-8601 UTC with
milliseconds (``2024-05-01T12:00:00.000Z``).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from orbitstore.databases.dataset.schema import Column, Schema, parse_timestamp
from orbitstore.errors import SchemaError

__all__ = ["CsvSource", "csv_reader", "format_value", "infer_schema", "parser_for"]

CsvSource = str | os.PathLike[str] | IO[str]

_INT_RE = re.compile(r"[-+]?\d+\Z")
_FLOAT_RE = re.compile(r"\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)\s*\Z")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([zZ]|[+-]\d{2}:?\d{2})?\Z")
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_BOOL_WORDS = {"true", "false"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = 2**63


@contextmanager
def csv_reader(source: CsvSource, *, delimiter: str = ",") -> Iterator[Iterator[list[str]]]:
    """A :func:`csv.reader` over a path or an open text file (opened and closed here for a path)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, newline="", encoding="utf-8") as handle:
            yield csv.reader(handle, delimiter=delimiter)
    else:
        yield csv.reader(source, delimiter=delimiter)


def infer_schema(header: list[str], rows: list[list[str]], *, target: str | None = None) -> Schema:
    """The narrowest schema every field of ``rows`` fits (see the module docstring)."""
    columns: list[Column] = []
    for i, name in enumerate(header):
        values = [row[i] for row in rows if i < len(row) and row[i] != ""]
        nullable = len(values) < len(rows)
        kind = "str"
        if values:
            if all(map(_INT_RE.match, values)) and all(-_INT64 <= int(v) < _INT64 for v in values):
                kind = "int"
            elif all(map(_FLOAT_RE.match, values)):
                kind = "float"
            elif all(v.lower() in _BOOL_WORDS for v in values):
                kind = "bool"
            elif all(map(_DATE_RE.match, values)):
                kind = "timestamp"
        columns.append(Column(name, kind, nullable))
    return Schema(tuple(columns), target)


def parser_for(column: Column) -> Callable[[str], Any]:
    """A function from a CSV field to the column's wire value (:class:`SchemaError` names column and value)."""
    name, kind, nullable = column.name, column.type, column.nullable

    def fail(text: str) -> SchemaError:
        return SchemaError(f"column {name!r}: {text!r} is not a valid {kind}")

    def null() -> None:
        if not nullable:
            raise SchemaError(f"column {name!r} is not nullable: a value is required")
        return None

    if kind == "int":

        def parse_int(text: str) -> Any:
            if text == "":
                return null()
            try:
                value = int(text)
            except ValueError:
                raise fail(text) from None
            if not -_INT64 <= value < _INT64:
                raise fail(text)
            return value

        return parse_int
    if kind == "float":

        def parse_float(text: str) -> Any:
            if text == "":
                return null()
            try:
                value = float(text)
            except ValueError:
                raise fail(text) from None
            if not math.isfinite(value):
                raise SchemaError(f"column {name!r}: {text!r} is not allowed (leave the field empty for null)")
            if value.is_integer() and -(2**53) < value < 2**53:
                return int(value)
            return value

        return parse_float
    if kind == "bool":

        def parse_bool(text: str) -> Any:
            if text == "":
                return null()
            try:
                return _BOOLS[text.strip().lower()]
            except KeyError:
                raise fail(text) from None

        return parse_bool
    if kind == "bytes":

        def parse_bytes(text: str) -> Any:
            if text == "":
                return null()
            try:
                return base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise fail(text) from None

        return parse_bytes
    if kind == "timestamp":

        def parse_time(text: str) -> Any:
            if text == "":
                return null()
            if _INT_RE.match(text):
                return parse_timestamp(int(text), name)
            return parse_timestamp(text, name)

        return parse_time

    def parse_text(text: str) -> Any:
        return null() if text == "" else text

    return parse_text


def format_value(column: Column, value: Any) -> str:
    """A read value as a CSV field (see the module docstring)."""
    if value is None:
        return ""
    kind = column.type
    if kind == "float":
        return repr(float(value))
    if kind == "bool":
        return "true" if value else "false"
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "timestamp":
        moment = _EPOCH + timedelta(milliseconds=value)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def open_text_for_write(target: CsvSource) -> tuple[IO[str], bool]:
    """``(file, opened_here)`` for a path or an open text file."""
    if isinstance(target, (str, os.PathLike)):
        return open(target, "w", newline="", encoding="utf-8"), True
    if isinstance(target, io.TextIOBase) or hasattr(target, "write"):
        return target, False
    raise TypeError("export_csv needs a path or a text file")
