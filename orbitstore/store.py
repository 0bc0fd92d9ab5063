"""The node: identity, block store, access-controller and database registries, open databases.

::

    async with orbitstore.open(directory="./data") as store:
        db = await store.open("my-events", type="events")
        await db.add("hello")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orbitstore.access.base import AccessRegistry
from orbitstore.config import DEFAULT_REFERENCES_COUNT
from orbitstore.databases.base import Database
from orbitstore.databases.manifest import Address, Manifest
from orbitstore.encryption.base import Encryption, EncryptionOption
from orbitstore.errors import ConfigError, DatabaseError, NotFound
from orbitstore.identities import Identities, Identity, KeyStore, MemoryKeyStore
from orbitstore.log import Log
from orbitstore.storage import EmbeddedStore, MemoryStorage, Storage

if TYPE_CHECKING:
    from orbitstore.databases.dataset.snapshot import Snapshot

__all__ = ["OrbitStore", "open"]

StorageFactory = Callable[[str], Storage]


class OrbitStore:
    """One orbitstore node. Use :func:`orbitstore.open` to create it."""

    def __init__(
        self,
        *,
        directory: Path | None,
        identities: Identities,
        identity: Identity,
        blocks: Storage,
        storage_for: StorageFactory,
        embedded: EmbeddedStore | None,
    ) -> None:
        self.directory = directory
        self.identities = identities
        self.identity = identity
        self.blocks = blocks
        self._storage_for = storage_for
        self._embedded = embedded
        self.access_controllers = AccessRegistry()
        self.database_types: dict[str, type[Database]] = {}
        self._open: dict[str, Database] = {}
        self._closed = False
        _register_defaults(self)

    # -- registries ------------------------------------------------------------------------------

    def register_database_type(self, kind: type[Database]) -> None:
        """Make ``kind`` openable under ``kind.type``."""
        self.database_types[kind.type] = kind

    def register_access_controller(self, kind: Any) -> None:
        """Make an access-controller type loadable under ``kind.type``."""
        self.access_controllers.register(kind)

    def storage(self, name: str) -> Storage:
        """A named storage of this node (a sub-database of the embedded store, or memory)."""
        return self._storage_for(name)

    # -- databases -------------------------------------------------------------------------------

    async def open(
        self,
        name_or_address: str,
        *,
        type: str | None = None,
        access_controller: dict[str, Any] | None = None,
        meta: Any = None,
        references_count: int = DEFAULT_REFERENCES_COUNT,
        encryption: EncryptionOption = None,
        **options: Any,
    ) -> Any:
        """Open a database by address (``/orbitdb/zdpu…``) or create/open one by name.

        By name, ``type`` is required (``events``, ``keyvalue``, ``documents``,
        ``dataset``) and ``access_controller`` defaults to the type's own default:
        ``{"type": "ipfs"}`` (only this node's identity may write) for OrbitDB's
        types, ``{"type": "dataset"}`` (this node is the genesis admin) for datasets. By address, the
        manifest must be in the block store (or reachable through it), and a
        ``type`` given must match the manifest's.

        ``encryption`` is OrbitDB's ``{"data": encrypter, "replication": encrypter}``
        (see docs/encryption.md), for ``events`` and ``keyvalue``. It is refused for
        ``documents`` (JS OrbitDB 3.x silently ignores it there, so honouring it
        would break interop) and for ``dataset`` (which has its own read access).
        """
        self._check_open()
        if Address.is_valid(name_or_address):
            address = Address.parse(name_or_address)
            manifest = await self._load_manifest(address)
            if type is not None and type != manifest.type:
                raise DatabaseError(f"{address} is a {manifest.type!r} database, not {type!r}")
        else:
            if type is None:
                raise DatabaseError(f"{name_or_address!r} is not an address; give type= to create a database")
            kind = self._database_type(type)
            ac_options = dict(access_controller or {})
            ac_type = self.access_controllers.get(str(ac_options.pop("type", kind.default_access_controller)))
            ac_address = await ac_type.create(self, name=name_or_address, options=ac_options)
            manifest = Manifest(name_or_address, kind.type, ac_address, *([meta] if meta is not None else []))
            block = manifest.encode()
            await self.blocks.put(manifest.hash, block)
            address = manifest.address
        key = str(address)
        layers = Encryption.of(encryption)
        if key in self._open:
            opened = self._open[key]
            if layers is not None and opened.log.encryption != layers:
                raise DatabaseError(f"{address} is already open with other encryption settings")
            return opened
        if layers is not None and manifest.type in ("documents", "dataset"):
            why = (
                "JS OrbitDB 3.x ignores encryption for documents databases, so encrypted entries would not interoperate"
                if manifest.type == "documents"
                else "datasets encrypt records with per-reader keys instead: see docs/encryption.md"
            )
            raise ConfigError(f"encryption= is not supported for {manifest.type!r} databases: {why}")
        kind = self._database_type(manifest.type)
        ac_kind = self.access_controllers.get(manifest.access_controller_type)
        access = await ac_kind.load(self, manifest.access_controller, name=manifest.name)
        h = address.manifest_hash
        log = await Log.open(
            self.identity,
            identities=self.identities,
            log_id=key,
            entry_storage=self.blocks,
            heads_storage=self._storage_for(f"heads/{h}"),
            index_storage=self._storage_for(f"log-index/{h}"),
            access=access,
            close_storages=False,  # the store owns them: closing one database must not close the others'
            encryption=layers,
        )
        db = kind(
            store=self,
            manifest=manifest,
            log=log,
            access=access,
            references_count=references_count,
            options={**options, "index_storage": self._storage_for(f"db-index/{h}")},
        )
        await db.setup()
        bind = getattr(access, "bind", None)
        if bind is not None:
            await bind(db)
        self._open[key] = db
        return db

    async def _load_manifest(self, address: Address) -> Manifest:
        block = await self.blocks.get(address.manifest_hash)
        if block is None:
            raise NotFound(f"manifest of {address} not found in the block store")
        manifest = Manifest.decode(block)
        if manifest.hash != address.manifest_hash:
            raise DatabaseError(f"manifest block does not hash to {address.manifest_hash}")
        return manifest

    def _database_type(self, type_: str) -> type[Database]:
        try:
            return self.database_types[type_]
        except KeyError:
            raise DatabaseError(
                f"unknown database type {type_!r} (known: {', '.join(sorted(self.database_types))})"
            ) from None

    async def open_snapshot(self, cid: str) -> Snapshot:
        """Open the dataset snapshot ``cid`` (its blocks must be in, or reachable through, the block store)."""
        from orbitstore.databases.dataset.snapshot import open_snapshot

        self._check_open()
        return await open_snapshot(self, cid)

    def databases(self) -> list[Database]:
        """The databases open now."""
        return list(self._open.values())

    def _forget(self, db: Database) -> None:
        self._open.pop(str(db.address), None)

    # -- lifetime --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError("the store is closed")

    async def aclose(self) -> None:
        """Close every open database and the storages. Safe to call twice."""
        if self._closed:
            return
        for db in list(self._open.values()):
            await db.aclose()
        self._closed = True
        if self._embedded is not None:
            await self._embedded.aclose()
        await self.identities.keystore.aclose()

    async def __aenter__(self) -> OrbitStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _register_defaults(store: OrbitStore) -> None:
    from orbitstore.access.dataset import DatasetAccessController
    from orbitstore.access.ipfs import IPFSAccessController
    from orbitstore.access.orbitdb import OrbitDBAccessController
    from orbitstore.databases.dataset import Dataset
    from orbitstore.databases.documents import Documents
    from orbitstore.databases.events import Events
    from orbitstore.databases.keyvalue import KeyValue

    for db_kind in (Events, KeyValue, Documents, Dataset):
        store.register_database_type(db_kind)
    for ac_kind in (IPFSAccessController, OrbitDBAccessController, DatasetAccessController):
        store.register_access_controller(ac_kind)


async def _open_store(
    directory: str | os.PathLike[str] | None,
    *,
    identity: str | Identity | None,
    identities: Identities | None,
    keystore: MemoryKeyStore | None,
    passphrase: str | None,
    blocks: Storage | None,
    durability: str,
) -> OrbitStore:
    path = Path(directory) if directory is not None else None
    embedded: EmbeddedStore | None = None
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        embedded = await EmbeddedStore.open(path, durability=durability, max_dbs=4096)  # type: ignore[arg-type]
    memory: dict[str, Storage] = {}

    def storage_for(name: str) -> Storage:
        if embedded is not None:
            return embedded.storage(name)
        if name not in memory:
            memory[name] = MemoryStorage()
        return memory[name]

    block_store = blocks if blocks is not None else storage_for("blocks")
    if identities is None:
        if keystore is None:
            keystore = KeyStore(path / "keystore", passphrase=passphrase) if path is not None else MemoryKeyStore()
        identities = Identities(keystore=keystore, storage=block_store)
    if isinstance(identity, Identity):
        me = identity
    else:
        name = identity if identity is not None else _default_identity_name(path)
        me = await identities.create_identity(name)
    return OrbitStore(
        directory=path,
        identities=identities,
        identity=me,
        blocks=block_store,
        storage_for=storage_for,
        embedded=embedded,
    )


def _default_identity_name(path: Path | None) -> str:
    """The node's default identity name: kept in the directory so the node keeps its identity."""
    import secrets

    if path is None:
        return secrets.token_hex(16)
    marker = path / "identity-name"
    if marker.exists():
        return marker.read_text().strip()
    name = secrets.token_hex(16)
    marker.write_text(name + "\n")
    return name


class _Opening:
    """Lets ``orbitstore.open(...)`` be awaited or used with ``async with``."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._store: OrbitStore | None = None

    def __await__(self) -> Generator[Any, None, OrbitStore]:
        return _open_store(**self._kwargs).__await__()

    async def __aenter__(self) -> OrbitStore:
        self._store = await _open_store(**self._kwargs)
        return self._store

    async def __aexit__(self, *exc: object) -> None:
        if self._store is not None:
            await self._store.aclose()


def open(
    directory: str | os.PathLike[str] | None = None,
    *,
    identity: str | Identity | None = None,
    identities: Identities | None = None,
    keystore: MemoryKeyStore | None = None,
    passphrase: str | None = None,
    blocks: Storage | None = None,
    durability: str = "batch",
) -> _Opening:
    """Open an orbitstore node.

    ``directory`` holds the embedded store (``store.lmdb``) and the keystore;
    without it everything is in memory. ``identity`` is an identity name (created
    from the keystore, deterministically) or an :class:`Identity`; by default a
    name is generated once and kept in the directory. ``blocks`` replaces the
    block store (e.g. a :class:`~orbitstore.storage.kubo.KuboStorage`).
    ``durability`` is ``"batch"`` (default) or ``"durable"`` — see docs/storage.md.
    """
    if durability not in ("batch", "durable"):
        raise ConfigError("durability must be 'batch' or 'durable'")
    return _Opening(
        directory=directory,
        identity=identity,
        identities=identities,
        keystore=keystore,
        passphrase=passphrase,
        blocks=blocks,
        durability=durability,
    )
