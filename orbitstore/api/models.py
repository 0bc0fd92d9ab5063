"""What the API returns: frozen dataclasses with a JSON wire form.

Each model has ``to_wire()`` (a JSON-able dict, values in DAG-JSON form) and
``from_wire()`` (its inverse), so the HTTP client returns exactly the objects
the in-process API returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orbitstore.api._wire import Flat, field_of
from orbitstore.api.errors import InvalidRequest
from orbitstore.api.jsonvalues import from_json, to_json

# The models API's own (mlbridge) are in ml_models and part of this module's API too.
from orbitstore.api.ml_models import (
    EstimatorInfo,
    ModelCardInfo,
    ModelInfo,
    Predictions,
    ProvenanceCheck,
    ProvenanceReport,
    ReproduceResult,
)

__all__ = [
    "AccessInfo",
    "AnchorInfo",
    "Change",
    "DatabaseInfo",
    "EntryInfo",
    "EstimatorInfo",
    "ImportResult",
    "Item",
    "ModelCardInfo",
    "ModelInfo",
    "NodeInfo",
    "Page",
    "PeerInfo",
    "Predictions",
    "ProvenanceCheck",
    "ProvenanceReport",
    "ReproduceResult",
    "SnapshotInfo",
    "SyncStatus",
    "VerifyResult",
]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """This node: its identity, version, block storage and which parts of orbitstore are wired in."""

    identity_id: str
    public_key: str
    identity_hash: str
    version: str
    storage: str
    features: dict[str, bool] = field(default_factory=dict)
    #: where this node's direct replication path listens (``host:port``), when sync is on
    sync_endpoint: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "identity_id": self.identity_id,
            "public_key": self.public_key,
            "identity_hash": self.identity_hash,
            "version": self.version,
            "storage": self.storage,
            "features": dict(self.features),
            "sync_endpoint": self.sync_endpoint,
        }

    @classmethod
    def from_wire(cls, wire: Any) -> NodeInfo:
        """Parse the JSON form."""
        features = field_of(wire, "features", dict)
        return cls(
            identity_id=field_of(wire, "identity_id", str),
            public_key=field_of(wire, "public_key", str),
            identity_hash=field_of(wire, "identity_hash", str),
            version=field_of(wire, "version", str),
            storage=field_of(wire, "storage", str),
            features={str(k): bool(v) for k, v in features.items()},
            sync_endpoint=_optional_text(wire.get("sync_endpoint")),
        )


def _optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest("sync_endpoint must be text or null")


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """A database this node knows: address, manifest fields, and whether it is open now."""

    address: str
    name: str
    type: str
    access_controller: str
    meta: Any = None
    is_open: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "address": self.address,
            "name": self.name,
            "type": self.type,
            "access_controller": self.access_controller,
            "meta": to_json(self.meta),
            "open": self.is_open,
        }

    @classmethod
    def from_wire(cls, wire: Any) -> DatabaseInfo:
        """Parse the JSON form."""
        return cls(
            address=field_of(wire, "address", str),
            name=field_of(wire, "name", str),
            type=field_of(wire, "type", str),
            access_controller=field_of(wire, "access_controller", str),
            meta=from_json(wire.get("meta")),
            is_open=field_of(wire, "open", bool),
        )


@dataclass(frozen=True, slots=True)
class Item:
    """One live value: the entry ``hash`` that wrote it, its ``key`` (``None`` for events), the ``value``."""

    hash: str
    key: Any
    value: Any

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {"hash": self.hash, "key": to_json(self.key), "value": to_json(self.value)}

    @classmethod
    def from_wire(cls, wire: Any) -> Item:
        """Parse the JSON form."""
        return cls(hash=field_of(wire, "hash", str), key=from_json(wire.get("key")), value=from_json(wire.get("value")))


@dataclass(frozen=True, slots=True)
class Page:
    """A page of items, newest first; ``cursor`` fetches the next page and is ``None`` after the last."""

    items: tuple[Item, ...]
    cursor: str | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {"items": [i.to_wire() for i in self.items], "cursor": self.cursor}

    @classmethod
    def from_wire(cls, wire: Any) -> Page:
        """Parse the JSON form."""
        cursor = wire.get("cursor") if isinstance(wire, dict) else None
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidRequest("field 'cursor' has the wrong type")
        return cls(items=tuple(Item.from_wire(i) for i in field_of(wire, "items", list)), cursor=cursor)


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """A log entry as a change notification shows it: hash, operation, key, value, writer and clock time."""

    hash: str
    op: str | None
    key: Any
    value: Any
    writer: str
    clock_time: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "hash": self.hash,
            "op": self.op,
            "key": to_json(self.key),
            "value": to_json(self.value),
            "writer": self.writer,
            "clock_time": self.clock_time,
        }

    @classmethod
    def from_wire(cls, wire: Any) -> EntryInfo:
        """Parse the JSON form."""
        op = wire.get("op") if isinstance(wire, dict) else None
        return cls(
            hash=field_of(wire, "hash", str),
            op=op if isinstance(op, str) else None,
            key=from_json(wire.get("key")),
            value=from_json(wire.get("value")),
            writer=field_of(wire, "writer", str),
            clock_time=field_of(wire, "clock_time", int),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """A change to a database: ``kind`` is ``"update"`` (written here) or ``"join"`` (from a peer)."""

    kind: str
    address: str
    entries: tuple[EntryInfo, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {"kind": self.kind, "address": self.address, "entries": [e.to_wire() for e in self.entries]}

    @classmethod
    def from_wire(cls, wire: Any) -> Change:
        """Parse the JSON form."""
        return cls(
            kind=field_of(wire, "kind", str),
            address=field_of(wire, "address", str),
            entries=tuple(EntryInfo.from_wire(e) for e in field_of(wire, "entries", list)),
        )


@dataclass(frozen=True, slots=True)
class AccessInfo:
    """A database's access controller: its type, whether grants can change, and capability → identity ids."""

    type: str
    address: str
    mutable: bool
    capabilities: dict[str, tuple[str, ...]]

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "type": self.type,
            "address": self.address,
            "mutable": self.mutable,
            "capabilities": {k: list(v) for k, v in self.capabilities.items()},
        }

    @classmethod
    def from_wire(cls, wire: Any) -> AccessInfo:
        """Parse the JSON form."""
        caps = field_of(wire, "capabilities", dict)
        return cls(
            type=field_of(wire, "type", str),
            address=field_of(wire, "address", str),
            mutable=field_of(wire, "mutable", bool),
            capabilities={str(k): tuple(str(i) for i in v) for k, v in caps.items()},
        )


