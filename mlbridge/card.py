"""Model cards: what a model was trained on, how, by whom — one signed DAG-CBOR block.

The card block (``v: 1``; links are tag 42, so Kubo pins a card with its model,
snapshot, receipt and trainer identity)::

    {
      v: 1, type: 'model-card',
      snapshot: <link: the dataset snapshot trained on>,  dataset: '/orbitdb/…',
      anchor?: <link: anchor receipt of that snapshot>,
      estimator: 'sklearn.ensemble._forest.RandomForestClassifier',
      params: {get_params(deep=False), DAG-CBOR-safe (see mlbridge._wire)},
      versions: {python, sklearn, numpy, scipy, pandas, skops, orbitstore},
      seed: <int>,
      training: {test_size, cv, folds, stratified, rows, train_rows, test_rows, data},
      metrics: {holdout: {name: value}, cv: {name: {mean, std}}},
      features: {columns: [{name, type, encoding, categories?}], outputs: [...],
                 target: {name, type, task, classes?}, ignored: [other columns]},
      fingerprint: {params: <sha256 hex of the fitted state>, probe: <sha256 hex of the probe predictions>, rows: n},
      trained_at: <ms since the epoch, UTC>,
      trainer: <link: the trainer's identity block>,
      model: <link: the model index block>,
      parent?: <link: the card this model was updated from>,
      delta?: {parent_snapshot: <link>, snapshot: <link>, added: n, removed: n, method: 'partial_fit' | 'warm_start'},
      signature: <hex DER secp256k1 signature>
    }

**Signature.** ``signature`` is the trainer identity's signature (its entry
signing key, as for log entries: RFC 6979, low-S, DER, hex) over the strict
DAG-CBOR encoding of the card map *without* the ``signature`` key — i.e. the
same map with that one key removed, re-encoded canonically
(:meth:`ModelCard.signed_bytes`). The card's CID is the CID of the whole block,
signature included.

``training.data`` is the sha256 (hex) of the training matrix and labels as
encoded (see :func:`mlbridge.training.data_digest`): it ties the card to the
rows the snapshot holds, so a card pointing at another snapshot is caught even
when re-signed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlbridge.config import CARD_TYPE, CARD_VERSION
from mlbridge.features import FeatureSpec
from orbitstore.codec import CID, block_cid, decode, encode
from orbitstore.errors import CIDError, DecodeError, ModelError, NotFound

if TYPE_CHECKING:
    from orbitstore.anchoring import Anchorer, AnchorHandle
    from orbitstore.identities import Identity
    from orbitstore.store import OrbitStore

__all__ = ["Delta", "Fingerprint", "ModelCard", "anchor_card", "load_card", "signed_bytes_of"]

_REQUIRED = frozenset(
    {
        "v",
        "type",
        "snapshot",
        "dataset",
        "estimator",
        "params",
        "versions",
        "seed",
        "training",
        "metrics",
        "features",
        "fingerprint",
        "trained_at",
        "trainer",
        "model",
        "signature",
    }
)
_OPTIONAL = frozenset({"anchor", "parent", "delta"})


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies a fitted model: the hash of its fitted state and of its predictions on the probe rows."""

    params: str
    probe: str
    rows: int

    def to_wire(self) -> dict[str, Any]:
        """``{params, probe, rows}``."""
        return {"params": self.params, "probe": self.probe, "rows": self.rows}


@dataclass(frozen=True, slots=True)
class Delta:
    """How an updated model differs from its parent: snapshots, rows added and removed, the method."""

    parent_snapshot: str
    snapshot: str
    added: int
    removed: int
    method: str

    def to_wire(self) -> dict[str, Any]:
        """``{parent_snapshot: link, snapshot: link, added, removed, method}``."""
        return {
            "parent_snapshot": CID.parse(self.parent_snapshot),
            "snapshot": CID.parse(self.snapshot),
            "added": self.added,
            "removed": self.removed,
            "method": self.method,
        }


