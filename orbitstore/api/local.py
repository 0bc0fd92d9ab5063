"""The in-process implementation of :class:`~orbitstore.api.protocol.StoreAPI`, over an :class:`OrbitStore`.

::

    async with open_local("./data") as api:
        db = await api.create("notes", type="events")
        await api.add(db.address, {"text": "hello"})
        page = await api.iterate(db.address, limit=10)

The API remembers every database it creates or opens (in the store's
``api/known`` storage), so they can be listed, and named by name, after a
restart. Databases are opened on first use.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orbitstore
from orbitstore.access.ipfs import IPFSAccessController
from orbitstore.access.orbitdb import OrbitDBAccessController
from orbitstore.api import _dataset, _items
from orbitstore.api._anchoring import Anchoring
from orbitstore.api._known import KnownDatabases
from orbitstore.api._models import Models, check_train_options
from orbitstore.api._subscription import LocalSubscription
from orbitstore.api._sync import SyncService
from orbitstore.api._validate import check_access_controller, check_cid, check_int, check_mapping, check_text
from orbitstore.api.errors import InvalidRequest, NotAvailable
from orbitstore.api.models import (
    AccessInfo,
    AnchorInfo,
    DatabaseInfo,
    EstimatorInfo,
    ImportResult,
    Item,
    ModelCardInfo,
    ModelInfo,
    NodeInfo,
    Page,
    PeerInfo,
    Predictions,
    ProvenanceReport,
    ReproduceResult,
    SnapshotInfo,
    SyncStatus,
    VerifyResult,
)
from orbitstore.api.protocol import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ProgressCallback
from orbitstore.databases import Address, Database, Documents, Events, KeyValue, Manifest
from orbitstore.databases.dataset import CAPABILITIES, Dataset
from orbitstore.databases.keyed import KeyedDatabase
from orbitstore.errors import DatabaseError, NotFound
from orbitstore.store import OrbitStore

__all__ = ["LocalAPI", "open_local"]

_KNOWN = "api/known"


class LocalAPI:
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

    # -- databases by reference ------------------------------------------------------------------

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

    # -- databases -------------------------------------------------------------------------------

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

    # -- entries ---------------------------------------------------------------------------------

    async def add(self, db: str, value: Any) -> str:
        """Append ``value`` to an events database."""
        target = await self._database(db)
        if not isinstance(target, Events):
            raise InvalidRequest(f"add needs an events database; {target.address} is {target.type!r} (use put)")
        return await target.add(value)

    async def put(self, db: str, value: Any, *, key: str | None = None) -> str:
        """Set ``key`` (keyvalue) or store the document ``value`` (documents)."""
        target = await self._database(db)
        if isinstance(target, KeyValue):
            return await target.put(check_text(key, "key"), value)
        if isinstance(target, Dataset):
            row = check_mapping(value, "a dataset row")
            return await target.put(check_text(key, "key (the record id)"), row)
        if isinstance(target, Documents):
            if not isinstance(value, dict) or target.index_by not in value:
                raise InvalidRequest(f"a document must be a map with the field {target.index_by!r}")
            if key is not None and value[target.index_by] != key:
                raise InvalidRequest(f"key {key!r} differs from the document's {target.index_by!r}")
            return await target.put(value)
        raise InvalidRequest(f"put needs a keyvalue or documents database; {target.address} is {target.type!r}")

    async def get(self, db: str, key: str) -> Item:
        """The live item ``key`` (the entry hash for events)."""
        target = await self._database(db)
        check_text(key, "key")
        if isinstance(target, Events):
            return Item(hash=key, key=None, value=await target.get(key))
        if isinstance(target, KeyedDatabase):
            entry = await target._live(key)
            if entry is None:
                raise NotFound(f"no key {key!r} in {target.address}")
            return Item(hash=entry.hash, key=entry.payload["key"], value=entry.payload.get("value"))
        if isinstance(target, Dataset):
            return await _dataset.dataset_get(target, key)
        raise NotAvailable(target.type, f"get on {target.type!r} databases")

    async def delete(self, db: str, key: str) -> str:
        """Delete ``key`` (keyvalue, documents)."""
        target = await self._database(db)
        check_text(key, "key")
        if isinstance(target, (KeyValue, Documents, Dataset)):
            return await target.delete(key)
        raise InvalidRequest(f"delete needs a keyvalue, documents or dataset database; {target.address} is events")

    async def query(self, db: str, *, where: Mapping[str, Any], limit: int | None = None) -> list[Item]:
        """Live items whose value contains every ``where`` field with an equal value, newest first."""
        target = await self._database(db)
        conditions = dict(check_mapping(where, "where"))
        if limit is not None:
            check_int(limit, "limit", low=1, high=MAX_PAGE_SIZE)
        return await _items.query(target, conditions, limit)

    async def iterate(self, db: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None) -> Page:
        """A page of live items, newest first (datasets: in their order); cursors are opaque."""
        target = await self._database(db)
        check_int(limit, "limit", low=1, high=MAX_PAGE_SIZE)
        if cursor is not None:
            check_text(cursor, "cursor", max_length=256)
        return await _items.page(target, limit=limit, cursor=cursor)

    async def subscribe(self, db: str) -> LocalSubscription:
        """Live changes of ``db`` from now on."""
        target = await self._database(db)
        subscription = await LocalSubscription.start(target, on_close=self._subscriptions.discard)
        self._subscriptions.add(subscription)
        return subscription

    # -- access ----------------------------------------------------------------------------------

    async def access(self, db: str) -> AccessInfo:
        """The access controller of ``db`` and its capabilities."""
        return await self._access_info(await self._database(db))

    async def _access_info(self, target: Database) -> AccessInfo:
        access = target.access
        address = target.manifest.access_controller
        if isinstance(access, IPFSAccessController):
            return AccessInfo(type="ipfs", address=address, mutable=False, capabilities={"write": tuple(access.write)})
        if isinstance(access, OrbitDBAccessController):
            caps = await access.capabilities()
            return AccessInfo(
                type="orbitdb", address=address, mutable=True, capabilities={k: tuple(v) for k, v in caps.items()}
            )
        if isinstance(target, Dataset):
            return await _dataset.dataset_access(target)
        raise NotAvailable(f"access controller {target.manifest.access_controller_type!r}")

    async def grant(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Give ``identity_id`` the ``capability`` (``write``, ``admin``; ``read`` for datasets)."""
        target = await self._database(db)
        capability = check_text(capability, "capability", max_length=64)
        check_text(identity_id, "id")
        await self._mutable_access(target, capability).grant(capability, identity_id)
        return await self._access_info(target)

    async def revoke(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Take ``capability`` from ``identity_id`` (for datasets, causally: see docs/dataset.md)."""
        target = await self._database(db)
        capability = check_text(capability, "capability", max_length=64)
        check_text(identity_id, "id")
        await self._mutable_access(target, capability).revoke(capability, identity_id)
        return await self._access_info(target)

    def _mutable_access(self, target: Database, capability: str) -> OrbitDBAccessController | Dataset:
        if isinstance(target, Dataset):
            if capability not in CAPABILITIES:
                raise InvalidRequest(f"unknown capability {capability!r} (known: {', '.join(CAPABILITIES)})")
            return target  # GRANT and REVOKE are operations in the dataset's own log
        access = target.access
        if isinstance(access, OrbitDBAccessController):
            return access
        if isinstance(access, IPFSAccessController):
            raise DatabaseError(
                f"{target.address} has an immutable 'ipfs' access controller; "
                "create the database with access_controller={'type': 'orbitdb'} to grant and revoke"
            )
        raise NotAvailable(f"access controller {target.manifest.access_controller_type!r}")

    # -- sync ------------------------------------------------------------------------------------

    def _sync(self, what: str) -> SyncService:
        self._check_open()
        if self.sync is None:
            raise NotAvailable("sync", what)
        return self.sync

    async def peers(self) -> list[PeerInfo]:
        """The peers present on any replicated database, with their endpoint and the databases shared."""
        sync = self._sync("peers")
        shared: dict[str, list[str]] = {}
        addresses: dict[str, set[str]] = {}
        for address, replicator in sorted(sync.replicators().items()):
            status = await replicator.status()
            for peer in status.peers:
                if peer.present:
                    shared.setdefault(peer.peer, []).append(address)
                    if peer.endpoint is not None:
                        addresses.setdefault(peer.peer, set()).add(peer.endpoint)
        return [
            PeerInfo(peer_id=peer, addresses=tuple(sorted(addresses.get(peer, ()))), databases=tuple(dbs))
            for peer, dbs in sorted(shared.items())
        ]

    async def sync_status(self, db: str) -> SyncStatus:
        """Replication state of ``db`` (opened, and so replicated, when it is not open yet); never waits."""
        sync = self._sync("sync status")
        target = await self._database(db)
        status = await sync.status(str(target.address))
        if status is None:  # e.g. opened by the library, not through this API
            status = await (await sync.attach(target)).status()
        present = tuple(p.peer for p in status.peers if p.present)
        return SyncStatus(
            address=status.address,
            synced=status.synced,
            peers=len(present),
            missing=status.heads_known - status.heads_joined,
            mode=status.mode,
            peer_ids=present,
            heads_known=status.heads_known,
            heads_joined=status.heads_joined,
            pending=status.pending_joins,
            joined_entries=status.stats.joined_entries,
        )

    # -- dataset ---------------------------------------------------------------------------------

    async def _dataset(self, db: str) -> Dataset:
        target = await self._database(db)
        if not isinstance(target, Dataset):
            raise InvalidRequest(f"{target.address} is {target.type!r}, not a dataset")
        return target

    def _spool_directory(self) -> Path | None:
        return self.store.directory

    async def import_csv(
        self,
        db: str,
        source: bytes | AsyncIterable[bytes],
        *,
        id_column: str | None = None,
        target: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import CSV into a dataset (the source is spooled to a file in the data directory first)."""
        dataset = await self._dataset(db)
        if id_column is not None:
            check_text(id_column, "id_column", max_length=256)
        if target is not None:
            check_text(target, "target", max_length=256)
        return await _dataset.import_csv(
            dataset,
            source,
            progress=progress,
            id_column=id_column,
            target=target,
            spool_directory=self._spool_directory(),
        )

    async def export_csv(self, db: str) -> AsyncIterator[bytes]:
        """The dataset's live records as CSV (``id`` first), in chunks."""
        dataset = await self._dataset(db)
        async for chunk in _dataset.export_chunks(dataset, spool_directory=self._spool_directory()):
            yield chunk

    async def schema(self, db: str) -> dict[str, Any]:
        """The dataset's schema; :class:`NotFound` before one is set."""
        dataset = await self._dataset(db)
        current = await dataset.schema()
        if current is None:
            raise NotFound(f"{dataset.address} has no schema yet")
        return current.to_wire()

    async def set_schema(self, db: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Set or evolve the schema (admins only)."""
        dataset = await self._dataset(db)
        return (await dataset.set_schema(_dataset.parse_schema(schema))).to_wire()

    async def snapshot(self, db: str) -> SnapshotInfo:
        """Freeze the dataset at its current heads."""
        return await _dataset.snapshot_info(await self._dataset(db))

    def _anchoring(self) -> Anchoring:
        self._check_open()
        if self.anchoring is None:
            raise NotAvailable("anchoring", "this node has no data directory, so no ledger")
        return self.anchoring

    async def anchor(self, cid: str, *, wait: bool = False) -> AnchorInfo:
        """Submit ``cid`` for anchoring; with ``wait``, close its batch now and wait for it."""
        anchoring = self._anchoring()
        return await anchoring.submit(check_text(cid, "cid", max_length=256), wait=wait is True)

    async def anchor_status(self, cid: str) -> AnchorInfo:
        """Where anchoring ``cid`` stands."""
        return await self._anchoring().status(check_text(cid, "cid", max_length=256))

    async def verify(self, subject: str) -> VerifyResult:
        """Verify a receipt, or the receipt of a CID anchored here."""
        return await self._anchoring().verify(check_text(subject, "subject", max_length=256))

    # -- models ----------------------------------------------------------------------------------

    def _models(self) -> Models:
        self._check_open()
        if not self.models_service.available:
            raise NotAvailable("models", "mlbridge is not installed: pip install 'orbitstore[ml]'")
        return self.models_service

    async def estimators(self) -> list[EstimatorInfo]:
        """The estimator names :meth:`train` accepts."""
        return await self._models().estimators()

    async def train(
        self,
        db: str | None = None,
        *,
        snapshot: str | None = None,
        target: str | None = None,
        estimator: str = "random_forest",
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        test_size: float = 0.25,
        cv: int = 5,
        anchor: bool = False,
    ) -> ModelInfo:
        """Train on a fresh snapshot of the dataset ``db``, or on the snapshot ``snapshot``; register the model."""
        models = self._models()
        if (db is None) == (snapshot is None):
            raise InvalidRequest("train needs a dataset (db) or a snapshot CID: exactly one of them")
        if target is not None:
            check_text(target, "target", max_length=256)
        check_text(estimator, "estimator", max_length=256)
        if params is not None:
            params = check_mapping(params, "params")
        check_train_options(seed=seed, test_size=test_size, cv=cv)
        if not isinstance(anchor, bool):
            raise InvalidRequest("anchor must be true or false")
        source: Any
        if db is not None:
            source = await (await self._dataset(db)).snapshot()
        else:
            source = check_cid(snapshot, "snapshot")
        return await models.train(
            source,
            estimator=estimator,
            target=target,
            params=params,
            seed=seed,
            test_size=float(test_size),
            cv=cv,
            anchor=anchor,
        )

    async def models(self, db: str | None = None) -> list[ModelInfo]:
        """Registered models, oldest first (only the dataset ``db``'s when given)."""
        models = self._models()
        address = await self._known.resolve(db) if db is not None else None
        return await models.registered(address)

    async def model_card(self, model: str) -> ModelCardInfo:
        """The card of ``model`` and its Markdown rendering."""
        return await self._models().card(check_cid(model, "model"))

    async def predict(
        self, model: str, rows: list[Mapping[str, Any]], *, proba: bool = False, log: bool = False
    ) -> Predictions:
        """Predictions of ``model`` for ``rows``; ``proba`` adds class probabilities, ``log`` records the request."""
        models = self._models()
        card = check_cid(model, "model")
        if not isinstance(rows, list) or not rows:
            raise InvalidRequest("rows must be a non-empty list of maps")
        if len(rows) > MAX_PAGE_SIZE:
            raise InvalidRequest(f"at most {MAX_PAGE_SIZE} rows per request")
        checked = [check_mapping(row, "a row") for row in rows]
        if not isinstance(proba, bool) or not isinstance(log, bool):
            raise InvalidRequest("proba and log must be true or false")
        return await models.predict(card, checked, proba=proba, log=log)

    async def reproduce(self, model: str) -> ReproduceResult:
        """Retrain ``model`` from its card and compare fingerprints."""
        return await self._models().reproduce(check_cid(model, "model"))

    async def verify_model(self, model: str) -> ProvenanceReport:
        """Check ``model``'s provenance chain (anchor receipts against this node's ledger)."""
        return await self._models().verify(check_cid(model, "model"))

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
