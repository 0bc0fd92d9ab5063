"""The databases part of :class:`~orbitstore.api.local.LocalAPI`: naming, opening, creating, listing, closing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orbitstore.api._known import KnownDatabases
from orbitstore.api._subscription import LocalSubscription
from orbitstore.api._sync import SyncService
from orbitstore.api._validate import check_access_controller, check_text
from orbitstore.api.errors import InvalidRequest
from orbitstore.api.models import DatabaseInfo
from orbitstore.databases import Address, Database, Manifest
from orbitstore.errors import NotFound
from orbitstore.store import OrbitStore


class _Databases:
    """Databases by reference (address or known name), opened on first use and replicated when sync is on."""

    store: OrbitStore
    sync: SyncService | None
    _known: KnownDatabases
    _opening: asyncio.Lock
    _subscriptions: set[LocalSubscription]

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        def _check_open(self) -> None: ...

    def _open_now(self, address: str) -> Database | None:
        for db in self.store.databases():
            if str(db.address) == address:
                return db
        return None

    async def _database(self, db: str) -> Database:
        """The open database ``db`` names, opening it when needed."""
        self._check_open()
        address = await self._known.resolve(db)
        found = self._open_now(address)
        if found is not None:
            return found
        async with self._opening:
            found = self._open_now(address)
            if found is not None:
                return found
            known = await self._known.all()
            options = known[address][1] if address in known else {}
            if self.sync is not None and Address.is_valid(address):
                await self.sync.fetch_setup(address, self.store)  # static peers: the manifest may be theirs only
            opened: Database = await self.store.open(address, **options)
            await self._known.remember(opened, options)
        await self._replicate(opened)
        return opened

    async def _replicate(self, db: Database) -> None:
        if self.sync is not None:
            await self.sync.attach(db)

    async def start_sync(self) -> None:
        """Replicate every database open now (later ones are replicated when the API opens them)."""
        for db in self.store.databases():
            await self._replicate(db)

    def _info(self, manifest: Manifest, *, is_open: bool) -> DatabaseInfo:
        return DatabaseInfo(
            address=str(manifest.address),
            name=manifest.name,
            type=manifest.type,
            access_controller=manifest.access_controller,
            meta=manifest.meta if manifest.has_meta else None,
            is_open=is_open,
        )

    async def create(
        self,
        name: str,
        *,
        type: str,
        access_controller: Mapping[str, Any] | None = None,
        meta: Any = None,
        index_by: str | None = None,
    ) -> DatabaseInfo:
        """Create (or open, when it exists) the database ``name`` of ``type``."""
        self._check_open()
        check_text(name, "name", max_length=1024)
        if Address.is_valid(name):
            raise InvalidRequest(f"{name!r} is an address, not a name: open it instead")
        check_text(type, "type", max_length=64)
        if type not in self.store.database_types:
            known = ", ".join(sorted(self.store.database_types))
            raise InvalidRequest(f"unknown database type {type!r} (known: {known})")
        ac = check_access_controller(access_controller)
        if ac is not None and ac.get("type", "ipfs") not in self.store.access_controllers.types():
            known = ", ".join(self.store.access_controllers.types())
            raise InvalidRequest(f"unknown access controller type {ac['type']!r} (known: {known})")
        options: dict[str, Any] = {}
        if index_by is not None:
            if type != "documents":
                raise InvalidRequest("index_by applies to documents databases only")
            options["index_by"] = check_text(index_by, "index_by", max_length=256)
        async with self._opening:
            db: Database = await self.store.open(name, type=type, access_controller=ac, meta=meta, **options)
            await self._known.remember(db, options)
        await self._replicate(db)
        return self._info(db.manifest, is_open=True)

    async def open(self, db: str) -> DatabaseInfo:
        """Open a database by address or known name."""
        opened = await self._database(db)
        return self._info(opened.manifest, is_open=True)

    async def databases(self) -> list[DatabaseInfo]:
        """Every known database, in the order they became known; open ones flagged."""
        self._check_open()
        known = await self._known.all()
        return [self._info(m, is_open=self._open_now(a) is not None) for a, (m, _) in known.items()]

    async def info(self, db: str) -> DatabaseInfo:
        """One database, known or open."""
        self._check_open()
        address = await self._known.resolve(db)
        found = self._open_now(address)
        if found is not None:
            return self._info(found.manifest, is_open=True)
        known = await self._known.all()
        if address not in known:
            raise NotFound(f"database {address} is not known here: open it first")
        return self._info(known[address][0], is_open=False)

    async def close(self, db: str) -> None:
        """Close a database; it stays known. Closing one that is not open does nothing."""
        self._check_open()
        address = await self._known.resolve(db)
        found = self._open_now(address)
        if found is None:
            if address not in await self._known.all():
                raise NotFound(f"database {address} is not known here")
            return
        for subscription in list(self._subscriptions):
            if subscription.address == address:
                subscription.end()
        if self.sync is not None:
            await self.sync.detach(address)
        await found.aclose()

    async def manifest(self, db: str) -> dict[str, Any]:
        """The manifest map as stored."""
        return (await self._database(db)).manifest.to_dict()

    async def heads(self, db: str) -> list[str]:
        """Head hashes, newest first."""
        return [entry.hash for entry in await (await self._database(db)).heads()]
