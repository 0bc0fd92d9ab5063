"""Training on real health data: accuracy, determinism, estimator choice, cards, registry, predictions."""

from __future__ import annotations

import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlbridge
from mlbridge.card import ModelCard
from orbitstore.codec import decode
from orbitstore.errors import ModelError
from orbitstore.store import OrbitStore
from tests.mlbridge.conftest import Table


async def test_random_forest_on_breast_cancer(store: OrbitStore, cancer: Table) -> None:
    result = await mlbridge.train(cancer.snapshot, store=store, params={"n_estimators": 30})
    card = result.card
    assert isinstance(result.estimator, RandomForestClassifier)
    assert card.estimator == "sklearn.ensemble._forest.RandomForestClassifier"
    assert card.metrics["holdout"]["accuracy"] > 0.9
    assert card.metrics["holdout"]["roc_auc"] > 0.95
    assert card.metrics["cv"]["accuracy"]["mean"] > 0.9
    assert card.training["folds"] == 5 and card.training["stratified"] is True
    assert card.training["test_rows"] == 143 and card.training["train_rows"] == 426
    assert card.features.target.classes == ("benign", "malignant")
    assert len(card.features.features) == 30
    assert card.dataset == str(cancer.db.address) and card.snapshot == cancer.snapshot.cid
    assert card.trainer == store.identity.hash
    assert set(card.versions) == {"python", "sklearn", "numpy", "scipy", "pandas", "skops", "orbitstore"}
    assert card.params["n_estimators"] == 30 and card.params["random_state"] == 0

    block = await store.blocks.get(result.card_cid)
    assert block is not None and ModelCard.decode(block) == card
    raw = decode(block)
    assert raw["type"] == "model-card" and raw["v"] == 1
    assert str(raw["snapshot"]) == cancer.snapshot.cid  # a tag-42 link
    assert store.identities.verify(card.signature, store.identity.public_key, card.signed_bytes())

    text = card.to_markdown()
    assert "RandomForestClassifier" in text and cancer.snapshot.cid in text and "| accuracy |" in text
    assert "| ccp_alpha | `0.0` |" in text


async def test_regression_on_diabetes(store: OrbitStore, diabetes: Table) -> None:
    result = await mlbridge.train(diabetes.snapshot.cid, store=store, params={"n_estimators": 30}, cv=3)
    assert isinstance(result.estimator, RandomForestRegressor)
    holdout = result.card.metrics["holdout"]
    assert set(holdout) == {"r2", "mae", "rmse"}
    baseline = await mlbridge.train(diabetes.snapshot, store=store, estimator="dummy", cv=0, register=False)
    assert holdout["r2"] > 0.1 > baseline.card.metrics["holdout"]["r2"]  # RF explains some variance, the mean none
    assert holdout["mae"] < baseline.card.metrics["holdout"]["mae"]
    assert result.card.training["folds"] == 3
    sex = next(f for f in result.card.features.features if f.name == "sex")
    assert sex.encoding == "ordinal" and sex.categories == ("female", "male")


async def test_same_inputs_same_model(store: OrbitStore, cancer: Table) -> None:
    options = {"estimator": "random_forest", "params": {"n_estimators": 10}, "cv": 0, "random_state": 7}
    first = await mlbridge.train(cancer.snapshot, store=store, **options)  # type: ignore[arg-type]
    second = await mlbridge.train(cancer.snapshot.cid, store=store, **options)  # type: ignore[arg-type]
    assert first.card.fingerprint == second.card.fingerprint
    assert first.model_cid == second.model_cid  # canonical skops bytes
    assert first.card_cid != second.card_cid  # two trainings, two cards (trained_at)
    other = await mlbridge.train(cancer.snapshot, store=store, **{**options, "random_state": 8})  # type: ignore[arg-type]
    assert other.card.fingerprint.params != first.card.fingerprint.params
    assert other.model_cid != first.model_cid


