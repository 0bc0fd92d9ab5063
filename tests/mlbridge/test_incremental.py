"""Incremental training: warm-start trees and partial_fit from the rows added since a snapshot."""

from __future__ import annotations

import pytest

import mlbridge
from orbitstore.errors import ModelError
from orbitstore.store import OrbitStore
from tests.mlbridge.conftest import Table, add_rows, cancer_rows, load_table


@pytest.fixture
async def early(store: OrbitStore) -> Table:
    """Breast cancer with its first 400 rows written and snapshotted; 169 more to come."""
    columns, rows = cancer_rows()
    return await load_table(store, "cancer", columns, rows, target="diagnosis", first=400)


async def test_random_forest_grows_trees_on_new_rows(store: OrbitStore, early: Table) -> None:
    parent = await mlbridge.train(early.snapshot, store=store, params={"n_estimators": 20}, cv=0)
    newer = await add_rows(early, 400, 569)
    await early.db.delete(early.ids[0])
    newest = await early.db.snapshot()
    child = await mlbridge.update(parent.card_cid, newest, store=store, trees=5)
    card = child.card
    assert card.parent == parent.card_cid and card.snapshot == newest.cid != newer.cid
    assert card.delta is not None
    assert (card.delta.parent_snapshot, card.delta.snapshot) == (early.snapshot.cid, newest.cid)
    assert (card.delta.added, card.delta.removed, card.delta.method) == (169, 1, "warm_start")
    assert card.params["n_estimators"] == 25 and card.params["warm_start"] is True
    assert len(child.estimator.estimators_) == 25
    assert card.fingerprint.params != parent.card.fingerprint.params and child.model_cid != parent.model_cid
    assert card.training["rows"] == 169 and card.metrics["holdout"]["accuracy"] > 0.85
    # the old trees are the parent's, untouched
    assert [t.tree_.node_count for t in child.estimator.estimators_[:20]] == [
        t.tree_.node_count for t in parent.estimator.estimators_
    ]
    report = await mlbridge.verify(child.card_cid, store=store)
    assert report.ok and report.check("parent").status == "pass", report.describe()
    again = await mlbridge.reproduce(child.card_cid, store=store)
    assert again.status == "match", again.details
    listed = await (await mlbridge.Registry.open(store)).list(dataset=str(early.db.address))
    assert [(e.version, e.parent) for e in listed] == [(1, None), (2, parent.card_cid)]
    assert "Updated from its parent by `warm_start` with 169 new rows" in card.to_markdown()


async def test_partial_fit_estimators_update(store: OrbitStore, early: Table) -> None:
    parent = await mlbridge.train(early.snapshot, store=store, estimator="gaussian_nb", cv=0)
    newer = await add_rows(early, 400, 569)
    child = await mlbridge.update(parent.card_cid, newer, store=store)
    assert child.card.delta is not None and child.card.delta.method == "partial_fit"
    assert child.card.parent == parent.card_cid
    assert child.estimator.class_count_.sum() > parent.estimator.class_count_.sum()
    assert child.card.fingerprint.params != parent.card.fingerprint.params
    assert (await mlbridge.reproduce(child.card_cid, store=store)).status == "match"


async def test_updates_that_cannot_be_made(store: OrbitStore, early: Table) -> None:
    ridge = await mlbridge.train(early.snapshot, store=store, estimator="ridge_classifier", cv=0)
    newer = await add_rows(early, 400, 450)
    with pytest.raises(ModelError, match="neither partial_fit nor warm_start"):
        await mlbridge.update(ridge.card_cid, newer, store=store)
    forest = await mlbridge.train(early.snapshot, store=store, params={"n_estimators": 5}, cv=0)
    with pytest.raises(ModelError, match="nothing was added"):
        await mlbridge.update(forest.card_cid, early.snapshot, store=store)
    await early.db.put(early.ids[0], {**early.rows[0], "id": early.ids[0]})  # rewritten, not added
    same_ids = await early.db.snapshot()
    nb = await mlbridge.train(newer, store=store, estimator="gaussian_nb", cv=0)
    with pytest.raises(ModelError, match="no records were added"):
        await mlbridge.update(nb.card_cid, same_ids, store=store)
    one_class = await add_rows(early, 450, 453)
    rows = [r["diagnosis"] for r in early.rows[450:453]]
    if len(set(rows)) == 1:
        with pytest.raises(ModelError, match="every class"):
            await mlbridge.update(forest.card_cid, one_class, store=store)
