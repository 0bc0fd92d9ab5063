"""The provenance check: model → card → snapshot → records (→ anchor receipt), link by link.

:func:`verify` runs every check it can and reports each one; a failed check is
reported, never raised (only unusable input — a card id that is not a CID —
raises :class:`~orbitstore.errors.ModelError`). The checks, in order:

============== =====================================================================================
card           the block is here, hashes to its CID and is a well-formed model card
signature      the trainer's identity block verifies, and it signed the card (see mlbridge.card)
model-blocks   the model index and every chunk are here and hash to their links
model-load     the file loads through the trusted-type allow-list (never pickle)
model-card     the loaded model is the card's: class, params and fitted-state hash
snapshot       the snapshot block is here, hashes to its CID, names the card's dataset and
               has the card's feature and target columns with the same types
records        the snapshot recomputes from its heads: every entry's signature and writer,
               the schema, and the table (``Snapshot.verify``)
training-data  the snapshot's rows (for an update: the rows added since the parent's snapshot)
               encode to the card's training-data digest, and the model's predictions on the
               probe rows hash to the card's
parent         (updates) the parent card is here, of the same dataset and estimator, and the delta
               names its snapshot
anchor-path    (when the card names a receipt) the receipt is for the card's snapshot and its
               Merkle path leads to its root
anchor-chain   the backend confirms the root (skipped when no ``backend`` is given)
============== =====================================================================================

A check that cannot run because an earlier link failed is ``skip`` with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlbridge._wire import fitted_hash, params_to_wire
from mlbridge.artifacts import load_model, read_model_bytes
from mlbridge.card import ModelCard, signed_bytes_of
from mlbridge.estimators import class_path
from mlbridge.incremental import delta_rows
from mlbridge.training import data_digest, fingerprint_of, prepare
from orbitstore.codec import CID, block_cid, encode
from orbitstore.errors import CIDError, ModelError, OrbitStoreError
from orbitstore.identities import Identity

if TYPE_CHECKING:
    from orbitstore.anchoring import AnchorBackend, VerifyPolicy
    from orbitstore.databases.dataset import Snapshot
    from orbitstore.store import OrbitStore

__all__ = ["Check", "CheckStatus", "VerifyReport", "verify"]

CheckStatus = Literal["pass", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Check:
    """One link of the chain: its ``name``, ``status`` and a sentence saying why."""

    name: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Every check :func:`verify` ran, in order. ``ok`` when none failed and the essential ones passed."""

    card: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed and none was skipped for lack of an earlier link."""
        return all(c.status == "pass" or (c.status == "skip" and c.name == "anchor-chain") for c in self.checks)

    @property
    def failed(self) -> Check | None:
        """The first failed check, or ``None``."""
        return next((c for c in self.checks if c.status == "fail"), None)

    def check(self, name: str) -> Check:
        """The check called ``name`` (:class:`KeyError` when it did not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def describe(self) -> str:
        """One line per check."""
        return "\n".join(f"{c.status:4}  {c.name:13}  {c.detail}" for c in self.checks)


class _Walk:
    __slots__ = ("checks",)

    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, "pass" if ok else "fail", detail))
        return ok

    def skip(self, name: str, reason: str) -> None:
        self.checks.append(Check(name, "skip", reason))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def verify(
    card_cid: str,
    *,
    store: OrbitStore,
    policy: VerifyPolicy | None = None,
    backend: AnchorBackend | None = None,
    trusted: Iterable[str] = (),
) -> VerifyReport:
    """Walk the provenance chain of ``card_cid`` and report every link (see the module doc).

    ``backend`` (an :class:`~orbitstore.anchoring.AnchorBackend`) and
    ``policy`` check an anchor receipt against its chain or ledger.
    """
    try:
        CID.parse(card_cid)
    except (CIDError, TypeError) as exc:
        raise ModelError(f"{card_cid!r} is not a CID: {exc}") from None
    walk = _Walk()
    card = await _check_card(store, card_cid, walk)
    if card is None:
        for name in ("signature", "model-blocks", "model-load", "model-card", "snapshot", "records", "training-data"):
            walk.skip(name, "no readable card")
        return VerifyReport(card_cid, tuple(walk.checks))
    await _check_signature(store, card_cid, card, walk)
    model = await _check_model(store, card, walk, tuple(trusted))
    snap = await _check_snapshot(store, card, walk)
    if snap is None:
        walk.skip("records", "no usable snapshot")
        walk.skip("training-data", "no usable snapshot")
    else:
        try:
            await snap.verify()
            walk.add(
                "records", True, f"{snap.records} records recomputed from {len(snap.heads)} heads, signatures valid"
            )
        except OrbitStoreError as exc:
            walk.add("records", False, f"the snapshot does not recompute from its log: {_error(exc)}")
        await _check_data(store, card, snap, model, walk)
    if card.parent is not None:
        await _check_parent(store, card, walk)
    if card.anchor is not None:
        await _check_anchor(store, card, walk, policy, backend)
    return VerifyReport(card_cid, tuple(walk.checks))


