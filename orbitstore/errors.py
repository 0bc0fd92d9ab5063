"""The one error tree of orbitstore.

Every error orbitstore raises on purpose derives from :class:`OrbitStoreError`.
Where a builtin fits, the error also derives from it, so ``except KeyError``
still catches :class:`NotFound` and ``except TimeoutError`` still catches
:class:`StorageTimeout`::

    OrbitStoreError
    ├── ConfigError (ValueError)            bad options, bad paths
    ├── EncodeError (ValueError)            a value has no DAG-CBOR form (NaN, huge int, set...)
    ├── DecodeError (ValueError)            bytes that are not what they claim to be
    │   └── CIDError                        malformed or unsupported CID text/bytes
    ├── VerifyError                         a signature, identity or hash does not check out
    │   ├── SignatureError                  a signature does not verify
    │   └── IdentityError                   an identity block is malformed or unverified
    ├── AccessDenied (PermissionError)      a writer or reader lacks a capability
    │   ├── NotAuthorizedToRead             no key to read an encrypted record
    │   └── Unauthorized                    an API request without the right bearer token
    ├── NotFound (KeyError)                 a block, entry, key or database is missing
    ├── StorageError                        the storage layer failed
    │   ├── StorageTimeout (TimeoutError)   a block did not arrive in time
    │   └── StorageClosed                   used after aclose()
    ├── LogError                            a log operation is invalid (wrong log id, ...)
    ├── DatabaseError                       database-level misuse (unknown type, bad manifest)
    │   └── SchemaError (ValueError)        a record or schema change breaks the schema rules
    ├── KeystoreError                       keystore problems (wrong passphrase, bad key)
    ├── SyncError                           replication failed or a peer misbehaved
    │   └── PeerBudgetExceeded              a peer sent more than its budget allows
    ├── KuboError                           the Kubo daemon answered with an error
    ├── AnchorError                         anchoring failed
    │   └── ReceiptInvalid (VerifyError)    a receipt does not verify, with the reason
    ├── EncryptionError                     encryption or decryption failed
    ├── ModelError                          mlbridge training, loading or provenance failures
    ├── InvalidRequest (ValueError)         an API request is malformed: wrong type, missing field, bad JSON
    │   └── PayloadTooLarge                 a body over the daemon's size limit
    └── NotAvailable (NotImplementedError)  the part behind an API call is not there (not installed, off)

Errors are translated at the edges: Kubo errors become storage errors in the
Kubo storage, errors become HTTP status codes in one daemon middleware, and
click exceptions in the CLI.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AnchorError",
    "CIDError",
    "ConfigError",
    "DatabaseError",
    "DecodeError",
    "EncodeError",
    "EncryptionError",
    "IdentityError",
    "InvalidRequest",
    "KeystoreError",
    "KuboError",
    "LogError",
    "ModelError",
    "NotAuthorizedToRead",
    "NotAvailable",
    "NotFound",
    "OrbitStoreError",
    "PayloadTooLarge",
    "PeerBudgetExceeded",
    "ReceiptInvalid",
    "SchemaError",
    "SignatureError",
    "StorageClosed",
    "StorageError",
    "StorageTimeout",
    "SyncError",
    "Unauthorized",
    "VerifyError",
]


class OrbitStoreError(Exception):
    """Root of every error orbitstore raises on purpose."""


class ConfigError(OrbitStoreError, ValueError):
    """An option, path or setting is invalid."""


class EncodeError(OrbitStoreError, ValueError):
    """A value cannot be written as DAG-CBOR (NaN, ±Inf, out-of-range int, unknown type)."""


class DecodeError(OrbitStoreError, ValueError):
    """Bytes could not be decoded, or are not in canonical form.

    ``offset`` is the byte offset of the problem when it is known.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.offset = offset
        if offset is not None:
            message = f"{message} (at byte {offset})"
        super().__init__(message)


class CIDError(DecodeError):
    """A CID is malformed or uses an unsupported codec, hash or base."""


class VerifyError(OrbitStoreError):
    """Something signed or hashed does not check out."""


class SignatureError(VerifyError):
    """A signature does not verify against the key it names."""


class IdentityError(VerifyError):
    """An identity block is malformed, unknown or does not verify."""


class AccessDenied(OrbitStoreError, PermissionError):
    """A writer or reader lacks the capability an operation needs."""


class NotAuthorizedToRead(AccessDenied):
    """The local identity holds no key that decrypts this record."""


class NotFound(OrbitStoreError, KeyError):
    """A block, entry, key, database or model does not exist here."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0]) if self.args else "not found"


class StorageError(OrbitStoreError):
    """The storage layer failed."""


class StorageTimeout(StorageError, TimeoutError):
    """A block did not arrive within the allowed time."""


class StorageClosed(StorageError):
    """A storage was used after it was closed."""


class LogError(OrbitStoreError):
    """A log operation is invalid, e.g. an entry belongs to another log."""


class DatabaseError(OrbitStoreError):
    """A database cannot be opened or used as asked."""


class SchemaError(DatabaseError, ValueError):
    """A record or a schema change breaks the dataset's schema rules."""


class KeystoreError(OrbitStoreError):
    """A key could not be stored, loaded or decrypted."""


class SyncError(OrbitStoreError):
    """Replication failed, or a peer sent something unacceptable."""


class PeerBudgetExceeded(SyncError):
    """A peer exceeded its message, byte or block budget and was cut off."""


class KuboError(OrbitStoreError):
    """The Kubo daemon returned an error, or could not be started."""


class AnchorError(OrbitStoreError):
    """Anchoring failed."""


class ReceiptInvalid(AnchorError, VerifyError):
    """An anchor receipt does not verify; the message says which check failed."""


class EncryptionError(OrbitStoreError):
    """Encryption or decryption failed (wrong key, tampered data, bad layout)."""


class ModelError(OrbitStoreError):
    """mlbridge could not train, load, predict or prove provenance."""


class InvalidRequest(OrbitStoreError, ValueError):
    """An API request is malformed: bad JSON, a field of the wrong type, a missing field."""


class PayloadTooLarge(InvalidRequest):
    """A request body is larger than the daemon accepts."""


class NotAvailable(OrbitStoreError, NotImplementedError):
    """The part of orbitstore behind an API call is not available here; ``part`` names it."""

    def __init__(self, part: str, detail: str = "") -> None:
        self.part = part
        message = f"not available yet: {part}"
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message)


class Unauthorized(AccessDenied):
    """An API request carries no bearer token, or the wrong one."""
