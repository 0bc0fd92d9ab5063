"""Training over a snapshot: split, cross-validate, fit (off the event loop), store, sign, register.

Determinism: the rows come in the snapshot's order, the holdout split and the
cross-validation folds are drawn from ``random_state``, and every
``random_state`` parameter of the estimator (nested ones included) that is
left at ``None`` is set to it. The same snapshot, estimator, params and seed
therefore give the same fitted state — the same :func:`~mlbridge._wire.fitted_hash`,
the same skops bytes and the same model CID — on one machine and library set.
"""

from __future__ import annotations

import asyncio
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils import get_tags

from mlbridge._wire import fitted_hash, params_to_wire, value_hash
from mlbridge.artifacts import dumps_model, store_model
from mlbridge.card import Delta, Fingerprint, ModelCard
from mlbridge.config import DEFAULT_ESTIMATOR, PROBE_ROWS
from mlbridge.estimators import class_path, make_estimator, task_of
from mlbridge.features import CLASSIFICATION, FeatureSpec, select_features, task_for
from mlbridge.frame import _schema_of, to_frame
from orbitstore.errors import ModelError, ReceiptInvalid

if TYPE_CHECKING:
    from mlbridge.registry import Registry
    from orbitstore.databases.dataset import Snapshot
    from orbitstore.identities import Identity
    from orbitstore.store import OrbitStore

__all__ = ["TrainResult", "data_digest", "library_versions", "open_snapshot", "probe_indices", "train"]


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What :func:`train` (or :func:`~mlbridge.update`) made: the signed card, its CID, the model and metrics.

    ``estimator`` is the fitted estimator itself; ``registered`` the registry
    entry's hash when the model was registered.
    """

    card: ModelCard
    card_cid: str
    model_cid: str
    estimator: Any
    registered: str | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        """The card's metrics (``holdout`` and ``cv``)."""
        return self.card.metrics


def library_versions() -> dict[str, str]:
    """Versions of Python and of every library that shapes a fitted model (recorded in cards)."""
    import pandas
    import scipy
    import sklearn
    import skops

    import orbitstore

    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "skops": skops.__version__,
        "orbitstore": orbitstore.__version__,
    }


async def open_snapshot(store: OrbitStore, snapshot: Snapshot | str) -> Snapshot:
    """``snapshot`` itself, or the snapshot of that CID from ``store``."""
    if isinstance(snapshot, str):
        return await store.open_snapshot(snapshot)
    return snapshot


def probe_indices(rows: int, count: int = PROBE_ROWS) -> np.ndarray:
    """The fixed probe rows: ``count`` evenly spaced row numbers of ``rows`` (all rows when fewer)."""
    if rows <= count:
        return np.arange(rows)
    return np.unique(np.linspace(0, rows - 1, count).round().astype(np.int64))


def data_digest(X: np.ndarray, y: np.ndarray) -> str:
    """sha256 (hex) of the encoded training matrix and labels, in row order."""
    return value_hash([np.ascontiguousarray(X, dtype=np.float64), np.asarray(y)])


# -- fitting (runs in a worker thread) ---------------------------------------------------------------


def wants_2d_target(estimator: Any) -> bool:
    """True for estimators that only fit multi-output targets (MultiTaskLasso, chains, …): y becomes one column."""
    try:
        return not get_tags(estimator).target_tags.single_output
    except (AttributeError, TypeError):
        return False


def fit(estimator: Any, X: np.ndarray, y: np.ndarray, *, method: str = "fit", **kwargs: Any) -> Any:
    """``estimator.fit`` (or ``partial_fit``) with ``y`` shaped as the estimator wants; returns the estimator."""
    target = y.reshape(-1, 1) if wants_2d_target(estimator) else y
    try:
        getattr(estimator, method)(X, target, **kwargs)
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        raise ModelError(f"{type(estimator).__name__}.{method} failed: {exc}") from exc
    return estimator


def predict(estimator: Any, X: np.ndarray) -> np.ndarray:
    """``estimator.predict(X)`` as a 1-D array."""
    out = np.asarray(estimator.predict(X))
    return out.reshape(-1) if out.ndim > 1 else out