@dataclass(frozen=True, slots=True)
class ModelCard:
    """A model card (see the module doc for the block). Build with :func:`mlbridge.train`; read with :func:`load_card`.

    CIDs are kept as text. ``signature`` is empty until :meth:`signed` is called.
    """

    snapshot: str
    dataset: str
    estimator: str
    params: dict[str, Any]
    versions: dict[str, str]
    seed: int
    training: dict[str, Any]
    metrics: dict[str, Any]
    features: FeatureSpec
    fingerprint: Fingerprint
    trained_at: int
    trainer: str
    model: str
    anchor: str | None = None
    parent: str | None = None
    delta: Delta | None = None
    signature: str = field(default="", compare=False)

    # -- bytes -----------------------------------------------------------------------------------

    def _value(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "v": CARD_VERSION,
            "type": CARD_TYPE,
            "snapshot": CID.parse(self.snapshot),
            "dataset": self.dataset,
            "estimator": self.estimator,
            "params": self.params,
            "versions": dict(self.versions),
            "seed": self.seed,
            "training": self.training,
            "metrics": self.metrics,
            "features": self.features.to_wire(),
            "fingerprint": self.fingerprint.to_wire(),
            "trained_at": self.trained_at,
            "trainer": CID.parse(self.trainer),
            "model": CID.parse(self.model),
        }
        if self.anchor is not None:
            value["anchor"] = CID.parse(self.anchor)
        if self.parent is not None:
            value["parent"] = CID.parse(self.parent)
        if self.delta is not None:
            value["delta"] = self.delta.to_wire()
        return value

    def signed_bytes(self) -> bytes:
        """What the trainer signs: the card map without ``signature``, as strict DAG-CBOR."""
        return encode(self._value())

    def encode(self) -> bytes:
        """The card block (with its signature)."""
        if not self.signature:
            raise ModelError("the card is not signed yet")
        return encode({**self._value(), "signature": self.signature})

    @property
    def cid(self) -> str:
        """The card's CID (of the signed block)."""
        return block_cid(self.encode())

    async def signed(self, store: OrbitStore, identity: Identity | None = None) -> ModelCard:
        """This card signed by ``identity`` (default: the store's), whose identity hash becomes ``trainer``."""
        signer = identity if identity is not None else store.identity
        unsigned = replace(self, trainer=signer.hash, signature="")
        signature = await store.identities.sign(signer, unsigned.signed_bytes())
        return replace(unsigned, signature=signature)

    @classmethod
    def decode(cls, block: bytes, *, expected_cid: str | None = None) -> ModelCard:
        """Parse a card block; :class:`~orbitstore.errors.ModelError` when it is not a well-formed card."""
        if expected_cid is not None and block_cid(block) != expected_cid:
            raise ModelError(f"card block does not hash to {expected_cid}")
        try:
            value = decode(block)
        except DecodeError as exc:
            raise ModelError(f"card is not strict DAG-CBOR: {exc}") from None
        if not isinstance(value, dict) or value.get("type") != CARD_TYPE or value.get("v") != CARD_VERSION:
            raise ModelError(f"not a model card (type {CARD_TYPE!r}, v {CARD_VERSION})")
        keys = set(value)
        if not keys >= _REQUIRED or keys - _REQUIRED - _OPTIONAL:
            raise ModelError(
                f"model card fields: missing {sorted(_REQUIRED - keys)}, unknown {sorted(keys - _REQUIRED - _OPTIONAL)}"
            )
        try:
            fp = value["fingerprint"]
            delta = value.get("delta")
            card = cls(
                snapshot=_link(value["snapshot"], "snapshot"),
                dataset=_text(value["dataset"], "dataset"),
                estimator=_text(value["estimator"], "estimator"),
                params=dict(value["params"]),
                versions={str(k): str(v) for k, v in value["versions"].items()},
                seed=int(value["seed"]),
                training=dict(value["training"]),
                metrics=dict(value["metrics"]),
                features=FeatureSpec.from_wire(value["features"]),
                fingerprint=Fingerprint(str(fp["params"]), str(fp["probe"]), int(fp["rows"])),
                trained_at=int(value["trained_at"]),
                trainer=_link(value["trainer"], "trainer"),
                model=_link(value["model"], "model"),
                anchor=_link(value["anchor"], "anchor") if "anchor" in value else None,
                parent=_link(value["parent"], "parent") if "parent" in value else None,
                delta=Delta(
                    _link(delta["parent_snapshot"], "delta.parent_snapshot"),
                    _link(delta["snapshot"], "delta.snapshot"),
                    int(delta["added"]),
                    int(delta["removed"]),
                    str(delta["method"]),
                )
                if delta is not None
                else None,
                signature=_text(value["signature"], "signature"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"malformed model card: {type(exc).__name__}: {exc}") from None
        return card

    # -- reading ---------------------------------------------------------------------------------

    @property
    def task(self) -> str:
        """``classification`` or ``regression``."""
        return self.features.target.task

    def to_markdown(self) -> str:
        """A human-readable rendering (Markdown)."""
        when = _dt.datetime.fromtimestamp(self.trained_at / 1000, tz=_dt.UTC).isoformat(timespec="seconds")
        target = self.features.target
        lines = [
            f"# Model card: {self.estimator.rsplit('.', 1)[-1]}",
            "",
            f"A {target.task} model predicting `{target.name}` ({target.type}), trained {when} "
            f"on {self.training.get('train_rows', '?')} of {self.training.get('rows', '?')} rows.",
            "",
            "## Provenance",
            "",
            "| | |",
            "| --- | --- |",
            f"| dataset | `{self.dataset}` |",
            f"| snapshot (dataset version) | `{self.snapshot}` |",
            f"| anchor receipt | {f'`{self.anchor}`' if self.anchor else 'none'} |",
            f"| model file (skops) | `{self.model}` |",
            f"| trainer identity | `{self.trainer}` |",
            f"| parent model card | {f'`{self.parent}`' if self.parent else 'none'} |",
            f"| signature | `{self.signature[:24]}…` |",
            f"| training data digest | `{self.training.get('data', '?')}` |",
        ]
        if self.delta is not None:
            d = self.delta
            lines += [
                "",
                f"Updated from its parent by `{d.method}` with {d.added} new rows "
                f"({d.removed} removed since, not unlearnt): snapshot `{d.parent_snapshot}` → `{d.snapshot}`.",
            ]
        lines += ["", "## Estimator", "", f"`{self.estimator}`, seed {self.seed}", ""]
        lines += ["| parameter | value |", "| --- | --- |"]
        lines += [f"| {k} | `{_show(v)}` |" for k, v in sorted(self.params.items())]
        lines += ["", "## Metrics", "", "| metric | holdout | cross-validation |", "| --- | --- | --- |"]
        holdout = self.metrics.get("holdout", {}) or {}
        cv = self.metrics.get("cv", {}) or {}
        for name in sorted(set(holdout) | set(cv)):
            h = _number(holdout.get(name))
            c = cv.get(name)
            c_text = f"{_number(c.get('mean'))} ± {_number(c.get('std'))}" if isinstance(c, dict) else "—"
            lines.append(f"| {name} | {h} | {c_text} |")
        t = self.training
        lines += [
            "",
            f"Holdout: {t.get('test_rows', 0)} rows (test_size {t.get('test_size')}, "
            f"{'stratified' if t.get('stratified') else 'not stratified'}); "
            f"cross-validation: {t.get('folds', 0)} folds on the training rows.",
            "",
            "## Features",
            "",
            "| column | type | encoding |",
            "| --- | --- | --- |",
        ]
        for f in self.features.features:
            detail = f.encoding + (f" ({len(f.categories)} categories)" if f.encoding != "number" else "")
            lines.append(f"| {f.name} | {f.type} | {detail} |")
        if target.classes:
            lines += ["", f"Classes: {', '.join(f'`{c}`' for c in target.classes)}"]
        lines += ["", "## Reproducibility", "", "| | |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in sorted(self.versions.items())]
        lines += [
            f"| fitted-state hash | `{self.fingerprint.params}` |",
            f"| probe predictions hash ({self.fingerprint.rows} rows) | `{self.fingerprint.probe}` |",
            "",
        ]
        return "\n".join(lines)


def signed_bytes_of(block: bytes) -> bytes:
    """The bytes a card block's signature covers: its map without ``signature``, re-encoded (strict DAG-CBOR)."""
    try:
        value = decode(block)
    except DecodeError as exc:
        raise ModelError(f"card is not strict DAG-CBOR: {exc}") from None
    if not isinstance(value, dict):
        raise ModelError("a card must be a map")
    return encode({k: v for k, v in value.items() if k != "signature"})


def _plain_text(value: Any) -> str:
    """A wire parameter value as a person would write it (tagged forms unwrapped)."""
    if isinstance(value, dict):
        if set(value) == {"$float"}:
            return str(value["$float"])
        if set(value) == {"$type"} or set(value) == {"$repr"}:
            return str(next(iter(value.values())))
        if "$estimator" in value:
            inner = ", ".join(f"{k}={_plain_text(v)}" for k, v in sorted(value.get("params", {}).items()))
            return f"{str(value['$estimator']).rsplit('.', 1)[-1]}({inner})"
        return "{" + ", ".join(f"{k}: {_plain_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_plain_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def _show(value: Any) -> str:
    text = _plain_text(value).replace("|", "\\|")
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.4f}"
    return "—" if value is None else str(value)


def _link(value: Any, what: str) -> str:
    if not isinstance(value, CID):
        raise ModelError(f"card field {what!r} must be a link (tag 42)")
    return str(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ModelError(f"card field {what!r} must be non-empty text")
    return value


async def load_card(store: OrbitStore, cid: str) -> ModelCard:
    """Read and parse the card ``cid`` from ``store.blocks`` (:class:`NotFound`, :class:`ModelError`)."""
    try:
        CID.parse(cid)
    except (CIDError, TypeError) as exc:
        raise ModelError(f"{cid!r} is not a CID: {exc}") from None
    block = await store.blocks.get(cid)
    if block is None:
        raise NotFound(f"model card {cid} is not in the block store")
    return ModelCard.decode(block, expected_cid=cid)


async def anchor_card(card_cid: str, *, anchorer: Anchorer) -> AnchorHandle:
    """Submit a model card to the anchor service; ``await handle.wait()`` gives its receipt.

    The receipt proves the card existed when its batch was anchored; keep its
    id next to the card (e.g. in your registry) — a card cannot name its own receipt.
    """
    await load_card_check(card_cid)
    return await anchorer.submit(card_cid)


async def load_card_check(card_cid: str) -> None:
    """Raise :class:`ModelError` unless ``card_cid`` is a CID."""
    try:
        CID.parse(card_cid)
    except (CIDError, TypeError) as exc:
        raise ModelError(f"{card_cid!r} is not a CID: {exc}") from None
