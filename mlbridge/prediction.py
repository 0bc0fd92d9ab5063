"""Predictions from a model card, and the optional prediction log.

A model is named by its **card** CID (the card holds the feature encoding the
model needs). :func:`load` fetches and checks the card and the model file once
(:class:`LoadedModel` then predicts without touching storage); :func:`predict`
does both for one request.

The prediction log is a ``dataset`` database (default name
``mlbridge-predictions``) with one record per request::

    id         request id (random, 32 hex)
    model      text       card CID
    owner      text       identity id of the model's trainer
    requester  text       identity id of whoever asked
    at         timestamp  when
    rows       int        how many rows were predicted
    request    bytes      DAG-CBOR list of the input rows (wire values of the feature columns)
    result     bytes      DAG-CBOR list of the predictions

Read access (issue 9) is planned in: ``request`` and ``result`` are opaque
bytes so that they can become ciphertext without a schema change — each record
encrypted under its own content key, wrapped in one key envelope for the
requester's public key and one for the owner's, exactly the per-reader
envelopes of the dataset's read grants; the clear columns are only what routing
and auditing need (model, owner, requester ids, time, row count). Each record
is its own block, so erasing one request (``ERASE``) leaves the log verifiable.
Until encryption lands the log is written in clear: it is off by default, and
the owner should enable it only on a dataset readable by the owner alone.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from mlbridge.artifacts import load_model, read_model_bytes
from mlbridge.card import ModelCard, load_card
from mlbridge.config import PREDICTION_LOG_NAME
from mlbridge.features import CLASSIFICATION, _missing
from mlbridge.training import predict as _predict_1d
from orbitstore.codec import decode, encode
from orbitstore.databases.dataset.schema import Column
from orbitstore.errors import ModelError, SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset import Dataset
    from orbitstore.store import OrbitStore

__all__ = ["LOG_SCHEMA", "LoadedModel", "Prediction", "PredictionLog", "load", "predict"]

#: The prediction log's schema.
LOG_SCHEMA: dict[str, Any] = {
    "model": {"type": "str", "nullable": False},
    "owner": {"type": "str", "nullable": False},
    "requester": {"type": "str", "nullable": False},
    "at": {"type": "timestamp", "nullable": False},
    "rows": {"type": "int", "nullable": False},
    "request": {"type": "bytes", "nullable": False},
    "result": {"type": "bytes", "nullable": False},
}

Rows: TypeAlias = Sequence[Mapping[str, Any]] | pd.DataFrame


@dataclass(frozen=True, slots=True)
class Prediction:
    """One request's result: ``values`` (one per row), and for classifiers the class ``probabilities`` if asked.

    ``logged`` is the prediction-log record id when the request was logged.
    """

    model: str
    values: list[Any]
    classes: list[Any] | None = None
    probabilities: list[list[float]] | None = None
    logged: str | None = None


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A card with its fitted estimator, ready to predict. Make one with :func:`load`."""

    card_cid: str
    card: ModelCard
    estimator: Any = field(repr=False)

    def predict_now(self, rows: Rows, *, proba: bool = False) -> Prediction:
        """Predict in the calling thread (for callers already off the event loop)."""
        spec = self.card.features
        frame = spec.rows_frame(rows)
        if not len(frame):
            return Prediction(self.card_cid, [], None, None)
        X = spec.matrix(frame)
        values = [_plain(v) for v in _predict_1d(self.estimator, X).tolist()]
        classes: list[Any] | None = None
        probabilities: list[list[float]] | None = None
        if proba and spec.target.task == CLASSIFICATION and hasattr(self.estimator, "predict_proba"):
            classes = [_plain(c) for c in getattr(self.estimator, "classes_", spec.target.classes)]
            probabilities = np.asarray(self.estimator.predict_proba(X), dtype=np.float64).tolist()
        return Prediction(self.card_cid, values, classes, probabilities)

    async def predict(
        self,
        rows: Rows,
        *,
        proba: bool = False,
        log: PredictionLog | None = None,
        requester: str | None = None,
    ) -> Prediction:
        """Predict ``rows`` (maps of column → value, or a DataFrame) off the event loop; log when ``log`` is given."""
        result = await asyncio.to_thread(self.predict_now, rows, proba=proba)
        if log is None:
            return result
        record = await log.record(self, rows, result, requester=requester)
        return Prediction(result.model, result.values, result.classes, result.probabilities, record)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


