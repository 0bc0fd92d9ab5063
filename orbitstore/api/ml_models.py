"""What the models API returns (training, model cards, predictions, provenance): frozen dataclasses with a wire form.

Re-exported by :mod:`orbitstore.api.models`, as every model of the API is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orbitstore.api._wire import Flat, field_of
from orbitstore.api.errors import InvalidRequest
from orbitstore.api.jsonvalues import from_json, to_json

__all__ = [
    "EstimatorInfo",
    "ModelCardInfo",
    "ModelInfo",
    "Predictions",
    "ProvenanceCheck",
    "ProvenanceReport",
    "ReproduceResult",
]


@dataclass(frozen=True, slots=True)
class EstimatorInfo(Flat):
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
class ModelInfo(Flat):
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
        card = from_json(field_of(wire, "card", dict))
        return cls(cid=field_of(wire, "cid", str), card=card, markdown=field_of(wire, "markdown", str))


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
            model=field_of(wire, "model", str),
            values=tuple(from_json(field_of(wire, "values", list))),
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
        versions = field_of(wire, "versions", dict)
        try:
            pairs = {str(k): (str(v[0]), str(v[1])) for k, v in versions.items()}
        except (TypeError, IndexError, KeyError):
            raise InvalidRequest("field 'versions' has the wrong type") from None
        return cls(
            card=field_of(wire, "card", str),
            status=field_of(wire, "status", str),
            expected=field_of(wire, "expected", str),
            actual=field_of(wire, "actual", str),
            versions=pairs,
            details=tuple(str(d) for d in field_of(wire, "details", list)),
        )


@dataclass(frozen=True, slots=True)
class ProvenanceCheck(Flat):
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
            card=field_of(wire, "card", str),
            ok=field_of(wire, "ok", bool),
            checks=tuple(ProvenanceCheck.from_wire(c) for c in field_of(wire, "checks", list)),
        )
