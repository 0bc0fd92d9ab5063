"""The one interface of an orbitstore node, in process or across HTTP.

:class:`StoreAPI` is implemented by :class:`orbitstore.api.LocalAPI` (over an
:class:`~orbitstore.OrbitStore` in this process) and by
:class:`orbitstore.daemon.client.DaemonClient` (over a daemon's HTTP API), as
Kubo's HTTP client implements Kubo's core interface. One contract test suite
(``tests/api``) runs against both.

Databases are named by ``db``: an address (``/orbitdb/zdpu…``), its manifest
hash (``zdpu…``), or the name of a database this node knows (when only one
known database has that name). Values are DAG-CBOR values; over HTTP they
travel as JSON with DAG-JSON forms for bytes and links
(:mod:`orbitstore.api.jsonvalues`).

Methods for parts of orbitstore that have not landed yet (sync), or that
this node lacks (models without the ``ml`` extra, anchoring without a data
directory), raise :class:`~orbitstore.api.errors.NotAvailable` naming the
part — never a fake result. :meth:`StoreAPI.node` says which parts are wired
in (``features``).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from orbitstore.api.models import (
    AccessInfo,
    AnchorInfo,
    Change,
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

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "FEATURES", "ProgressCallback", "StoreAPI", "Subscription"]

#: Items per page of :meth:`StoreAPI.iterate` unless told otherwise …
DEFAULT_PAGE_SIZE = 100
#: … and at most.
MAX_PAGE_SIZE = 10_000
#: The parts :attr:`NodeInfo.features` reports on.
FEATURES = ("databases", "access", "events", "dataset", "sync", "anchoring", "models")

ProgressCallback = Callable[[int, int | None], None]
"""``progress(done, total)``: bytes (or rows) done so far, and the total when known."""


@runtime_checkable
class Subscription(Protocol):
    """Live changes of one database; active as soon as :meth:`StoreAPI.subscribe` returns.

    Iterate it with ``async for``; it ends when the database closes or the
    daemon shuts down. Use it as an async context manager, or call
    :meth:`aclose`, to stop it.
    """

    def __aiter__(self) -> AsyncIterator[Change]:
        """Iterate over the changes."""
        ...

    async def __anext__(self) -> Change:
        """The next change."""
        ...

    async def aclose(self) -> None:
        """Stop receiving changes. Safe to call twice."""
        ...

    async def __aenter__(self) -> Self:
        """Enter: the subscription is already active."""
        ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Exit: :meth:`aclose`."""
        ...


