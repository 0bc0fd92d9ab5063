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
        features = _field(wire, "features", dict)
        return cls(
            identity_id=_field(wire, "identity_id", str),
            public_key=_field(wire, "public_key", str),
            identity_hash=_field(wire, "identity_hash", str),
            version=_field(wire, "version", str),
            storage=_field(wire, "storage", str),
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


# -- flat shapes: datasets, sync, anchoring ------------------------------------------------------


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


# -- models (mlbridge) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EstimatorInfo(_Flat):
    """An estimator :meth:`~orbitstore.api.protocol.StoreAPI.train` accepts by name.

    ``task`` is ``classification``, ``regression``, or ``either`` for a name that
    picks the classifier or the regressor by the target's type (``random_forest``).
    ``needs_params``: it cannot be built with defaults (``VotingClassifier`` needs
    ``estimators``): give them in ``params``. ``deprecated``: scikit-learn will
    remove it.
    """

    name: str
    task: str
    needs_params: bool = False
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class ModelInfo(_Flat):
    """A trained model, named everywhere by its **card** CID (the signed model card).

    ``model`` is the model file (skops blocks); ``snapshot`` the dataset version it
    learnt from; ``estimator`` the class path; ``version`` counts the dataset's
    models from 1; ``metrics`` are the holdout metrics (``None`` where one could
    not be computed); ``anchor`` the snapshot's anchor receipt named by the card
    (only known to :meth:`train`'s answer; listings leave it ``None``).
    """

    card: str
    model: str
    dataset: str
    snapshot: str
    estimator: str
    task: str
    target: str
    trained_at: int
    trainer: str
    version: int = 0
    parent: str | None = None
    anchor: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelCardInfo:
    """A model card: its CID, the card block's value (links as :class:`CID`) and its Markdown rendering."""

    cid: str
    card: dict[str, Any]
    markdown: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON form (the card's links in DAG-JSON form)."""
        return {"cid": self.cid, "card": to_json(self.card), "markdown": self.markdown}

    @classmethod
    def from_wire(cls, wire: Any) -> ModelCardInfo:
        """Parse the JSON form."""
        card = from_json(_field(wire, "card", dict))
        return cls(cid=_field(wire, "cid", str), card=card, markdown=_field(wire, "markdown", str))


@dataclass(frozen=True, slots=True)
class Predictions:
    """A model's answers: one value per row; for classifiers asked for them, the classes and probabilities.

    ``logged`` is the prediction-log record id when the request was logged.
    """

    model: str
    values: tuple[Any, ...]
    classes: tuple[Any, ...] | None = None
    probabilities: tuple[tuple[float, ...], ...] | None = None
    logged: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "model": self.model,
            "values": to_json(list(self.values)),
            "classes": None if self.classes is None else to_json(list(self.classes)),
            "probabilities": None if self.probabilities is None else [list(p) for p in self.probabilities],
            "logged": self.logged,
        }

    @classmethod
    def from_wire(cls, wire: Any) -> Predictions:
        """Parse the JSON form."""
        classes = wire.get("classes") if isinstance(wire, dict) else None
        probabilities = wire.get("probabilities") if isinstance(wire, dict) else None
        logged = wire.get("logged") if isinstance(wire, dict) else None
        if classes is not None and not isinstance(classes, list):
            raise InvalidRequest("field 'classes' has the wrong type")
        if probabilities is not None and not (
            isinstance(probabilities, list) and all(isinstance(p, list) for p in probabilities)
        ):
            raise InvalidRequest("field 'probabilities' has the wrong type")
        return cls(
            model=_field(wire, "model", str),
            values=tuple(from_json(_field(wire, "values", list))),
            classes=None if classes is None else tuple(from_json(classes)),
            probabilities=None if probabilities is None else tuple(tuple(p) for p in probabilities),
            logged=logged if isinstance(logged, str) else None,
        )


@dataclass(frozen=True, slots=True)
class ReproduceResult:
    """The verdict of retraining a model from its card.

    ``status``: ``match`` (same libraries, same fitted state and probe
    predictions), ``version-differs`` (a library version differs from the
    card's: never reported as a match; ``details`` say whether the hashes
    agreed) or ``mismatch``. ``expected`` / ``actual``: the fitted-state hashes;
    ``versions``: library → (card's version, this node's).
    """

    card: str
    status: str
    expected: str
    actual: str
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True for ``match``."""
        return self.status == "match"

    def to_wire(self) -> dict[str, Any]:
        """The JSON form (with ``ok``)."""
        return {
            "card": self.card,
            "status": self.status,
            "ok": self.ok,
            "expected": self.expected,
            "actual": self.actual,
            "versions": {k: list(v) for k, v in self.versions.items()},
            "details": list(self.details),
        }

    @classmethod
    def from_wire(cls, wire: Any) -> ReproduceResult:
        """Parse the JSON form."""
        versions = _field(wire, "versions", dict)
        try:
            pairs = {str(k): (str(v[0]), str(v[1])) for k, v in versions.items()}
        except (TypeError, IndexError, KeyError):
            raise InvalidRequest("field 'versions' has the wrong type") from None
        return cls(
            card=_field(wire, "card", str),
            status=_field(wire, "status", str),
            expected=_field(wire, "expected", str),
            actual=_field(wire, "actual", str),
            versions=pairs,
            details=tuple(str(d) for d in _field(wire, "details", list)),
        )


@dataclass(frozen=True, slots=True)
class ProvenanceCheck(_Flat):
    """One link of a model's provenance chain: ``status`` is ``pass``, ``fail`` or ``skip``, ``detail`` says why."""

    name: str
    status: str
    detail: str


@dataclass(frozen=True, slots=True)
class ProvenanceReport:
    """Every check of a model's provenance chain, in order (model → card → snapshot → records → anchor).

    ``ok`` when none failed and none was skipped for lack of an earlier link
    (the anchor's own chain check may be skipped when no backend can check it).
    """

    card: str
    ok: bool
    checks: tuple[ProvenanceCheck, ...]

    @property
    def failed(self) -> ProvenanceCheck | None:
        """The first failed check, or ``None``."""
        return next((c for c in self.checks if c.status == "fail"), None)

    def to_wire(self) -> dict[str, Any]:
        """The JSON form (with ``failed``: the first failed check's name)."""
        failed = self.failed
        return {
            "card": self.card,
            "ok": self.ok,
            "failed": failed.name if failed is not None else None,
            "checks": [c.to_wire() for c in self.checks],
        }

    @classmethod
    def from_wire(cls, wire: Any) -> ProvenanceReport:
        """Parse the JSON form."""
        return cls(
            card=_field(wire, "card", str),
            ok=_field(wire, "ok", bool),
            checks=tuple(ProvenanceCheck.from_wire(c) for c in _field(wire, "checks", list)),
        )
