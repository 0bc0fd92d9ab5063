"""base58btc and base32 (RFC 4648, lower case, no padding) — the two bases CIDs use here."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from orbitstore.errors import CIDError

__all__ = ["b32decode", "b32encode", "b58decode", "b58encode", "py_b58encode"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
# Two base58 digits at once: halves the number of big-integer divisions.
_B58_PAIRS = tuple(a + b for a in _B58 for b in _B58)
_B58_SQ = 58 * 58


def py_b58encode(data: bytes) -> str:
    """Encode bytes as base58btc (Bitcoin alphabet), keeping leading zero bytes as '1' (pure Python)."""
    stripped = data.lstrip(b"\x00")
    pad = len(data) - len(stripped)
    n = int.from_bytes(stripped, "big")
    parts: list[str] = []
    while n:
        n, r = divmod(n, _B58_SQ)
        parts.append(_B58_PAIRS[r])
    text = "".join(reversed(parts)).lstrip("1")
    return "1" * pad + text


def b58decode(text: str) -> bytes:
    """Decode base58btc text; raises :class:`CIDError` on a character outside the alphabet."""
    n = 0
    try:
        for ch in text:
            n = n * 58 + _B58_INDEX[ch]
    except KeyError as exc:
        raise CIDError(f"invalid base58btc character {exc.args[0]!r}") from None
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * pad + body


def b32encode(data: bytes) -> str:
    """Encode bytes as lower-case, unpadded RFC 4648 base32 (multibase 'b' without the prefix)."""
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def b32decode(text: str) -> bytes:
    """Decode lower-case, unpadded RFC 4648 base32."""
    if text != text.lower():
        raise CIDError("base32 CIDs must be lower case")
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise CIDError(f"invalid base32: {exc}") from None


def _load_fast() -> Callable[[bytes], bytes] | None:
    try:  # a Rust implementation, ~5x faster on CIDs (CID text is on every append's path)
        from based58 import b58encode as fast
    except ImportError:  # pragma: no cover - the pure-Python version gives the same text
        return None
    return fast


_fast_b58encode = _load_fast()


def b58encode(data: bytes) -> str:
    """Encode bytes as base58btc (Bitcoin alphabet), keeping leading zero bytes as '1'."""
    if _fast_b58encode is not None:
        return _fast_b58encode(data).decode("ascii")
    return py_b58encode(data)
