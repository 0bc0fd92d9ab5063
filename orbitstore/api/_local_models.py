"""The models part of :class:`~orbitstore.api.local.LocalAPI`: train, register, predict, reproduce, verify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orbitstore.api._known import KnownDatabases
from orbitstore.api._models import Models, check_train_options
from orbitstore.api._validate import check_cid, check_mapping, check_text
from orbitstore.api.errors import InvalidRequest, NotAvailable
from orbitstore.api.models import (
    EstimatorInfo,
    ModelCardInfo,
    ModelInfo,
    Predictions,
    ProvenanceReport,
    ReproduceResult,
)
from orbitstore.api.protocol import MAX_PAGE_SIZE
from orbitstore.databases.dataset import Dataset


class _ModelCalls:
    """Model calls, through mlbridge (:class:`Models`); :class:`NotAvailable` when it is not installed."""

    models_service: Models
    _known: KnownDatabases

    if TYPE_CHECKING:  # provided by the other parts of LocalAPI

        def _check_open(self) -> None: ...

        async def _dataset(self, db: str) -> Dataset: ...

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