async def _check_card(store: OrbitStore, card_cid: str, walk: _Walk) -> ModelCard | None:
    block = await store.blocks.get(card_cid)
    if block is None:
        walk.add("card", False, f"card {card_cid} is not in the block store")
        return None
    if block_cid(block) != card_cid:
        walk.add("card", False, f"the block stored as {card_cid} does not hash to it (tampered)")
        return None
    try:
        card = ModelCard.decode(block)
    except ModelError as exc:
        walk.add("card", False, str(exc))
        return None
    walk.add("card", True, f"well-formed model card for {card.estimator}")
    return card


async def _check_signature(store: OrbitStore, card_cid: str, card: ModelCard, walk: _Walk) -> None:
    block = await store.blocks.get(card_cid)
    assert block is not None
    identity_block = await store.blocks.get(card.trainer)
    if identity_block is None:
        walk.add("signature", False, f"trainer identity {card.trainer} is not in the block store")
        return
    try:
        identity = Identity.decode(identity_block, expected_hash=card.trainer)
    except OrbitStoreError as exc:
        walk.add("signature", False, f"trainer identity block is invalid: {_error(exc)}")
        return
    if not await store.identities.verify_identity(identity):
        walk.add("signature", False, f"trainer identity {identity.id[:16]}… does not verify")
        return
    ok = store.identities.verify(card.signature, identity.public_key, signed_bytes_of(block))
    walk.add(
        "signature",
        ok,
        f"signed by trainer {identity.id[:16]}…" if ok else f"the signature is not trainer {identity.id[:16]}…'s",
    )


async def _check_model(store: OrbitStore, card: ModelCard, walk: _Walk, trusted: tuple[str, ...]) -> Any:
    try:
        data = await read_model_bytes(store.blocks, card.model)
    except OrbitStoreError as exc:
        walk.add("model-blocks", False, _error(exc))
        walk.skip("model-load", "model blocks unusable")
        walk.skip("model-card", "model blocks unusable")
        return None
    walk.add("model-blocks", True, f"{len(data):,} bytes, every block matches its CID")
    try:
        model = await asyncio.to_thread(load_model, data, trusted=trusted)
    except ModelError as exc:
        walk.add("model-load", False, str(exc))
        walk.skip("model-card", "model not loadable")
        return None
    walk.add("model-load", True, "loaded through the trusted-type allow-list")
    problems = []
    if class_path(model) != card.estimator:
        problems.append(f"class {class_path(model)} is not the card's {card.estimator}")
    if encode(params_to_wire(model.get_params(deep=False))) != encode(card.params):
        problems.append("its params are not the card's")
    state = await asyncio.to_thread(fitted_hash, model)
    if state != card.fingerprint.params:
        problems.append("its fitted-state hash is not the card's")
    walk.add("model-card", not problems, "; ".join(problems) or "class, params and fitted state are the card's")
    return model


async def _check_snapshot(store: OrbitStore, card: ModelCard, walk: _Walk) -> Snapshot | None:
    try:
        snap = await store.open_snapshot(card.snapshot)
    except OrbitStoreError as exc:
        walk.add("snapshot", False, f"snapshot {card.snapshot}: {_error(exc)}")
        return None
    problems = []
    if snap.address != card.dataset:
        problems.append(f"it is a snapshot of {snap.address}, not of {card.dataset}")
    schema = snap.schema
    spec = card.features
    for name, kind in [*((f.name, f.type) for f in spec.features), (spec.target.name, spec.target.type)]:
        if schema is None or name not in schema:
            problems.append(f"column {name!r} is missing")
        elif schema.column(name).type != kind:
            problems.append(f"column {name!r} is {schema.column(name).type}, the card says {kind}")
    detail = "; ".join(problems) or f"snapshot of {snap.address} with {snap.records} records"
    walk.add("snapshot", not problems, detail)
    return snap if not problems else None


