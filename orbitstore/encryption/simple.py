"""Password encryption in the byte layout of ``@orbitdb/simple-encryption`` 0.0.2 (spec §9).

Layout of every ciphertext::

    salt (16) | iv (12) | AES-128-GCM ciphertext | tag (16)

The AES key is PBKDF2-HMAC-SHA256(password as UTF-8, salt, 32767 iterations),
16 bytes; there is no associated data. Anything that decrypts with the JS module
decrypts here and the reverse.

What we do differently, on purpose: the JS module draws one salt and iv and
reuses that iv for up to 32,000 encryptions — AES-GCM nonce reuse, which leaks
the XOR of plaintexts and lets anyone forge tags. :class:`SimpleEncryption`
draws a fresh random 96-bit iv for **every** call, and moves to a new salt
(hence a new key) after :data:`MAX_MESSAGES_PER_KEY` encryptions, keeping the
random-nonce collision risk far below NIST's 2**-32 bound. The salt is reused
between rotations only to avoid re-running PBKDF2 per message; it is not a nonce.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import OrderedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orbitstore.errors import ConfigError, EncryptionError

__all__ = ["ITERATIONS", "IV_LENGTH", "KEY_LENGTH", "MAX_MESSAGES_PER_KEY", "SALT_LENGTH", "SimpleEncryption"]

SALT_LENGTH = 16
IV_LENGTH = 12
TAG_LENGTH = 16
KEY_LENGTH = 16  # AES-128, as the JS module derives it
ITERATIONS = 32767
#: Encryptions under one derived key before a new salt is drawn (random 96-bit ivs: collision odds ~2**-49).
MAX_MESSAGES_PER_KEY = 2**24
_HEADER = SALT_LENGTH + IV_LENGTH
_KEY_CACHE = 64
#: WebKit cannot run PBKDF2 on an empty password, so for "" the JS module may fall back to this key:
#: PBKDF2("", 16 zero bytes, 32767) — whatever salt the ciphertext names.
_EMPTY_SALT = bytes(SALT_LENGTH)


def _derive(password: bytes, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password, salt, ITERATIONS, KEY_LENGTH)


class SimpleEncryption:
    """An :class:`~orbitstore.encryption.Encrypter` compatible with ``@orbitdb/simple-encryption``.

    ::

        enc = SimpleEncryption(password="world")
        db = await store.open("secrets", type="keyvalue", encryption={"data": enc})

    ``max_messages_per_key`` bounds how many encryptions share one derived key
    (each has its own random iv). Decryption reads salt and iv from the input,
    derives the key (cached per salt) and checks the GCM tag:
    :class:`EncryptionError` on a wrong password or altered bytes.
    """

    def __init__(self, *, password: str | bytes, max_messages_per_key: int = MAX_MESSAGES_PER_KEY) -> None:
        if isinstance(password, str):
            password = password.encode("utf-8")
        if not isinstance(password, (bytes, bytearray)):
            raise ConfigError("password must be text or bytes")
        if max_messages_per_key < 1:
            raise ConfigError("max_messages_per_key must be positive")
        self._password = bytes(password)
        self._max = max_messages_per_key
        self._salt = b""
        self._aead: AESGCM | None = None
        self._used = 0
        self._keys: OrderedDict[bytes, AESGCM] = OrderedDict()
        self._lock = asyncio.Lock()

    async def _key_for(self, salt: bytes) -> AESGCM:
        aead = self._keys.get(salt)
        if aead is None:
            # PBKDF2 takes ~10 ms: keep it off the event loop.
            aead = AESGCM(await asyncio.to_thread(_derive, self._password, salt))
            self._keys[salt] = aead
            if len(self._keys) > _KEY_CACHE:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(salt)
        return aead

    async def encrypt(self, data: bytes) -> bytes:
        """``salt | fresh random iv | ciphertext | tag``."""
        aead = self._aead
        if aead is None or self._used >= self._max:
            async with self._lock:
                if self._aead is None or self._used >= self._max:
                    salt = os.urandom(SALT_LENGTH)
                    self._aead = await self._key_for(salt)
                    self._salt, self._used = salt, 0
                aead = self._aead
        self._used += 1
        iv = os.urandom(IV_LENGTH)
        return b"".join((self._salt, iv, aead.encrypt(iv, bytes(data), None)))

    async def decrypt(self, data: bytes) -> bytes:
        """The plaintext of ``data``; :class:`EncryptionError` when it does not decrypt."""
        if type(data) is not bytes:
            data = bytes(data)
        if len(data) < _HEADER + TAG_LENGTH:
            raise EncryptionError(f"ciphertext too short ({len(data)} bytes) for salt | iv | data | tag")
        salt, iv, sealed = data[:SALT_LENGTH], data[SALT_LENGTH:_HEADER], data[_HEADER:]
        aead = self._keys.get(salt)  # the common case: a key already derived, no await needed
        try:
            return (aead if aead is not None else await self._key_for(salt)).decrypt(iv, sealed, None)
        except InvalidTag:
            pass
        if not self._password:
            try:
                return (await self._key_for(_EMPTY_SALT)).decrypt(iv, sealed, None)
            except InvalidTag:
                pass
        raise EncryptionError("ciphertext does not decrypt: wrong password, or the bytes were altered")

    def __repr__(self) -> str:
        return "SimpleEncryption(password=<hidden>)"
