"""Choosing an estimator: by name, by import path, or any scikit-learn-compatible instance.

Names (case-sensitive class names, or their snake_case forms) cover every
classifier and regressor :func:`sklearn.utils.all_estimators` lists. A name
``X`` for which both ``X_classifier`` and ``X_regressor`` exist picks the one the
task needs: ``random_forest`` is :class:`~sklearn.ensemble.RandomForestClassifier`
for a category target and :class:`~sklearn.ensemble.RandomForestRegressor` for a
float one (likewise ``extra_trees``, ``gradient_boosting``, ``hist_gradient_boosting``,
``k_neighbors``, ``decision_tree``, ``mlp``, ``bagging``, ``ada_boost``, ``dummy``…).
An import path (``"sklearn.linear_model.Ridge"``) imports that class; an instance
is cloned (:func:`sklearn.base.clone`), never fitted in place.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.utils import all_estimators

from mlbridge.features import CLASSIFICATION, REGRESSION
from orbitstore.errors import ModelError

__all__ = ["available_estimators", "class_path", "make_estimator", "snake_case", "task_of"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``RandomForestClassifier`` → ``random_forest_classifier``; ``MLPRegressor`` → ``mlp_regressor``."""
    return _CAMEL.sub("_", name).lower()


def available_estimators() -> dict[str, type[Any]]:
    """Every classifier and regressor scikit-learn lists, by class name (sorted)."""
    found = all_estimators(type_filter=["classifier", "regressor"])
    return {name: cls for name, cls in sorted(found)}


def _by_name(name: str, task: str | None) -> type[Any] | None:
    table = available_estimators()
    if name in table:
        return table[name]
    snake = {snake_case(n): cls for n, cls in table.items()}
    if name in snake:
        return snake[name]
    pair = (snake.get(f"{name}_classifier"), snake.get(f"{name}_regressor"))
    if pair[0] is not None and pair[1] is not None:
        if task is None:
            raise ModelError(f"{name!r} names a classifier and a regressor: the task decides, and it is unknown")
        return pair[0] if task == CLASSIFICATION else pair[1]
    return None


def _by_path(path: str) -> type[Any]:
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelError(f"cannot import {module_name!r} for estimator {path!r}: {exc}") from None
    found = getattr(module, attribute, None)
    if not isinstance(found, type):
        raise ModelError(f"{path!r} is not a class")
    return found


def make_estimator(estimator: Any, *, task: str | None, params: dict[str, Any] | None = None) -> Any:
    """A fresh, unfitted estimator from a name, an import path, a class or an instance (cloned).

    ``params`` are set with ``set_params`` (so nested ``estimator__x`` names work).
    Raises :class:`~orbitstore.errors.ModelError` naming what could not be made.
    """
    if isinstance(estimator, str):
        cls = _by_name(estimator, task) if "." not in estimator else _by_path(estimator)
        if cls is None:
            close = sorted(n for n in available_estimators() if estimator.lower() in n.lower())[:8]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ModelError(f"no classifier or regressor named {estimator!r}{hint}")
        made = _construct(cls, params)
    elif isinstance(estimator, type):
        made = _construct(estimator, params)
    else:
        if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
            raise ModelError(f"{type(estimator).__name__} is not a scikit-learn estimator (no fit/get_params)")
        try:
            made = clone(estimator)
        except Exception as exc:  # clone's errors name the offending parameter
            raise ModelError(f"cannot clone {type(estimator).__name__}: {exc}") from None
    if params:
        try:
            made.set_params(**params)  # again for instances, and for nested ``estimator__x`` names
        except ValueError as exc:
            raise ModelError(f"{type(made).__name__}: {exc}") from None
    return made


def _construct(cls: type[Any], params: dict[str, Any] | None) -> Any:
    """``cls(**top-level params)``: scikit-learn constructors only store them, so this equals set_params,
    and it also builds estimators whose arguments are required (``VotingClassifier(estimators=...)``)."""
    top = {k: v for k, v in (params or {}).items() if "__" not in k}
    try:
        return cls(**top)
    except TypeError as exc:
        raise ModelError(f"{cls.__name__} cannot be built with defaults ({exc}): give them in params") from None


def task_of(estimator: Any, default: str) -> str:
    """The estimator's own kind when it declares one, else ``default``."""
    if is_classifier(estimator):
        return CLASSIFICATION
    if is_regressor(estimator):
        return REGRESSION
    return default


def class_path(estimator: Any) -> str:
    """``module.QualifiedName`` of the estimator's class (what a card records)."""
    cls = type(estimator)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_estimator(value: Any) -> bool:
    """True for scikit-learn estimator instances."""
    return isinstance(value, BaseEstimator)