# -- flat shapes: datasets, sync, anchoring ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerInfo(Flat):
    """A connected peer (sync): its id, addresses and the databases it shares with us."""

    peer_id: str
    addresses: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncStatus(Flat):
    """Replication state of one database.

    ``peers``: peers present now (``peer_ids``); ``missing``: heads they told
    us that are not in our log yet (``heads_known`` − ``heads_joined``);
    ``pending``: joins queued or running; ``mode``: ``pubsub`` (Kubo) or
    ``direct`` (static peers); ``joined_entries``: entries added from peers
    since the node started.
    """

    address: str
    synced: bool
    peers: int
    missing: int
    mode: str = ""
    peer_ids: tuple[str, ...] = ()
    heads_known: int = 0
    heads_joined: int = 0
    pending: int = 0
    joined_entries: int = 0


@dataclass(frozen=True, slots=True)
class ImportResult(Flat):
    """What a dataset import wrote."""

    address: str
    rows: int
    heads: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SnapshotInfo(Flat):
    """A dataset snapshot: its CID is the dataset version."""

    cid: str
    address: str
    heads: tuple[str, ...]
    entries: int
    records: int


@dataclass(frozen=True, slots=True)
class AnchorInfo(Flat):
    """An anchoring request: ``status`` is ``pending``, ``anchored`` (with ``receipt``) or ``failed`` (``reason``).

    ``backend`` describes where roots go; the local ledger's says it is not a public chain.
    """

    cid: str
    status: str
    receipt: str | None = None
    reason: str | None = None
    backend: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult(Flat):
    """The outcome of verifying an anchor receipt or a provenance chain.

    ``checks``: what passed; ``failed``: the check that did not; ``receipt``
    and ``cid``: the receipt verified and the CID it proves; ``description``:
    one human line; ``backend``: where the anchor is (the local ledger says
    plainly that it is not a public chain).
    """

    ok: bool
    subject: str
    checks: tuple[str, ...] = ()
    failed: str | None = None
    receipt: str | None = None
    cid: str | None = None
    description: str | None = None
    backend: str | None = None