async def load(card_cid: str, *, store: OrbitStore, trusted: Iterable[str] = ()) -> LoadedModel:
    """Fetch the card and its model file, check every block's hash, and load it through the allow-list."""
    card = await load_card(store, card_cid)
    data = await read_model_bytes(store.blocks, card.model)
    estimator = await asyncio.to_thread(load_model, data, trusted=trusted)
    return LoadedModel(card_cid, card, estimator)


async def predict(
    model: str | LoadedModel,
    rows: Rows,
    *,
    store: OrbitStore | None = None,
    proba: bool = False,
    log: PredictionLog | None = None,
    requester: str | None = None,
    trusted: Iterable[str] = (),
) -> Prediction:
    """Predict ``rows`` with ``model`` (a card CID, or a :class:`LoadedModel` to skip loading).

    With ``log``, the request and result are recorded (see the module doc);
    ``requester`` is the asking identity's id (default: the store's).
    """
    if isinstance(model, LoadedModel):
        loaded = model
    else:
        if store is None:
            raise ModelError("predict needs store= to load a model by its card CID")
        loaded = await load(model, store=store, trusted=trusted)
    return await loaded.predict(rows, proba=proba, log=log, requester=requester)


class PredictionLog:
    """The prediction log: a dataset with one record per request (see the module doc)."""

    def __init__(self, db: Dataset) -> None:
        self.db = db

    @classmethod
    async def open(
        cls, store: OrbitStore, *, name: str = PREDICTION_LOG_NAME, address: str | None = None
    ) -> PredictionLog:
        """Open (or create, owned by the store's identity) the log ``name``, or the one at ``address``."""
        if address is not None:
            db: Dataset = await store.open(address, type="dataset")
        else:
            db = await store.open(name, type="dataset", access_controller={"type": "dataset"})
        if await db.schema() is None:
            await db.set_schema(LOG_SCHEMA)
        return cls(db)

    async def record(self, model: LoadedModel, rows: Rows, result: Prediction, *, requester: str | None = None) -> str:
        """Write one request and its result; returns the record id."""
        store = self.db.store
        owner = await store.identities.get_identity(model.card.trainer)
        request = encode(_wire_rows(model, rows))
        record_id = secrets.token_hex(16)
        await self.db.put(
            record_id,
            {
                "model": model.card_cid,
                "owner": owner.id,
                "requester": requester if requester is not None else store.identity.id,
                "at": int(time.time() * 1000),
                "rows": len(result.values),
                "request": request,
                "result": encode(_wire_values(result.values)),
            },
        )
        return record_id

    async def get(self, record_id: str) -> dict[str, Any] | None:
        """A logged request with ``request`` and ``result`` decoded, or ``None``."""
        row = await self.db.get(record_id)
        if row is None:
            return None
        return {**row, "request": decode(row["request"]), "result": decode(row["result"])}


def _wire_rows(model: LoadedModel, rows: Rows) -> list[dict[str, Any]]:
    features = model.card.features.features
    records: list[Mapping[str, Any]]
    records = rows.to_dict(orient="records") if isinstance(rows, pd.DataFrame) else list(rows)
    out = []
    for row in records:
        wire: dict[str, Any] = {}
        for feature in features:
            value = row.get(feature.name)
            if _missing(value):
                wire[feature.name] = None
                continue
            kind = feature.type if feature.type != "category" else "str"
            try:
                wire[feature.name] = Column(feature.name, kind).check(_plain(value))
            except SchemaError:
                wire[feature.name] = str(value)
        out.append(wire)
    return out


def _wire_values(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if (isinstance(v, float) and v != v) or v in (float("inf"), float("-inf")):
            out.append(None)  # DAG-CBOR has no NaN or infinity
        else:
            out.append(v if isinstance(v, (str, bool, int, float)) or v is None else str(v))
    return out
