"""OrbitDB's immutable ``ipfs`` access controller: a fixed write list in a manifest block (spec §5.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from orbitstore.access.base import split_address
from orbitstore.codec import block_cid, decode, encode
from orbitstore.errors import DatabaseError, DecodeError, NotFound
from orbitstore.identities import Identity
from orbitstore.log.access import EntryLookup
from orbitstore.log.entry import Entry

if TYPE_CHECKING:
    from orbitstore.store import OrbitStore

__all__ = ["IPFSAccessController"]


class IPFSAccessController:
    """Writers are fixed at creation: identity ids (root key hex) or ``'*'`` for anyone."""

    type: ClassVar[str] = "ipfs"

    def __init__(self, address: str, write: list[str]) -> None:
        self.address = address
        self.write = list(write)

    @staticmethod
    def manifest_block(write: list[str]) -> bytes:
        """The manifest block ``{type: 'ipfs', write: [...]}``."""
        return encode({"type": "ipfs", "write": list(write)})

    @classmethod
    async def create(cls, store: OrbitStore, *, name: str, options: dict[str, Any]) -> str:
        write = options.get("write")
        if write is None:
            write = [store.identity.id]
        if not isinstance(write, list) or not all(isinstance(w, str) for w in write):
            raise DatabaseError("ipfs access controller: 'write' must be a list of identity ids")
        block = cls.manifest_block(write)
        cid = block_cid(block)
        await store.blocks.put(cid, block)
        return f"/ipfs/{cid}"

    @classmethod
    async def load(cls, store: OrbitStore, address: str, *, name: str) -> IPFSAccessController:
        kind, cid = split_address(address)
        if kind != "ipfs":
            raise DatabaseError(f"not an ipfs access controller address: {address}")
        block = await store.blocks.get(cid)
        if block is None:
            raise NotFound(f"access controller manifest {cid} not found")
        try:
            value = decode(block)
        except DecodeError as exc:
            raise DatabaseError(f"access controller manifest {cid} is malformed: {exc}") from None
        if block_cid(block) != cid:
            raise DatabaseError(f"access controller manifest does not hash to {cid}")
        write = value.get("write") if isinstance(value, dict) else None
        if value.get("type") != "ipfs" or not isinstance(write, list) or not all(isinstance(w, str) for w in write):
            raise DatabaseError(f"access controller manifest {cid} is not an ipfs write list")
        return cls(address, write)

    async def can_append(self, entry: Entry, identity: Identity, lookup: EntryLookup) -> bool:
        """True when the writer's identity id (or ``'*'``) is in the write list."""
        return "*" in self.write or identity.id in self.write
