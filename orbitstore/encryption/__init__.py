"""Encryption: OrbitDB's ``{data, replication}`` option, and read access to datasets.

See ``docs/encryption.md``.
"""

from orbitstore.encryption.base import Encrypter, Encryption, EncryptionOption
from orbitstore.encryption.simple import SimpleEncryption

__all__ = ["Encrypter", "Encryption", "EncryptionOption", "SimpleEncryption"]
