"""Keystore, OrbitDB ``publickey`` identities, providers and signatures."""

from orbitstore.identities.identities import Identities
from orbitstore.identities.identity import Identity, IdentitySignatures
from orbitstore.identities.keystore import KeyStore, MemoryKeyStore
from orbitstore.identities.providers import IdentityProvider, ProviderRegistry, PublicKeyProvider
from orbitstore.identities.signing import KeyCache, public_key_hex, sign, verify

__all__ = [
    "Identities",
    "Identity",
    "IdentityProvider",
    "IdentitySignatures",
    "KeyCache",
    "KeyStore",
    "MemoryKeyStore",
    "ProviderRegistry",
    "PublicKeyProvider",
    "public_key_hex",
    "sign",
    "verify",
]
