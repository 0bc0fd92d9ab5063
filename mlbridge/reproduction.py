"""Reproduce a model from its card: re-materialize the snapshot, retrain, compare fingerprints.

The estimator is rebuilt with :func:`sklearn.base.clone` of the stored model
(so the exact parameters come back, floats and nested estimators included; the
card's ``params`` must describe the same ones), fitted on the snapshot's rows
with the card's split and seed, and fingerprinted: the hash of the fitted state
and of its predictions on the fixed probe rows. An updated model (a card with
a ``parent``) is reproduced by reproducing its parent, then replaying the update.

``status`` is ``match`` only when the libraries are those the card records and
both hashes agree; a library difference is always ``version-differs`` (the
details still say whether the fingerprints agreed); otherwise ``mismatch``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sklearn.base import clone

from mlbridge._wire import params_to_wire
from mlbridge.artifacts import load_model, read_model_bytes
from mlbridge.card import Fingerprint, ModelCard, load_card
from mlbridge.incremental import WARM_START, apply_update, delta_rows
from mlbridge.training import _fit_all, fingerprint_of, library_versions, prepare
from orbitstore.codec import encode
from orbitstore.errors import ModelError

if TYPE_CHECKING:
    from orbitstore.store import OrbitStore

__all__ = ["ReproduceResult", "ReproduceStatus", "reproduce"]

ReproduceStatus = Literal["match", "mismatch", "version-differs"]


@dataclass(frozen=True, slots=True)
class ReproduceResult:
    """The verdict of :func:`reproduce`.

    ``expected`` is the card's fingerprint, ``actual`` the retrained model's;
    ``versions`` maps each library whose version differs to ``(card, here)``;
    ``details`` says, in words, what matched and what did not.
    """

    status: ReproduceStatus
    card: str
    expected: Fingerprint
    actual: Fingerprint
    versions: dict[str, tuple[str, str]]
    details: tuple[str, ...]
    estimator: Any = field(repr=False, default=None)

    @property
    def ok(self) -> bool:
        """True for ``match``."""
        return self.status == "match"


async def reproduce(card_cid: str, *, store: OrbitStore, trusted: Iterable[str] = ()) -> ReproduceResult:
    """Retrain the model of ``card_cid`` from its snapshot and compare it with the card (see the module doc)."""
    card = await load_card(store, card_cid)
    details: list[str] = []
    here = library_versions()
    versions = {
        name: (card.versions.get(name, "?"), here.get(name, "?"))
        for name in sorted(set(card.versions) | set(here))
        if card.versions.get(name) != here.get(name)
    }
    estimator, X_probe = await _rebuild(store, card, details, tuple(trusted))
    actual = await asyncio.to_thread(fingerprint_of, estimator, X_probe)
    expected = card.fingerprint
    same_state = actual.params == expected.params
    same_probe = actual.probe == expected.probe and actual.rows == expected.rows
    details.append(f"fitted-state hash {'matches' if same_state else 'differs'}: {actual.params[:16]}…")
    details.append(f"probe predictions ({actual.rows} rows) {'match' if same_probe else 'differ'}")
    status: ReproduceStatus
    if versions:
        changed = ", ".join(f"{n} {a} → {b}" for n, (a, b) in versions.items())
        details.append(f"library versions differ from the card's: {changed}")
        status = "version-differs"
    elif same_state and same_probe:
        status = "match"
    else:
        status = "mismatch"
    return ReproduceResult(status, card_cid, expected, actual, versions, tuple(details), estimator)


async def _rebuild(store: OrbitStore, card: ModelCard, details: list[str], trusted: tuple[str, ...]) -> tuple[Any, Any]:
    """The card's model retrained from scratch (recursively through parents), and the probe source rows."""
    snap = await store.open_snapshot(card.snapshot)
    spec = card.features
    if card.parent is None:
        stored = await asyncio.to_thread(load_model, await read_model_bytes(store.blocks, card.model), trusted=trusted)
        estimator = clone(stored)
        if encode(params_to_wire(estimator.get_params(deep=False))) != encode(card.params):
            details.append("the stored model's parameters differ from the card's params")
        spec, X, y, _ = await prepare(snap, spec=spec)
        training = card.training
        fitted = await asyncio.to_thread(
            _fit_all,
            estimator,
            X,
            y,
            spec,
            test_size=float(training.get("test_size", 0.25)),
            cv=0,  # the folds do not touch the final model
            seed=card.seed,
        )
        if fitted.training["data"] != training.get("data"):
            details.append("the snapshot's rows are not the rows the card says it was trained on")
        return fitted.estimator, X
    if card.delta is None:
        raise ModelError(f"card names parent {card.parent} but no delta")
    parent = await load_card(store, card.parent)
    estimator, _ = await _rebuild(store, parent, details, trusted)
    rows = await delta_rows(store, card.delta.parent_snapshot, snap, spec)
    if rows.added != card.delta.added:
        details.append(f"the delta now holds {rows.added} new rows, the card says {card.delta.added}")
    n_estimators = card.params.get("n_estimators") if card.delta.method == WARM_START else None
    fitted = await asyncio.to_thread(
        apply_update,
        estimator,
        rows,
        spec,
        method=card.delta.method,
        n_estimators=int(n_estimators) if isinstance(n_estimators, int) else None,
        test_size=float(card.training.get("test_size", 0.25)),
        seed=card.seed,
    )
    if fitted.training["data"] != card.training.get("data"):
        details.append("the new rows are not the rows the card says the update learnt from")
    return fitted.estimator, rows.X_all
