"""The OrbitDB identity block: ``{id, type, publicKey, signatures: {id, publicKey}}``."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from orbitstore.codec import block_cid, decode, encode
from orbitstore.errors import DecodeError, IdentityError

__all__ = ["Identity", "IdentitySignatures"]


@dataclass(frozen=True, slots=True)
class IdentitySignatures:
    """``id``: identity key over UTF-8(id); ``public_key``: root key over UTF-8(publicKey + signatures.id)."""

    id: str
    public_key: str


@dataclass(frozen=True, slots=True)
class Identity:
    """A writer identity. ``hash`` is the base58btc CID of ``bytes``, the stored block.

    For the ``publickey`` type, ``id`` is the root key (hex, compressed) and
    ``public_key`` the key that signs entries.
    """

    id: str
    public_key: str
    signatures: IdentitySignatures
    type: str
    hash: str
    bytes: builtins.bytes

    @classmethod
    def build(cls, *, id: str, public_key: str, signatures: IdentitySignatures, type: str) -> Identity:
        """Encode the identity block and derive its hash."""
        block = encode(
            {
                "id": id,
                "type": type,
                "publicKey": public_key,
                "signatures": {"id": signatures.id, "publicKey": signatures.public_key},
            }
        )
        return cls(id, public_key, signatures, type, block_cid(block), block)

    @classmethod
    def decode(cls, block: builtins.bytes, *, expected_hash: str | None = None) -> Identity:
        """Decode and structurally check an identity block (signatures are checked by Identities)."""
        value: Any = decode(block)
        if not isinstance(value, dict):
            raise DecodeError("an identity block must be a map")
        if set(value) != {"id", "type", "publicKey", "signatures"}:
            raise IdentityError(f"identity block has fields {sorted(value)}, expected id/type/publicKey/signatures")
        sigs = value["signatures"]
        if not isinstance(sigs, dict) or set(sigs) != {"id", "publicKey"}:
            raise IdentityError("identity signatures must be a map of id and publicKey")
        fields = (value["id"], value["type"], value["publicKey"], sigs["id"], sigs["publicKey"])
        if not all(isinstance(f, str) and f for f in fields):
            raise IdentityError("identity fields must be non-empty text")
        digest = block_cid(bytes(block))
        if expected_hash is not None and digest != expected_hash:
            raise IdentityError(f"identity block hashes to {digest}, not {expected_hash}")
        return cls(
            value["id"],
            value["publicKey"],
            IdentitySignatures(sigs["id"], sigs["publicKey"]),
            value["type"],
            digest,
            bytes(block),
        )

    def to_dict(self) -> dict[str, Any]:
        """The identity as OrbitDB shows it (plus ``hash``)."""
        return {
            "id": self.id,
            "type": self.type,
            "publicKey": self.public_key,
            "signatures": {"id": self.signatures.id, "publicKey": self.signatures.public_key},
            "hash": self.hash,
        }
