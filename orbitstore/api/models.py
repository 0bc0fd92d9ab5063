"""What the API returns: frozen dataclasses with a JSON wire form.

Each model has ``to_wire()`` (a JSON-able dict, values in DAG-JSON form) and
``from_wire()`` (its inverse), so the HTTP client returns exactly the objects
the in-process API returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Self

from orbitstore.api.errors import InvalidRequest
from orbitstore.api.jsonvalues import from_json, to_json

__all__ = [
    "AccessInfo",
    "AnchorInfo",
    "Change",
    "DatabaseInfo",
    "EntryInfo",
    "ImportResult",
    "Item",
    "ModelInfo",
    "NodeInfo",
    "Page",
    "PeerInfo",
    "SnapshotInfo",
    "SyncStatus",
    "VerifyResult",
]


def _field(wire: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(wire, dict) or name not in wire:
        raise InvalidRequest(f"response lacks the field {name!r}")
    value = wire[name]
    if not isinstance(value, kind):
        raise InvalidRequest(f"field {name!r} has the wrong type")
    return value


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """This node: its identity, version, block storage and which parts of orbitstore are wired in."""

    identity_id: str
    public_key: str
    identity_hash: str
    version: str
    storage: str
    features: dict[str, bool] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "identity_id": self.identity_id,
            "public_key": self.public_key,
            "identity_hash": self.identity_hash,
            "version": self.version,
            "storage": self.storage,
            "features": dict(self.features),
        }

    @classmethod
    def from_wire(cls, wire: Any) -> NodeInfo:
        """Parse the JSON form."""
        features = _field(wire, "features", dict)
        return cls(
            identity_id=_field(wire, "identity_id", str),
            public_key=_field(wire, "public_key", str),
            identity_hash=_field(wire, "identity_hash", str),
            version=_field(wire, "version", str),
            storage=_field(wire, "storage", str),
            features={str(k): bool(v) for k, v in features.items()},
        )


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
            address=_field(wire, "address", str),
            name=_field(wire, "name", str),
            type=_field(wire, "type", str),
            access_controller=_field(wire, "access_controller", str),
            meta=from_json(wire.get("meta")),
            is_open=_field(wire, "open", bool),
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
        return cls(hash=_field(wire, "hash", str), key=from_json(wire.get("key")), value=from_json(wire.get("value")))


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
        return cls(items=tuple(Item.from_wire(i) for i in _field(wire, "items", list)), cursor=cursor)


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
            hash=_field(wire, "hash", str),
            op=op if isinstance(op, str) else None,
            key=from_json(wire.get("key")),
            value=from_json(wire.get("value")),
            writer=_field(wire, "writer", str),
            clock_time=_field(wire, "clock_time", int),
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
            kind=_field(wire, "kind", str),
            address=_field(wire, "address", str),
            entries=tuple(EntryInfo.from_wire(e) for e in _field(wire, "entries", list)),
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
        caps = _field(wire, "capabilities", dict)
        return cls(
            type=_field(wire, "type", str),
            address=_field(wire, "address", str),
            mutable=_field(wire, "mutable", bool),
            capabilities={str(k): tuple(str(i) for i in v) for k, v in caps.items()},
        )


# -- shapes for parts still landing (dataset, sync, anchoring, mlbridge) -------------------------
# Their methods raise NotAvailable until wired; these shapes fix what each will return.


class _Flat:
    """Wire form for flat models: fields of text, numbers, booleans and tuples of text."""

    __slots__ = ()

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_wire(cls, wire: Any) -> Self:
        """Parse the JSON form."""
        if not isinstance(wire, dict):
            raise InvalidRequest(f"a {cls.__name__} must be an object")
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in wire:
                value = wire[f.name]
                values[f.name] = tuple(value) if isinstance(value, list) else value
        try:
            return cls(**values)
        except TypeError as exc:
            raise InvalidRequest(f"malformed {cls.__name__}: {exc}") from None


@dataclass(frozen=True, slots=True)
class PeerInfo(_Flat):
    """A connected peer (sync): its id, addresses and the databases it shares with us."""

    peer_id: str
    addresses: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncStatus(_Flat):
    """Replication state of one database."""

    address: str
    synced: bool
    peers: int
    missing: int


@dataclass(frozen=True, slots=True)
class ImportResult(_Flat):
    """What a dataset import wrote."""

    address: str
    rows: int
    heads: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SnapshotInfo(_Flat):
    """A dataset snapshot: its CID is the dataset version."""

    cid: str
    address: str
    heads: tuple[str, ...]
    entries: int
    records: int


@dataclass(frozen=True, slots=True)
class AnchorInfo(_Flat):
    """An anchoring request: ``status`` is ``pending``, ``anchored`` (with ``receipt``) or ``failed`` (``reason``).

    ``backend`` describes where roots go; the local ledger's says it is not a public chain.
    """

    cid: str
    status: str
    receipt: str | None = None
    reason: str | None = None
    backend: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult(_Flat):
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


@dataclass(frozen=True, slots=True)
class ModelInfo(_Flat):
    """A trained model: its CID, its card's CID, the dataset snapshot and estimator it came from."""

    cid: str
    card: str
    snapshot: str
    estimator: str
