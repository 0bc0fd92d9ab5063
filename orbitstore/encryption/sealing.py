"""Dataset record sealing: AES-256-GCM under an epoch key, a random 96-bit nonce per record.

The associated data binds a sealed record to its dataset address, its record id
and the epochs whose keys it is sealed under, so a ciphertext copied into another
dataset, under another id or relabelled with other epochs does not open.

When a record is written where several epochs are current at once (concurrent
key changes on forks), its key is derived from all of their keys — see
:func:`combine_keys` — so only a reader holding every one of them can read it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import cbor2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from orbitstore.codec import encode
from orbitstore.errors import ConfigError, EncryptionError

__all__ = ["KEY_LENGTH", "NONCE_LENGTH", "RecordSealer", "combine_keys", "new_epoch_key", "record_context"]

KEY_LENGTH = 32  # AES-256
NONCE_LENGTH = 12  # 96-bit random nonces
_COMBINE_INFO = b"orbitstore/dataset-epochs/v1"


def new_epoch_key() -> bytes:
    """A fresh random 256-bit epoch key."""
    return os.urandom(KEY_LENGTH)


def combine_keys(keys: Sequence[tuple[str, bytes]]) -> bytes:
    """The record key of a set of concurrent epochs: ``(epoch id, key)`` pairs, in any order.

    One epoch: its key. Several: HKDF-SHA256 (RFC 5869) over the keys in epoch-id
    order, with the sorted ids as ``info`` — whoever lacks any one key cannot derive it.
    """
    if not keys:
        raise ConfigError("no epoch keys to combine")
    ordered = sorted(keys)
    if len(ordered) == 1:
        return ordered[0][1]
    info = _COMBINE_INFO + encode([epoch for epoch, _ in ordered])
    return HKDF(algorithm=SHA256(), length=KEY_LENGTH, salt=None, info=info).derive(b"".join(k for _, k in ordered))


def record_context(address: str, record_id: str, epochs: Sequence[str]) -> bytes:
    """The associated data of a sealed record: DAG-CBOR ``{v: 1, id, epochs, address}``."""
    # Keys already in DAG-CBOR order (length first) and every value text: cbor2 writes canonical bytes.
    return cbor2.dumps({"v": 1, "id": record_id, "epochs": list(epochs), "address": address})


class RecordSealer:
    """AES-256-GCM with one key; every :meth:`seal` draws a new random 96-bit nonce.

    Under NIST SP 800-38D's bound for random nonces (2**32 messages per key), the
    chance of any nonce repeating stays below 2**-32; keys change with every epoch.
    """

    __slots__ = ("_aead", "decrypt")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_LENGTH:
            raise ConfigError(f"a record key is {KEY_LENGTH} bytes, got {len(key)}")
        self._aead = AESGCM(bytes(key))
        #: ``decrypt(nonce, sealed, context)``: the raw AES-GCM call (raises ``InvalidTag``), for hot loops.
        self.decrypt = self._aead.decrypt

    def seal(self, plaintext: bytes, context: bytes) -> tuple[bytes, bytes]:
        """``(nonce, ciphertext | tag)`` of ``plaintext`` bound to ``context``."""
        nonce = os.urandom(NONCE_LENGTH)
        return nonce, self._aead.encrypt(nonce, plaintext, context)

    def open(self, nonce: bytes, sealed: bytes, context: bytes) -> bytes:
        """The plaintext; :class:`EncryptionError` when the bytes, nonce or context were altered."""
        if len(nonce) != NONCE_LENGTH:
            raise EncryptionError(f"a record nonce is {NONCE_LENGTH} bytes, got {len(nonce)}")
        try:
            return self._aead.decrypt(nonce, sealed, context)
        except InvalidTag:
            raise EncryptionError(
                "record does not decrypt: its ciphertext, nonce or associated data (dataset, id, epochs) was altered"
            ) from None
