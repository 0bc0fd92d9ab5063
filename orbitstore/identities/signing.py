"""secp256k1 signatures as OrbitDB makes them: sha256 pre-hash, RFC 6979, low-S, DER, lower-case hex."""

from __future__ import annotations

from collections import OrderedDict

import coincurve

__all__ = ["KeyCache", "public_key_hex", "sign", "verify"]


def public_key_hex(private_key: bytes) -> str:
    """Hex of the 33-byte compressed public key of a raw private key."""
    return coincurve.PrivateKey(private_key).public_key.format(compressed=True).hex()


def sign(private_key: bytes | coincurve.PrivateKey, message: bytes) -> str:
    """Sign ``sha256(message)`` deterministically (low-S), return DER hex."""
    key = private_key if isinstance(private_key, coincurve.PrivateKey) else coincurve.PrivateKey(private_key)
    return key.sign(message).hex()


class KeyCache:
    """A bounded cache of parsed public keys, so verifying many entries of one writer parses its key once."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: OrderedDict[str, coincurve.PublicKey | None] = OrderedDict()

    def public_key(self, key_hex: str) -> coincurve.PublicKey | None:
        """The parsed key, or ``None`` when ``key_hex`` is not a valid compressed secp256k1 key."""
        try:
            key = self._keys[key_hex]
            self._keys.move_to_end(key_hex)
            return key
        except KeyError:
            pass
        parsed: coincurve.PublicKey | None
        try:
            raw = bytes.fromhex(key_hex)
            # OrbitDB only accepts the 33-byte compressed form, in lower-case hex.
            parsed = coincurve.PublicKey(raw) if len(raw) == 33 and key_hex == raw.hex() else None
        except (ValueError, TypeError):
            parsed = None
        self._keys[key_hex] = parsed
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return parsed

    def verify(self, signature_hex: str, key_hex: str, message: bytes) -> bool:
        """True iff ``signature_hex`` is a valid low-S DER signature of ``message`` by ``key_hex``."""
        key = self.public_key(key_hex)
        if key is None or not isinstance(signature_hex, str):
            return False
        try:
            sig = bytes.fromhex(signature_hex)
        except ValueError:
            return False
        if sig.hex() != signature_hex:  # upper-case hex is rejected by JS too
            return False
        try:
            # libsecp256k1 parses strict DER and rejects high-S signatures.
            return bool(key.verify(sig, message))
        except (ValueError, TypeError):
            return False


def verify(signature_hex: str, key_hex: str, message: bytes) -> bool:
    """One-off verification (no cache)."""
    return KeyCache(size=1).verify(signature_hex, key_hex, message)
