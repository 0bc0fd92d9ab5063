"""Strict DAG-CBOR, byte-compatible with ``@ipld/dag-cbor`` as JS OrbitDB uses it.

Encoding rules (what the JS encoder writes):

* map keys are text, sorted by UTF-8 length first, then bytewise;
* integers use the shortest head; Python ints must fit in 64 bits (sign included);
* a float that is integral and within JS's safe range (±2**53-1) is written as an
  integer, as JS would (``1.0`` *is* ``1`` there); every other float is float64;
* NaN and ±Infinity are refused; so is any tag but 42 (a CID link).

Decoding (:func:`decode` with ``strict=True``) refuses trailing bytes, indefinite
lengths, duplicate keys, non-text keys, non-canonical integers, lengths, key order
or floats, NaN/±Inf, ``undefined``, simple values and any tag but 42. cbor2 does the
fast work; strictness comes from re-encoding and comparing, and a pure-Python scan
explains the first difference (what was wrong, at which byte offset).

Values map as: null ↔ None, bool, int, float, text ↔ str, bytes, array ↔ list,
map ↔ dict (str keys), tag 42 ↔ :class:`~orbitstore.codec.cid.CID`.
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
from collections.abc import Mapping
from typing import Any

import cbor2

from orbitstore.codec.cid import CID
from orbitstore.errors import CIDError, DecodeError, EncodeError

__all__ = ["decode", "decode_first", "dumps", "encode", "normalize", "sort_keys"]

_SAFE = 2**53 - 1
_U64 = 2**64
_MAX_DEPTH = 256


def _key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode("utf-8")
    return (len(raw), raw)


def sort_keys(keys: list[str]) -> list[str]:
    """Sort map keys the DAG-CBOR way: UTF-8 length first, then bytewise."""
    return sorted(keys, key=_key_order)


def normalize(value: Any, _depth: int = 0) -> Any:
    """Return ``value`` rewritten so cbor2 writes canonical DAG-CBOR bytes.

    Dicts come back with their keys in canonical order, integral safe floats as
    ints, tuples as lists, bytearrays as bytes — exactly what :func:`decode` would
    return for the encoded bytes. Raises :class:`EncodeError` for anything
    DAG-CBOR cannot hold.
    """
    if _depth > _MAX_DEPTH:
        raise EncodeError(f"value nested deeper than {_MAX_DEPTH} levels")
    if value is None or value is True or value is False or type(value) is str or type(value) is bytes:
        return value
    t = type(value)
    if t is int:
        if -_U64 <= value < _U64:
            return value
        raise EncodeError(f"integer {value} does not fit in 64 bits")
    if t is float:
        if math.isfinite(value):
            if value.is_integer() and -_SAFE <= value <= _SAFE:
                return int(value)
            return value
        raise EncodeError(f"{value!r} cannot be encoded in DAG-CBOR")
    if t is dict or isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in sorted(value, key=_checked_key):
            out[key] = normalize(value[key], _depth + 1)
        return out
    if t is list or t is tuple:
        return [normalize(item, _depth + 1) for item in value]
    if t is CID:
        return value  # written as tag 42 by _encode_cid
    if isinstance(value, bool):  # bool subclasses are not plain bools
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, int):
        return normalize(int(value), _depth)
    if isinstance(value, float):
        return normalize(float(value), _depth)
    raise EncodeError(f"{type(value).__name__} has no DAG-CBOR form")


def _is_normal(value: Any, depth: int) -> bool:
    """True when :func:`normalize` would return ``value`` unchanged (a decoded value, checked without copying).

    ``False`` sends the caller down the full path, which explains what is wrong.
    """
    t = type(value)
    if t is str or t is int or t is bytes or t is bool or value is None or t is CID:
        return True
    if depth > _MAX_DEPTH:
        return False
    if t is float:
        return math.isfinite(value) and not (value.is_integer() and -_SAFE <= value <= _SAFE)
    if t is dict:
        if not _canonical_keys(tuple(value)):
            return False
        items: Any = value.values()
    elif t is list:
        items = value
    else:
        return False
    for item in items:  # leaves inline: entries are mostly text
        ti = type(item)
        if ti is not str and ti is not int and ti is not bytes and not _is_normal(item, depth + 1):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _canonical_keys(keys: tuple[object, ...]) -> bool:
    """True when every key is text and they are in DAG-CBOR order (cached: few key sets recur)."""
    texts = [k for k in keys if type(k) is str]
    if len(texts) != len(keys):
        return False
    try:
        order = [_key_order(k) for k in texts]
    except UnicodeEncodeError:
        return False
    return all(a < b for a, b in itertools.pairwise(order))


def _checked_key(key: object) -> tuple[int, bytes]:
    if type(key) is not str:
        raise EncodeError(f"DAG-CBOR map keys must be text, not {type(key).__name__}")
    try:
        return _key_order(key)
    except UnicodeEncodeError as exc:
        raise EncodeError(f"map key is not valid UTF-8: {exc}") from None


def _encode_cid(encoder: Any, value: Any) -> None:
    if type(value) is not CID:
        raise EncodeError(f"{type(value).__name__} has no DAG-CBOR form")
    encoder.encode(cbor2.CBORTag(42, b"\x00" + value.to_bytes()))


def dumps(normalized: Any) -> bytes:
    """Encode a value that :func:`normalize` returned (CIDs become tag-42 links)."""
    return cbor2.dumps(normalized, default=_encode_cid)


def encode(value: Any) -> bytes:
    """Encode ``value`` as canonical DAG-CBOR bytes."""
    try:
        return dumps(normalize(value))
    except UnicodeEncodeError as exc:
        raise EncodeError(f"text is not valid UTF-8: {exc}") from None
    except cbor2.CBOREncodeError as exc:  # pragma: no cover - normalize() rejects first
        raise EncodeError(str(exc)) from None


def _tag_hook(tag: cbor2.CBORTag, _immutable: bool) -> Any:
    if tag.tag != 42:
        raise DecodeError(f"CBOR tag {tag.tag} is not allowed in DAG-CBOR (only 42)")
    payload = tag.value
    if type(payload) is not bytes or not payload or payload[0] != 0:
        raise DecodeError("a tag-42 link must hold a byte string starting with 0x00")
    try:
        return CID.from_bytes(payload[1:])
    except CIDError as exc:
        raise DecodeError(f"invalid CID in tag-42 link: {exc}") from None


def decode(data: bytes, *, strict: bool = True) -> Any:
    """Decode one DAG-CBOR item that must fill ``data`` exactly.

    ``strict=False`` skips the canonical-form check; use it only for bytes this
    process wrote or already verified (e.g. re-reading its own block store).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise DecodeError("empty input", offset=0)
    try:
        value = cbor2.loads(data, tag_hook=_tag_hook, allow_indefinite=False, allow_duplicate_keys=False)
    except DecodeError:
        raise
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        cause = exc.__cause__
        if isinstance(cause, DecodeError):
            raise cause from None
        raise _explain(data) or DecodeError(f"invalid CBOR: {exc}") from None
    if not strict:
        return value
    try:
        # Already in normal form (the usual case): re-encode it as it is, skipping normalize's copy.
        again = dumps(value) if _is_normal(value, 0) else encode(value)
    except EncodeError as exc:
        raise _explain(data) or DecodeError(f"not DAG-CBOR: {exc}") from None
    if again != data:
        raise _explain(data) or DecodeError("not in canonical DAG-CBOR form", offset=_first_diff(data, again))
    return value


