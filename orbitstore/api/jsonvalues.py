"""Database values as JSON, the DAG-JSON way.

Entries hold DAG-CBOR values; over HTTP they travel as JSON. Everything JSON
has maps one to one; the two DAG-CBOR kinds JSON lacks use DAG-JSON's forms:

* bytes → ``{"/": {"bytes": "<base64, no padding>"}}``
* a CID link → ``{"/": "<cid text>"}``

:func:`to_json` writes them, :func:`from_json` reads them back, so a value put
through the HTTP client comes back exactly as the in-process API returns it.
As in DAG-JSON, a map whose only key is ``"/"`` is reserved for these forms.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from orbitstore.api.errors import InvalidRequest
from orbitstore.codec import CID
from orbitstore.errors import CIDError

__all__ = ["from_json", "to_json"]

_MAX_DEPTH = 256


def to_json(value: Any, _depth: int = 0) -> Any:
    """``value`` with bytes and CIDs in their DAG-JSON forms (tuples become lists)."""
    if _depth > _MAX_DEPTH:
        raise InvalidRequest(f"value nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(f"{value!r} has no JSON form")
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"/": {"bytes": base64.b64encode(bytes(value)).decode().rstrip("=")}}
    if isinstance(value, CID):
        return {"/": value.encode()}
    if isinstance(value, dict):
        return {str(k): to_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, _depth + 1) for v in value]
    raise InvalidRequest(f"a {type(value).__name__} has no JSON form")


def from_json(value: Any, _depth: int = 0) -> Any:
    """The inverse of :func:`to_json`: DAG-JSON bytes and link forms become bytes and :class:`CID`."""
    if _depth > _MAX_DEPTH:
        raise InvalidRequest(f"value nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, dict):
        if len(value) == 1 and "/" in value:
            return _special(value["/"])
        return {k: from_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v, _depth + 1) for v in value]
    return value


def _special(inner: Any) -> Any:
    if isinstance(inner, str):
        try:
            return CID.parse(inner)
        except CIDError as exc:
            raise InvalidRequest(f'{{"/": ...}} must hold a CID: {exc}') from None
    if isinstance(inner, dict) and len(inner) == 1 and isinstance(inner.get("bytes"), str):
        text = inner["bytes"]
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest('{"/": {"bytes": ...}} must hold base64') from None
    raise InvalidRequest('a map whose only key is "/" must be a DAG-JSON link or bytes')
