"""Text encodings the Kubo RPC API uses: CID multibase text and pubsub multibase.

Kubo prints CIDv1 in base32 (``bafy…``) from ``block put``/``block stat``,
which take no ``cid-base`` option; OrbitDB prints them in base58btc
(``zdpu…``). The conversion is a base change of the same CID bytes, done here
so that this package does not depend on :mod:`orbitstore.codec`.

Pubsub topics, data and seqnos travel as multibase ``base64url`` text (``u``
prefix, no padding), see kubo#7939.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple

from orbitstore.errors import CIDError, DecodeError

__all__ = [
    "CidPrefix",
    "b58decode",
    "b58encode",
    "cid_prefix",
    "cid_to_base58btc",
    "multibase_decode",
    "multibase_encode",
]

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    """Encode bytes in Bitcoin base58 (leading zero bytes become ``1``)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_B58_ALPHABET[rest])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode Bitcoin base58 text; raise :class:`~orbitstore.errors.CIDError` on a bad character."""
    number = 0
    for char in text:
        digit = _B58_ALPHABET.find(char)
        if digit < 0:
            raise CIDError(f"invalid base58 character {char!r}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _b32decode(text: str) -> bytes:
    """Decode RFC 4648 base32 without padding, lower or upper case."""
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise CIDError(f"invalid base32 CID text: {text!r}") from exc


def cid_to_base58btc(cid: str) -> str:
    """Return CIDv1 text in base58btc (``z…``); CIDv0 (``Qm…``) is returned unchanged.

    Accepts the base32 (``b…``/``B…``) text Kubo prints and base58btc text
    (returned as is). Other multibases raise :class:`~orbitstore.errors.CIDError`.
    """
    if not cid:
        raise CIDError("empty CID text")
    if cid.startswith("Qm") and len(cid) == 46:
        return cid
    prefix, body = cid[0], cid[1:]
    if prefix == "z":
        return cid
    if prefix in "bB":
        raw = _b32decode(body)
        if not raw or raw[0] != 1:
            raise CIDError(f"not a CIDv1: {cid!r}")
        return "z" + b58encode(raw)
    raise CIDError(f"unsupported multibase prefix {prefix!r} in CID {cid!r}")


def multibase_encode(data: bytes) -> str:
    """Encode bytes as multibase base64url (``u`` prefix, no padding), as Kubo wants."""
    return "u" + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def multibase_decode(text: str) -> bytes:
    """Decode multibase text in ``u`` (base64url) or ``m`` (base64), Kubo's pubsub encodings."""
    if not text:
        raise DecodeError("empty multibase text")
    prefix, body = text[0], text[1:]
    padded = body + "=" * (-len(body) % 4)
    try:
        if prefix == "u":
            return base64.urlsafe_b64decode(padded)
        if prefix == "m":
            return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"invalid multibase {prefix!r} text") from exc
    raise DecodeError(f"unsupported multibase prefix {prefix!r}")


class CidPrefix(NamedTuple):
    """The parts of a CIDv1 that decide how Kubo must store its block."""

    codec: int
    hash_code: int
    digest: bytes


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while offset < len(data) and shift < 63:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
    raise CIDError("truncated or overlong varint in CID")


def cid_prefix(cid: str) -> CidPrefix:
    """Parse CIDv1 text (base58btc ``z…`` or base32 ``b…``) into codec, hash code and digest."""
    text = cid_to_base58btc(cid)
    if not text.startswith("z"):
        raise CIDError(f"only CIDv1 is supported here, not {cid!r}")
    raw = b58decode(text[1:])
    version, offset = _read_varint(raw, 0)
    if version != 1:
        raise CIDError(f"not a CIDv1: {cid!r}")
    codec, offset = _read_varint(raw, offset)
    hash_code, offset = _read_varint(raw, offset)
    length, offset = _read_varint(raw, offset)
    digest = raw[offset:]
    if len(digest) != length:
        raise CIDError(f"CID {cid!r} digest is {len(digest)} bytes, its multihash says {length}")
    return CidPrefix(codec=codec, hash_code=hash_code, digest=digest)
