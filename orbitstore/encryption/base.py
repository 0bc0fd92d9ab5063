"""OrbitDB's encryption option: ``{"data": encrypter, "replication": encrypter}`` (spec §9).

An :class:`Encrypter` is any object with async ``encrypt(bytes) -> bytes`` and
``decrypt(bytes) -> bytes``, as OrbitDB's ``encryption.data`` and
``encryption.replication`` objects are. :class:`Encryption` holds the two
layers; the log applies them exactly where JS OrbitDB does:

* ``data``: the payload's DAG-CBOR bytes are encrypted before signing; the
  entry's ``payload`` field holds the ciphertext bytes and the signature covers
  them. Decoding decrypts to the plaintext payload and keeps the ciphertext.
* ``replication``: the whole entry block is encrypted and stored/published as a
  DAG-CBOR byte string; that wrapper's CID is the entry's hash.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from orbitstore.errors import ConfigError, EncryptionError

__all__ = ["Encrypter", "Encryption", "EncryptionOption", "decrypt", "encrypt"]


@runtime_checkable
class Encrypter(Protocol):
    """Encrypts and decrypts byte strings (OrbitDB's ``{encrypt, decrypt}`` object).

    ``decrypt`` must raise (any exception; the log reports it as
    :class:`~orbitstore.errors.EncryptionError`) when the input was not made by
    a matching ``encrypt`` or was altered.
    """

    async def encrypt(self, data: bytes) -> bytes:
        """Return the ciphertext of ``data``."""
        ...

    async def decrypt(self, data: bytes) -> bytes:
        """Return the plaintext of ``data``."""
        ...


@dataclass(frozen=True, slots=True)
class Encryption:
    """The two optional layers of OrbitDB encryption. ``Encryption()`` (neither) means plaintext."""

    data: Encrypter | None = None
    replication: Encrypter | None = None

    def __post_init__(self) -> None:
        for name in ("data", "replication"):
            value = getattr(self, name)
            if value is not None and not _is_encrypter(value):
                raise ConfigError(f"encryption[{name!r}] needs async encrypt(bytes) and decrypt(bytes) methods")

    @property
    def enabled(self) -> bool:
        """True when at least one layer is set."""
        return self.data is not None or self.replication is not None

    @classmethod
    def of(cls, option: EncryptionOption) -> Encryption | None:
        """Accept ``None``, an :class:`Encryption`, or OrbitDB's mapping ``{"data": …, "replication": …}``.

        Returns ``None`` when no layer is set.
        """
        if option is None:
            return None
        if isinstance(option, Encryption):
            return option if option.enabled else None
        if not isinstance(option, Mapping):
            raise ConfigError("encryption must be a mapping {'data': encrypter, 'replication': encrypter}")
        extra = set(option) - {"data", "replication"}
        if extra:
            raise ConfigError(f"unknown encryption layers {sorted(extra)} (known: data, replication)")
        made = cls(data=option.get("data"), replication=option.get("replication"))
        return made if made.enabled else None


#: What ``encryption=`` accepts.
EncryptionOption = Encryption | Mapping[str, Any] | None


def _is_encrypter(value: Any) -> bool:
    return all(inspect.iscoroutinefunction(getattr(value, name, None)) for name in ("encrypt", "decrypt"))


async def encrypt(encrypter: Encrypter, data: bytes, *, what: str, subject: str = "") -> bytes:
    """Call ``encrypter.encrypt``; any failure or a non-bytes result becomes :class:`EncryptionError`.

    The message names ``what`` followed by ``subject`` (joined only when there is an error).
    """
    try:
        out = await encrypter.encrypt(data)
    except EncryptionError:
        raise
    except Exception as exc:
        raise EncryptionError(f"could not encrypt {what}{subject}: {exc}") from exc
    if type(out) is bytes:
        return out
    if not isinstance(out, (bytearray, memoryview)):
        raise EncryptionError(f"encrypting {what}{subject} gave {type(out).__name__}, not bytes")
    return bytes(out)


async def decrypt(encrypter: Encrypter, data: bytes, *, what: str, subject: str = "") -> bytes:
    """Call ``encrypter.decrypt``; any failure or a non-bytes result becomes :class:`EncryptionError`."""
    try:
        out = await encrypter.decrypt(data)
    except EncryptionError as exc:
        raise EncryptionError(f"could not decrypt {what}{subject}: {exc}") from None
    except Exception as exc:
        raise EncryptionError(f"could not decrypt {what}{subject}: {exc}") from exc
    if type(out) is bytes:
        return out
    if not isinstance(out, (bytearray, memoryview)):
        raise EncryptionError(f"decrypting {what}{subject} gave {type(out).__name__}, not bytes")
    return bytes(out)