@runtime_checkable
class StoreAPI(Protocol):
    """Everything a client can ask an orbitstore node, in process or over HTTP."""

    # -- node ------------------------------------------------------------------------------------

    async def node(self) -> NodeInfo:
        """This node's identity, version, storage kind and wired-in features."""
        ...

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
        """Create (or open, when it exists) the database ``name`` of ``type``; see ``OrbitStore.open``."""
        ...

    async def open(self, db: str) -> DatabaseInfo:
        """Open a database by address (its manifest must be reachable) or known name."""
        ...

    async def databases(self) -> list[DatabaseInfo]:
        """Every database this node knows (created or opened here, now or before), open ones flagged."""
        ...

    async def info(self, db: str) -> DatabaseInfo:
        """One known database."""
        ...

    async def close(self, db: str) -> None:
        """Close a database (it stays known and can be opened again)."""
        ...

    async def manifest(self, db: str) -> dict[str, Any]:
        """The manifest map exactly as stored (``name``, ``type``, ``accessController``[, ``meta``])."""
        ...

    async def heads(self, db: str) -> list[str]:
        """Hashes of the log's heads, newest first."""
        ...

    # -- entries ---------------------------------------------------------------------------------

    async def add(self, db: str, value: Any) -> str:
        """Append ``value`` to an ``events`` database; returns the entry hash."""
        ...

    async def put(self, db: str, value: Any, *, key: str | None = None) -> str:
        """Write one value; returns the entry hash.

        ``keyvalue``: set ``key`` to ``value``; ``documents``: store the document
        ``value``; ``dataset``: store the row ``value`` as record ``key``.
        """
        ...

    async def get(self, db: str, key: str) -> Item:
        """The live item ``key`` (the entry hash for ``events``); :class:`~orbitstore.errors.NotFound` if none."""
        ...

    async def delete(self, db: str, key: str) -> str:
        """Delete ``key`` from a ``keyvalue``, ``documents`` or ``dataset`` database; returns the DEL entry hash."""
        ...

    async def query(self, db: str, *, where: Mapping[str, Any], limit: int | None = None) -> list[Item]:
        """Live items whose value is a map containing every ``where`` field with an equal value, newest first."""
        ...

    async def iterate(self, db: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None) -> Page:
        """One page of live items, newest first; pass ``page.cursor`` back for the next page."""
        ...

    async def subscribe(self, db: str) -> Subscription:
        """Live changes of ``db`` from now on."""
        ...

    # -- access ----------------------------------------------------------------------------------

    async def access(self, db: str) -> AccessInfo:
        """The database's access controller and its capabilities."""
        ...

    async def grant(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Give ``identity_id`` the ``capability`` (``write``, ``admin``…); needs a mutable controller."""
        ...

    async def revoke(self, db: str, capability: str, identity_id: str) -> AccessInfo:
        """Take ``capability`` from ``identity_id``; needs a mutable controller."""
        ...

    # -- sync (pending: orbitstore.sync) ---------------------------------------------------------

    async def peers(self) -> list[PeerInfo]:
        """Connected peers."""
        ...

    async def sync_status(self, db: str) -> SyncStatus:
        """Replication state of ``db``."""
        ...

    # -- dataset ---------------------------------------------------------------------------------

    async def import_csv(
        self,
        db: str,
        source: bytes | AsyncIterable[bytes],
        *,
        id_column: str | None = None,
        target: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import CSV (a header line, then rows) into a dataset, streamed.

        Without a schema on the dataset one is inferred from the file
        (``target`` names its target column); record ids come from
        ``id_column`` or are generated. ``progress(bytes_done, total)`` reports
        the bytes of ``source`` consumed.
        """
        ...

    def export_csv(self, db: str) -> AsyncIterator[bytes]:
        """The dataset's live records as CSV (an ``id`` column first), in chunks."""
        ...

    async def schema(self, db: str) -> dict[str, Any]:
        """The dataset's current schema ``{v, columns: [{name, type, nullable}], target?}``."""
        ...

    async def set_schema(self, db: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Set or evolve the schema from ``{"columns": …, "target": …}``; returns the schema now in force."""
        ...

    async def snapshot(self, db: str) -> SnapshotInfo:
        """Freeze the dataset at its current heads."""
        ...

    # -- anchoring -------------------------------------------------------------------------------

    async def anchor(self, cid: str, *, wait: bool = False) -> AnchorInfo:
        """Submit ``cid`` (a snapshot or model card) for anchoring.

        Batches close on size or time; with ``wait`` the batch closes now and
        the answer is ``anchored`` (with the receipt) or ``failed`` (with why).
        """
        ...

    async def anchor_status(self, cid: str) -> AnchorInfo:
        """Where anchoring ``cid`` stands."""
        ...

    async def verify(self, subject: str) -> VerifyResult:
        """Verify an anchor receipt (by id), or the receipt of a CID anchored here; ``ok=False`` names the failure."""
        ...

    # -- models (mlbridge) -----------------------------------------------------------------------

    async def estimators(self) -> list[EstimatorInfo]:
        """The estimator names :meth:`train` accepts (short names that pick by task first)."""
        ...

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
        """Train a model on the dataset ``db`` (a snapshot of it is taken now) or on ``snapshot`` (a CID).

        Give exactly one of ``db`` and ``snapshot``. ``target`` defaults to the
        schema's; ``params`` go to the estimator; ``seed`` fixes the split, the
        folds and every unset ``random_state``; ``test_size`` is the holdout
        fraction; ``cv`` the cross-validation folds (``0``: none). With
        ``anchor`` the snapshot is anchored first (if it is not yet) and the
        card links the receipt; a snapshot this node anchored before is linked
        anyway. The model is registered; the answer names it by its card CID.
        """
        ...

    async def models(self, db: str | None = None) -> list[ModelInfo]:
        """Registered models, oldest first, optionally only those of the dataset ``db``."""
        ...

    async def model_card(self, model: str) -> ModelCardInfo:
        """The card of ``model`` (a card CID): the block's value and its Markdown rendering."""
        ...

    async def predict(
        self, model: str, rows: list[Mapping[str, Any]], *, proba: bool = False, log: bool = False
    ) -> Predictions:
        """Predictions of ``model`` for ``rows`` (maps of column → value).

        With ``proba``, classifiers also give each class's probability; with
        ``log``, the request and its result go to the node's prediction log.
        """
        ...

    async def reproduce(self, model: str) -> ReproduceResult:
        """Retrain ``model`` from its card's snapshot, split and seed, and compare fingerprints."""
        ...

    async def verify_model(self, model: str) -> ProvenanceReport:
        """Check the provenance chain of ``model``: model file → card → snapshot → records (→ anchor)."""
        ...

    # -- lifetime --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Release what this API object owns. Safe to call twice."""
        ...
