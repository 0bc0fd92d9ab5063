"""The ``dataset`` access controller: capabilities granted and revoked inside the dataset's own log.

Its address is ``/dataset/<cid>`` where the block is ``{v: 1, type: 'dataset',
admin: [ids], write: [ids]}``: the genesis admins and writers. An encrypted
dataset (records readable only by holders of ``read``, docs/encryption.md) adds
``encrypted: true``; the field is absent otherwise, so older manifests keep their CIDs. Everything after
genesis — GRANT and REVOKE operations — lives in the dataset log and is
evaluated causally by :mod:`orbitstore.databases.dataset.acl`; this controller
is the log's gate, asking the dataset it is bound to for a verdict on each
appended or joined entry before anything is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from orbitstore.access.base import split_address
from orbitstore.codec import block_cid, decode, encode
from orbitstore.databases.dataset.acl import AclState
from orbitstore.errors import DatabaseError, DecodeError, NotFound
from orbitstore.identities import Identity
from orbitstore.log.access import EntryLookup
from orbitstore.log.entry import Entry

if TYPE_CHECKING:
    from orbitstore.databases.dataset.dataset import Dataset
    from orbitstore.store import OrbitStore

__all__ = ["MANIFEST_VERSION", "DatasetAccessController"]

MANIFEST_VERSION = 1


def _ids(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DatabaseError(f"dataset access controller: {what!r} must be a list of identity ids")
    return list(dict.fromkeys(value))


class DatasetAccessController:
    """Genesis admins and writers from the manifest; causal GRANT/REVOKE from the log it guards."""

    type: ClassVar[str] = "dataset"

    def __init__(self, address: str, *, admin: list[str], write: list[str], encrypted: bool = False) -> None:
        self.address = address
        self.admin = list(admin)
        self.write = list(write)
        #: True when records are sealed and readable only with a key (docs/encryption.md).
        self.encrypted = encrypted
        self._db: Dataset | None = None

    @staticmethod
    def manifest_block(*, admin: list[str], write: list[str], encrypted: bool = False) -> bytes:
        """The manifest block ``{v: 1, type: 'dataset', admin: [...], write: [...]}`` (+ ``encrypted: true``)."""
        value: dict[str, Any] = {"v": MANIFEST_VERSION, "type": "dataset", "admin": list(admin), "write": list(write)}
        if encrypted:
            value["encrypted"] = True
        return encode(value)

    @classmethod
    async def create(cls, store: OrbitStore, *, name: str, options: dict[str, Any]) -> str:
        """Write the manifest; ``admin`` defaults to this node's identity, ``write`` to nobody else.

        ``encrypted=True`` makes an encrypted dataset (records sealed per key epoch).
        """
        admin = _ids(options.get("admin", [store.identity.id]), "admin")
        write = _ids(options.get("write", []), "write")
        encrypted = options.get("encrypted", False)
        if type(encrypted) is not bool:
            raise DatabaseError("dataset access controller: 'encrypted' must be true or false")
        extra = set(options) - {"admin", "write", "encrypted"}
        if extra:
            raise DatabaseError(f"dataset access controller: unknown options {sorted(extra)}")
        if not admin:
            raise DatabaseError("dataset access controller: at least one admin is needed")
        if "*" in admin:
            raise DatabaseError("dataset access controller: '*' cannot be an admin")
        block = cls.manifest_block(admin=admin, write=write, encrypted=encrypted)
        cid = block_cid(block)
        await store.blocks.put(cid, block)
        return f"/dataset/{cid}"

    @classmethod
    async def load(cls, store: OrbitStore, address: str, *, name: str) -> DatasetAccessController:
        """Load the manifest at ``address`` (:class:`DatabaseError` when it is not a dataset manifest)."""
        kind, cid = split_address(address)
        if kind != cls.type:
            raise DatabaseError(f"not a dataset access controller address: {address}")
        block = await store.blocks.get(cid)
        if block is None:
            raise NotFound(f"dataset access controller manifest {cid} not found")
        if block_cid(block) != cid:
            raise DatabaseError(f"dataset access controller manifest does not hash to {cid}")
        try:
            value = decode(block)
        except DecodeError as exc:
            raise DatabaseError(f"dataset access controller manifest {cid} is malformed: {exc}") from None
        if (
            not isinstance(value, dict)
            or value.get("type") != "dataset"
            or value.get("v") != MANIFEST_VERSION
            or set(value) - {"encrypted"} != {"v", "type", "admin", "write"}
            or value.get("encrypted", True) is not True
        ):
            raise DatabaseError(f"access controller manifest {cid} is not a dataset manifest")
        return cls(
            address,
            admin=_ids(value["admin"], "admin"),
            write=_ids(value["write"], "write"),
            encrypted="encrypted" in value,
        )

    def genesis(self) -> AclState:
        """The capabilities before any GRANT or REVOKE."""
        return AclState(admin=frozenset(self.admin), write=frozenset(self.write))

    async def bind(self, db: Any) -> None:
        """Called by the store once the dataset exists: verdicts come from its causal index."""
        from orbitstore.databases.dataset.dataset import Dataset

        if not isinstance(db, Dataset):
            raise DatabaseError(f"the dataset access controller guards dataset databases only, not {db.type!r}")
        self._db = db

    async def can_append(self, entry: Entry, identity: Identity, lookup: EntryLookup) -> bool:
        """Admit ``entry`` or raise: AccessDenied (naming the writer), SchemaError, DatabaseError."""
        if self._db is None:
            raise DatabaseError(f"dataset access controller {self.address} is not bound to its dataset")
        return await self._db._admit(entry, identity)
