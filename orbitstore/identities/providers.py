"""Identity providers, registered by the ``type`` string that identity blocks carry.

A provider turns a name into an identity id and proves that the id vouches for
the signing key; :class:`PublicKeyProvider` is OrbitDB's ``publickey`` type.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from orbitstore.identities.identity import Identity
from orbitstore.identities.keystore import MemoryKeyStore
from orbitstore.identities.signing import KeyCache, public_key_hex, sign

__all__ = ["IdentityProvider", "ProviderRegistry", "PublicKeyProvider"]


@runtime_checkable
class IdentityProvider(Protocol):
    """What an identity type must supply."""

    type: str

    async def get_id(self, name: str) -> str:
        """The identity id for ``name`` (may create keys)."""
        ...

    async def sign_identity(self, data: str, *, name: str) -> str:
        """Sign ``data`` (UTF-8 text) with the key behind ``name``; hex signature."""
        ...

    def verify_identity(self, identity: Identity, keys: KeyCache) -> bool:
        """True when the provider's proof in ``identity`` holds."""
        ...


class PublicKeyProvider:
    """OrbitDB's ``publickey`` provider: the id is a root secp256k1 key kept in the keystore."""

    type = "publickey"

    def __init__(self, keystore: MemoryKeyStore) -> None:
        self._keystore = keystore

    async def get_id(self, name: str) -> str:
        return public_key_hex(await self._keystore.create_key(name))

    async def sign_identity(self, data: str, *, name: str) -> str:
        return sign(await self._keystore.get_key(name), data.encode("utf-8"))

    def verify_identity(self, identity: Identity, keys: KeyCache) -> bool:
        message = (identity.public_key + identity.signatures.id).encode("utf-8")
        return keys.verify(identity.signatures.public_key, identity.id, message)


class ProviderRegistry:
    """Identity providers keyed by type; ``publickey`` is always present."""

    def __init__(self, keystore: MemoryKeyStore) -> None:
        self._providers: dict[str, IdentityProvider] = {"publickey": PublicKeyProvider(keystore)}

    def register(self, provider: IdentityProvider) -> None:
        """Add or replace the provider for ``provider.type``."""
        self._providers[provider.type] = provider

    def get(self, type_: str) -> IdentityProvider | None:
        """The provider for ``type_``, or ``None``."""
        return self._providers.get(type_)

    def types(self) -> list[str]:
        """Registered types, sorted."""
        return sorted(self._providers)
