"""Sealed record blocks: a dataset record whose row is encrypted under its epoch key.

A plaintext record block is ``{v: 1, id, row}``; a sealed one is::

    {v: 1, id: <record id>, nonce: bytes(12), epochs: [<entry hash>, …], sealed: bytes}

``sealed`` is AES-256-GCM of the DAG-CBOR wire row under the key of ``epochs``
(sorted; the entries that started the epochs current where the record was
written), with the associated data of
:func:`~orbitstore.encryption.sealing.record_context`: dataset address, record
id and epochs. The record id stays in clear (it is in the log entry anyway);
the row does not. Like plaintext records, each has its own block, linked from
its entry, so it can be erased alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cbor2

from orbitstore.codec import CID, DAG_CBOR, decode
from orbitstore.codec.multibase import b58encode
from orbitstore.encryption.sealing import NONCE_LENGTH, RecordSealer, record_context
from orbitstore.errors import DecodeError, EncryptionError

__all__ = ["SEALED_FIELDS", "SealedRecord", "cbor_text", "cbor_text_head", "is_sealed", "seal_row"]

SEALED_FIELDS = frozenset(("v", "id", "nonce", "epochs", "sealed"))
_VERSION = 1
_MULTIHASH = bytes((0x12, 0x20))
_PREFIX = bytes((0x01, DAG_CBOR)) + _MULTIHASH
# The block's canonical DAG-CBOR, written piece by piece: {v: 1, id, nonce, epochs, sealed}.
_HEAD = b"\xa5\x61v\x01\x62id"
_NONCE = b"\x65nonce\x4c"  # a 12-byte string follows
_EPOCHS = b"\x66epochs"
_SEALED = b"\x66sealed"


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major | n,))
    if n < 256:
        return bytes((major | 24, n))
    if n < 65536:
        return bytes((major | 25,)) + n.to_bytes(2, "big")
    return bytes((major | 26,)) + n.to_bytes(4, "big")


def cbor_text_head(length: int) -> bytes:
    """The head of a CBOR text string of ``length`` UTF-8 bytes."""
    return _head(0x60, length)


def cbor_text(text: str) -> bytes:
    """``text`` as a CBOR text string (head and UTF-8 bytes)."""
    raw = text.encode("utf-8")
    return _head(0x60, len(raw)) + raw


def is_sealed(value: Any) -> bool:
    """True when a decoded record block has the sealed shape (not necessarily valid)."""
    return isinstance(value, dict) and value.keys() == SEALED_FIELDS


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """A decoded sealed record block: what any peer can check without a key."""

    id: str
    epochs: tuple[str, ...]
    nonce: bytes
    sealed: bytes

    @classmethod
    def decode(cls, block: bytes, *, link: CID | None = None, strict: bool = True) -> SealedRecord:
        """Parse a sealed block; checks its hash against ``link`` when given. :class:`DecodeError` if malformed."""
        if link is not None and not link.verify(block):
            raise DecodeError(f"record block does not hash to {link}")
        value = decode(block, strict=strict) if strict else cbor2.loads(block)
        return cls.from_value(value)

    @classmethod
    def from_value(cls, value: Any) -> SealedRecord:
        """Check a decoded block value."""
        if not is_sealed(value) or value["v"] != _VERSION:
            raise DecodeError("not a sealed record block {v: 1, id, nonce, epochs, sealed}")
        record_id, epochs, nonce, sealed = value["id"], value["epochs"], value["nonce"], value["sealed"]
        if type(record_id) is not str or not record_id:
            raise DecodeError("sealed record id must be non-empty text")
        if (
            type(epochs) is not list
            or not epochs
            or not all(type(e) is str and e for e in epochs)
            or epochs != sorted(set(epochs))
        ):
            raise DecodeError("sealed record epochs must be a sorted, non-empty list of distinct entry hashes")
        if type(nonce) is not bytes or len(nonce) != NONCE_LENGTH:
            raise DecodeError(f"sealed record nonce must be {NONCE_LENGTH} bytes")
        if type(sealed) is not bytes or len(sealed) < 16:
            raise DecodeError("sealed record ciphertext must be bytes holding at least a tag")
        return cls(record_id, tuple(epochs), nonce, sealed)

    def open(self, sealer: RecordSealer, *, address: str) -> dict[str, Any]:
        """Decrypt to the wire row. :class:`EncryptionError` when tampered or bound to other data."""
        plain = sealer.open(self.nonce, self.sealed, record_context(address, self.id, self.epochs))
        try:
            # Canonical form is not needed to read: readers check every value against the schema.
            row = decode(plain, strict=False)
        except DecodeError as exc:
            raise EncryptionError(f"record {self.id!r} decrypts to bytes that are not DAG-CBOR: {exc}") from None
        if type(row) is not dict:
            raise EncryptionError(f"record {self.id!r} decrypts to a {type(row).__name__}, not a row map")
        return row


def seal_row(
    sealer: RecordSealer,
    *,
    address: str,
    record_id: str,
    epochs: Sequence[str],
    wire_row: dict[str, Any],
    context: bytes | None = None,
) -> tuple[str, CID, bytes]:
    """Seal a checked wire row; returns the block's CID text, its link and its bytes.

    ``context`` may pass :func:`record_context` precomputed (it must be the same bytes).
    """
    ordered = sorted(epochs)
    if context is None:
        context = record_context(address, record_id, ordered)
    nonce, sealed = sealer.seal(cbor2.dumps(wire_row), context)  # the wire row is canonical already
    block = b"".join(
        (
            _HEAD,
            cbor_text(record_id),
            _NONCE,
            nonce,
            _EPOCHS,
            cbor2.dumps(ordered),
            _SEALED,
            _head(0x40, len(sealed)),
            sealed,
        )
    )
    digest = hashlib.sha256(block).digest()
    return "z" + b58encode(_PREFIX + digest), CID(1, DAG_CBOR, _MULTIHASH + digest), block
