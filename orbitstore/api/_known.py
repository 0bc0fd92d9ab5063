"""The databases an API node knows: every one it created or opened, kept in the store across restarts.

The store only tracks the databases open now; the API also lists those
opened before, and lets a database be named by its name. Each record is the
manifest block plus the open options the manifest does not hold (a documents
database's ``index_by``), and the order it became known in.
"""

from __future__ import annotations

from typing import Any

from orbitstore.api._validate import check_text
from orbitstore.api.errors import InvalidRequest
from orbitstore.codec import decode, encode
from orbitstore.databases import Address, Database, Manifest
from orbitstore.errors import NotFound
from orbitstore.storage.base import Storage

__all__ = ["KnownDatabases"]

_ADDRESS_CACHE = 4096

Known = tuple[Manifest, dict[str, Any]]


class KnownDatabases:
    """Address → (manifest, open options), loaded once from ``storage`` and written through."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._known: dict[str, Known] | None = None
        self._addresses: dict[str, str] = {}

    async def all(self) -> dict[str, Known]:
        """Every known database, in the order they became known."""
        if self._known is None:
            records: list[tuple[int, str, Manifest, dict[str, Any]]] = []
            async for key, raw in self._storage.items():
                record = decode(raw, strict=False)
                manifest = Manifest.decode(record["manifest"])
                records.append((int(record.get("n", 0)), key, manifest, dict(record.get("options") or {})))
            records.sort(key=lambda r: (r[0], r[1]))
            self._known = {key: (manifest, options) for _, key, manifest, options in records}
        return self._known

    async def remember(self, db: Database, options: dict[str, Any]) -> None:
        """Record ``db`` (and the options it was opened with)."""
        known = await self.all()
        address = str(db.address)
        if address in known and known[address][1] == options:
            return
        order = list(known).index(address) if address in known else len(known)
        known[address] = (db.manifest, options)
        record = {"manifest": db.manifest.encode(), "options": options, "n": order}
        await self._storage.put(address, encode(record))
        await self._storage.sync()

    async def resolve(self, db: str) -> str:
        """The address ``db`` names: an address, a manifest hash, or the name of exactly one known database."""
        cached = self._addresses.get(db)
        if cached is not None:
            return cached
        check_text(db, "database")
        if Address.is_valid(db):
            address = str(Address.parse(db))
            if len(self._addresses) >= _ADDRESS_CACHE:
                self._addresses.clear()
            self._addresses[db] = address  # parsing a CID costs more than serving a small read
            return address
        matches = [address for address, (manifest, _) in (await self.all()).items() if manifest.name == db]
        if not matches:
            raise NotFound(f"no database named or addressed {db!r} is known here")
        if len(matches) > 1:
            raise InvalidRequest(f"{len(matches)} known databases are named {db!r}; use an address")
        return matches[0]