def _scores(estimator: Any, X: np.ndarray, positive: Any) -> np.ndarray | None:
    """Scores for the positive class (binary ROC AUC), or ``None`` when the estimator gives none."""
    try:
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            classes = list(getattr(estimator, "classes_", []))
            if isinstance(proba, np.ndarray) and proba.ndim == 2 and positive in classes:
                return np.asarray(proba[:, classes.index(positive)], dtype=np.float64)
        if hasattr(estimator, "decision_function"):
            scores = np.asarray(estimator.decision_function(X))
            if scores.ndim == 1:
                return scores.astype(np.float64)
    except (AttributeError, ValueError, NotImplementedError):
        return None
    return None


def _proba(estimator: Any, X: np.ndarray, labels: Sequence[Any]) -> np.ndarray | None:
    try:
        if not hasattr(estimator, "predict_proba"):
            return None
        proba = estimator.predict_proba(X)
        if list(getattr(estimator, "classes_", [])) != list(labels) or not isinstance(proba, np.ndarray):
            return None
        return np.asarray(proba, dtype=np.float64)
    except (AttributeError, ValueError, NotImplementedError):
        return None


def evaluate(estimator: Any, X: np.ndarray, y: np.ndarray, spec: FeatureSpec) -> dict[str, float | None]:
    """Metrics of a fitted estimator on ``X, y``: accuracy/f1/roc_auc or r2/mae/rmse."""
    predicted = predict(estimator, X)
    if spec.target.task == CLASSIFICATION:
        classes = list(spec.target.classes)
        present = list(np.unique(y)) if len(y) else []
        out: dict[str, float | None] = {"accuracy": float(accuracy_score(y, predicted))}
        if len(classes) <= 2:
            positive = classes[-1] if classes else None
            out["f1"] = float(f1_score(y, predicted, pos_label=positive, average="binary", zero_division=0.0))
            scores = _scores(estimator, X, positive) if len(present) == 2 else None
            out["roc_auc"] = float(roc_auc_score(y == positive, scores)) if scores is not None else None
        else:
            out["f1_macro"] = float(f1_score(y, predicted, average="macro", labels=classes, zero_division=0.0))
            proba = _proba(estimator, X, classes) if len(present) == len(classes) else None
            out["roc_auc_ovr"] = (
                float(roc_auc_score(y, proba, multi_class="ovr", labels=classes)) if proba is not None else None
            )
        return {k: _finite(v) for k, v in out.items()}
    y_float = np.asarray(y, dtype=np.float64)
    p_float = np.asarray(predicted, dtype=np.float64)
    return {
        "r2": _finite(float(r2_score(y_float, p_float))) if len(y) >= 2 else None,
        "mae": _finite(float(mean_absolute_error(y_float, p_float))),
        "rmse": _finite(float(np.sqrt(mean_squared_error(y_float, p_float)))),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class _Split:
    train: np.ndarray
    test: np.ndarray
    stratified: bool


def split(y: np.ndarray, *, test_size: float, seed: int, task: str) -> _Split:
    """The holdout split of row numbers (stratified for classification when every class allows it)."""
    n = len(y)
    rows = np.arange(n)
    if test_size <= 0 or n < 4:
        return _Split(rows, rows[:0], False)
    n_test = int(np.ceil(test_size * n)) if test_size < 1 else int(test_size)
    if n_test >= n:
        raise ModelError(f"test_size {test_size} leaves no rows to train on ({n} rows)")
    stratify = None
    if task == CLASSIFICATION:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
            stratify = y
    train, test = train_test_split(rows, test_size=n_test, random_state=seed, shuffle=True, stratify=stratify)
    return _Split(np.sort(train), np.sort(test), stratify is not None)


def cross_validate(
    estimator: Any, X: np.ndarray, y: np.ndarray, spec: FeatureSpec, *, cv: int, seed: int
) -> tuple[int, dict[str, dict[str, float | None]]]:
    """``cv``-fold cross-validation on ``X, y`` (fewer folds when the smallest class is smaller); (folds, metrics)."""
    n = len(y)
    folds = min(cv, n)
    splitter: KFold | StratifiedKFold
    if spec.target.task == CLASSIFICATION:
        _, counts = np.unique(y, return_counts=True)
        folds = min(folds, int(counts.min()))
        splitter = StratifiedKFold(n_splits=max(folds, 2), shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=max(folds, 2), shuffle=True, random_state=seed)
    if folds < 2:
        return 0, {}
    runs: list[dict[str, float | None]] = []
    for train_rows, test_rows in splitter.split(X, y):
        model = fit(clone(estimator), X[train_rows], y[train_rows])
        runs.append(evaluate(model, X[test_rows], y[test_rows], spec))
    summary: dict[str, dict[str, float | None]] = {}
    for name in runs[0]:
        values = [r[name] for r in runs]
        if any(v is None for v in values):
            summary[name] = {"mean": None, "std": None}
        else:
            array = np.asarray(values, dtype=np.float64)
            summary[name] = {"mean": float(array.mean()), "std": float(array.std())}
    return folds, summary


def seed_estimator(estimator: Any, seed: int) -> Any:
    """Set every ``random_state`` parameter left at ``None`` (nested ones too) to ``seed``."""
    params = estimator.get_params(deep=True)
    unset = {k: seed for k, v in params.items() if (k == "random_state" or k.endswith("__random_state")) and v is None}
    if unset:
        estimator.set_params(**unset)
    return estimator


@dataclass(frozen=True, slots=True)
class Fitted:
    """The outcome of fitting in the worker thread."""

    estimator: Any
    metrics: dict[str, Any]
    training: dict[str, Any]
    fingerprint: Fingerprint
    model_bytes: bytes


def fingerprint_of(estimator: Any, X: np.ndarray) -> Fingerprint:
    """Fitted-state hash and probe-prediction hash of ``estimator`` (probe rows taken from ``X``)."""
    probe = X[probe_indices(len(X))]
    predictions = predict(estimator, probe) if len(probe) else np.empty(0)
    return Fingerprint(fitted_hash(estimator), value_hash(predictions), len(probe))


def _fit_all(
    estimator: Any, X: np.ndarray, y: np.ndarray, spec: FeatureSpec, *, test_size: float, cv: int, seed: int
) -> Fitted:
    if len(y) < 2:
        raise ModelError(f"{len(y)} rows with a target: too few to train on")
    parts = split(y, test_size=test_size, seed=seed, task=spec.target.task)
    X_train, y_train = X[parts.train], y[parts.train]
    folds, cv_metrics = (0, {}) if cv < 2 else cross_validate(estimator, X_train, y_train, spec, cv=cv, seed=seed)
    model = fit(estimator, X_train, y_train)
    holdout = evaluate(model, X[parts.test], y[parts.test], spec) if len(parts.test) >= 2 else {}
    training = {
        "test_size": float(test_size),
        "cv": int(cv),
        "folds": folds,
        "stratified": parts.stratified,
        "rows": len(y),
        "train_rows": len(parts.train),
        "test_rows": len(parts.test),
        "data": data_digest(X, y),
    }
    return Fitted(
        model,
        {"holdout": holdout, "cv": cv_metrics},
        training,
        fingerprint_of(model, X),
        dumps_model(model),
    )


# -- the public coroutine ----------------------------------------------------------------------------


async def prepare(
    snapshot: Snapshot,
    *,
    spec: FeatureSpec | None = None,
    target: str | None = None,
    features: Sequence[str] | None = None,
    encoding: str = "ordinal",
    task: str | None = None,
) -> tuple[FeatureSpec, np.ndarray, np.ndarray, Any]:
    """Read the snapshot and encode it: ``(spec, X, y, record ids)`` (rows with a null target dropped)."""
    schema = _schema_of(snapshot)
    if spec is None:
        target_name = target if target is not None else schema.target
        if target_name is None:
            raise ModelError("the schema names no target column: pass target=")
        columns = [*select_features(schema, target_name, features), target_name]
        frame = await to_frame(snapshot, columns=columns)
        spec = FeatureSpec.from_frame(
            schema, frame, target=target_name, features=features, encoding=encoding, task=task
        )
    else:
        frame = await to_frame(snapshot, columns=list(spec.columns))
    frame = spec.with_target_present(frame)
    return spec, spec.matrix(frame), spec.labels(frame), frame.index


async def train(
    snapshot: Snapshot | str,
    *,
    store: OrbitStore,
    estimator: Any = DEFAULT_ESTIMATOR,
    target: str | None = None,
    params: dict[str, Any] | None = None,
    test_size: float = 0.25,
    cv: int = 5,
    random_state: int = 0,
    features: Sequence[str] | None = None,
    encoding: str = "ordinal",
    anchor: str | None = None,
    register: bool = True,
    registry: Registry | None = None,
    identity: Identity | None = None,
) -> TrainResult:
    """Train ``estimator`` on a snapshot (or its CID) and publish the model, its signed card and a registry entry.

    ``estimator``: a name (``"random_forest"``, any classifier or regressor class
    name or its snake_case form), an import path, or an instance (cloned).
    ``target`` defaults to the schema's target; ``features`` to the schema's
    usable columns. ``params`` go to ``set_params``. The holdout is
    ``test_size`` of the rows; ``cv``-fold cross-validation runs on the rest
    (``cv < 2``: none). ``anchor`` is the CID of an anchor receipt of this
    snapshot (e.g. ``(await db.anchors())[snap.cid]``), recorded in the card.
    The model is registered in ``registry`` (default: the store's
    ``mlbridge-models`` database) unless ``register`` is false. The card is
    signed by ``identity`` (default: the store's).
    """
    snap = await open_snapshot(store, snapshot)
    if not 0 <= test_size < 1 and not (isinstance(test_size, int) and test_size >= 1):
        raise ModelError("test_size must be a fraction in [0, 1) or a row count")
    schema = _schema_of(snap)
    target_name = target if target is not None else schema.target
    if target_name is None:
        raise ModelError("the schema names no target column: pass target=")
    if target_name not in schema:
        raise ModelError(f"no column {target_name!r} in the schema ({', '.join(schema.names)})")
    guess = task_for(schema.column(target_name).type)
    made = make_estimator(estimator, task=guess, params=params)
    seed_estimator(made, random_state)
    task = task_of(made, guess)
    if anchor is not None:
        await _check_anchor(store, anchor, snap.cid)
    spec, X, y, _ids = await prepare(snap, target=target_name, features=features, encoding=encoding, task=task)
    fitted = await asyncio.to_thread(_fit_all, made, X, y, spec, test_size=test_size, cv=cv, seed=random_state)
    return await publish(
        store,
        fitted=fitted,
        spec=spec,
        snapshot=snap,
        seed=random_state,
        anchor=anchor,
        register=register,
        registry=registry,
        identity=identity,
    )


async def _check_anchor(store: OrbitStore, anchor: str, snapshot_cid: str) -> None:
    from orbitstore.anchoring import load_receipt

    try:
        receipt = await load_receipt(anchor, storage=store.blocks)
    except ReceiptInvalid as exc:
        raise ModelError(f"anchor {anchor}: {exc}") from None
    if str(receipt.cid) != snapshot_cid:
        raise ModelError(f"anchor {anchor} is a receipt for {receipt.cid}, not for snapshot {snapshot_cid}")


async def publish(
    store: OrbitStore,
    *,
    fitted: Fitted,
    spec: FeatureSpec,
    snapshot: Snapshot,
    seed: int,
    anchor: str | None,
    register: bool,
    registry: Registry | None,
    identity: Identity | None,
    parent: str | None = None,
    delta: Delta | None = None,
) -> TrainResult:
    """Store the model, sign and store its card, register it; the end of :func:`train` and ``update``."""
    model_cid = await store_model(store.blocks, fitted.model_bytes)
    card = ModelCard(
        snapshot=snapshot.cid,
        dataset=snapshot.address,
        estimator=class_path(fitted.estimator),
        params=params_to_wire(fitted.estimator.get_params(deep=False)),
        versions=library_versions(),
        seed=seed,
        training=fitted.training,
        metrics=fitted.metrics,
        features=spec,
        fingerprint=fitted.fingerprint,
        trained_at=int(time.time() * 1000),
        trainer=(identity or store.identity).hash,
        model=model_cid,
        anchor=anchor,
        parent=parent,
        delta=delta,
    )
    card = await card.signed(store, identity)
    block = card.encode()
    card_cid = card.cid
    await store.blocks.put(card_cid, block)
    await store.blocks.sync()
    entry = None
    if register:
        from mlbridge.registry import Registry

        target_registry = registry if registry is not None else await Registry.open(store)
        entry = await target_registry.add(card_cid, card)
    return TrainResult(card, card_cid, model_cid, fitted.estimator, entry)
