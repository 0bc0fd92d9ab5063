"""The in-process implementation of :class:`~orbitstore.api.protocol.StoreAPI`, over an :class:`OrbitStore`.

::

    async with open_local("./data") as api:
        db = await api.create("notes", type="events")
        await api.add(db.address, {"text": "hello"})
        page = await api.iterate(db.address, limit=10)

The API remembers every database it creates or opens (in the store's
``api/known`` storage), so they can be listed, and named by name, after a
restart. Databases are opened on first use.

The calls live in sibling modules by concept: ``_local_databases``, ``_local_entries``,
``_local_access``, ``_local_dataset``, ``_local_anchors``, ``_local_models`` and ``_local_sync``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orbitstore
from orbitstore.api._anchoring import Anchoring
from orbitstore.api._known import KnownDatabases
from orbitstore.api._local_access import _Access
from orbitstore.api._local_anchors import _Anchors
from orbitstore.api._local_databases import _Databases
from orbitstore.api._local_dataset import _DatasetCalls
from orbitstore.api._local_entries import _Entries
from orbitstore.api._local_models import _ModelCalls
from orbitstore.api._local_sync import _SyncCalls
from orbitstore.api._models import Models
from orbitstore.api._subscription import LocalSubscription
from orbitstore.api._sync import SyncService
from orbitstore.api.models import NodeInfo
from orbitstore.errors import DatabaseError
from orbitstore.store import OrbitStore

__all__ = ["LocalAPI", "open_local"]

_KNOWN = "api/known"


class LocalAPI(_Databases, _Entries, _Access, _DatasetCalls, _Anchors, _ModelCalls, _SyncCalls):
    """:class:`~orbitstore.api.protocol.StoreAPI` over an :class:`OrbitStore` in this process.

    The store is borrowed unless ``owns_store`` (then :meth:`aclose` closes it).
    ``anchoring`` (see :meth:`Anchoring.open`) serves the anchor calls; the API
    closes it. Without it they raise :class:`NotAvailable`. Models go through
    mlbridge (``models_service``, see :mod:`orbitstore.api._models`) when it is
    installed. ``sync`` (a started :class:`SyncService`) replicates every
    database the API opens (and those open when it is made); the API stops
    it before the store closes. Without it ``peers`` and ``sync_status``
    raise :class:`NotAvailable`.
    """

    def __init__(
        self,
        store: OrbitStore,
        *,
        owns_store: bool = False,
        anchoring: Anchoring | None = None,
        sync: SyncService | None = None,
    ) -> None:
        self.store = store
        self.anchoring = anchoring
        self.sync = sync
        self._owns_store = owns_store
        self._known = KnownDatabases(store.storage(_KNOWN))
        self._opening = asyncio.Lock()
        self._subscriptions: set[LocalSubscription] = set()
        self._closed = False
        self.models_service = Models(store, anchoring)

    # -- node ------------------------------------------------------------------------------------

    async def node(self) -> NodeInfo:
        """This node's identity, version, storage kind and wired-in features."""
        self._check_open()
        me = self.store.identity
        return NodeInfo(
            identity_id=me.id,
            public_key=me.public_key,
            identity_hash=me.hash,
            version=orbitstore.__version__,
            storage=_storage_kind(self.store),
            features=self.features(),
            sync_endpoint=self.sync.endpoint if self.sync is not None else None,
        )

    def features(self) -> dict[str, bool]:
        """Which parts of orbitstore this API serves (the others raise :class:`NotAvailable`)."""
        return {
            "databases": True,
            "access": True,
            "events": True,
            "dataset": "dataset" in self.store.database_types,
            "sync": self.sync is not None,
            "anchoring": self.anchoring is not None,
            "models": self.models_service.available,
        }

    # -- lifetime --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError("the API is closed")

    async def aclose(self) -> None:
        """End every subscription; close the store when this API owns it. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        try:
            if self.sync is not None:
                await self.sync.aclose()  # replication stops before the store closes
            if self.anchoring is not None:
                await self.anchoring.aclose()
        finally:
            if self._owns_store:
                await self.store.aclose()

    async def __aenter__(self) -> LocalAPI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _storage_kind(store: OrbitStore) -> str:
    name = type(store.blocks).__name__
    return {"EmbeddedStorage": "embedded", "MemoryStorage": "memory", "KuboStorage": "kubo"}.get(name, name)


@asynccontextmanager
async def open_local(
    directory: str | os.PathLike[str] | None = None,
    *,
    identity: str | None = None,
    durability: str = "batch",
    sync: SyncService | None = None,
) -> AsyncIterator[LocalAPI]:
    """Open a store in ``directory`` and serve it through a :class:`LocalAPI`; closes both on exit.

    With a directory the API anchors through the node's local ledger (``<directory>/anchors``).
    ``sync`` (not started yet) replicates the databases the API opens; it is started here and stopped
    before the store closes.
    """
    store = await orbitstore.open(directory, identity=identity, durability=durability)
    try:
        anchoring = await Anchoring.open(store)
    except BaseException:
        await store.aclose()
        raise
    api = LocalAPI(store, owns_store=True, anchoring=anchoring, sync=sync)
    try:
        if sync is not None:
            await sync.start()
        yield api
    finally:
        await api.aclose()
