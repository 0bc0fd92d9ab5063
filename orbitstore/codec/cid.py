"""Content identifiers: CIDv1 (dag-cbor or raw, sha2-256) and CIDv0, in text and binary form.

OrbitDB prints every CID in base58btc (``zdpu…`` for dag-cbor); Kubo prints base32
(``bafy…``). Both parse here, as does a CIDv0 (``Qm…``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from orbitstore.codec.multibase import b32decode, b32encode, b58decode, b58encode
from orbitstore.errors import CIDError

__all__ = ["CID", "DAG_CBOR", "DAG_PB", "RAW", "SHA2_256", "block_cid", "cid_for", "read_varint", "varint"]

DAG_CBOR = 0x71
RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12

_KNOWN_CODECS = {DAG_CBOR: "dag-cbor", RAW: "raw", DAG_PB: "dag-pb"}
# Binary prefix of a CIDv1 dag-cbor sha2-256: version, codec, hash code, digest length.
_DAG_CBOR_PREFIX = bytes((0x01, DAG_CBOR, SHA2_256, 0x20))


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read an unsigned LEB128 varint (minimal, at most 9 bytes) at ``pos``; return it and the next position."""
    value = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise CIDError("truncated varint in CID")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and shift:
                raise CIDError("non-minimal varint in CID")
            return value, pos
        shift += 7
        if shift > 63:
            raise CIDError("varint too long in CID")


def varint(value: int) -> bytes:
    """Encode a non-negative int as an unsigned LEB128 varint (multiformats' varint)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@dataclass(frozen=True, slots=True)
class CID:
    """A CID: ``version`` (0 or 1), ``codec`` (multicodec) and ``multihash`` (code, length, digest)."""

    version: int
    codec: int
    multihash: bytes

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse a CID from text: base58btc ``z…``, base32 ``b…`` or a CIDv0 ``Qm…``."""
        if not isinstance(text, str) or not text:
            raise CIDError("a CID must be a non-empty string")
        if len(text) == 46 and text.startswith("Qm"):
            return cls.from_bytes(b58decode(text))
        prefix, body = text[0], text[1:]
        if prefix == "z":
            raw = b58decode(body)
        elif prefix == "b":
            raw = b32decode(body)
        else:
            raise CIDError(f"unsupported multibase prefix {prefix!r} in CID {text[:16]!r}")
        return cls.from_bytes(raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> CID:
        """Parse a binary CID (v0: a bare sha2-256 multihash; v1: varint version, codec, multihash)."""
        if len(data) == 34 and data[0] == SHA2_256 and data[1] == 0x20:
            return cls(0, DAG_PB, bytes(data))
        version, pos = read_varint(data, 0)
        if version != 1:
            raise CIDError(f"unsupported CID version {version}")
        codec, pos = read_varint(data, pos)
        hash_code, hpos = read_varint(data, pos)
        length, dpos = read_varint(data, hpos)
        if len(data) - dpos != length:
            raise CIDError(f"CID digest length {len(data) - dpos} does not match its header ({length})")
        if hash_code == SHA2_256 and length != 32:
            raise CIDError("a sha2-256 digest must be 32 bytes")
        return cls(1, codec, bytes(data[pos:]))

    @classmethod
    def of(cls, data: bytes, *, codec: int = DAG_CBOR) -> CID:
        """The CIDv1 (sha2-256) of a block's bytes."""
        return cls(1, codec, bytes((SHA2_256, 0x20)) + hashlib.sha256(data).digest())

    # -- views ----------------------------------------------------------------------------------

    @property
    def hash_code(self) -> int:
        """The multihash function code (0x12 for sha2-256)."""
        return read_varint(self.multihash, 0)[0]

    @property
    def digest(self) -> bytes:
        """The raw digest bytes."""
        _, pos = read_varint(self.multihash, 0)
        _, pos = read_varint(self.multihash, pos)
        return self.multihash[pos:]

    @property
    def codec_name(self) -> str:
        """Human name of the codec (``dag-cbor``, ``raw``, ``dag-pb`` or the hex code)."""
        return _KNOWN_CODECS.get(self.codec, hex(self.codec))

    def to_bytes(self) -> bytes:
        """The binary form (what a tag-42 link carries after its 0x00 prefix)."""
        if self.version == 0:
            return self.multihash
        if self.codec == DAG_CBOR:
            return b"\x01\x71" + self.multihash
        return varint(1) + varint(self.codec) + self.multihash

    def encode(self, base: Literal["base58btc", "base32"] = "base58btc") -> str:
        """Text form with a multibase prefix; CIDv0 always prints as bare base58."""
        if self.version == 0:
            return b58encode(self.multihash)
        raw = self.to_bytes()
        if base == "base58btc":
            return "z" + b58encode(raw)
        if base == "base32":
            return "b" + b32encode(raw)
        raise CIDError(f"unsupported base {base!r}")

    def verify(self, data: bytes) -> bool:
        """True when ``data`` hashes to this CID's digest (sha2-256 only)."""
        if self.hash_code != SHA2_256:
            raise CIDError(f"unsupported hash function {self.hash_code:#x}")
        return hashlib.sha256(data).digest() == self.digest

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"CID({self.encode()!r})"


def block_cid(data: bytes) -> str:
    """The base58btc text CID of a dag-cbor block: OrbitDB's ``hash`` (hot path, no objects)."""
    return "z" + b58encode(_DAG_CBOR_PREFIX + hashlib.sha256(data).digest())


def cid_for(data: bytes, *, codec: int = DAG_CBOR) -> CID:
    """Shorthand for :meth:`CID.of`."""
    return CID.of(data, codec=codec)
