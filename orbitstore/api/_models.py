"""The API's models: :mod:`mlbridge` (train, registry, cards, predict, reproduce, provenance) over the node's store.

mlbridge (scikit-learn, skops, pandas) is the optional ``ml`` extra and takes
seconds to import, so it is imported on first use; :func:`available` says
whether it is installed without importing it.

Training, reproducing and verifying a model are heavy (the fitting runs in a
worker thread inside mlbridge): one runs at a time per node, the others wait.
Loaded models are kept (the last :data:`LOADED_MODELS`, by card CID; a card
never changes) so that predictions do not reload the model file each time.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orbitstore.api._anchoring import Anchoring
from orbitstore.api.errors import InvalidRequest, NotAvailable
from orbitstore.api.models import (
    EstimatorInfo,
    ModelCardInfo,
    ModelInfo,
    Predictions,
    ProvenanceCheck,
    ProvenanceReport,
    ReproduceResult,
)
from orbitstore.codec import decode
from orbitstore.errors import AnchorError, ModelError, NotFound
from orbitstore.store import OrbitStore

if TYPE_CHECKING:
    import mlbridge
    from orbitstore.databases.dataset import Snapshot

__all__ = ["LOADED_MODELS", "Models", "available", "check_train_options"]

#: Loaded models kept for predictions, most recently used first.
LOADED_MODELS = 4
_PARTS = ("mlbridge", "sklearn", "skops", "pandas")


def available() -> bool:
    """True when mlbridge and what it needs are installed (nothing is imported)."""
    return all(importlib.util.find_spec(name) is not None for name in _PARTS)


async def _mlbridge() -> Any:
    """The mlbridge module, imported in a worker thread the first time (it takes seconds)."""
    found = sys.modules.get("mlbridge")
    if found is not None:
        return found
    if not available():
        raise NotAvailable("models", "mlbridge is not installed: pip install 'orbitstore[ml]'")
    return await asyncio.to_thread(importlib.import_module, "mlbridge")


class Models:
    """mlbridge for one API node: its store, and its anchoring (for anchor receipts in cards and their checks)."""

    def __init__(self, store: OrbitStore, anchoring: Anchoring | None) -> None:
        self.store = store
        self.anchoring = anchoring
        self.available = available()
        self._lock = asyncio.Lock()  # opening the registry and the prediction log
        self._heavy = asyncio.Semaphore(1)
        self._loaded: OrderedDict[str, Any] = OrderedDict()
        self._estimators: list[EstimatorInfo] | None = None

    # -- estimators ------------------------------------------------------------------------------

    async def estimators(self) -> list[EstimatorInfo]:
        """The names ``train`` accepts: the task-picking short names first, then every class name."""
        if self._estimators is None:
            await _mlbridge()
            from sklearn.base import ClassifierMixin

            from mlbridge.estimators import available_estimators, snake_case

            table = available_estimators()
            by_snake = {snake_case(name): cls for name, cls in table.items()}
            out: list[EstimatorInfo] = []
            for name in sorted(by_snake):
                base = name.removesuffix("_classifier")
                if base != name and f"{base}_regressor" in by_snake:
                    classifier, regressor = _probe(by_snake[name]), _probe(by_snake[f"{base}_regressor"])
                    needs_params, deprecated = classifier[0] or regressor[0], classifier[1] or regressor[1]
                    out.append(EstimatorInfo(base, "either", needs_params, deprecated))
            for name, cls in table.items():
                needs_params, deprecated = _probe(cls)
                task = "classification" if issubclass(cls, ClassifierMixin) else "regression"
                out.append(EstimatorInfo(name, task, needs_params, deprecated))
            self._estimators = out
        return list(self._estimators)

    # -- registry --------------------------------------------------------------------------------

    async def _registry(self) -> mlbridge.Registry:
        ml = await _mlbridge()
        async with self._lock:  # one open at a time: the store opens a database once
            registry: mlbridge.Registry = await ml.Registry.open(self.store)
            return registry

    @staticmethod
    def _info(entry: mlbridge.ModelEntry, *, anchor: str | None = None) -> ModelInfo:
        return ModelInfo(
            card=entry.card,
            model=entry.model,
            dataset=entry.dataset,
            snapshot=entry.snapshot,
            estimator=entry.estimator,
            task=entry.task,
            target=entry.target,
            trained_at=entry.trained_at,
            trainer=entry.trainer,
            version=entry.version,
            parent=entry.parent,
            anchor=anchor,
            metrics={str(k): _metric(v) for k, v in entry.metrics.items()},
        )

    async def registered(self, dataset: str | None) -> list[ModelInfo]:
        """Registered models, oldest first (of one dataset address when given)."""
        registry = await self._registry()
        return [self._info(e) for e in await registry.list(dataset=dataset)]

    # -- training --------------------------------------------------------------------------------

    async def _receipt(self, snapshot_cid: str, *, anchor: bool) -> str | None:
        """The receipt of the snapshot's anchor: made now (``anchor``), or one this node already has."""
        if self.anchoring is None:
            if anchor:
                raise NotAvailable("anchoring", "this node has no data directory, so no ledger")
            return None
        if anchor:
            try:
                known = await self.anchoring.status(snapshot_cid)
            except NotFound:
                known = None
            if known is None or known.status != "anchored":
                known = await self.anchoring.submit(snapshot_cid, wait=True)
            if known.status != "anchored" or known.receipt is None:
                raise AnchorError(f"anchoring snapshot {snapshot_cid} failed: {known.reason or known.status}")
            return known.receipt
        try:
            known = await self.anchoring.status(snapshot_cid)
        except (NotFound, AnchorError):
            return None
        return known.receipt if known.status == "anchored" else None

    async def train(
        self,
        snapshot: Snapshot | str,
        *,
        estimator: str,
        target: str | None,
        params: Mapping[str, Any] | None,
        seed: int,
        test_size: float,
        cv: int,
        anchor: bool,
    ) -> ModelInfo:
        """Train on ``snapshot`` (or its CID), anchoring it first when asked; register the model."""
        ml = await _mlbridge()
        snapshot_cid = snapshot if isinstance(snapshot, str) else snapshot.cid
        registry = await self._registry()
        async with self._heavy:
            receipt = await self._receipt(snapshot_cid, anchor=anchor)
            result = await ml.train(
                snapshot,
                store=self.store,
                estimator=estimator,
                target=target,
                params=dict(params) if params is not None else None,
                test_size=test_size,
                cv=cv,
                random_state=seed,
                anchor=receipt,
                registry=registry,
            )
        entry = await registry.get(result.card_cid)
        if entry is None:  # registered just now: only a concurrent close could lose it
            raise ModelError(f"model {result.card_cid} was trained but is not in the registry")
        return self._info(entry, anchor=result.card.anchor)

    # -- one model -------------------------------------------------------------------------------

    async def card(self, card_cid: str) -> ModelCardInfo:
        """The card block's value and its Markdown rendering."""
        ml = await _mlbridge()
        card = await ml.load_card(self.store, card_cid)  # checks the hash and the fields
        block = await self.store.blocks.get(card_cid)
        if block is None:
            raise NotFound(f"model card {card_cid} is not in the block store")
        value = decode(block)
        assert isinstance(value, dict)
        return ModelCardInfo(cid=card_cid, card=value, markdown=card.to_markdown())

    async def _loaded_model(self, card_cid: str) -> mlbridge.LoadedModel:
        ml = await _mlbridge()
        found = self._loaded.get(card_cid)
        if found is not None:
            self._loaded.move_to_end(card_cid)
            loaded: mlbridge.LoadedModel = found
            return loaded
        loaded = await ml.load(card_cid, store=self.store)
        self._loaded[card_cid] = loaded
        while len(self._loaded) > LOADED_MODELS:
            self._loaded.popitem(last=False)
        return loaded

    async def predict(self, card_cid: str, rows: list[Mapping[str, Any]], *, proba: bool, log: bool) -> Predictions:
        """Predict ``rows``; with ``log``, record the request in the node's prediction log."""
        ml = await _mlbridge()
        loaded = await self._loaded_model(card_cid)
        prediction_log = None
        if log:
            async with self._lock:
                prediction_log = await ml.PredictionLog.open(self.store)
        answer = await loaded.predict(rows, proba=proba, log=prediction_log)
        probabilities = answer.probabilities
        return Predictions(
            model=card_cid,
            values=tuple(answer.values),
            classes=None if answer.classes is None else tuple(answer.classes),
            probabilities=None if probabilities is None else tuple(tuple(p) for p in probabilities),
            logged=answer.logged,
        )

    async def reproduce(self, card_cid: str) -> ReproduceResult:
        """Retrain from the card and compare fingerprints."""
        ml = await _mlbridge()
        async with self._heavy:
            result = await ml.reproduce(card_cid, store=self.store)
        return ReproduceResult(
            card=card_cid,
            status=result.status,
            expected=result.expected.params,
            actual=result.actual.params,
            versions=dict(result.versions),
            details=tuple(result.details),
        )

    async def verify(self, card_cid: str) -> ProvenanceReport:
        """Walk model → card → snapshot → records (→ anchor, checked on this node's ledger)."""
        ml = await _mlbridge()
        backend = None
        if self.anchoring is not None and self.anchoring.broken is None:
            backend = self.anchoring.backend
        async with self._heavy:
            report = await ml.verify(card_cid, store=self.store, backend=backend)
        checks = tuple(ProvenanceCheck(name=c.name, status=c.status, detail=c.detail) for c in report.checks)
        return ProvenanceReport(card=card_cid, ok=report.ok, checks=checks)


def _metric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _probe(cls: type[Any]) -> tuple[bool, bool]:
    """(needs params, deprecated): build ``cls`` with defaults (constructors only store their arguments)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cls()
        except TypeError:
            return True, False
    return False, any(issubclass(w.category, (FutureWarning, DeprecationWarning)) for w in caught)


def check_train_options(*, seed: Any, test_size: Any, cv: Any) -> None:
    """Reject option values mlbridge would misread (bools for numbers, out-of-range values)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise InvalidRequest("seed must be an integer from 0 to 2**32 - 1")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 <= test_size < 1:
        raise InvalidRequest("test_size must be a fraction in [0, 1)")
    if not isinstance(cv, int) or isinstance(cv, bool) or not 0 <= cv <= 100:
        raise InvalidRequest("cv must be an integer from 0 (none) to 100")
