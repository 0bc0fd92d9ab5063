"""Incremental training: update a model from the records added since its snapshot.

The delta is the difference of record ids between the parent card's snapshot
and a newer snapshot of the same dataset: rows whose id is new are added;
ids that disappeared are counted as ``removed`` (a model cannot unlearn them —
retrain with :func:`~mlbridge.train` when that matters). Records rewritten
under an existing id are not part of the delta.

Two methods, chosen from the estimator:

* ``warm_start`` — ensembles with ``n_estimators`` and ``warm_start`` (Random
  Forest, Extra Trees, Gradient Boosting, Bagging…) grow ``trees`` new members
  fitted on the new rows; the old ones are kept as they were;
* ``partial_fit`` — estimators that have it (SGD, naive Bayes, MLP, Perceptron…)
  take one more ``partial_fit`` pass over the new rows.

The new rows are split like training data (the parent's ``test_size`` and
seed): the model learns from the training part and is scored on the rest. The
updated model gets its own card, with ``parent`` (the parent card) and
``delta`` (parent snapshot, new snapshot, rows added and removed, method).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlbridge.artifacts import dumps_model, load_model, read_model_bytes
from mlbridge.card import Delta, ModelCard, load_card
from mlbridge.features import CLASSIFICATION, FeatureSpec
from mlbridge.frame import to_frame
from mlbridge.training import (
    Fitted,
    TrainResult,
    data_digest,
    evaluate,
    fingerprint_of,
    fit,
    open_snapshot,
    publish,
    split,
)
from orbitstore.errors import ModelError

if TYPE_CHECKING:
    from mlbridge.registry import Registry
    from orbitstore.databases.dataset import Snapshot
    from orbitstore.identities import Identity
    from orbitstore.store import OrbitStore

__all__ = ["DeltaRows", "update", "update_method"]

WARM_START = "warm_start"
PARTIAL_FIT = "partial_fit"


def update_method(estimator: Any) -> str:
    """``warm_start`` or ``partial_fit``; :class:`ModelError` when the estimator can do neither."""
    params = estimator.get_params(deep=False)
    if "warm_start" in params and "n_estimators" in params:
        return WARM_START
    if hasattr(estimator, "partial_fit"):
        return PARTIAL_FIT
    raise ModelError(
        f"{type(estimator).__name__} has neither partial_fit nor warm_start with n_estimators: retrain it with train()"
    )


@dataclass(frozen=True, slots=True)
class DeltaRows:
    """The rows of ``snapshot`` whose ids ``parent`` lacks (``X``, ``y``), and the snapshot's full matrix."""

    X: np.ndarray
    y: np.ndarray
    added: int
    removed: int
    X_all: np.ndarray


async def delta_rows(store: OrbitStore, parent_snapshot: str, snapshot: Snapshot, spec: FeatureSpec) -> DeltaRows:
    """Encode the rows added to ``snapshot`` since ``parent_snapshot`` (ids diff), with ``spec``."""
    old = await store.open_snapshot(parent_snapshot)
    old_ids = set(await old.ids())
    frame = spec.with_target_present(await to_frame(snapshot, columns=list(spec.columns)))
    new_ids = set(await snapshot.ids())
    added_mask = np.fromiter((i not in old_ids for i in frame.index), dtype=bool, count=len(frame))
    delta = frame.loc[added_mask]
    return DeltaRows(
        spec.matrix(delta),
        spec.labels(delta),
        int(added_mask.sum()),
        len(old_ids - new_ids),
        spec.matrix(frame),
    )


def apply_update(
    estimator: Any,
    rows: DeltaRows,
    spec: FeatureSpec,
    *,
    method: str,
    n_estimators: int | None,
    test_size: float,
    seed: int,
) -> Fitted:
    """Update ``estimator`` in place from ``rows`` (runs in a worker thread); the outcome for the card."""
    parts = split(rows.y, test_size=test_size, seed=seed, task=spec.target.task)
    X_train, y_train = rows.X[parts.train], rows.y[parts.train]
    if len(y_train) == 0:
        raise ModelError("no new rows to learn from")
    classes = getattr(estimator, "classes_", None)
    if method == WARM_START:
        if spec.target.task == CLASSIFICATION and classes is not None:
            seen = set(np.unique(y_train).tolist())
            missing = [c for c in np.asarray(classes).tolist() if c not in seen]
            if missing or seen - set(np.asarray(classes).tolist()):
                raise ModelError(
                    f"warm-start trees must see every class the model knows; the new rows lack {missing} "
                    f"or bring unknown ones ({sorted(map(str, seen))}): add more rows or retrain"
                )
        estimator.set_params(warm_start=True, n_estimators=n_estimators)
        fit(estimator, X_train, y_train)
    else:
        kwargs = {"classes": classes} if spec.target.task == CLASSIFICATION and classes is not None else {}
        fit(estimator, X_train, y_train, method=PARTIAL_FIT, **kwargs)
    holdout = evaluate(estimator, rows.X[parts.test], rows.y[parts.test], spec) if len(parts.test) >= 2 else {}
    training = {
        "test_size": float(test_size),
        "cv": 0,
        "folds": 0,
        "stratified": parts.stratified,
        "rows": len(rows.y),
        "train_rows": len(parts.train),
        "test_rows": len(parts.test),
        "data": data_digest(rows.X, rows.y),
    }
    return Fitted(
        estimator,
        {"holdout": holdout, "cv": {}},
        training,
        fingerprint_of(estimator, rows.X_all),
        dumps_model(estimator),
    )


async def update(
    card_cid: str,
    snapshot: Snapshot | str,
    *,
    store: OrbitStore,
    trees: int | None = None,
    register: bool = True,
    registry: Registry | None = None,
    identity: Identity | None = None,
    trusted: Iterable[str] = (),
) -> TrainResult:
    """Update the model of card ``card_cid`` with the rows ``snapshot`` added since the card's snapshot.

    ``trees``: members a ``warm_start`` ensemble grows (default: a tenth of it,
    at least one). The result's card names the parent card and the delta.
    """
    parent = await load_card(store, card_cid)
    snap = await open_snapshot(store, snapshot)
    if snap.address != parent.dataset:
        raise ModelError(f"snapshot {snap.cid} is of {snap.address}, the model was trained on {parent.dataset}")
    if snap.cid == parent.snapshot:
        raise ModelError("the snapshot is the one the model was trained on: nothing was added")
    estimator = await asyncio.to_thread(load_model, await read_model_bytes(store.blocks, parent.model), trusted=trusted)
    method = update_method(estimator)
    rows = await delta_rows(store, parent.snapshot, snap, parent.features)
    if rows.added == 0:
        raise ModelError(f"no records were added between {parent.snapshot} and {snap.cid}")
    grown = None
    if method == WARM_START:
        current = int(estimator.get_params(deep=False)["n_estimators"])
        grown = current + (trees if trees is not None else max(1, current // 10))
    fitted = await asyncio.to_thread(
        apply_update,
        estimator,
        rows,
        parent.features,
        method=method,
        n_estimators=grown,
        test_size=_test_size(parent),
        seed=parent.seed,
    )
    return await publish(
        store,
        fitted=fitted,
        spec=parent.features,
        snapshot=snap,
        seed=parent.seed,
        anchor=None,
        register=register,
        registry=registry,
        identity=identity,
        parent=card_cid,
        delta=Delta(parent.snapshot, snap.cid, rows.added, rows.removed, method),
    )


def _test_size(card: ModelCard) -> float:
    value = card.training.get("test_size", 0.25)
    return float(value) if isinstance(value, (int, float)) else 0.25
