"""Reader keys: each identity's X25519 key pair, and the signed block that publishes its public half.

The private key lives in the node's keystore under ``x25519_<identity id>``
(32 random bytes, created on first use; encrypted at rest when the keystore has
a passphrase). Any 32 bytes are a valid X25519 private key; the keystore checks
keys as secp256k1 scalars, which a fresh random key always passes.

The public half is published as a DAG-CBOR block signed by the identity's
entry-signing key, so a granter can check that the X25519 key belongs to the
identity it grants to::

    {v: 1, id: <identity id>, key: bytes(32), sig: <hex DER>, type: 'reader-key', identity: <identity hash>}

``sig`` covers the DAG-CBOR bytes of the same map without ``sig``. A reader
hands the block (or its CID, when the granter can fetch it) to an admin — a
"grant request"; the ``GRANT read`` entry then links it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from orbitstore.codec import CID, block_cid, decode, encode
from orbitstore.encryption.envelope import PUBLIC_KEY_LENGTH, public_bytes
from orbitstore.errors import DecodeError, IdentityError, NotFound, SignatureError

if TYPE_CHECKING:
    from orbitstore.identities import Identities, Identity
    from orbitstore.identities.keystore import MemoryKeyStore

__all__ = ["READER_KEY_VERSION", "ReaderKey", "reader_private_key"]

READER_KEY_VERSION = 1
_FIELDS = frozenset(("v", "id", "key", "sig", "type", "identity"))


def _key_name(identity_id: str) -> str:
    return f"x25519_{identity_id}"


async def reader_private_key(keystore: MemoryKeyStore, identity: Identity) -> X25519PrivateKey:
    """This identity's X25519 private key from ``keystore`` (created there on first use)."""
    raw = await keystore.create_key(_key_name(identity.id))
    return X25519PrivateKey.from_private_bytes(raw)


def _unsigned(identity: str, identity_id: str, key: bytes) -> bytes:
    return encode({"v": READER_KEY_VERSION, "id": identity_id, "key": key, "type": "reader-key", "identity": identity})


@dataclass(frozen=True, slots=True)
class ReaderKey:
    """A published X25519 public key of an identity. ``cid`` names ``bytes``, the signed block.

    ``identity_block`` (not part of the block) carries the identity's own block
    along when the key is handed to a granter that may not know the identity yet.
    """

    id: str
    identity: str
    key: builtins.bytes
    sig: str
    cid: str
    bytes: builtins.bytes
    identity_block: builtins.bytes | None = field(default=None, compare=False, repr=False)

    @property
    def link(self) -> CID:
        """The block's CID as a link (what a ``GRANT read`` stores)."""
        return CID.parse(self.cid)

    @classmethod
    async def create(cls, identities: Identities, identity: Identity) -> ReaderKey:
        """Build (deterministically: RFC 6979 signatures) the reader-key block of ``identity``."""
        key = public_bytes(await reader_private_key(identities.keystore, identity))
        sig = await identities.sign(identity, _unsigned(identity.hash, identity.id, key))
        block = encode(
            {
                "v": READER_KEY_VERSION,
                "id": identity.id,
                "key": key,
                "sig": sig,
                "type": "reader-key",
                "identity": identity.hash,
            }
        )
        return cls(identity.id, identity.hash, key, sig, block_cid(block), block, identity.bytes)

    @classmethod
    def decode(cls, block: builtins.bytes, *, expected_cid: str | None = None) -> ReaderKey:
        """Parse a reader-key block (structure only; :meth:`verify` checks the signature)."""
        cid = block_cid(builtins.bytes(block))
        if expected_cid is not None and cid != expected_cid:
            raise DecodeError(f"reader-key block hashes to {cid}, not {expected_cid}")
        value: Any = decode(block)
        if not isinstance(value, dict) or value.keys() != _FIELDS or value["type"] != "reader-key":
            raise DecodeError("not a reader-key block {v, id, key, sig, type: 'reader-key', identity}")
        if value["v"] != READER_KEY_VERSION:
            raise DecodeError(f"unsupported reader-key version {value['v']!r}")
        for name in ("id", "sig", "identity"):
            if type(value[name]) is not str or not value[name]:
                raise DecodeError(f"reader-key field {name!r} must be non-empty text")
        if type(value["key"]) is not builtins.bytes or len(value["key"]) != PUBLIC_KEY_LENGTH:
            raise DecodeError("reader-key 'key' must be a 32-byte X25519 public key")
        return cls(value["id"], value["identity"], value["key"], value["sig"], cid, builtins.bytes(block))

    async def verify(self, identities: Identities) -> None:
        """Check the identity block verifies, names ``id``, and its key signed this block.

        :class:`IdentityError` / :class:`SignatureError` when not.
        """
        try:
            identity = await identities.get_identity(self.identity)
        except NotFound:
            raise IdentityError(f"reader key {self.cid} names unknown identity {self.identity}") from None
        if not await identities.verify_identity(identity):
            raise IdentityError(f"identity {self.identity} of reader key {self.cid} does not verify")
        if identity.id != self.id:
            raise IdentityError(
                f"reader key {self.cid} claims id {self.id[:16]}… but its identity is {identity.id[:16]}…"
            )
        if not identities.verify(self.sig, identity.public_key, _unsigned(self.identity, self.id, self.key)):
            raise SignatureError(f"reader key {self.cid} is not signed by identity {self.id[:16]}…")
