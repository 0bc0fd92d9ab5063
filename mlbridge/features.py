"""Features and target from a snapshot's schema, and their deterministic encoding into a float matrix.

A :class:`FeatureSpec` is fixed when a model is trained and recorded in its card
(``features``); predicting and incremental training encode with the same spec,
so a category seen in training keeps its code forever and an unseen one reads
as missing (NaN for ``ordinal``, all zeros for ``onehot``). Categories are the
distinct non-null values of the training snapshot, sorted by their UTF-8 bytes.

Default features: every column but the target whose type is ``int``, ``float``,
``bool``, ``timestamp`` or ``category``; ``str`` columns only when named in
``features=`` (then encoded as categories); ``bytes`` never.

The task follows the target's type: ``float``, ``int`` and ``timestamp`` targets
are regression, ``bool``, ``category`` and ``str`` targets classification (declare
integer class codes as ``category`` to classify them). An explicitly chosen
estimator's own kind wins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlbridge.config import ENCODINGS
from mlbridge.frame import _schema_of, iter_frames
from orbitstore.databases.dataset.schema import Column, parse_timestamp
from orbitstore.errors import ModelError, SchemaError

if TYPE_CHECKING:
    from orbitstore.databases.dataset import Schema, Snapshot

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "Feature",
    "FeatureSpec",
    "Target",
    "batches",
    "scan_spec",
    "select_features",
    "task_for",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"
_NUMERIC = ("int", "float", "bool", "timestamp")
_CATEGORICAL = ("category", "str")
_DEFAULT_FEATURE_TYPES = (*_NUMERIC, "category")


def task_for(column_type: str) -> str:
    """``classification`` for bool/category/str targets, ``regression`` for int/float/timestamp."""
    if column_type in ("bool", "category", "str"):
        return CLASSIFICATION
    if column_type in ("int", "float", "timestamp"):
        return REGRESSION
    raise ModelError(f"a {column_type!r} column cannot be a target")


def _utf8(value: str) -> bytes:
    return value.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Feature:
    """One input column: its schema ``type``, its ``encoding`` and, for categories, the known ``categories``.

    ``encoding`` is ``number`` (int, float, bool as 0/1, timestamp as ms since
    the epoch), ``ordinal`` (the category's index) or ``onehot`` (one column per
    category, named ``column=value``).
    """

    name: str
    type: str
    encoding: str
    categories: tuple[str, ...] = ()

    @property
    def outputs(self) -> tuple[str, ...]:
        """The matrix columns this feature becomes."""
        if self.encoding == "onehot":
            return tuple(f"{self.name}={c}" for c in self.categories)
        return (self.name,)

    def encode(self, values: pd.Series) -> np.ndarray:
        """``values`` (a column of a snapshot frame) as a ``(rows, len(outputs))`` float64 block."""
        if self.encoding == "number":
            column: np.ndarray = _numbers(self.type, values).reshape(-1, 1)
            return column
        # -1 for null and for a category the spec does not know
        codes = np.asarray(pd.Index(list(self.categories), dtype=object).get_indexer(values.astype(object)))
        if self.encoding == "ordinal":
            out: np.ndarray = codes.astype(np.float64)
            out[codes < 0] = np.nan
            return out.reshape(-1, 1)
        block = np.zeros((len(codes), len(self.categories)), dtype=np.float64)
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        return block

    def to_wire(self) -> dict[str, Any]:
        """``{name, type, encoding, categories?}``."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "encoding": self.encoding}
        if self.encoding != "number":
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_wire(cls, value: Any) -> Feature:
        """Parse :meth:`to_wire`'s map."""
        try:
            return cls(value["name"], value["type"], value["encoding"], tuple(value.get("categories", ())))
        except (KeyError, TypeError) as exc:
            raise ModelError(f"malformed feature {value!r}: {exc}") from None


def _numbers(kind: str, values: pd.Series) -> np.ndarray:
    if kind == "timestamp":
        if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
            stamps = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
            out: np.ndarray = stamps.to_numpy("datetime64[ms]").astype(np.int64).astype(np.float64)
            out[values.isna().to_numpy()] = np.nan
            return out
        return np.array([np.nan if _missing(v) else float(parse_timestamp(v)) for v in values], dtype=np.float64)
    if values.dtype == object:
        return np.array([np.nan if _missing(v) else float(v) for v in values], dtype=np.float64)
    numbers: np.ndarray = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


