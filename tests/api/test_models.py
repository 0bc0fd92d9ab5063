"""The StoreAPI contract for models: the same tests over the in-process API and the daemon's HTTP client.

Real data that ships with scikit-learn: every fourth patient of the breast
cancer set (143 rows, 30 features, target ``diagnosis``), imported as CSV;
small forests so that training takes a moment.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from orbitstore.api import InvalidRequest, ModelInfo, NotAvailable, StoreAPI, open_local
from orbitstore.codec import CID
from orbitstore.errors import ModelError, NotFound

MISSING = "zdpuAn26ookFToGNmpVHgEM71YMULiyS8mAs9UQtV1g6eEyRP"
SMALL = {"n_estimators": 8}


def cancer_csv(step: int = 4) -> tuple[bytes, list[dict[str, float]]]:
    """Every ``step``-th patient as CSV (``pid``, the features, ``diagnosis``), and the feature rows."""
    data = load_breast_cancer()
    names = [str(n) for n in data.feature_names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["pid", *names, "diagnosis"])
    rows = []
    for i in range(0, len(data.data), step):
        features = [float(x) for x in data.data[i]]
        writer.writerow([f"p{i:03d}", *features, str(data.target_names[data.target[i]])])
        rows.append(dict(zip(names, features, strict=True)))
    return out.getvalue().encode(), rows


CSV, ROWS = cancer_csv()


async def cancer(api: StoreAPI, name: str = "cancer") -> str:
    info = await api.create(name, type="dataset")
    result = await api.import_csv(name, CSV, id_column="pid", target="diagnosis")
    assert result.rows == len(ROWS)
    return info.address


async def test_estimators_listed(api: StoreAPI) -> None:
    assert (await api.node()).features["models"]
    found = {e.name: e for e in await api.estimators()}
    assert found["random_forest"].task == "either" and not found["random_forest"].needs_params
    assert found["RandomForestClassifier"].task == "classification"
    assert found["Ridge"].task == "regression"
    assert found["VotingClassifier"].needs_params
    assert found["PassiveAggressiveClassifier"].deprecated
    names = list(found)
    assert names.index("random_forest") < names.index("AdaBoostClassifier")  # short names first


async def test_train_list_card_predict(api: StoreAPI) -> None:
    address = await cancer(api)
    model = await api.train("cancer", params=SMALL, cv=2, seed=1)
    assert isinstance(model, ModelInfo)
    assert model.card.startswith("zdpu") and model.model.startswith("zdpu") and model.snapshot.startswith("zdpu")
    assert model.dataset == address and model.target == "diagnosis" and model.task == "classification"
    assert model.estimator == "sklearn.ensemble._forest.RandomForestClassifier"
    assert model.version == 1 and model.parent is None and model.anchor is None
    assert model.trainer == (await api.node()).identity_id
    accuracy = model.metrics["accuracy"]
    assert accuracy is not None and accuracy > 0.8
    assert await api.models("cancer") == [model]
    assert await api.models() == [model]
    await api.create("other", type="dataset")
    assert await api.models("other") == []

    card = await api.model_card(model.card)
    assert card.cid == model.card
    assert card.card["snapshot"] == CID.parse(model.snapshot) and card.card["dataset"] == address
    assert card.card["params"]["n_estimators"] == 8 and card.card["seed"] == 1
    assert card.markdown.startswith("# Model card: RandomForestClassifier")
    assert model.snapshot in card.markdown

    answer = await api.predict(model.card, ROWS[:3])
    assert answer.model == model.card and len(answer.values) == 3
    assert set(answer.values) <= {"benign", "malignant"} and answer.probabilities is None
    with_proba = await api.predict(model.card, ROWS[:2], proba=True)
    assert with_proba.values == answer.values[:2]
    assert with_proba.classes == ("benign", "malignant")
    assert with_proba.probabilities is not None
    assert all(math.isclose(sum(p), 1.0) for p in with_proba.probabilities)

    # the same snapshot, estimator, params and seed give the same model file; the registry counts versions
    again = await api.train(snapshot=model.snapshot, params=SMALL, cv=2, seed=1)
    assert again.model == model.model and again.card != model.card and again.version == 2
    assert [m.card for m in await api.models(address)] == [model.card, again.card]


async def test_provenance_with_anchor_and_reproduce(api: StoreAPI) -> None:
    await cancer(api)
    model = await api.train("cancer", estimator="extra_trees", params=SMALL, cv=0, anchor=True)
    assert model.anchor is not None and model.estimator.endswith("ExtraTreesClassifier")
    assert (await api.anchor_status(model.snapshot)).receipt == model.anchor
    report = await api.verify_model(model.card)
    assert report.ok and report.failed is None, report
    assert [c.name for c in report.checks] == [
        "card", "signature", "model-blocks", "model-load", "model-card", "snapshot", "records", "training-data",
        "anchor-path", "anchor-chain",
    ]  # fmt: skip
    assert {c.status for c in report.checks} == {"pass"}
    assert "NOT A PUBLIC CHAIN" in report.checks[-1].detail
    # a snapshot this node anchored is linked by later trainings without asking
    later = await api.train(snapshot=model.snapshot, params=SMALL, cv=0)
    assert later.anchor == model.anchor
    reproduced = await api.reproduce(model.card)
    assert reproduced.status == "match" and reproduced.ok
    assert reproduced.expected == reproduced.actual and reproduced.versions == {}
    assert any("matches" in d for d in reproduced.details)


async def test_logged_prediction(api: StoreAPI) -> None:
    await cancer(api)
    model = await api.train("cancer", params=SMALL, cv=0)
    answer = await api.predict(model.card, ROWS[:1], log=True)
    assert answer.logged is not None and len(answer.logged) == 32


async def test_model_errors(api: StoreAPI) -> None:
    await cancer(api)
    await api.create("notes", type="events")
    with pytest.raises(InvalidRequest, match="exactly one"):
        await api.train("cancer", snapshot=MISSING)
    with pytest.raises(InvalidRequest, match="exactly one"):
        await api.train()
    with pytest.raises(InvalidRequest, match="not a dataset"):
        await api.train("notes")
    with pytest.raises(InvalidRequest, match="seed"):
        await api.train("cancer", seed=-1)
    with pytest.raises(InvalidRequest, match="test_size"):
        await api.train("cancer", test_size=1.5)
    with pytest.raises(ModelError, match="no classifier or regressor named 'forest_of_doom'"):
        await api.train("cancer", estimator="forest_of_doom")
    with pytest.raises(ModelError, match="no column 'age'"):
        await api.train("cancer", target="age")
    with pytest.raises(NotFound):
        await api.train(snapshot=MISSING)
    with pytest.raises(NotFound):
        await api.model_card(MISSING)
    with pytest.raises(InvalidRequest, match="CID"):
        await api.predict("not-a-cid", [{"a": 1}])
    with pytest.raises(NotFound):
        await api.predict(MISSING, ROWS[:1])
    assert await api.models() == []  # nothing was registered
    missing = await api.verify_model(MISSING)  # a broken chain is a report, not an error
    assert not missing.ok and missing.failed is not None and missing.failed.name == "card"
    assert "not in the block store" in missing.failed.detail
    model = await api.train("cancer", params=SMALL, cv=0)
    with pytest.raises(ModelError, match="typo"):
        await api.predict(model.card, [{**ROWS[0], "typo": 1.0}])
    with pytest.raises(InvalidRequest, match="rows"):
        await api.predict(model.card, [])
    with pytest.raises(ModelError):  # a snapshot is not a model card
        await api.model_card(model.snapshot)


async def test_without_mlbridge_models_are_not_available(tmp_path: Path) -> None:
    async with open_local(tmp_path / "node", identity="bare") as api:
        api.models_service.available = False  # as on a node installed without the 'ml' extra
        assert (await api.node()).features["models"] is False
        for call in (api.estimators(), api.train("x"), api.models(), api.model_card(MISSING)):
            with pytest.raises(NotAvailable) as caught:
                await call
            assert caught.value.part == "models" and "orbitstore[ml]" in str(caught.value)
