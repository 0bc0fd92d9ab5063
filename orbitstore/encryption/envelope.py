"""Key envelopes: an epoch key sealed to one reader's X25519 public key (ECIES-style).

Sealing draws an ephemeral X25519 key pair, derives a wrapping key with
HKDF-SHA256 from the shared secret (salt: ephemeral public key ‖ reader public
key) and seals the 32-byte epoch key with AES-256-GCM under a random nonce. The
associated data binds the envelope to the dataset address, the reader's identity
id and the epoch it carries, so an envelope moved elsewhere does not open.

Wire form (inside a ``GRANT read`` or ``REVOKE read`` value), DAG-CBOR::

    {to: <reader identity id>, eph: bytes(32), box: bytes(48), epoch: <entry hash> | null, nonce: bytes(12)}

``epoch`` null means "the new epoch this very entry starts"; otherwise it names
the entry that started the epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from orbitstore.codec import encode
from orbitstore.encryption.sealing import KEY_LENGTH, NONCE_LENGTH
from orbitstore.errors import DecodeError, EncryptionError

__all__ = ["PUBLIC_KEY_LENGTH", "Envelope", "open_envelope", "public_bytes", "seal_envelope"]

PUBLIC_KEY_LENGTH = 32
_INFO = b"orbitstore/dataset-key-envelope/v1"
_BOX_LENGTH = KEY_LENGTH + 16


def public_bytes(key: X25519PrivateKey | X25519PublicKey) -> bytes:
    """The raw 32-byte X25519 public key."""
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An epoch key sealed to one reader. ``epoch`` is ``None`` for the epoch its own entry starts."""

    to: str
    epoch: str | None
    eph: bytes
    nonce: bytes
    box: bytes

    def to_wire(self) -> dict[str, Any]:
        """The DAG-CBOR map (keys in canonical order)."""
        return {"to": self.to, "eph": self.eph, "box": self.box, "epoch": self.epoch, "nonce": self.nonce}

    @classmethod
    def from_wire(cls, value: Any) -> Envelope:
        """Parse and check the wire map; :class:`DecodeError` names what is wrong."""
        if not isinstance(value, dict) or set(value) != {"to", "eph", "box", "epoch", "nonce"}:
            raise DecodeError("a key envelope is a map of to, eph, box, epoch and nonce")
        to, epoch, eph, nonce, box = value["to"], value["epoch"], value["eph"], value["nonce"], value["box"]
        if type(to) is not str or not to:
            raise DecodeError("envelope 'to' must be an identity id")
        if epoch is not None and (type(epoch) is not str or not epoch):
            raise DecodeError("envelope 'epoch' must be an entry hash or null")
        if type(eph) is not bytes or len(eph) != PUBLIC_KEY_LENGTH:
            raise DecodeError("envelope 'eph' must be a 32-byte X25519 public key")
        if type(nonce) is not bytes or len(nonce) != NONCE_LENGTH:
            raise DecodeError("envelope 'nonce' must be 12 bytes")
        if type(box) is not bytes or len(box) != _BOX_LENGTH:
            raise DecodeError(f"envelope 'box' must be {_BOX_LENGTH} bytes")
        return cls(to, epoch, eph, nonce, box)


def _context(address: str, to: str, epoch: str | None) -> bytes:
    return encode({"v": 1, "to": to, "epoch": epoch, "address": address})


def _wrapping_key(shared: bytes, eph: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=KEY_LENGTH, salt=eph + recipient, info=_INFO).derive(shared)


def seal_envelope(key: bytes, *, recipient: bytes, to: str, epoch: str | None, address: str) -> Envelope:
    """Seal the epoch ``key`` to the X25519 public key ``recipient`` of identity ``to``."""
    if len(key) != KEY_LENGTH:
        raise EncryptionError(f"an epoch key is {KEY_LENGTH} bytes, got {len(key)}")
    try:
        reader = X25519PublicKey.from_public_bytes(recipient)
    except ValueError as exc:
        raise EncryptionError(f"not an X25519 public key: {exc}") from None
    ephemeral = X25519PrivateKey.generate()
    eph = public_bytes(ephemeral)
    wrapping = _wrapping_key(ephemeral.exchange(reader), eph, recipient)
    nonce = os.urandom(NONCE_LENGTH)
    box = AESGCM(wrapping).encrypt(nonce, key, _context(address, to, epoch))
    return Envelope(to, epoch, eph, nonce, box)


def open_envelope(envelope: Envelope, private_key: X25519PrivateKey, *, address: str) -> bytes:
    """The epoch key inside ``envelope``; :class:`EncryptionError` when it was not sealed to this key."""
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(envelope.eph))
    except ValueError as exc:  # a low-order point gives an all-zero secret: refused by cryptography
        raise EncryptionError(f"envelope has an unusable ephemeral key: {exc}") from None
    wrapping = _wrapping_key(shared, envelope.eph, public_bytes(private_key))
    try:
        return AESGCM(wrapping).decrypt(envelope.nonce, envelope.box, _context(address, envelope.to, envelope.epoch))
    except InvalidTag:
        raise EncryptionError(f"key envelope for {envelope.to[:16]}… does not open with this key") from None