@dataclass(frozen=True, slots=True)
class Target:
    """The column a model predicts: its ``type``, the ``task`` and, for classification, the ``classes``."""

    name: str
    type: str
    task: str
    classes: tuple[Any, ...] = ()

    def labels(self, values: pd.Series) -> np.ndarray:
        """The target column as the 1-D array estimators fit on (str labels as objects)."""
        kind = self.type
        if kind == "float" or (kind in ("int", "timestamp") and self.task == REGRESSION):
            return _numbers(kind, values)
        if kind == "bool":
            flags: np.ndarray = values.to_numpy(dtype=bool)
            return flags
        if kind in ("int", "timestamp"):
            codes: np.ndarray = _numbers(kind, values).astype(np.int64)
            return codes
        return np.asarray(values.astype(object).to_numpy(), dtype=object)

    def to_wire(self) -> dict[str, Any]:
        """``{name, type, task, classes?}``."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "task": self.task}
        if self.task == CLASSIFICATION:
            out["classes"] = [_plain(c) for c in self.classes]
        return out

    @classmethod
    def from_wire(cls, value: Any) -> Target:
        """Parse :meth:`to_wire`'s map."""
        try:
            return cls(value["name"], value["type"], value["task"], tuple(value.get("classes", ())))
        except (KeyError, TypeError) as exc:
            raise ModelError(f"malformed target {value!r}: {exc}") from None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """The model's inputs (in matrix order) and its target, fixed at training time.

    ``ignored`` names the snapshot's other columns: rows to predict may carry
    them (they are not read), any other column is refused as a likely typo.
    """

    features: tuple[Feature, ...]
    target: Target
    ignored: tuple[str, ...] = ()

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        schema: Schema,
        *,
        categories: Mapping[str, Iterable[Any]],
        classes: Iterable[Any] = (),
        target: str | None = None,
        features: Sequence[str] | None = None,
        encoding: str = "ordinal",
        task: str | None = None,
    ) -> FeatureSpec:
        """A spec from the schema and the distinct values seen (``categories`` per column, ``classes``)."""
        if encoding not in ENCODINGS:
            raise ModelError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
        target_name = target if target is not None else schema.target
        if target_name is None:
            raise ModelError("the schema names no target column: pass target=")
        target_column = _column(schema, target_name)
        chosen = select_features(schema, target_name, features)
        out = []
        for name in chosen:
            column = schema.column(name)
            if column.type in _CATEGORICAL:
                seen = sorted({str(v) for v in categories.get(name, ()) if not _missing(v)}, key=_utf8)
                out.append(Feature(name, column.type, encoding, tuple(seen)))
            else:
                out.append(Feature(name, column.type, "number"))
        kind = task if task is not None else task_for(target_column.type)
        labels: tuple[Any, ...] = ()
        if kind == CLASSIFICATION:
            labels = tuple(_plain(c) for c in _sorted_labels(c for c in classes if not _missing(c)))
        ignored = tuple(n for n in schema.names if n != target_name and n not in chosen)
        return cls(tuple(out), Target(target_name, target_column.type, kind, labels), ignored)

    @classmethod
    def from_frame(
        cls,
        schema: Schema,
        frame: pd.DataFrame,
        *,
        target: str | None = None,
        features: Sequence[str] | None = None,
        encoding: str = "ordinal",
        task: str | None = None,
    ) -> FeatureSpec:
        """A spec whose categories and classes are those of ``frame`` (a snapshot frame)."""
        target_name = target if target is not None else schema.target
        chosen = select_features(schema, target_name, features) if target_name is not None else ()
        categories = {n: _distinct(frame[n]) for n in chosen if schema.column(n).type in _CATEGORICAL}
        classes = _distinct(frame[target_name]) if target_name is not None and target_name in frame else []
        return cls.build(
            schema,
            categories=categories,
            classes=classes,
            target=target,
            features=features,
            encoding=encoding,
            task=task,
        )

    # -- encoding --------------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        """The snapshot columns the spec reads (features, then the target)."""
        return (*(f.name for f in self.features), self.target.name)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The names of the matrix columns, in order."""
        return tuple(name for f in self.features for name in f.outputs)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The features of ``frame`` as a C-ordered ``(rows, len(outputs))`` float64 matrix."""
        missing = [f.name for f in self.features if f.name not in frame.columns]
        if missing:
            raise ModelError(f"the rows lack the feature columns {missing}")
        if not self.features:
            return np.empty((len(frame), 0), dtype=np.float64)
        blocks = [f.encode(frame[f.name]) for f in self.features]
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float64)

    def labels(self, frame: pd.DataFrame) -> np.ndarray:
        """The target of ``frame`` as a 1-D array."""
        if self.target.name not in frame.columns:
            raise ModelError(f"the rows lack the target column {self.target.name!r}")
        return self.target.labels(frame[self.target.name])

    def with_target_present(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without the rows whose target is null (they cannot be learnt from)."""
        present = frame[self.target.name].notna().to_numpy()
        return frame if bool(present.all()) else frame.loc[present]

    def rows_frame(self, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
        """Rows to predict (maps of column → value, or a DataFrame) as a frame the spec can encode.

        A column the model does not know raises :class:`~orbitstore.errors.ModelError`
        (a typo would otherwise read as missing); an absent feature is null.
        """
        if isinstance(rows, pd.DataFrame):
            return rows
        known = {*self.columns, *self.ignored}
        names = [f.name for f in self.features]
        columns: dict[str, list[Any]] = {n: [] for n in names}
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise ModelError(f"row {i} is a {type(row).__name__}, not a map of column to value")
            unknown = [k for k in row if k not in known]
            if unknown:
                raise ModelError(f"row {i}: unknown columns {unknown} (the model reads {names})")
            for n in names:
                columns[n].append(row.get(n))
        data = {}
        for feature in self.features:
            values = columns[feature.name]
            if feature.encoding == "number":
                data[feature.name] = pd.Series(_row_numbers(feature, values), dtype=np.float64)
            else:
                data[feature.name] = pd.Series(values, dtype=object)
        return pd.DataFrame(data)

    # -- wire --------------------------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """``{columns: [feature, …], outputs: [names], target: {…}, ignored: [names]}`` (the card's ``features``)."""
        return {
            "columns": [f.to_wire() for f in self.features],
            "outputs": list(self.outputs),
            "target": self.target.to_wire(),
            "ignored": list(self.ignored),
        }

    @classmethod
    def from_wire(cls, value: Any) -> FeatureSpec:
        """Parse a card's ``features`` map."""
        if not isinstance(value, dict) or not isinstance(value.get("columns"), list):
            raise ModelError("a card's features must be a map with a list of columns")
        spec = cls(
            tuple(Feature.from_wire(f) for f in value["columns"]),
            Target.from_wire(value.get("target")),
            tuple(str(n) for n in value.get("ignored", ())),
        )
        if list(spec.outputs) != value.get("outputs"):
            raise ModelError("a card's feature outputs do not follow from its columns")
        return spec


def _row_numbers(feature: Feature, values: list[Any]) -> list[float]:
    out = []
    column = Column(feature.name, feature.type)
    for value in values:
        if _missing(value):
            out.append(float("nan"))
            continue
        try:
            wire = column.check(value)
        except SchemaError as exc:
            raise ModelError(str(exc)) from None
        out.append(float(wire))
    return out


def _column(schema: Schema, name: str) -> Column:
    if name not in schema:
        raise ModelError(f"no column {name!r} in the schema ({', '.join(schema.names)})")
    return schema.column(name)


def select_features(schema: Schema, target: str | None, features: Sequence[str] | None) -> tuple[str, ...]:
    """The feature columns: ``features`` checked against the schema, or the defaults (see module doc)."""
    if features is None:
        return tuple(c.name for c in schema.columns if c.name != target and c.type in _DEFAULT_FEATURE_TYPES)
    out = []
    for name in features:
        column = _column(schema, name)
        if name == target:
            raise ModelError(f"{name!r} is the target; it cannot also be a feature")
        if column.type == "bytes":
            raise ModelError(f"column {name!r} holds bytes, which cannot be a feature")
        out.append(name)
    if len(set(out)) != len(out):
        raise ModelError("a feature is named twice")
    return tuple(out)


def _distinct(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().unique())
        return [c for c in values.cat.categories if c in present]
    return [_plain(v) for v in pd.unique(values.dropna())]


def _sorted_labels(values: Iterable[Any]) -> list[Any]:
    distinct = list(dict.fromkeys(values))
    if all(isinstance(v, str) for v in distinct):
        return sorted(distinct, key=_utf8)
    return sorted(distinct)


async def scan_spec(
    snapshot: Snapshot,
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    encoding: str = "ordinal",
    task: str | None = None,
    batch_rows: int = 10_000,
) -> FeatureSpec:
    """A spec over the whole snapshot, reading it batch by batch (for snapshots larger than memory)."""
    schema = _schema_of(snapshot)
    target_name = target if target is not None else schema.target
    if target_name is None:
        raise ModelError("the schema names no target column: pass target=")
    chosen = select_features(schema, target_name, features)
    wanted = [n for n in chosen if schema.column(n).type in _CATEGORICAL]
    categories: dict[str, set[Any]] = {n: set() for n in wanted}
    classes: set[Any] = set()
    async for frame in iter_frames(snapshot, batch_rows=batch_rows, columns=[*wanted, target_name]):
        for name in wanted:
            categories[name].update(_distinct(frame[name]))
        classes.update(_distinct(frame[target_name]))
    return FeatureSpec.build(
        schema,
        categories=categories,
        classes=classes,
        target=target_name,
        features=chosen,
        encoding=encoding,
        task=task,
    )


async def batches(
    snapshot: Snapshot, spec: FeatureSpec, *, batch_rows: int = 10_000
) -> AsyncIterator[tuple[pd.Index, np.ndarray, np.ndarray]]:
    """``(record ids, X, y)`` batch by batch, encoded with ``spec`` (rows with a null target skipped)."""
    async for frame in iter_frames(snapshot, batch_rows=batch_rows, columns=list(spec.columns)):
        kept = spec.with_target_present(frame)
        if len(kept):
            yield kept.index, spec.matrix(kept), spec.labels(kept)