async def _check_data(store: OrbitStore, card: ModelCard, snap: Snapshot, model: Any, walk: _Walk) -> None:
    try:
        if card.delta is None:
            _, X, y, _ = await prepare(snap, spec=card.features)
            digest, X_probe = data_digest(X, y), X
        else:
            rows = await delta_rows(store, card.delta.parent_snapshot, snap, card.features)
            digest, X_probe = data_digest(rows.X, rows.y), rows.X_all
    except OrbitStoreError as exc:
        walk.add("training-data", False, f"cannot read the training rows: {_error(exc)}")
        return
    if digest != card.training.get("data"):
        walk.add("training-data", False, "the snapshot's rows are not the rows the card says the model learnt from")
        return
    if model is None:
        walk.add("training-data", True, "rows match the card's digest (no model to probe)")
        return
    probe = await asyncio.to_thread(fingerprint_of, model, X_probe)
    ok = probe.probe == card.fingerprint.probe
    walk.add(
        "training-data",
        ok,
        "rows match the card's digest; probe predictions match"
        if ok
        else "rows match, but the model's probe predictions are not the card's",
    )


async def _check_parent(store: OrbitStore, card: ModelCard, walk: _Walk) -> None:
    assert card.parent is not None
    block = await store.blocks.get(card.parent)
    if block is None:
        walk.add("parent", False, f"parent card {card.parent} is not in the block store")
        return
    try:
        parent = ModelCard.decode(block, expected_cid=card.parent)
    except ModelError as exc:
        walk.add("parent", False, f"parent card: {exc}")
        return
    problems = []
    if card.delta is None:
        problems.append("the card names a parent but no delta")
    else:
        if card.delta.parent_snapshot != parent.snapshot:
            problems.append("the delta's parent snapshot is not the parent card's snapshot")
        if card.delta.snapshot != card.snapshot:
            problems.append("the delta's snapshot is not the card's")
    if parent.dataset != card.dataset:
        problems.append("the parent was trained on another dataset")
    if parent.estimator != card.estimator:
        problems.append("the parent is another estimator")
    walk.add("parent", not problems, "; ".join(problems) or f"updated from {card.parent}")


async def _check_anchor(
    store: OrbitStore,
    card: ModelCard,
    walk: _Walk,
    policy: VerifyPolicy | None,
    backend: AnchorBackend | None,
) -> None:
    from orbitstore.anchoring import load_receipt, verify_receipt
    from orbitstore.errors import ReceiptInvalid

    assert card.anchor is not None
    try:
        receipt = await load_receipt(card.anchor, storage=store.blocks)
    except ReceiptInvalid as exc:
        walk.add("anchor-path", False, str(exc))
        walk.skip("anchor-chain", "no usable receipt")
        return
    if str(receipt.cid) != card.snapshot:
        walk.add("anchor-path", False, f"the receipt is for {receipt.cid}, not for the card's snapshot")
        walk.skip("anchor-chain", "receipt for another CID")
        return
    if not receipt.proves_inclusion():
        walk.add("anchor-path", False, "the receipt's Merkle path does not lead to its root")
        walk.skip("anchor-chain", "broken path")
        return
    walk.add("anchor-path", True, f"the snapshot is leaf of root {receipt.root.hex()[:16]}… ({receipt.count} leaves)")
    if backend is None:
        walk.skip("anchor-chain", f"no backend given: the {receipt.kind} anchor itself was not checked")
        return
    try:
        await verify_receipt(receipt, backend=backend, policy=policy, expect_cid=card.snapshot)
    except (ReceiptInvalid, OrbitStoreError) as exc:
        walk.add("anchor-chain", False, str(exc))
        return
    walk.add("anchor-chain", True, receipt.describe())
