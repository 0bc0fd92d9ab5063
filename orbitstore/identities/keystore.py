"""A keystore on disk: raw 32-byte secp256k1 private keys, optionally encrypted at rest.

Layout: one file per key in the keystore directory, named ``private_<name>``
(the name hex-escaped when it has characters unsafe in a file name), mode 0600,
written atomically (temp file, fsync, rename). A plain key file holds the 32 raw
key bytes, as OrbitDB's Level keystore does. With a passphrase, the file holds
``b"OSK1" | salt(16) | nonce(12) | AES-256-GCM(key) | tag(16)``, the AES key
derived with scrypt (n=2**15, r=8, p=1) from the passphrase; the key name is the
associated data, so a file renamed to another key's name does not decrypt.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path

import coincurve
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from orbitstore.errors import KeystoreError, NotFound

__all__ = ["KeyStore", "MemoryKeyStore"]

_MAGIC = b"OSK1"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_SCRYPT_N = 2**15


def _file_name(name: str) -> str:
    if _SAFE_NAME.match(name) and not name.startswith("."):
        return f"private_{name}"
    return "privatex_" + name.encode("utf-8").hex()


def _check_key(raw: bytes) -> bytes:
    if len(raw) != 32:
        raise KeystoreError(f"a secp256k1 private key is 32 bytes, got {len(raw)}")
    try:
        coincurve.PrivateKey(raw)
    except Exception as exc:  # coincurve raises ValueError/TypeError for out-of-range scalars
        raise KeystoreError(f"invalid secp256k1 private key: {exc}") from None
    return raw


class MemoryKeyStore:
    """A keystore that keeps keys in memory only (tests, throw-away identities)."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    async def has_key(self, name: str) -> bool:
        """True when a key named ``name`` exists."""
        return name in self._keys

    async def get_key(self, name: str) -> bytes:
        """Return the raw private key ``name``; :class:`NotFound` when missing."""
        try:
            return self._keys[name]
        except KeyError:
            raise NotFound(f"no key named {name!r} in the keystore") from None

    async def add_key(self, name: str, private_key: bytes) -> None:
        """Store a raw 32-byte private key under ``name``, replacing any previous one."""
        self._keys[name] = _check_key(bytes(private_key))

    async def create_key(self, name: str) -> bytes:
        """Create (or return the existing) key ``name``."""
        if name not in self._keys:
            self._keys[name] = coincurve.PrivateKey().secret
        return self._keys[name]

    async def remove_key(self, name: str) -> None:
        """Delete key ``name`` if present."""
        self._keys.pop(name, None)

    async def aclose(self) -> None:
        """Nothing to release."""


class KeyStore(MemoryKeyStore):
    """Private keys in files under ``path`` (created with mode 0700 if missing).

    With ``passphrase`` every key written is encrypted, and every encrypted key
    read needs the same passphrase (:class:`KeystoreError` otherwise). Keys read
    are cached in memory for the life of the object.
    """

    def __init__(self, path: str | os.PathLike[str], *, passphrase: str | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self._passphrase = passphrase.encode("utf-8") if passphrase is not None else None
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _kdf(self, salt: bytes) -> bytes:
        assert self._passphrase is not None
        return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(self._passphrase)

    def _seal(self, name: str, raw: bytes) -> bytes:
        if self._passphrase is None:
            return raw
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        return _MAGIC + salt + nonce + AESGCM(self._kdf(salt)).encrypt(nonce, raw, name.encode("utf-8"))

    def _open(self, name: str, blob: bytes) -> bytes:
        if blob.startswith(_MAGIC) and len(blob) == 4 + 16 + 12 + 32 + 16:
            if self._passphrase is None:
                raise KeystoreError(f"key {name!r} is encrypted; a passphrase is needed")
            salt, nonce, sealed = blob[4:20], blob[20:32], blob[32:]
            try:
                raw = AESGCM(self._kdf(salt)).decrypt(nonce, sealed, name.encode("utf-8"))
            except InvalidTag:
                raise KeystoreError(f"wrong passphrase for key {name!r} (or the file was altered)") from None
            return _check_key(raw)
        if len(blob) == 32:
            return _check_key(blob)
        raise KeystoreError(f"key file for {name!r} is malformed ({len(blob)} bytes)")

    def _read(self, name: str) -> bytes | None:
        try:
            blob = (self.path / _file_name(name)).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeystoreError(f"cannot read key {name!r}: {exc}") from None
        return self._open(name, blob)

    def _write(self, name: str, raw: bytes) -> None:
        target = self.path / _file_name(name)
        tmp = target.with_name(target.name + f".tmp{secrets.token_hex(4)}")
        data = self._seal(name, raw)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            dir_fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise KeystoreError(f"cannot write key {name!r}: {exc}") from None

    async def has_key(self, name: str) -> bool:
        if name in self._keys:
            return True
        return (self.path / _file_name(name)).exists()

    async def get_key(self, name: str) -> bytes:
        if name in self._keys:
            return self._keys[name]
        raw = await asyncio.to_thread(self._read, name) if self._passphrase else self._read(name)
        if raw is None:
            raise NotFound(f"no key named {name!r} in the keystore")
        self._keys[name] = raw
        return raw

    async def add_key(self, name: str, private_key: bytes) -> None:
        raw = _check_key(bytes(private_key))
        if self._passphrase:
            await asyncio.to_thread(self._write, name, raw)
        else:
            self._write(name, raw)
        self._keys[name] = raw

    async def create_key(self, name: str) -> bytes:
        if await self.has_key(name):
            return await self.get_key(name)
        raw = coincurve.PrivateKey().secret
        await self.add_key(name, raw)
        return raw

    async def remove_key(self, name: str) -> None:
        self._keys.pop(name, None)
        (self.path / _file_name(name)).unlink(missing_ok=True)