def decode_first(data: bytes) -> tuple[Any, int]:
    """Decode the first complete DAG-CBOR item of ``data``; return it and its length in bytes.

    Raises :class:`DecodeError` with ``incomplete=True`` semantics (message starts with
    ``"incomplete"``) when ``data`` holds only a prefix of an item, so stream readers can wait
    for more bytes.
    """
    end = _scan(bytes(data), 0, 0, check=False)
    return decode(bytes(data[:end])), end


def _first_diff(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


# -- a pure-Python scanner: slow, only used to explain a failure and to frame streams --------------


class _Incomplete(DecodeError):
    pass


def _head(data: bytes, pos: int, check: bool) -> tuple[int, int, int, int]:
    """Read an item head: (major, additional info, argument, position after the head)."""
    if pos >= len(data):
        raise _Incomplete("incomplete item: input ends inside a CBOR head", offset=pos)
    ib = data[pos]
    major, info = ib >> 5, ib & 0x1F
    if info < 24:
        return major, info, info, pos + 1
    if info > 27:
        if info == 31:
            raise DecodeError("indefinite-length items are not allowed in DAG-CBOR", offset=pos)
        raise DecodeError(f"reserved additional information {info}", offset=pos)
    size = 1 << (info - 24)
    if pos + 1 + size > len(data):
        raise _Incomplete("incomplete item: input ends inside a CBOR head", offset=pos)
    arg = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
    if check and major != 7:
        smallest = 24 if arg < 256 else 25 if arg < 65536 else 26 if arg < 2**32 else 27
        if arg < 24 or info != smallest:
            raise DecodeError(f"non-canonical integer or length encoding ({arg} in {size} bytes)", offset=pos)
    return major, info, arg, pos + 1 + size


def _scan(data: bytes, pos: int, depth: int, *, check: bool) -> int:
    if depth > _MAX_DEPTH:
        raise DecodeError(f"nested deeper than {_MAX_DEPTH} levels", offset=pos)
    start = pos
    major, info, arg, pos = _head(data, pos, check)
    if major in (0, 1):
        return pos
    if major in (2, 3):
        end = pos + arg
        if end > len(data):
            raise _Incomplete("incomplete item: string runs past the end of input", offset=start)
        if major == 3 and check:
            try:
                data[pos:end].decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("text string is not valid UTF-8", offset=start) from None
        return end
    if major == 4:
        for _ in range(arg):
            pos = _scan(data, pos, depth + 1, check=check)
        return pos
    if major == 5:
        previous: bytes | None = None
        for _ in range(arg):
            key_at = pos
            if check and (pos >= len(data) or data[pos] >> 5 != 3):
                raise DecodeError("map keys must be text strings", offset=key_at)
            pos = _scan(data, pos, depth + 1, check=check)
            key = data[key_at:pos]
            if check and previous is not None:
                if key == previous:
                    raise DecodeError("duplicate map key", offset=key_at)
                if (len(key), key) < (len(previous), previous):
                    raise DecodeError("map keys are not in canonical order", offset=key_at)
            previous = key
            pos = _scan(data, pos, depth + 1, check=check)
        return pos
    if major == 6:
        if check and arg != 42:
            raise DecodeError(f"CBOR tag {arg} is not allowed in DAG-CBOR (only 42)", offset=start)
        return _scan(data, pos, depth + 1, check=check)
    # major 7: simple values and floats
    if info in (20, 21, 22):
        return pos
    if info == 27:
        if check:
            (f,) = struct.unpack(">d", data[pos - 8 : pos])
            if not math.isfinite(f):
                raise DecodeError("NaN and infinities are not allowed in DAG-CBOR", offset=start)
            if f.is_integer() and -_SAFE <= f <= _SAFE:
                raise DecodeError("an integral float must be encoded as an integer", offset=start)
        return pos
    if not check:
        return pos
    if info in (25, 26):
        raise DecodeError("floats must be 64-bit in DAG-CBOR", offset=start)
    if info == 23:
        raise DecodeError("'undefined' is not allowed in DAG-CBOR", offset=start)
    raise DecodeError(f"simple value {arg} is not allowed in DAG-CBOR", offset=start)


def _explain(data: bytes) -> DecodeError | None:
    """Find the first rule ``data`` breaks; ``None`` when the scan finds nothing to blame."""
    try:
        end = _scan(data, 0, 0, check=True)
    except DecodeError as exc:
        if isinstance(exc, _Incomplete):
            return DecodeError(f"truncated input: {exc}".replace(" (at byte", " (item at byte"))
        return exc
    if end != len(data):
        return DecodeError(f"{len(data) - end} trailing bytes after the first item", offset=end)
    return None