async def test_estimator_by_path_instance_and_name(store: OrbitStore, cancer: Table, diabetes: Table) -> None:
    by_path = await mlbridge.train(diabetes.snapshot, store=store, estimator="sklearn.linear_model.Ridge", cv=0)
    assert isinstance(by_path.estimator, Ridge)
    mine = make_pipeline(StandardScaler(), LogisticRegression(C=0.5))  # anything scikit-learn-compatible
    by_instance = await mlbridge.train(cancer.snapshot, store=store, estimator=mine, cv=0)
    assert by_instance.estimator is not mine and not hasattr(mine, "classes_")  # cloned, never fitted in place
    assert by_instance.card.estimator == "sklearn.pipeline.Pipeline"
    assert by_instance.card.params["steps"][1][1]["params"]["C"] == 0.5
    assert by_instance.card.metrics["holdout"]["accuracy"] > 0.9
    by_snake = await mlbridge.train(cancer.snapshot, store=store, estimator="extra_trees", params={"n_estimators": 5})
    assert by_snake.card.estimator.endswith("ExtraTreesClassifier")
    by_class_name = await mlbridge.train(diabetes.snapshot, store=store, estimator="KNeighborsRegressor", cv=0)
    assert by_class_name.card.task == "regression"
    with pytest.raises(ModelError, match="no classifier or regressor"):
        await mlbridge.train(cancer.snapshot, store=store, estimator="random_forrest")
    with pytest.raises(ModelError, match="cannot be built with defaults"):
        await mlbridge.train(cancer.snapshot, store=store, estimator="VotingClassifier")
    with pytest.raises(ModelError):
        await mlbridge.train(cancer.snapshot, store=store, estimator="ridge", params={"alpha_typo": 1})


async def test_target_and_features_can_be_chosen(store: OrbitStore, diabetes: Table) -> None:
    result = await mlbridge.train(
        diabetes.snapshot, store=store, target="sex", features=["age", "bmi", "bp"], estimator="logistic_regression"
    )
    assert result.card.task == "classification"
    assert [f.name for f in result.card.features.features] == ["age", "bmi", "bp"]
    with pytest.raises(ModelError, match="no column"):
        await mlbridge.train(diabetes.snapshot, store=store, target="nope")


async def test_registry_lists_models_per_dataset_with_versions(
    store: OrbitStore, cancer: Table, diabetes: Table
) -> None:
    a = await mlbridge.train(cancer.snapshot, store=store, params={"n_estimators": 5}, cv=0)
    b = await mlbridge.train(cancer.snapshot, store=store, estimator="gaussian_nb", cv=0)
    c = await mlbridge.train(diabetes.snapshot, store=store, estimator="ridge", cv=0)
    registry = await mlbridge.Registry.open(store)
    assert a.registered is not None
    listed = await registry.list(dataset=str(cancer.db.address))
    assert [(e.card, e.version) for e in listed] == [(a.card_cid, 1), (b.card_cid, 2)]
    assert listed[0].estimator.endswith("RandomForestClassifier") and listed[0].metrics["accuracy"] > 0.8
    assert (await registry.latest(str(diabetes.db.address))).card == c.card_cid  # type: ignore[union-attr]
    assert sorted(await registry.datasets()) == sorted([str(cancer.db.address), str(diabetes.db.address)])
    assert (await registry.get(b.card_cid)).version == 2  # type: ignore[union-attr]
    unregistered = await mlbridge.train(cancer.snapshot, store=store, estimator="gaussian_nb", cv=0, register=False)
    assert unregistered.registered is None and await registry.get(unregistered.card_cid) is None


async def test_predict_and_log(store: OrbitStore, cancer: Table) -> None:
    result = await mlbridge.train(cancer.snapshot, store=store, params={"n_estimators": 20}, cv=0)
    rows = [{k: v for k, v in r.items() if k != "diagnosis"} for r in cancer.rows[:50]]
    answer = await mlbridge.predict(result.card_cid, rows, store=store, proba=True)
    truth = [r["diagnosis"] for r in cancer.rows[:50]]
    assert len(answer.values) == 50
    assert sum(p == t for p, t in zip(answer.values, truth, strict=True)) >= 45
    assert answer.classes == ["benign", "malignant"] and len(answer.probabilities or []) == 50
    loaded = await mlbridge.load(result.card_cid, store=store)
    log = await mlbridge.PredictionLog.open(store)
    one = await loaded.predict(rows[:1], log=log, requester="someone")
    assert one.values == answer.values[:1] and one.logged is not None
    entry = await log.get(one.logged)
    assert entry is not None
    assert entry["model"] == result.card_cid and entry["requester"] == "someone"
    assert entry["owner"] == store.identity.id and entry["rows"] == 1
    assert entry["result"] == one.values and entry["request"][0]["mean radius"] == rows[0]["mean radius"]
    with pytest.raises(ModelError, match="unknown columns"):
        await loaded.predict([{"mean radiuss": 1.0}])
