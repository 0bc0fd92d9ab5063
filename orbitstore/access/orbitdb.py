"""OrbitDB's mutable ``orbitdb`` access controller: capabilities kept in a keyvalue database (spec §5.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from orbitstore.access.ipfs import IPFSAccessController
from orbitstore.errors import AccessDenied, DatabaseError
from orbitstore.identities import Identity
from orbitstore.log.access import EntryLookup
from orbitstore.log.entry import Entry

if TYPE_CHECKING:
    from orbitstore.databases.keyvalue import KeyValue
    from orbitstore.store import OrbitStore

__all__ = ["OrbitDBAccessController"]


class OrbitDBAccessController:
    """Capabilities (``write``, ``admin``, …) → identity ids, in a keyvalue database.

    The keyvalue database is itself guarded by an ``ipfs`` controller whose
    writers are the admins. Changes apply from the moment they are known (not
    causally: that is what the ``dataset`` controller adds).
    """

    type: ClassVar[str] = "orbitdb"

    def __init__(self, address: str, db: KeyValue) -> None:
        self.address = address
        self.db = db

    @classmethod
    async def create(cls, store: OrbitStore, *, name: str, options: dict[str, Any]) -> str:
        write = options.get("write") or [store.identity.id]
        if not isinstance(write, list) or not all(isinstance(w, str) for w in write):
            raise DatabaseError("orbitdb access controller: 'write' must be a list of identity ids")
        db = await store.open(name, type="keyvalue", access_controller={"type": "ipfs", "write": write})
        return str(db.address)

    @classmethod
    async def load(cls, store: OrbitStore, address: str, *, name: str) -> OrbitDBAccessController:
        db = await store.open(address)
        if db.type != "keyvalue" or not isinstance(db.access, IPFSAccessController):
            raise DatabaseError(f"{address} is not an orbitdb access-controller database")
        return cls(address, db)

    async def capabilities(self) -> dict[str, list[str]]:
        """Every capability and its ids; ``admin`` includes the keyvalue database's own writers."""
        caps: dict[str, list[str]] = {}
        for item in await self.db.all():
            if isinstance(item["key"], str) and isinstance(item["value"], list):
                caps[item["key"]] = [v for v in item["value"] if isinstance(v, str)]
        inner = self.db.access
        assert isinstance(inner, IPFSAccessController)
        caps["admin"] = list(dict.fromkeys([*caps.get("admin", []), *inner.write]))
        return caps

    async def get(self, capability: str) -> list[str]:
        """The ids holding ``capability``."""
        return (await self.capabilities()).get(capability, [])

    async def grant(self, capability: str, identity_id: str) -> None:
        """Give ``identity_id`` the ``capability`` (only admins can: the keyvalue db refuses others)."""
        current = await self.db.get(capability)
        ids = [v for v in current if isinstance(v, str)] if isinstance(current, list) else []
        if identity_id not in ids:
            ids.append(identity_id)
        await self._write(capability, ids)

    async def revoke(self, capability: str, identity_id: str) -> None:
        """Take ``capability`` from ``identity_id``."""
        current = await self.db.get(capability)
        ids = [v for v in current if isinstance(v, str) and v != identity_id] if isinstance(current, list) else []
        if ids:
            await self._write(capability, ids)
        else:
            try:
                await self.db.delete(capability)
            except AccessDenied:
                raise AccessDenied(f"only admins of {self.address} can revoke") from None

    async def _write(self, capability: str, ids: list[str]) -> None:
        try:
            await self.db.put(capability, ids)
        except AccessDenied:
            raise AccessDenied(f"only admins of {self.address} can change capabilities") from None

    async def can_append(self, entry: Entry, identity: Identity, lookup: EntryLookup) -> bool:
        """True when the writer holds ``write`` or ``admin`` (or either is ``'*'``)."""
        caps = await self.capabilities()
        allowed = {*caps.get("write", []), *caps.get("admin", [])}
        return "*" in allowed or identity.id in allowed
