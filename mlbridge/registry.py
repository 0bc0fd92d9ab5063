"""The model registry: one document per model card in an orbitstore ``documents`` database.

Being an OrbitDB ``documents`` database, the registry replicates like any data
(and opens in JS OrbitDB). Each document is keyed by the card's CID and repeats
what listing needs, as JSON-safe values (CIDs as text)::

    {_id: <card CID>, dataset: <address>, snapshot: <CID>, model: <CID>, estimator: <class path>,
     task, target, trained_at: <ms>, trainer: <identity id>, parent: <card CID> | null,
     metrics: {holdout metrics}}

The card itself (a signed block) stays the authority: a document only points
at it. Versions are not stored but numbered when listing — per dataset, in the
order ``(trained_at, card CID)`` — so that every replica holding the same
documents numbers them alike.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlbridge.card import ModelCard
from mlbridge.config import REGISTRY_NAME
from orbitstore.errors import ModelError

if TYPE_CHECKING:
    from orbitstore.databases.documents import Documents
    from orbitstore.store import OrbitStore

__all__ = ["ModelEntry", "Registry"]


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One registered model. ``version`` counts the dataset's models from 1 (see the module doc)."""

    card: str
    dataset: str
    snapshot: str
    model: str
    estimator: str
    task: str
    target: str
    trained_at: int
    trainer: str
    parent: str | None
    metrics: dict[str, Any]
    version: int = 0

    @classmethod
    def from_doc(cls, doc: dict[str, Any], version: int = 0) -> ModelEntry:
        """Parse a registry document."""
        try:
            return cls(
                card=str(doc["_id"]),
                dataset=str(doc["dataset"]),
                snapshot=str(doc["snapshot"]),
                model=str(doc["model"]),
                estimator=str(doc["estimator"]),
                task=str(doc["task"]),
                target=str(doc["target"]),
                trained_at=int(doc["trained_at"]),
                trainer=str(doc["trainer"]),
                parent=str(doc["parent"]) if doc.get("parent") is not None else None,
                metrics=dict(doc.get("metrics") or {}),
                version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"malformed registry document: {exc}") from None


def _doc(card_cid: str, card: ModelCard, trainer_id: str) -> dict[str, Any]:
    return {
        "_id": card_cid,
        "dataset": card.dataset,
        "snapshot": card.snapshot,
        "model": card.model,
        "estimator": card.estimator,
        "task": card.task,
        "target": card.features.target.name,
        "trained_at": card.trained_at,
        "trainer": trainer_id,
        "parent": card.parent,
        "metrics": dict(card.metrics.get("holdout") or {}),
    }


class Registry:
    """Models per dataset, over a ``documents`` database. Open with :meth:`Registry.open`."""

    def __init__(self, db: Documents) -> None:
        self.db = db

    @classmethod
    async def open(
        cls,
        store: OrbitStore,
        *,
        name: str = REGISTRY_NAME,
        address: str | None = None,
        access_controller: dict[str, Any] | None = None,
    ) -> Registry:
        """Open (or create) the registry ``name`` on ``store``, or the one at ``address`` (another node's)."""
        if address is not None:
            db = await store.open(address, type="documents")
        else:
            db = await store.open(name, type="documents", access_controller=access_controller)
        return cls(db)

    @property
    def address(self) -> str:
        """The registry database's address (what other nodes open to replicate it)."""
        return str(self.db.address)

    async def add(self, card_cid: str, card: ModelCard) -> str:
        """Register ``card`` (stored under ``card_cid``); returns the entry hash."""
        trainer = await self.db.store.identities.get_identity(card.trainer)
        return await self.db.put(_doc(card_cid, card, trainer.id))

    async def get(self, card_cid: str) -> ModelEntry | None:
        """The entry of ``card_cid`` (with its version), or ``None``."""
        found = await self.db.get(card_cid)
        if found is None:
            return None
        entry = ModelEntry.from_doc(found["value"])
        for listed in await self.list(dataset=entry.dataset):
            if listed.card == card_cid:
                return listed
        return entry

    async def list(self, *, dataset: str | None = None) -> list[ModelEntry]:
        """Registered models (of ``dataset`` only, when given), oldest first, numbered per dataset."""
        docs = [d for d in await self.db.all() if isinstance(d.get("value"), dict)]
        entries = [ModelEntry.from_doc(d["value"]) for d in docs]
        if dataset is not None:
            entries = [e for e in entries if e.dataset == dataset]
        entries.sort(key=lambda e: (e.dataset, e.trained_at, e.card))
        out: list[ModelEntry] = []
        counters: dict[str, int] = {}
        for e in entries:
            counters[e.dataset] = counters.get(e.dataset, 0) + 1
            out.append(ModelEntry(**{**_fields(e), "version": counters[e.dataset]}))
        out.sort(key=lambda e: (e.trained_at, e.card))
        return out

    async def latest(self, dataset: str) -> ModelEntry | None:
        """The newest model of ``dataset``, or ``None``."""
        entries = await self.list(dataset=dataset)
        return entries[-1] if entries else None

    async def datasets(self) -> builtins.list[str]:
        """Addresses of the datasets that have models, sorted."""
        return sorted({e.dataset for e in await self.list()})


def _fields(entry: ModelEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ModelEntry.__dataclass_fields__}
