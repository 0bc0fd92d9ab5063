"""Identities: create, store, look up, sign with and verify OrbitDB identities."""

from __future__ import annotations

from collections import OrderedDict

import coincurve

from orbitstore.errors import IdentityError, KeystoreError, NotFound
from orbitstore.identities.identity import Identity, IdentitySignatures
from orbitstore.identities.keystore import MemoryKeyStore
from orbitstore.identities.providers import IdentityProvider, ProviderRegistry
from orbitstore.identities.signing import KeyCache, public_key_hex, sign
from orbitstore.storage.base import Storage
from orbitstore.storage.memory import MemoryStorage

__all__ = ["Identities"]


class Identities:
    """The identity service of one node.

    ``storage`` holds identity blocks by hash (memory by default; a node passes
    its block store so identities replicate with the data). Verified identities
    are cached by hash, so each identity's two signatures are checked once.
    """

    def __init__(
        self,
        *,
        keystore: MemoryKeyStore,
        storage: Storage | None = None,
        verified_cache_size: int = 10_000,
    ) -> None:
        self.keystore = keystore
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.providers = ProviderRegistry(keystore)
        self.keys = KeyCache()
        self._verified: OrderedDict[str, Identity] = OrderedDict()
        self._verified_size = verified_cache_size
        self._signers: dict[str, coincurve.PrivateKey] = {}

    @classmethod
    async def open(cls, *, keystore: MemoryKeyStore | None = None, storage: Storage | None = None) -> Identities:
        """Create the service (an in-memory keystore when none is given)."""
        return cls(keystore=keystore if keystore is not None else MemoryKeyStore(), storage=storage)

    def register_provider(self, provider: IdentityProvider) -> None:
        """Register a custom identity provider under its ``type``."""
        self.providers.register(provider)

    async def import_key(self, name: str, private_key_hex: str) -> str:
        """Store an existing raw private key (hex) under ``name``; return its public key hex."""
        try:
            raw = bytes.fromhex(private_key_hex)
        except ValueError:
            raise KeystoreError("a private key must be given as hex") from None
        await self.keystore.add_key(name, raw)
        return public_key_hex(raw)

    async def create_identity(self, name: str, *, type: str = "publickey") -> Identity:
        """Create (deterministically, from the keystore) the identity ``name`` and store its block.

        As in OrbitDB: the root key is keystore key ``name``; the signing key is
        keystore key ``<root public key hex>``; both are created when missing.
        """
        provider = self.providers.get(type)
        if provider is None:
            raise IdentityError(f"no identity provider of type {type!r} (have {self.providers.types()})")
        identity_id = await provider.get_id(name)
        signing = await self.keystore.create_key(identity_id)
        public_key = public_key_hex(signing)
        id_sig = sign(signing, identity_id.encode("utf-8"))
        pk_sig = await provider.sign_identity(public_key + id_sig, name=name)
        identity = Identity.build(
            id=identity_id, public_key=public_key, signatures=IdentitySignatures(id_sig, pk_sig), type=type
        )
        await self.storage.put(identity.hash, identity.bytes)
        self._remember(identity)
        return identity

    async def get_identity(self, hash: str) -> Identity:
        """Load an identity block by hash; :class:`NotFound` when this node does not hold it."""
        cached = self._verified.get(hash)
        if cached is not None:
            return cached
        block = await self.storage.get(hash)
        if block is None:
            raise NotFound(f"identity {hash} not found")
        return Identity.decode(block, expected_hash=hash)

    async def add_identity_block(self, block: bytes, *, store: bool = True) -> Identity:
        """Verify a received identity block and (unless ``store=False``) keep it in storage.

        With ``store=False`` the identity is only remembered as verified in memory;
        the log stores it once the entries naming it have passed the access check.
        """
        identity = Identity.decode(block)
        if not await self.verify_identity(identity):
            raise IdentityError(f"identity {identity.hash} does not verify")
        if store:
            await self.storage.put(identity.hash, identity.bytes)
        return identity

    def is_verified(self, hash: str) -> bool:
        """True when identity ``hash`` was verified (or created) here and is still cached."""
        return hash in self._verified

    async def verify_identity(self, identity: Identity) -> bool:
        """Check both identity signatures (OrbitDB's ``verifyIdentity``); cached by hash."""
        cached = self._verified.get(identity.hash)
        if cached is not None:
            return cached == identity
        if not self.keys.verify(identity.signatures.id, identity.public_key, identity.id.encode("utf-8")):
            return False
        provider = self.providers.get(identity.type)
        if provider is None or not provider.verify_identity(identity, self.keys):
            return False
        self._remember(identity)
        return True

    def _remember(self, identity: Identity) -> None:
        self._verified[identity.hash] = identity
        if len(self._verified) > self._verified_size:
            self._verified.popitem(last=False)

    async def sign(self, identity: Identity, data: bytes) -> str:
        """Sign ``data`` with the identity's signing key (keystore key ``identity.id``)."""
        signer = self._signers.get(identity.id)
        if signer is None:
            try:
                raw = await self.keystore.get_key(identity.id)
            except NotFound:
                raise KeystoreError(f"no private key for identity {identity.id[:16]}… in this keystore") from None
            signer = coincurve.PrivateKey(raw)
            if signer.public_key.format(compressed=True).hex() != identity.public_key:
                raise KeystoreError("the keystore's key does not match the identity's public key")
            self._signers[identity.id] = signer
        return sign(signer, data)

    def verify(self, signature: str, public_key: str, data: bytes) -> bool:
        """Verify a hex DER signature of ``data`` by the hex public key (cached key parsing)."""
        return self.keys.verify(signature, public_key, data)
